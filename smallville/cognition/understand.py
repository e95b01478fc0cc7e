"""What an interviewer's question means: its intent and its slots, without a language model.

The intent is read by meaning: the question (with the people it names put as "Alex", as the
prototypes do) is embedded with all-MiniLM-L6-v2 and compared with the prototype phrasings of
every intent in ``intents.yaml`` (data, not code: add phrasings there); the intent whose two most
similar prototypes are closest wins. Below :data:`PLACED` the question is not placed: the
answer says so and what seems nearest.

Slots:

- ``when`` — a time in the question, resolved against the moment (:mod:`.when`, dateparser);
- ``person`` — a resident named in full or by first or last name, forgiving case, accents and
  small misspellings (rapidfuzz), or through the asker's words for a relationship ("your wife",
  "your study partner": a word of the relationship text);
- ``place`` — a place of the map, from the gazetteer of :mod:`.extract`;
- ``topic`` — the question's content words, for finding events and memories by their facts.

A time settles what the embedding cannot: "What are you doing at 9?" asked at noon is about
the past. Prototype vectors are computed once and kept in ``intents.npz`` beside the library
(rebuilt for any phrasing that is new).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from smallville.cognition import when as W

HERE = Path(__file__).resolve().parent
LIBRARY = HERE / "intents.yaml"
VECTORS = HERE / "intents.npz"
PLACED = 0.42  # below this similarity (top-2 mean) a question is not placed
PLACEHOLDER = "Alex"  # how prototypes name a person
CATEGORIES = ("self", "memory", "plans", "reactions", "reflections")

# words that say nothing of a question's topic (function words, and the words of asking)
STOP = frozenset("""a an the and or but if of to in on at for with from by about into over after before as is are
was were be been being am do does did doing done have has had having will would shall should can could may might
must you your yours yourself i me my mine we us our they them their he him his she her it its this that these
those there here what which who whom whose when where why how any anything some something anyone someone all
tell know knew known heard hear think thought feel felt going go goes gone get got make made let like want
day days today tonight tomorrow yesterday now time week weekend morning afternoon evening night plan plans
happening happen happened lately recently please much many more most very really just also not no yes so
then than up out else told tell said say says invited invite attend attending come coming find found learn
learned first ever anybody everybody people person other others again still news hi hello hey ok okay
whether decided decide planning attend hours hour ago later earlier next last noon midnight am pm""".split())


def fold(text: str) -> str:
    """Lower case without accents ("Müller" -> "muller")."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).lower()


def stem(word: str) -> str:
    w = fold(word).strip("'")
    if w.endswith("'s"):
        w = w[:-2]
    if len(w) > 4 and w.endswith("ies"):
        w = w[:-3] + "y"
    elif len(w) > 3 and w.endswith("s") and not w.endswith("ss"):
        w = w[:-1]
    return w


def content_words(text: str) -> set[str]:
    return {stem(w) for w in re.findall(r"[^\W\d_][\w']+", text) if fold(w) not in STOP and stem(w) not in STOP}


# ---------------------------------------------------------------- the library


@dataclass(frozen=True)
class Intent:
    name: str
    category: str
    about: str
    prototypes: tuple[str, ...]


def load_library(path: Path = LIBRARY) -> dict[str, Intent]:
    import yaml

    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {k: Intent(k, v["category"], v["about"], tuple(v["prototypes"])) for k, v in raw.items()}


