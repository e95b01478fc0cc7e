"""Decision ``answer_survey``: a respondent answers a batch of survey items.

**Model version** (prompt ``prompts/answer_survey.txt``): several items per request (:data:`BATCH`,
cheaper than one each); the answer schema is built per request, each item's value constrained to its
options (``enum``), its points or its range, so a model decoding under the schema cannot answer out of
bounds. The respondent is described as its condition allows (:mod:`~smallville.people.respondent`):
demographics; the persona paragraph and traits; under ``interview`` the memories retrieved for the
batch's items (best first). A schema-invalid answer is retried by the backend's retry wrapper; an
answer that still does not parse makes the rules decide that batch (recorded as a fallback).

**Rules version** (:func:`rules_answers`), a baseline that reads only what the condition shows:

1. The memories retrieved for the item's wording (as the world's retrieval weighs recency,
   importance and relevance; top ``k``). Each retrieved memory ``m`` weighs
   ``w_m = score_m · (max(0, c_m) / max_m' c_m') ** SHARPNESS`` with ``c_m`` the cosine between the
   content words (:func:`topic_text`) of the memory and of the item — the retrieval
   score, counted as far as the memory is about this item rather than a neighbour sharing its stem
   ("How much confidence do you have in …"); nothing counts when the best cosine is under :data:`FLOOR`.
2. *Options* (choice and likert items): each option's label ``o`` is embedded; its evidence is
   ``E_o = Σ_m w_m · (cos(said_m, o) − mean_o' cos(said_m, o'))`` where ``said_m`` is the person's own
   words in the memory (the quoted answer of a transcript memory, else the whole memory) — what sets this option apart from the
   others in the memories (the words they share cancel). The answer is the option of greatest
   ``E_o`` when it leads by at least :data:`MARGIN` of ``Σ w_m``; otherwise nothing decides.
3. *Traits* (a likert item of a construct with both forward and reverse-keyed items, e.g. a Big
   Five trait): the memories are compared with every item of the construct; ``T = Σ_m w'_m Σ_i key_i
   (cos(m, i) − mean_i' cos(m, i'))`` over the memories retrieved for the construct's items (persona
   traits are among them: "Ana is reserved, careful."). ``T`` puts the person toward the forward or
   the reverse pole: the answer is the scale point ``1 + (points−1)·(½ + ½·tanh(T / TRAIT_SCALE))``,
   mirrored for a reverse-keyed item, unless ``|T|`` is below :data:`MARGIN` (nothing decides).
4. *Numbers*: the numbers the relevant memories state within the item's range (digits, "half",
   "nothing"), weighted by ``w_m``: their weighted median.
5. *Free text*: the words of the most relevant memory (the quoted answer when it is a transcript
   memory).
6. When nothing decides: the item's ``default``, else the middle of a scale or range
   (:func:`~smallville.people.instrument.default_value`), else (an unordered choice) an option
   drawn with a RNG seeded by the run's seed, the respondent and the item.

Deterministic: the same memories, instrument and seed give the same answers.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from smallville.cognition.decisions import InvalidAnswer
from smallville.cognition.understand import content_words
from smallville.people.instrument import Arm, Instrument, Item, default_value

BATCH = 10  # items per model request
MARGIN = 0.05  # share of the evidence weight an option must lead by
TRAIT_SCALE = 1.0
TOP_K = 12
SHARPNESS = 8  # how fast a memory's weight falls with its relevance below the best one's
FLOOR = 0.15  # the least cosine similarity of the best memory for the memories to speak to an item
ANSWER_TOKENS = 48  # per item in a request
_NUM = re.compile(r"(?<![\w.])\$?(\d{1,7}(?:\.\d+)?)\s*(%|percent)?")
_QUOTE = re.compile(r'said: "(.*)"$')


@dataclass(frozen=True)
class Asked:
    """An item as one respondent is asked it: the arm of its experiment, if any."""

    item: Item
    arm: str | None = None
    wording: Arm | None = None

    @property
    def text(self) -> str:
        return self.item.wording(self.wording)

    @property
    def labels(self) -> list[str]:
        if self.item.kind == "choice":
            return self.item.choices(self.wording)
        if self.item.kind == "likert":
            return list(self.item.labels)
        return []


@dataclass
class Context:
    """What the rules need of one respondent: its memory (a stream), the retrieval of every focal
    text, and the vectors of labels (shared by all respondents through the embedding cache)."""

    name: str
    memory: Any  # MemoryStreams
    tick: int
    instrument: Instrument
    seed: int
    k: int = TOP_K
    memo: dict[str, np.ndarray] = field(default_factory=dict)  # vectors of labels and items, shared by respondents
    _retrieved: dict[str, list] = field(default_factory=dict)
    _said: dict[int, np.ndarray] = field(default_factory=dict)
    _about: dict[int, np.ndarray] = field(default_factory=dict)

    def prefetch(self, focal: Sequence[str]) -> None:
        todo = [t for t in dict.fromkeys(focal) if t not in self._retrieved]
        if todo:
            for t, hits in zip(todo, self.memory.retrieve(self.name, todo, self.tick, k=self.k, touch=False)):
                self._retrieved[t] = hits

    def retrieved(self, text: str) -> list:
        self.prefetch([text])
        return self._retrieved[text]

    def vectors(self, texts: Sequence[str]) -> np.ndarray:
        todo = [t for t in texts if t not in self.memo]
        if todo:
            for t, v in zip(todo, self.memory.cache.vectors(todo)):
                self.memo[t] = v
        return np.stack([self.memo[t] for t in texts])

    def about(self, hits: Sequence[Any]) -> np.ndarray:
        """Vectors of each memory's content words (what it is about; see :func:`topic_text`)."""
        todo = [h.node for h in hits if h.node.id not in self._about]
        if todo:
            vecs = self.memory.cache.vectors([topic_text(n.description) for n in todo])
            for n, v in zip(todo, vecs):
                self._about[n.id] = v
        return np.stack([self._about[h.node.id] for h in hits])

    def said(self, hits: Sequence[Any]) -> np.ndarray:
        todo = [h.node for h in hits if h.node.id not in self._said]
        if todo:
            vecs = self.memory.cache.vectors([quoted(n.description) for n in todo])
            for n, v in zip(todo, vecs):
                self._said[n.id] = v
        return np.stack([self._said[h.node.id] for h in hits])

    def node_vectors(self, hits: Sequence[Any]) -> np.ndarray:
        v = self.memory.stream(self.name).vectors()
        return v[[h.node.id for h in hits]] if hits else np.zeros((0, v.shape[1] if v.size else 1), np.float32)


