"""Decisions ``summarize_interview`` and ``expert_reflect``: what a persona keeps of an interview.

``summarize_interview`` gives a persona's background paragraph and traits; ``expert_reflect``
gives insights in four lenses (:data:`LENSES`: a psychologist, a behavioural economist, a
political scientist, a demographer), as Park et al. (2024) condition their agents on.

The model versions read the transcript: the whole of it when the prompt fits the model's context
(``llm.context_tokens``), otherwise the answers retrieved for the lens (most similar first, kept in
interview order) until it fits — never a failure (:func:`fit_transcript`).

The rules versions are extractive and never invent:

- *summary*: the demographics in one line, the words the person uses of themself, then the start
  of up to :data:`SUMMARY_TURNS` answers spread evenly over the interview, each quoted with its
  question ("On \"…\", Ana said: \"…\""), up to :data:`SUMMARY_WORDS` of the person's words. Traits: the words the person uses of themself after
  "I'm (a/an/very/pretty…) X", "I am X", "describe me as X", "I'd call myself X" — at most six,
  in order of first use; none found leaves the single trait "unstated".
- *reflections*: for each lens, the participant's sentences with most of the lens's vocabulary
  (:data:`LENSES`, topic words only), up to three, quoted as "A psychologist would note that Ana
  said: '…'." A lens with no sentence in its vocabulary gets no insight.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

import numpy as np

from smallville.cognition.decisions import InvalidAnswer
from smallville.cognition.embedding import HashingEmbedder
from smallville.cognition.understand import content_words
from smallville.people.transcript import Transcript, chunks, topic

SUMMARY_WORDS = 150  # words of the person's quoted in a rules summary
SUMMARY_TURNS = 12  # answers it quotes at most
SUMMARY_TOKENS = 600
REFLECT_TOKENS = 500

# lens -> (who, what the lens looks for: the prompt's focus, and the rules' vocabulary)
LENSES: dict[str, tuple[str, str, frozenset[str]]] = {
    "psychologist": ("a psychologist", "personality, emotions, wellbeing, relationships and how they cope",
                     frozenset("""feel feeling felt happy unhappy sad anxious anxiety worry worried stress stressed
                     calm nervous lonely friend friends family relationship relationships love angry anger mood
                     myself personality shy outgoing quiet talkative organised organized careful lazy trust
                     trusting kind rude cope coping confident confidence fear afraid proud satisfied life
                     imagination curious creative reserved sociable""".split())),
    "economist": ("a behavioural economist", "money, work, risk, fairness, sharing and how they decide",
                  frozenset("""money pay paid save saving savings spend spending income job work working wage
                  salary cost price afford debt loan rent bills risk risky gamble bet safe sure fair fairness
                  share sharing give gave giving generous keep split donate charity invest buy sell dollars
                  budget rich poor business deal""".split())),
    "political": ("a political scientist", "politics, government, institutions, trust and civic life",
                  frozenset("""government politics political vote voted voting election party liberal
                  conservative moderate left right democrat republican congress president law laws police
                  court courts media press news tax taxes rights policy policies public country nation state
                  trust institutions church science military union community""".split())),
    "demographer": ("a demographer", "age, family, household, place, education, work and their life course",
                    frozenset("""born grew grow raised age old young children child kids son daughter married
                    marriage divorced husband wife partner parents mother father household moved move town city
                    rural suburb school college degree university education graduated retired job career work
                    neighborhood neighbourhood lived live home house""".split())),
}

_SENT = re.compile(r"(?<=[.!?])\s+")
_SELF = re.compile(r"\b(?:i'm|i am|i've always been|describe me as|call myself|calls? me|i'd say i'm|"
                   r"i consider myself)\s+((?:(?:a|an|very|pretty|quite|really|fairly|rather|so|too|kind of|"
                   r"sort of|bit|a bit|little|a little|more|the|of)\s+)*)([a-z][a-z-]{2,})(?:,?\s+(?:and|or)\s+"
                   r"((?:very|pretty|quite|really|a bit|a little|rather|fairly)\s+)?([a-z][a-z-]{2,}))?", re.I)
# words after "I'm" that say what one does or where one is, not what one is like
_NOT_TRAITS = frozenset("""not going doing trying getting looking working living thinking sure glad able about
from in at on with still just also really gonna person kind sort type one guy woman man lot bit little
retired married divorced single here there back home done""".split())


@dataclass(frozen=True)
class Summary:
    text: str
    traits: tuple[str, ...]


def sentences(transcript: Transcript) -> list[str]:
    return [s.strip() for t in transcript.turns for s in _SENT.split(t.answer) if len(s.split()) >= 4]


def demographics_line(name: str, demographics: dict) -> str:
    parts = [f"{k.replace('_', ' ')}: {v}" for k, v in demographics.items() if k not in ("id", "name")]
    return f"{name} — " + "; ".join(parts) + "." if parts else f"{name}."


def self_traits(transcript: Transcript, limit: int = 6) -> list[str]:
    out: list[str] = []
    for t in transcript.turns:
        for m in _SELF.finditer(t.answer):
            graded = [bool((m.group(1) or "").strip()), bool((m.group(3) or "").strip()) or bool((m.group(1) or "").strip())]
            for word, degree in zip((m.group(2), m.group(4)), graded):
                w = (word or "").lower()
                # "I'm reading" says what one does; "I'm pretty outgoing" (a degree word) what one is
                if w and w not in _NOT_TRAITS and (degree or not w.endswith("ing")) and w not in out:
                    out.append(w)
    return out[:limit]


def rules_summary(name: str, demographics: dict, transcript: Transcript) -> Summary:
    turns = [t for t in transcript.turns if content_words(t.answer)]
    picked: list[int] = []
    if turns:  # answers spread evenly over the interview, so the summary covers all of it
        step = max(1, len(turns) / SUMMARY_TURNS)
        picked = sorted({min(len(turns) - 1, int(i * step)) for i in range(SUMMARY_TURNS)})
    parts, n = [], 0
    for i in picked:
        t = turns[i]
        said = " ".join(_SENT.split(t.answer)[:2])
        said = " ".join(said.split()[:30])
        k = len(said.split())
        if parts and n + k > SUMMARY_WORDS:
            break
        parts.append(f"On \"{topic(t.question, 12)}\", {name} said: \"{said}\"")
        n += k
    traits = self_traits(transcript)
    text = demographics_line(name, demographics)
    if traits:
        text += f" {name} describes themself as {', '.join(traits)}."
    if parts:
        text += " " + " ".join(parts)
    return Summary(text, tuple(traits) or ("unstated",))


def rules_reflections(name: str, transcript: Transcript, per_lens: int = 3) -> dict[str, list[str]]:
    sents = sentences(transcript)
    out: dict[str, list[str]] = {}
    for lens, (who, _, vocab) in LENSES.items():
        hits = []
        for i, s in enumerate(sents):
            ws = {w.lower() for w in re.findall(r"[A-Za-z']+", s)}
            k = len(ws & vocab)
            if k:
                hits.append((-k, i))
        best = sorted(i for _, i in sorted(hits)[:per_lens])
        if best:
            out[lens] = [f"{who[0].upper()}{who[1:]} would note that {name} said: \"{sents[i]}\"" for i in best]
    return out


# ---------------------------------------------------------------- the model side

_HASH = HashingEmbedder(256)


def fit_transcript(transcript: Transcript, focus: str, budget_tokens: int | None,
                   count: Callable[[str], int]) -> tuple[str, str]:
    """(the transcript text for a prompt, what it covers): the whole when it fits ``budget_tokens``,
    otherwise the answers most similar to ``focus`` (hashing embedder), in interview order, until it fits."""
    whole = transcript.text()
    if budget_tokens is None or count(whole) <= budget_tokens:
        return whole, "the whole interview"
    pieces = [f"Q: {t.question}\nA: {c}" for t in transcript.turns for c in chunks(t.answer)]
    sims = _HASH.embed(pieces) @ _HASH.embed([focus])[0]
    keep: list[int] = []
    used = 0
    for i in np.argsort(-sims, kind="stable"):
        k = count(pieces[i]) + 1
        if used + k > budget_tokens:
            continue
        keep.append(int(i))
        used += k
    return "\n".join(pieces[i] for i in sorted(keep)), f"the parts about {focus}, {len(keep)} of {len(pieces)}"


def _budget(decider: Any, answer_tokens: int, overhead: int = 400) -> int | None:
    ctx = getattr(decider, "context_tokens", None)
    return None if ctx is None else max(200, ctx - answer_tokens - overhead)


def parse_summary(value: Any) -> Summary:
    if not isinstance(value, dict):
        raise InvalidAnswer("not an object")
    text = " ".join(str(value.get("summary", "")).split())
    traits = tuple(dict.fromkeys(" ".join(str(t).split()).lower() for t in value.get("traits", []) if str(t).strip()))
    if len(text) < 20:
        raise InvalidAnswer("summary too short")
    if not traits:
        raise InvalidAnswer("no traits")
    return Summary(text, traits[:8])


def parse_insights(value: Any) -> list[str]:
    if not isinstance(value, dict):
        raise InvalidAnswer("not an object")
    out = [" ".join(str(s).split()) for s in value.get("insights", []) if str(s).strip()]
    if not out:
        raise InvalidAnswer("no insights")
    return out[:5]


async def summarize(decide: Callable[..., Awaitable[Any]], decider: Any, name: str, demographics: dict,
                    transcript: Transcript) -> Summary:
    """Decision ``summarize_interview`` (``decide``: :meth:`Decider.decide` bound to the person)."""
    text, coverage = fit_transcript(transcript, "who they are: life, work, family, values and views",
                                    _budget(decider, SUMMARY_TOKENS), decider.count_tokens)
    return await decide("summarize_interview",
                        variables={"name": name, "demographics": demographics_line(name, demographics),
                                   "transcript": text, "coverage": coverage},
                        rules=lambda: rules_summary(name, demographics, transcript), parse=parse_summary,
                        max_tokens=SUMMARY_TOKENS)


async def reflect(decide: Callable[..., Awaitable[Any]], decider: Any, name: str, demographics: dict,
                  transcript: Transcript) -> dict[str, list[str]]:
    """Decision ``expert_reflect``, once per lens."""
    rules = rules_reflections(name, transcript)
    out: dict[str, list[str]] = {}
    for lens, (who, focus, _) in LENSES.items():
        text, coverage = fit_transcript(transcript, focus, _budget(decider, REFLECT_TOKENS), decider.count_tokens)
        got = await decide("expert_reflect",
                           variables={"name": name, "lens": who, "focus": focus, "transcript": text,
                                      "coverage": coverage, "demographics": demographics_line(name, demographics)},
                           rules=lambda lens=lens: rules.get(lens, []), parse=parse_insights,
                           max_tokens=REFLECT_TOKENS)
        if got:
            out[lens] = list(got)
    return out