def _key(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


class IntentModel:
    """The prototypes of every intent and their vectors (one embedder for all)."""

    def __init__(self, embedder: Any, library: dict[str, Intent] | None = None, cache: Path | None = VECTORS):
        self.embedder = embedder
        self.library = library or load_library()
        self.texts = [p for it in self.library.values() for p in it.prototypes]
        self.owner = [it.name for it in self.library.values() for _ in it.prototypes]
        self.vectors = self._vectors(cache)
        self.vocab = {fold(w) for t in self.texts for w in re.findall(r"[^\W\d_][\w']*", t)}

    def _vectors(self, cache: Path | None) -> np.ndarray:
        self.cache = cache
        self._have: dict[str, np.ndarray] = {}
        if cache is not None and cache.exists():
            try:
                z = np.load(cache, allow_pickle=False)
                if str(z["model"]) == self.embedder.name:
                    self._have = dict(zip((str(k) for k in z["keys"]), z["vectors"]))
            except (OSError, KeyError, ValueError):
                self._have = {}
        return self.lookup(self.texts)

    def lookup(self, texts: list[str]) -> np.ndarray:
        """Vectors of library texts (prototypes, reaction kinds): from the cache file, the missing
        ones embedded once and the file written again (where it can be)."""
        keys = [_key(t) for t in texts]
        missing = [t for t, k in zip(texts, keys) if k not in self._have]
        if missing:
            for t, v in zip(missing, self.embedder.embed(missing)):
                self._have[_key(t)] = v
            if self.cache is not None:
                try:
                    ks = sorted(self._have)
                    np.savez(self.cache, model=np.array(self.embedder.name), keys=np.array(ks),
                             vectors=np.stack([self._have[k] for k in ks]).astype(np.float32))
                except OSError:  # a read-only install: computed again next time
                    pass
        return np.stack([self._have[k] for k in keys]).astype(np.float32)

    def frame(self, text: str) -> str | None:
        """``text`` with the words no prototype uses put as "something" ("Is there a book swap anywhere?" ->
        "Is there a something anywhere?"): the way it asks, without a topic the library cannot know;
        None when too little of it is known."""
        words = re.findall(r"[^\W\d_][\w']*", text)
        known = [w for w in words if fold(w) in self.vocab]
        if len(known) == len(words) or len(known) < 3:
            return None
        framed = re.sub(r"[^\W\d_][\w']*", lambda m: m.group() if fold(m.group()) in self.vocab else "\0", text)
        return re.sub(r"\0(?:[\s-]*\0)*", "something", framed)  # a run of unknown words is one thing

    def scores(self, text: str) -> dict[str, float]:
        """Each intent's similarity to ``text``: the mean of its two nearest prototypes — for the
        question as asked, or, when that places it only roughly, for its frame (:meth:`frame`)."""
        out = self._scores(text)
        f = self.frame(text)
        if f is not None and max(out.values()) < PLACED:  # placed only roughly: try its frame
            framed = self._scores(f)
            if max(framed.values()) > max(out.values()):
                return framed
        return out

    def _scores(self, text: str) -> dict[str, float]:
        out: dict[str, float] = {}
        for v in self.embedder.embed([text]):
            sims = self.vectors @ v
            by: dict[str, list[float]] = {}
            for name, s in zip(self.owner, sims):
                by.setdefault(name, []).append(float(s))
            for k, x in by.items():
                out[k] = max(out.get(k, -1.0), float(np.mean(sorted(x, reverse=True)[:2])))
        return out


_MODELS: dict[str, IntentModel] = {}


def intent_model(embedder: Any | None = None) -> IntentModel:
    """The process's intent model: all-MiniLM-L6-v2 in numpy where installed (no torch), else ``embedder``."""
    from smallville.cognition.minilm import NumpyMiniLM, shared

    if embedder is None:
        if NumpyMiniLM.available():
            embedder = shared()
        else:
            from smallville.cognition.embedding import HashingEmbedder

            embedder = HashingEmbedder()
    m = _MODELS.get(embedder.name)
    if m is None:
        cache = VECTORS if embedder.name == NumpyMiniLM.name else None
        m = _MODELS[embedder.name] = IntentModel(embedder, cache=cache)
    return m


# ---------------------------------------------------------------- slots


def find_people(text: str, people: Sequence[str], me: str, relationships: dict[str, str] | None = None
                ) -> list[tuple[int, int, str]]:
    """(start, end, name) of each resident ``text`` names: in full, by first or last name (case,
    accents and one slip forgiven), or as "your <word of a relationship>"."""
    from rapidfuzz import fuzz

    folded = fold(text)
    out: list[tuple[int, int, str]] = []
    taken = [False] * len(folded)

    def add(s: int, e: int, name: str) -> None:
        if not any(taken[s:e]):
            out.append((s, e, name))
            for i in range(s, e):
                taken[i] = True

    others = [p for p in people if p != me]
    for p in sorted(others, key=len, reverse=True):  # full names first
        for m in re.finditer(r"(?<!\w)" + r"\s+".join(re.escape(w) for w in fold(p).split()) + r"(?!\w)", folded):
            add(m.start(), m.end(), p)
    words = [(m.start(), m.end(), m.group()) for m in re.finditer(r"[^\W\d_]+", folded)]
    firsts: dict[str, list[str]] = {}
    lasts: dict[str, list[str]] = {}
    for p in others:
        parts = fold(p).split()
        firsts.setdefault(parts[0], []).append(p)
        if len(parts) > 1:
            lasts.setdefault(parts[-1], []).append(p)
    for s, e, w in words:
        if any(taken[s:e]) or w in STOP or len(w) < 3:
            continue
        hit = None
        for table in (firsts, lasts):
            if w in table and len(table[w]) == 1:
                hit = table[w][0]
                break
        if hit is None and len(w) >= 5 and text[s:s + 1].isupper():  # a capitalised near miss ("Isabela")
            best = max(((fuzz.ratio(w, k), k) for k in firsts), default=(0, ""))
            if best[0] >= 85 and len(firsts[best[1]]) == 1:
                hit = firsts[best[1]][0]
        if hit is not None:
            add(s, e, hit)
    if relationships:
        for m in re.finditer(r"\byour\s+((?:[^\W\d_]+\s+){0,2}[^\W\d_]+)", folded):
            raw = m.group(1).split()
            if raw and raw[0] in ("closest", "best", "favourite", "favorite", "dearest", "oldest", "newest", "own"):
                continue  # "your closest friend": a choice to make, not a relationship to look up
            # "your neighbours": a group, not one resident
            said = [stem(w) if not (w.endswith("s") and len(w) > 3 and not w.endswith("ss")) else "" for w in raw]
            for i, word in enumerate(said):
                if word in STOP:
                    continue
                who = next((p for p, rel in relationships.items() if p != me and word in
                            {stem(x) for x in re.findall(r"[^\W\d_]+", fold(rel))}), None)
                if who is not None:
                    end = m.start(1) + len(" ".join(m.group(1).split()[:i + 1]))
                    add(m.start(), end, who)
                    break
    return sorted(out)


@dataclass
class Understanding:
    """A question read: its intent, category, how sure, what came nearest, and its slots."""

    question: str
    intent: str
    category: str
    score: float
    placed: bool
    nearest: list[tuple[str, float]] = field(default_factory=list)
    when: W.When | None = None
    person: str | None = None
    people: list[str] = field(default_factory=list)
    place: str | None = None
    topic: set[str] = field(default_factory=set)
    unresolved_person: str | None = None  # "your cousin": a relationship it has not

    @property
    def about(self) -> str:
        return self.intent


PERSON_INTENTS = ("person.who", "person.opinion", "person.how")
TIME_INTENTS = ("now", "past", "future", "next", "today", "tomorrow")


def understand(question: str, me: str, people: Sequence[str], now, relationships: dict[str, str] | None = None,
               gazetteer: Any = None, model: IntentModel | None = None) -> Understanding:
    """Read ``question`` as asked of ``me`` at ``now``."""
    q = " ".join(question.split())[:2000]
    model = model or intent_model()
    lib = model.library
    found = find_people(q, people, me, relationships)
    # the people it names stand as "Alex", the prototypes' person
    masked = q
    for s, e, _ in reversed(found):
        masked = masked[:s] + PLACEHOLDER + masked[e:]
    unresolved = None
    m = re.search(r"\byour\s+(roommate|room-mate|boss|wife|husband|partner|son|daughter|mother|father|mum|mom|dad|"
                  r"brother|sister|friend|best friend|neighbou?r|colleague|coworker|co-worker|teacher|student|"
                  r"landlord|tenant|cousin|uncle|aunt|girlfriend|boyfriend|employer|employee|mentor|classmate|"
                  r"flatmate|housemate|child|kid|parent|grandson|granddaughter)\b", fold(q))
    if m and not any(s <= m.start() < e for s, e, _ in found):
        unresolved = m.group(1)
    scores = model.scores(masked) if masked.strip() else {}
    ranked = sorted(scores.items(), key=lambda kv: -kv[1])
    intent, score = ranked[0] if ranked else ("unknown", 0.0)
    time_q = masked
    w = W.find(time_q, now)
    named = [n for _, _, n in found]
    person = named[0] if named else None
    # a time settles which way a question about doing looks
    if w is not None and intent in TIME_INTENTS + ("reflect.mind",):
        slack = dt.timedelta(minutes=20)
        if w.end <= now - slack or (w.point and w.start < now - slack):
            intent = "past"
        elif w.start > now + slack:
            intent = "tomorrow" if (not w.clock and w.start.date() == now.date() + dt.timedelta(days=1)
                                    and w.end - w.start >= dt.timedelta(hours=24)) else "future"
        elif intent in ("past", "future") and w.point and abs(w.start - now) <= slack:
            intent = "now"
    if w is not None and intent in ("today", "tomorrow", "now") and not w.clock and w.end - w.start >= dt.timedelta(hours=20):
        days = (w.start.date() - now.date()).days
        intent = "today" if days == 0 else "tomorrow" if days >= 1 else "past"
    # a person intent about nobody it can name is about a topic
    if intent in PERSON_INTENTS and person is None and unresolved is None:
        second = next((k for k, _ in ranked if k not in PERSON_INTENTS), intent)
        intent = second if second.startswith(("know.", "event.")) else "know.topic"
    place = None
    if gazetteer is not None:
        hits = gazetteer.find(q)
        place = hits[0][2] if hits else None
    topic = content_words(masked.replace(PLACEHOLDER, " ")) - content_words(w.words if w else "")
    category = lib[intent].category if intent in lib else "memory"
    placed = score >= PLACED
    return Understanding(q, intent, category, score, placed, ranked[:3], w, person, named, place, topic, unresolved)