def focus(cos: np.ndarray) -> np.ndarray:
    """How much each memory is about the item: ``(cos / best cos) ** SHARPNESS`` (0 for a negative
    cosine), all 0 when even the best is below :data:`FLOOR` — the memories of a neighbouring item,
    sharing the item's stem but not its topic, fade."""
    best = float(cos.max()) if cos.size else 0.0
    if best < FLOOR:
        return np.zeros_like(cos, dtype=float)
    return (np.maximum(cos, 0.0) / best) ** SHARPNESS


def topic_text(text: str) -> str:
    """A text's content words (stemmed, no function words): what focus compares, so that two texts
    sharing only "a", "of" and "have you" are not about the same thing."""
    return " ".join(sorted(content_words(text)))


def _weights(ctx: Context, hits: Sequence[Any], focal: str) -> tuple[np.ndarray, np.ndarray]:
    """(vectors of the retrieved memories, their weights w_m = retrieval score · focus)."""
    if not hits:
        return np.zeros((0, 1), np.float32), np.zeros(0)
    mv = ctx.node_vectors(hits)
    cos = ctx.about(hits) @ ctx.vectors([topic_text(focal)])[0]
    score = np.array([h.score for h in hits])
    return mv, score * focus(cos)


def said_vectors(ctx: Context, hits: Sequence[Any]) -> np.ndarray:
    """Vectors of the person's own words in each memory: the quoted answer of a transcript memory
    ('Asked "…", Ana said: "…"'), else the whole description — the question's words (which may
    name every option) never speak for the person."""
    return ctx.said(hits)


