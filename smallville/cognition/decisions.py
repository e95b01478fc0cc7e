"""Typed cognitive decisions with two implementations: an LLM one and a rules one.

A decision is named after what it decides (``rate_importance``, ``plan_day``…). Its LLM
implementation is a prompt template ``smallville/prompts/<name>.txt`` (``string.Template``
``$variables``) with the JSON schema of the answer beside it in ``<name>.json``; its rules
implementation is a plain function. :class:`Decider` runs one or the other and records
every decision (name, backend, whether it fell back to rules).

A template may start with a system message, separated from the user message by a line
``---``. A decision that answers in another's shape shares its schema file (``replan`` uses
``plan_day.json``, see :data:`SCHEMA_OF`). A call may narrow the file's schema to what it asks (``enums``: an agent's places;
``schema``: any adjustment, such as exactly as many ratings as memories), so that a model
decoding under a grammar cannot give a longer answer than the question needs. The LLM path: render the template with the variables, ask with the schema
(through the run's wrapped backend: retry, budget, record…), hand the validated value to
``parse``. If the call fails for good (:class:`~smallville.llm.faults.LLMFault`) or
``parse`` raises :class:`InvalidAnswer`, the rules implementation decides instead and the
decision is recorded with ``fallback=True``; ``parse`` may also return
:class:`Repaired` — a usable answer it had to mend — which is recorded as a fallback too,
with the reason noted on the call.
"""

from __future__ import annotations

import copy
import json
import random
import string
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Generic, TypeVar

from smallville.llm.faults import LLMFault
from smallville.llm.protocol import Message, Request

PROMPTS = Path(__file__).resolve().parent.parent / "prompts"
T = TypeVar("T")
SchemaOverride = Callable[[dict], dict] | dict | None


class InvalidAnswer(Exception):
    """An LLM answer that does not make sense for the decision (raised by ``parse``)."""


@dataclass(frozen=True)
class Repaired(Generic[T]):
    """What ``parse`` returns for an answer it could use only after mending it (an unknown
    place replaced by the routine's): ``value`` is used, and the decision counts as a fallback."""

    value: T
    reason: str


def render(name: str, variables: dict[str, Any], enums: dict[str, list[str]] | None = None,
           schema: SchemaOverride = None) -> tuple[tuple[Message, ...], dict]:
    """The messages of decision ``name`` for ``variables``, and its answer schema — with the
    string properties named in ``enums`` narrowed to those values (an agent's places), then
    adjusted by ``schema``: a callable given the file's schema returns this call's (bounds that
    depend on the call, such as exactly as many ratings as memories), a dict replaces it."""
    tmpl, answer = template(name)
    for key, values in (enums or {}).items():  # "place", or "blocks.place" inside an array's items
        answer = _narrow(answer, key.split("."), list(values))
    if callable(schema):
        answer = schema(copy.deepcopy(answer))
    elif schema is not None:
        answer = schema
    text = tmpl.substitute(variables)
    system, sep, user = text.partition("\n---\n")
    if not sep:
        return (Message("user", text.strip()),), answer
    return (Message("system", system.strip()), Message("user", user.strip())), answer


def _narrow(schema: dict, path: list[str], values: list[str]) -> dict:
    """A copy of ``schema`` whose string property at ``path`` (through arrays' items) is one of ``values``."""
    if not path:  # the values bound the string: a length limit meant for free text no longer applies
        return {**{k: v for k, v in schema.items() if k not in ("maxLength", "minLength", "pattern")},
                "enum": values}
    if schema.get("type") == "array":
        return {**schema, "items": _narrow(schema["items"], path, values)}
    props = dict(schema.get("properties", {}))
    props[path[0]] = _narrow(props[path[0]], path[1:], values)
    return {**schema, "properties": props}


# the variable a decision's prompt may lose lines of when it would not fit the context window
TRIM = {"plan_day": "memories", "replan": "memories", "react": "memories", "converse_turn": "memories"}
CHAT_OVERHEAD = 48  # tokens a chat template adds around the messages

# decisions that answer in another decision's shape share its schema file
SCHEMA_OF = {"replan": "plan_day"}


@lru_cache(maxsize=None)
def template(name: str) -> tuple[string.Template, dict]:
    text = (PROMPTS / f"{name}.txt").read_text(encoding="utf-8")
    schema = json.loads((PROMPTS / f"{SCHEMA_OF.get(name, name)}.json").read_text(encoding="utf-8"))
    return string.Template(text), schema


