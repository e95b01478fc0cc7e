"""Typed cognitive decisions with two implementations: an LLM one and a rules one.

A decision is named after what it decides (``rate_importance``, ``plan_day``…). Its LLM
implementation is a prompt template ``smallville/prompts/<name>.txt`` (``string.Template``
``$variables``) with the JSON schema of the answer beside it in ``<name>.json``; its rules
implementation is a plain function. :class:`Decider` runs one or the other and records
every decision (name, backend, whether it fell back to rules).
"""

from __future__ import annotations

import json
import string
from functools import lru_cache
from pathlib import Path
from typing import Any, Awaitable, Callable, TypeVar

PROMPTS = Path(__file__).resolve().parent.parent / "prompts"
T = TypeVar("T")


class InvalidAnswer(Exception):
    """An LLM answer that does not make sense for the decision (raised by ``parse``)."""


@lru_cache(maxsize=None)
def template(name: str) -> tuple[string.Template, dict]:
    text = (PROMPTS / f"{name}.txt").read_text(encoding="utf-8")
    schema = json.loads((PROMPTS / f"{name}.json").read_text(encoding="utf-8"))
    return string.Template(text), schema


class Decider:
    """Runs decisions for a whole run.

    ``llm`` is ``None`` for the rules baseline. ``record(agent, name, backend, fallback)`` is
    called once per decision taken.
    """

    def __init__(self, llm: Any = None, record: Callable[..., None] | None = None,
                 temperature: float = 0.7, max_tokens: int = 256):
        self.llm = llm
        self.backend = "rules" if llm is None else llm.backend
        self._record = record or (lambda **k: None)
        self.temperature = temperature
        self.max_tokens = max_tokens

    def set_recorder(self, record: Callable[..., None]) -> None:
        self._record = record

    async def decide(self, name: str, *, agent: str, tick: int, variables: dict[str, Any],
                     rules: Callable[[], T], parse: Callable[[Any], T], seed: int | None = None) -> T:
        """Take decision ``name`` for ``agent``.

        ``rules()`` is the rules implementation; ``parse(value)`` turns the LLM's schema-valid
        JSON value into the decision's type or raises :class:`InvalidAnswer`.
        """
        if self.llm is None:
            self._record(agent=agent, name=name, backend="rules", fallback=False, tick=tick)
            return rules()
        return await self._decide_llm(name, agent, tick, variables, rules, parse, seed)

    async def _decide_llm(self, name, agent, tick, variables, rules, parse, seed):  # pragma: no cover - issue 3
        raise NotImplementedError("LLM decisions arrive with the LLM layer")
