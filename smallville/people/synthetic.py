"""A SYNTHETIC panel of people, for benchmarks and tests only — not data about anyone.

Kept apart from the answerer: nothing in :mod:`~smallville.people.answer`,
:mod:`~smallville.people.respondent` or the ``survey`` verb imports this module (a test checks), and
what it writes reaches them only as files a real study would have: transcripts, demographics, and
people's answers in two waves.

Each person has latent variables (never written anywhere the answerer reads):

- one standard-normal latent per scored item, built from five shared factors (ideology, wellbeing,
  trust, generosity, risk — an item is loaded on one by :data:`FACTOR_OF`, else on a factor chosen
  by its id's digest) plus item-specific variation, so items correlate as attitudes do;
- one latent per construct (a Big Five trait), which drives all of that construct's items.

Answers: an ordered item's category is the latent plus noise cut at thresholds (:func:`_cuts`:
middle categories commonest, each item shifted); a number is the range's point at Φ(latent + noise), rounded.
Wave 1 and wave 2 each draw their own noise (``retest_noise``), so people do not fully agree with
themselves. An experiment's item is answered by a probit on the risk factor with a shift per arm
(the sure option is more likely in the first arm: the known direction of the framing effect).

The interview: for each scored item (with probability ``coverage``) the interviewer raises the
item's topic — in the item's words after a varied lead-in — and the person answers with the level
their latent gives on this occasion (its own noise), in one of several phrasings; some phrasings
use the option's words, some only a paraphrase (:data:`PARAPHRASE`), so not every answer can be
read word for word. A trait is told as a self-description using the words of the trait's forward or
reverse item (both, for a middling level). Distractors: small talk, and other people's views
("My sister would say …, not me") in the options' words. Experiments' items are never discussed.
Demographics: age, sex, education, region, and an ideology label read from the ideology factor.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
from scipy import stats

from smallville.people.instrument import Instrument, Item, assign_arms

FACTORS = ("ideology", "wellbeing", "trust", "generosity", "risk")
FACTOR_OF = {"polviews": "ideology", "gov_income": "ideology", "tax_rich": "ideology", "environment": "ideology",
             "spend_schools": "ideology", "free_market": "ideology", "happy": "wellbeing", "life_ideal": "wellbeing",
             "future": "wellbeing", "lonely": "wellbeing", "trust_people": "trust", "fair_people": "trust",
             "dictator": "generosity", "trust_send": "trust", "public_goods": "generosity", "frame": "risk"}
# items whose latent runs against the factor (agreeing with them is the other pole)
REVERSED = {"free_market", "lonely"}
FIRST_NAMES = """Ana Ben Carla Dev Elif Farid Greta Hugo Ines Jonas Kemal Lena Milo Nadia Omar Petra Quinn Rosa
Sami Tariq Uma Vera Wen Xena Yara Zane Aldo Bea Cyrus Dina Emre Fern Gus Hana Ivo Jade Kofi Lila Marek Noor""".split()
SURNAMES = """Abara Bell Costa Diaz Eriksen Fujita Garcia Haddad Ivanova Jensen Kowalski Larsen Moreau Novak
Okafor Patel Quispe Rossi Sato Tanaka Ueda Varga Weber Xu Yilmaz Zhou Arce Brandt Chen Dubois""".split()
LEADS = ["Let me ask you about something else.", "Here's a different kind of question.", "Some people say this.",
         "I'd like your view on this.", "Moving on a little.", "Tell me what you think about this one."]
OPENERS = ["Honestly, {a}.", "I'd have to say {a}, if I'm being straight with you.", "{A}, I suppose.",
           "Put me down as {a}.", "If you ask me, {a}.", "Hmm. {A}, I think.", "Well, {a}, really."]
FILLERS = ["It has been that way for a while.", "My family would probably say the same.", "I've thought about it.",
           "That's just how I see it.", "It changes a bit from year to year.", "No point pretending otherwise.", ""]
SMALL_TALK = [("How was your trip here today?", "Fine, the bus was late again but I had a book with me."),
              ("Do you cook much at home?", "Mostly pasta and soups, nothing fancy, but I like doing it on Sundays."),
              ("What did you watch on television last week?", "A cooking contest and some old detective series."),
              ("What's the weather been like where you live?", "Rainy for days on end, then suddenly warm."),
              ("Do you have any pets?", "A cat who thinks she owns the flat."),
              ("What do you do on weekends?", "Walk by the river, see my cousins, fix things around the house."),
              ("What's your favourite food?", "Anything with lentils. And good bread."),
              ("Where did you grow up?", "In a mid-sized town, near a rail yard, with two brothers.")]
RELATIONS = ["My sister", "My neighbour", "A friend of mine", "My father", "Someone at work"]
# words a person may use instead of an option's own (so not every answer is word for word)
PARAPHRASE = {"very happy": "on top of the world", "pretty happy": "doing alright", "not too happy": "struggling",
              "a great deal": "a lot of faith", "only some": "a bit of faith", "hardly any": "barely any faith",
              "strongly agree": "couldn't be more right", "agree": "that's about right",
              "disagree": "that's not right", "strongly disagree": "completely wrong",
              "neither agree nor disagree": "could go either way", "excellent": "never better", "good": "fine",
              "fair": "so-so", "poor": "bad shape", "satisfied": "content", "very satisfied": "really content",
              "liberal": "left-leaning", "conservative": "right-leaning", "moderate": "middle of the road"}


def _rng(seed: int, *tags) -> np.random.Generator:
    h = hashlib.blake2b(":".join(map(str, (seed,) + tags)).encode(), digest_size=8).digest()
    return np.random.default_rng(int.from_bytes(h, "little"))


@dataclass
class Person:
    id: str
    name: str
    demographics: dict
    factors: dict[str, float]
    latent: dict[str, float]  # item or construct id -> latent
    wave1: dict = field(default_factory=dict)
    wave2: dict = field(default_factory=dict)
    arms: dict = field(default_factory=dict)
    turns: list = field(default_factory=list)


def _factor(item_id: str) -> str:
    if item_id in FACTOR_OF:
        return FACTOR_OF[item_id]
    return FACTORS[int(hashlib.blake2b(item_id.encode(), digest_size=2).hexdigest(), 16) % len(FACTORS)]


def _cuts(item: Item, k: int, seed: int) -> np.ndarray:
    """Thresholds for k ordered categories (an ordinal probit): the quantiles of equal shares spread
    by 1.5 — so middle categories are the commonest, as on most attitude scales — shifted by an
    item-level mean drawn from N(0, 0.3)."""
    shift = float(_rng(seed, "cuts", item.id).normal(0, 0.3))
    return 1.5 * stats.norm.ppf(np.linspace(0, 1, k + 1)[1:-1]) + shift


def _level(item: Item, x: float, cuts: np.ndarray) -> int:
    """0-based category: the first category is the *high* end of the latent (options run from most)."""
    return int(len(cuts) - np.searchsorted(cuts, x))


def _value(item: Item, x: float, cuts: np.ndarray | None, step: float | None = None):
    if item.kind == "number":
        v = item.min + (item.max - item.min) * stats.norm.cdf(x)
        step = step or (item.max - item.min) / 20
        return item.check(round(v / step) * step)
    lv = _level(item, x, cuts)
    if item.kind == "likert":
        return item.points - lv  # high latent -> agree (the last point)
    return item.options[lv]


def _sign(item: Item) -> float:
    return -1.0 if item.id in REVERSED else 1.0


def make_panel(instrument: Instrument, n: int = 200, seed: int = 0, retest_noise: float = 0.45,
               interview_noise: float = 0.35, coverage: float = 0.85) -> list[Person]:
    rng = _rng(seed, "people")
    construct_of = {i: c for c in instrument.constructs for i in c.items}
    scored = [i for i in instrument.items if i.scored]
    cuts = {i.id: _cuts(i, len(i.categories), seed) for i in scored if i.kind != "number"}
    people = []
    for p in range(n):
        f = {k: float(rng.normal()) for k in FACTORS}
        latent: dict[str, float] = {}
        for c in instrument.constructs:
            latent[c.id] = float(rng.normal())
        for item in scored:
            if item.id in construct_of or instrument.experiment_of(item.id):
                continue
            latent[item.id] = _sign(item) * (0.75 * f[_factor(item.id)] + math.sqrt(1 - 0.75 ** 2) * float(rng.normal()))
        ideo = f["ideology"] + 0.6 * float(rng.normal())
        demo = {"age": int(rng.integers(18, 86)), "sex": str(rng.choice(["female", "male"])),
                "education": str(rng.choice(["high school", "some college", "college degree", "graduate degree"])),
                "region": str(rng.choice(["north", "south", "east", "west"])),
                "political_ideology": "liberal" if ideo > 0.5 else "conservative" if ideo < -0.5 else "moderate"}
        name = f"{FIRST_NAMES[p % len(FIRST_NAMES)]} {SURNAMES[(p // len(FIRST_NAMES) + p) % len(SURNAMES)]}"
        if p >= len(FIRST_NAMES) * len(SURNAMES):
            name += f" {p}"
        person = Person(f"P{p:04d}", name, demo, f, latent)
        people.append(person)
    names = [x.name for x in people]
    for e in instrument.experiments:
        arms = assign_arms(e, names, seed + 1)  # the people's own randomization (another seed)
        for x in people:
            x.arms[e.id] = arms[x.name]
    for x in people:
        r = _rng(seed, "answers", x.id)
        for item in scored:
            c = construct_of.get(item.id)
            e = instrument.experiment_of(item.id)
            for wave in (x.wave1, x.wave2):
                if e is not None:  # a probit on risk, the first arm shifted toward the first option
                    shift = 0.5 if x.arms[e.id] == list(e.arms)[0] else -0.5
                    first = float(r.normal()) * 0.8 - 0.8 * x.factors["risk"] + shift > 0
                    wave[item.id] = item.options[0] if first else item.options[1]
                    continue
                base = x.latent[c.id] * (-1 if item.id in c.reverse else 1) if c else x.latent[item.id]
                wave[item.id] = _value(item, base + retest_noise * float(r.normal()), cuts.get(item.id),
                                       step=(item.max - item.min) / 20 if item.kind == "number" else None)
        x.turns = _interview(instrument, x, cuts, seed, interview_noise, coverage)
    return people


def _say(label: str, r: np.random.Generator) -> str:
    low = label.lower()
    words = PARAPHRASE.get(low) if r.random() < 0.3 else None
    a = words or low
    s = str(r.choice(OPENERS)).format(a=a, A=a[0].upper() + a[1:])
    filler = str(r.choice(FILLERS))
    return (s + " " + filler).strip()


def _interview(instrument: Instrument, x: Person, cuts: dict, seed: int, noise: float, coverage: float) -> list:
    r = _rng(seed, "interview", x.id)
    turns: list[tuple[str, str]] = [("Could you start by telling me a little about yourself?",
                                     f"I'm {x.demographics['age']}, I live in the {x.demographics['region']}, "
                                     f"and I finished {x.demographics['education']}. " + str(r.choice(FILLERS)))]
    told = set()
    for item in instrument.items:
        if not item.scored or instrument.experiment_of(item.id) is not None:
            continue
        c = instrument.construct_of(item.id)
        if c is not None:
            if c.id in told or r.random() > coverage:
                continue
            told.add(c.id)
            fwd = instrument.item(next(i for i in c.items if i not in c.reverse)).text.rstrip(".")
            rev = instrument.item(c.reverse[0]).text.rstrip(".")
            z = x.latent[c.id] + noise * float(r.normal())
            if z > 0.9:
                a = f"Very much so. {fwd}, always have been."
            elif z > 0.3:
                a = f"{fwd}, mostly, I'd say."
            elif z > -0.3:
                a = f"It depends on the day. Sometimes {fwd[0].lower() + fwd[1:]}, sometimes {rev[0].lower() + rev[1:]}."
            elif z > -0.9:
                a = f"{rev}, mostly, I'd say."
            else:
                a = f"Very much so. {rev}, always have been."
            turns.append(("How would you describe yourself as a person?", a))
            continue
        if r.random() > coverage:
            continue
        z = x.latent[item.id] + noise * float(r.normal())
        v = _value(item, z, cuts.get(item.id), step=(item.max - item.min) / 10 if item.kind == "number" else None)
        q = f"{r.choice(LEADS)} {item.text}"
        if item.kind == "number":
            unit = f" {item.unit}" if item.unit else ""
            a = str(r.choice([f"I'd say about {v}{unit}.", f"Probably {v}{unit}, give or take.",
                              f"{v}{unit}, I think. " + str(r.choice(FILLERS))]))
        else:
            label = item.labels[v - 1] if item.kind == "likert" else v
            a = _say(label, r)
            if r.random() < 0.25:  # someone else's view, in the options' words
                others = [o for o in (item.labels if item.kind == "likert" else item.options) if o != label]
                a += f" {r.choice(RELATIONS)} would say {str(r.choice(others)).lower()}, not me."
        turns.append((q, a))
    for q, a in r.permutation(np.array(SMALL_TALK, dtype=object))[:5]:
        turns.insert(int(r.integers(1, len(turns) + 1)), (str(q), str(a)))
    return turns


def write_panel(people: Sequence[Person], instrument: Instrument, out: str | Path) -> dict[str, Path]:
    """transcripts/<id>.txt, demographics/<id>.json, people.csv (wave 1), people_wave2.csv, with the
    people's ``arm:`` columns and demographics; returns the paths."""
    out = Path(out)
    (out / "transcripts").mkdir(parents=True, exist_ok=True)
    (out / "demographics").mkdir(parents=True, exist_ok=True)
    for x in people:
        text = "\n".join(f"Interviewer: {q}\n{x.name}: {a}" for q, a in x.turns)
        (out / "transcripts" / f"{x.id}.txt").write_text(text + "\n", encoding="utf-8")
        (out / "demographics" / f"{x.id}.json").write_text(json.dumps(x.demographics), encoding="utf-8")
    items = [i.id for i in instrument.items if i.scored]
    exps = [e.id for e in instrument.experiments]
    demo_cols = list(people[0].demographics) if people else []
    paths = {}
    for name, attr in (("people.csv", "wave1"), ("people_wave2.csv", "wave2")):
        p = out / name
        with p.open("w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["id"] + demo_cols + [f"arm:{e}" for e in exps] + items)
            for x in people:
                ans = getattr(x, attr)
                w.writerow([x.id] + [x.demographics[c] for c in demo_cols] + [x.arms[e] for e in exps]
                           + [ans.get(i, "") for i in items])
        paths[name] = p
    return paths
