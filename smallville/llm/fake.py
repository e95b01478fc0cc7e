"""A scripted language model for tests — shipped, first-class, behind the same protocol.

    llm = FakeLLM([{"activity": "reading", ...}, LLMFault("timeout", "slow"), "not json"])
    ...
    llm.requests   # every Request it saw, in order

Each item of the script answers one request, in order: a ``str`` is the answer text, a
``dict``/``list`` is answered as its JSON, an :class:`LLMFault` is raised, and a callable
is called with the request and its result used the same way. When the script runs out,
``default`` answers (a value or a callable); without one the fake raises ``LookupError``.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, Callable, Iterable

from smallville.llm.faults import LLMFault
from smallville.llm.protocol import Request, Response

_NO_DEFAULT = object()


class FakeLLM:
    backend = "fake"

    def __init__(self, script: Iterable[Any] = (), *, default: Any = _NO_DEFAULT, model: str = "fake-model",
                 delay_s: float = 0.0, tokens_out: int = 10):
        self.script = list(script)
        self.default = default
        self.model = model
        self.delay_s = delay_s
        self.tokens_out = tokens_out
        self.requests: list[Request] = []

    @property
    def prompts(self) -> list[str]:
        """The last message of every request seen."""
        return [r.messages[-1].content for r in self.requests]

    async def complete(self, request: Request) -> Response:
        self.requests.append(request)
        if self.script:
            item = self.script.pop(0)
        elif self.default is not _NO_DEFAULT:
            item = self.default
        else:
            raise LookupError(f"FakeLLM: script exhausted at request {len(self.requests)} "
                              f"({request.decision or 'no decision'} for {request.agent or 'nobody'})")
        if callable(item) and not isinstance(item, LLMFault):
            item = item(request)
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if isinstance(item, LLMFault):
            raise item
        text = item if isinstance(item, str) else json.dumps(item)
        tokens_in = sum(len(m.content.split()) for m in request.messages)
        return Response(text=text, tokens_in=tokens_in, tokens_out=self.tokens_out, latency_s=self.delay_s,
                        backend=self.backend, model=self.model)


def answers(fn: Callable[[Request], Any]) -> FakeLLM:
    """A fake that answers every request with ``fn(request)``."""
    return FakeLLM(default=fn)


def by_decision(handlers: dict[str, Any], default: Any = "not json", **kw: Any) -> FakeLLM:
    """A fake that answers each request by its decision (``Request.decision``): ``handlers[name]`` —
    a value, or a callable given the request — else ``default`` (by default an answer that is not
    JSON, so the decision falls back to its rules)."""
    def answer(request: Request) -> Any:
        item = handlers.get(request.decision or "", default)
        return item(request) if callable(item) and not isinstance(item, LLMFault) else item

    return FakeLLM(default=answer, **kw)