def option_evidence(ctx: Context, asked: Asked) -> np.ndarray | None:
    """E_o for every option (see the module doc), or None when nothing is retrieved."""
    hits = ctx.retrieved(asked.text)
    _, w = _weights(ctx, hits, asked.text)
    if w.sum() <= 0:
        return None
    keep = w > 1e-3 * w.max()
    hits, w = [h for h, k in zip(hits, keep) if k], w[keep]
    labels = [re.sub(r"^\d+ = ", "", lab) for lab in asked.labels]
    sims = said_vectors(ctx, hits) @ ctx.vectors(labels).T  # (memories, options)
    centred = sims - sims.mean(axis=1, keepdims=True)
    return (w[:, None] * centred).sum(axis=0) / w.sum()


def trait_evidence(ctx: Context, asked: Asked) -> float | None:
    c = ctx.instrument.construct_of(asked.item.id)
    if c is None or not c.reverse or len(c.reverse) == len(c.items):
        return None
    items = [ctx.instrument.item(i) for i in c.items]
    keys = np.array([-1.0 if i.id in c.reverse else 1.0 for i in items])
    texts = [i.text for i in items]
    ctx.prefetch(texts)
    seen: dict[int, tuple[Any, float]] = {}
    for t in texts:
        for h in ctx.retrieved(t):
            if h.node.id not in seen or h.score > seen[h.node.id][1]:
                seen[h.node.id] = (h, h.score)
    if not seen:
        return None
    hits = [h for h, _ in seen.values()]
    mv = ctx.node_vectors(hits)
    sims = mv @ ctx.vectors(texts).T  # (memories, items)
    about = ctx.about(hits) @ ctx.vectors([topic_text(t) for t in texts]).T
    w = np.array([h.score for h in hits]) * focus(about.max(axis=1))
    if w.sum() <= 0:
        return None
    centred = sims - sims.mean(axis=1, keepdims=True)
    return float((w[:, None] * centred * keys[None, :]).sum() / w.sum())


def _numbers(text: str, item: Item) -> list[float]:
    low = text.lower()
    out = []
    for m in _NUM.finditer(low):
        v = float(m.group(1))
        if m.group(2):
            v = item.min + (item.max - item.min) * v / 100
        out.append(v)
    if re.search(r"\bhalf\b", low):
        out.append((item.min + item.max) / 2)
    if re.search(r"\b(nothing|not a (penny|cent|thing)|zero)\b", low):
        out.append(item.min)
    return [v for v in out if item.min <= v <= item.max]


def quoted(description: str) -> str:
    m = _QUOTE.search(description)
    return m.group(1) if m else description


def _draw(seed: int, name: str, item_id: str, options: Sequence[str]) -> str:
    tag = int.from_bytes(hashlib.blake2b(f"{seed}:{name}:{item_id}".encode(), digest_size=8).digest(), "little")
    return random.Random(tag).choice(list(options))


def fallback_value(ctx: Context, asked: Asked):
    v = default_value(asked.item)
    return v if v is not None else _draw(ctx.seed, ctx.name, asked.item.id, asked.item.options)