class Decider:
    """Runs decisions for a whole run.

    ``llm`` is ``None`` for the rules baseline, else the run's wrapped language model
    (:func:`smallville.llm.factory.wrap`). ``record(agent, name, backend, fallback, tick,
    reason)`` is called once per decision taken.
    """

    def __init__(self, llm: Any = None, record: Callable[..., None] | None = None,
                 temperature: float = 0.7, max_tokens: int = 256, context_tokens: int | None = None,
                 count_tokens: Callable[[str], int] | None = None):
        self.llm = llm
        self.backend = "rules" if llm is None else llm.backend
        self._record = record or (lambda **k: None)
        self.temperature = temperature
        self.max_tokens = max_tokens
        # a model with a small context window: a prompt that would not fit loses memories (see fit)
        self.context_tokens = context_tokens
        self.count_tokens = count_tokens or (lambda text: len(text) // 3 + 1)

    def set_recorder(self, record: Callable[..., None]) -> None:
        self._record = record

    async def decide(self, name: str, *, agent: str, tick: int, variables: dict[str, Any],
                     rules: Callable[[], T], parse: Callable[[Any], T | Repaired[T]], seed: int | None = None,
                     rng: random.Random | None = None, enums: dict[str, list[str]] | None = None,
                     max_tokens: int | None = None, schema: SchemaOverride = None) -> T:
        """Take decision ``name`` for ``agent``.

        ``rules()`` is the rules implementation; ``parse(value)`` turns the LLM's schema-valid
        JSON value into the decision's type (or a :class:`Repaired` one) or raises
        :class:`InvalidAnswer`. The model's sampling seed is ``seed``, else read from ``rng`` (the
        decision's private RNG) without advancing it: a fallback to ``rules()`` then draws exactly
        what the rules baseline draws, so a decision that falls back is the rules decision.
        ``enums`` narrows string answers to given values and ``schema`` adjusts this call's answer
        schema (see :func:`render`). ``max_tokens`` overrides the run's answer length, for a decision
        with long answers (a day's plan) or a short one (ratings).
        """
        if self.llm is None:
            self._record(agent=agent, name=name, backend="rules", fallback=False, tick=tick)
            return rules()
        if seed is None and rng is not None:
            saved = rng.getstate()
            seed = rng.getrandbits(31)
            rng.setstate(saved)
        return await self._decide_llm(name, agent, tick, variables, rules, parse, seed, enums, max_tokens, schema)

    async def _decide_llm(self, name: str, agent: str, tick: int, variables: dict[str, Any],
                          rules: Callable[[], T], parse: Callable[[Any], Any], seed: int | None,
                          enums: dict[str, list[str]] | None = None, max_tokens: int | None = None,
                          override: SchemaOverride = None) -> T:
        variables = self.fit(name, variables, max_tokens or self.max_tokens)
        messages, schema = render(name, variables, enums, override)
        request = Request(messages=messages, schema=schema, schema_name=name, temperature=self.temperature,
                          max_tokens=max_tokens or self.max_tokens, seed=seed, decision=name, agent=agent,
                          tick=tick)
        try:
            resp = await self.llm.complete(request)
        except LLMFault as f:  # every attempt failed (or the budget is spent)
            return self._fallback(agent, name, tick, rules, f"{f.kind}: {f.message}")
        call = resp.extra.get("call")
        try:
            out = parse(resp.value)
        except InvalidAnswer as e:
            return self._fallback(agent, name, tick, rules, f"invalid answer: {e}", call)
        except (KeyError, IndexError, TypeError, ValueError) as e:  # a valid answer parse did not expect
            return self._fallback(agent, name, tick, rules, f"unusable answer: {type(e).__name__}: {e}", call)
        reason = None
        if isinstance(out, Repaired):
            out, reason = out.value, out.reason
            if call is not None:
                call["note"] = f"repaired: {reason}"[:500]
        self._record(agent=agent, name=name, backend=self.backend, fallback=reason is not None, tick=tick,
                     reason=reason)
        return out

    def fit(self, name: str, variables: dict[str, Any], answer_tokens: int) -> dict[str, Any]:
        """``variables`` shortened so that the prompt and the answer fit the context window: the
        decision's list of memories (:data:`TRIM`, best first) loses its last lines until it fits
        (down to none; a prompt still too long goes as it is, and its failure falls back to rules)."""
        key = TRIM.get(name)
        if self.context_tokens is None or key not in variables:
            return variables
        budget = self.context_tokens - answer_tokens - CHAT_OVERHEAD

        def size(v: dict[str, Any]) -> int:
            return self.count_tokens("\n".join(m.content for m in render(name, v)[0]))

        if size(variables) <= budget:
            return variables
        lines = str(variables[key]).split("\n")
        lo, hi = 0, len(lines) - 1  # the most lines that fit, by bisection
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if size({**variables, key: "\n".join(lines[:mid])}) <= budget:
                lo = mid
            else:
                hi = mid - 1
        return {**variables, key: "\n".join(lines[:lo]) or "- (left out: too long for the model)"}

    def _fallback(self, agent: str, name: str, tick: int, rules: Callable[[], T], reason: str,
                  call: dict | None = None) -> T:
        """The rules implementation decides; the reason goes on the call's record."""
        if call is not None:
            call["note"] = f"fallback: {reason}"[:500]
        self._record(agent=agent, name=name, backend=self.backend, fallback=True, tick=tick, reason=reason)
        return rules()