def rules_one(ctx: Context, asked: Asked) -> tuple[Any, bool]:
    """(value, whether the memories decided it) for one item."""
    item = asked.item
    if item.kind == "likert":
        t = trait_evidence(ctx, asked)
        if t is not None:
            if abs(t) < MARGIN:
                return fallback_value(ctx, asked), False
            c = ctx.instrument.construct_of(item.id)
            pos = 0.5 + 0.5 * np.tanh(t / TRAIT_SCALE)
            if item.id in c.reverse:
                pos = 1 - pos
            return int(round(1 + (item.points - 1) * pos)), True
    if item.kind in ("choice", "likert"):
        e = option_evidence(ctx, asked)
        if e is not None and len(e) > 1:
            order = np.argsort(-e, kind="stable")
            if e[order[0]] - e[order[1]] >= MARGIN:
                j = int(order[0])
                return (item.options[j] if item.kind == "choice" else j + 1), True
        return fallback_value(ctx, asked), False
    hits = ctx.retrieved(asked.text)
    if item.kind == "number":
        _, w = _weights(ctx, hits, asked.text)
        vals, ws = [], []
        for h, wm in zip(hits, w):
            if wm <= 0:
                continue
            for v in _numbers(quoted(h.node.description), item):
                vals.append(v)
                ws.append(wm)
        if not vals:
            return fallback_value(ctx, asked), False
        order = np.argsort(vals, kind="stable")
        cum = np.cumsum(np.array(ws)[order])
        med = np.array(vals)[order][int(np.searchsorted(cum, cum[-1] / 2))]
        return item.check(med), True
    # free text
    if not hits:
        return "No answer.", False
    _, w = _weights(ctx, hits, asked.text)
    best = hits[int(np.argmax(w))] if w.size and w.max() > 0 else None
    return (item.check(quoted(best.node.description)), True) if best is not None else ("No answer.", False)


def rules_answers(ctx: Context, batch: Sequence[Asked]) -> dict[str, Any]:
    return {a.item.id: rules_one(ctx, a)[0] for a in batch}


# ---------------------------------------------------------------- the model side


def item_schema(asked: Asked) -> dict:
    item = asked.item
    if item.kind == "choice":
        return {"type": "string", "enum": asked.labels}
    if item.kind == "likert":
        return {"type": "integer", "minimum": 1, "maximum": item.points}
    if item.kind == "number":
        return {"type": "integer" if item.integer else "number", "minimum": item.min, "maximum": item.max}
    return {"type": "string", "minLength": 1, "maxLength": 600}


def batch_schema(batch: Sequence[Asked]) -> Callable[[dict], dict]:
    def adjust(schema: dict) -> dict:
        schema["properties"]["answers"] = {
            "type": "object", "properties": {a.item.id: item_schema(a) for a in batch},
            "required": [a.item.id for a in batch], "additionalProperties": False}
        return schema
    return adjust


def item_line(asked: Asked) -> str:
    item = asked.item
    if item.kind == "choice":
        how = "one of: " + " | ".join(json.dumps(o) for o in asked.labels)
    elif item.kind == "likert":
        how = "a whole number: " + ", ".join(f"{i} = {lab}" for i, lab in enumerate(item.labels, 1))
    elif item.kind == "number":
        unit = f" {item.unit}" if item.unit else ""
        how = f"a number from {item.min:g} to {item.max:g}{unit}"
    else:
        how = "a sentence or two in your own words"
    return f"- {item.id}: {asked.text}\n  Answer with {how}."


def parse_answers(value: Any, batch: Sequence[Asked]) -> dict[str, Any]:
    if not isinstance(value, dict) or not isinstance(value.get("answers"), dict):
        raise InvalidAnswer("no answers object")
    got = value["answers"]
    out = {}
    for a in batch:
        if a.item.id not in got:
            raise InvalidAnswer(f"no answer to {a.item.id}")
        v = got[a.item.id]
        if a.item.kind == "choice":  # an arm's label stands for the item's option in the same place
            if v not in a.labels:
                raise InvalidAnswer(f"{a.item.id}: {v!r} is not an option")
            v = a.item.options[a.labels.index(v)]
        try:
            out[a.item.id] = a.item.check(v)
        except ValueError as e:
            raise InvalidAnswer(str(e)) from None
    return out


def normalise_rules(batch: Sequence[Asked], values: dict[str, Any]) -> dict[str, Any]:
    return {a.item.id: values[a.item.id] for a in batch}
