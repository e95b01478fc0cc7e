"""Cross-cutting behaviour around a backend, each a wrapper implementing the same protocol.

The stack a run uses, outermost first (see :func:`smallville.llm.factory.wrap`)::

    Retry → Record → Budget → Metered → Structured → Limit → backend

* :class:`Retry` — exponential backoff with jitter on retryable faults; gives up with
  :class:`~smallville.llm.faults.CallFailed` after ``attempts`` tries.
* :class:`Record` — one row per attempt for the run store (with the content key).
* :class:`Budget` — refuses to send once a cap on calls, tokens or dollars is reached.
* :class:`Metered` — accounting: calls sent, cache hits, tokens, errors, dollars.
* :class:`Structured` — parses and validates a schema answer (tolerantly).
* :class:`Limit` — at most ``n`` requests in flight, shared by all agents.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import heapq
import itertools
import json
import random
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from smallville.errors import LLMError
from smallville.llm.answers import check
from smallville.llm.faults import BUDGET, CONFIG, BudgetExhausted, CallFailed, LLMFault, redact
from smallville.llm.protocol import BACKGROUND, LanguageModel, Request, Response

# US dollars per million tokens (input, output) for named OpenAI models; others cost 0.
PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o": (2.50, 10.00),
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-4-turbo": (10.00, 30.00),
    "gpt-3.5-turbo": (0.50, 1.50),
    "o4-mini": (1.10, 4.40),
}


def price_of(model: str) -> tuple[float, float] | None:
    """The price of ``model`` (dated snapshots such as ``gpt-4o-2024-08-06`` included)."""
    for name in sorted(PRICES, key=len, reverse=True):
        if model == name or model.startswith(name + "-"):
            return PRICES[name]
    return None


def canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def content_key(backend: str, model: str, req: Request) -> str:
    """What a request asks, independent of who asks and when: blake2b over canonical JSON of
    (backend, model, messages, schema, parameters, seed). Record and replay key on it."""
    body = [backend, model, req.messages_json(), req.schema, req.parameters(), req.seed]
    return hashlib.blake2b(canonical(body), digest_size=16).hexdigest()


class Wrapper:
    def __init__(self, inner: LanguageModel):
        self.inner = inner

    @property
    def backend(self) -> str:
        return self.inner.backend

    @property
    def model(self) -> str:
        return self.inner.model

    async def complete(self, request: Request) -> Response:
        return await self.inner.complete(request)


class Limit(Wrapper):
    """At most ``n`` requests in flight through this wrapper. When all ``n`` slots are taken, a
    request a tick waits for goes before work for later (:data:`~smallville.llm.protocol.BACKGROUND`),
    each in the order it came. Given ``usage``, it counts the requests in flight and their wall
    time there (a request waiting for a slot is not in flight)."""

    def __init__(self, inner: LanguageModel, n: int = 16, usage: "Usage | None" = None):
        super().__init__(inner)
        self.n = n
        self.usage = usage
        self._free = n
        self._waiting: list[tuple[int, int, asyncio.Future]] = []  # heap of (background, order, future)
        self._order = itertools.count()

    async def _acquire(self) -> None:
        if self._free > 0 and not self._waiting:
            self._free -= 1
            return
        fut = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, (int(BACKGROUND.get()), next(self._order), fut))
        try:
            await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():  # handed a slot just as it was cancelled: pass it on
                self._release()
            raise

    def _release(self) -> None:
        while self._waiting:
            _, _, fut = heapq.heappop(self._waiting)
            if not fut.done():
                fut.set_result(None)
                return
        self._free += 1

    async def complete(self, request: Request) -> Response:
        await self._acquire()
        u = self.usage
        if u is not None:
            u.in_flight += 1
        t0 = time.perf_counter()
        try:
            return await self.inner.complete(request)
        finally:
            self._release()
            if u is not None:
                u.in_flight -= 1
                u.busy_s += time.perf_counter() - t0


class Structured(Wrapper):
    """Sets ``Response.value`` to the parsed, validated JSON when the request has a schema."""

    async def complete(self, request: Request) -> Response:
        resp = await self.inner.complete(request)
        try:
            resp.value = check(resp.text, request.schema)
        except LLMFault as f:
            f.response = resp  # for the tokens it cost and the record
            raise
        return resp


@dataclass
class Usage:
    """Running totals of one run. ``calls`` are requests sent to a model backend."""

    calls: int = 0
    cache_hits: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    errors: int = 0
    dollars: float = 0.0
    cached_tokens: int = 0  # prompt tokens the server reported as served from its prefix cache
    in_flight: int = 0  # requests under way now, past the concurrency limit (for the progress bar)
    busy_s: float = 0.0  # the sum of finished requests' wall time past the limit: / elapsed = effective parallelism

    def summary(self) -> dict:
        return {"calls": self.calls, "cache_hits": self.cache_hits, "tokens_in": self.tokens_in,
                "tokens_out": self.tokens_out, "errors": self.errors, "dollars": round(self.dollars, 6)}


def sent(resp: Response | None, fault: LLMFault | None) -> int:
    """How many requests an attempt sent to the backend (a negotiation may send several)."""
    if resp is None:
        return fault.requests if fault is not None else 1
    return max(resp.extra.get("requests", 1), fault.requests if fault is not None else 1)


class Metered(Wrapper):
    """Accounting of every attempt into a shared :class:`Usage`."""

    def __init__(self, inner: LanguageModel, usage: Usage):
        super().__init__(inner)
        self.usage = usage
        self.price = price_of(inner.model)

    def _count(self, resp: Response | None, cached: bool, requests: int) -> None:
        u = self.usage
        if cached:
            u.cache_hits += 1
            return
        u.calls += requests
        if resp is not None:
            u.tokens_in += resp.tokens_in
            u.tokens_out += resp.tokens_out
            u.cached_tokens += resp.cached_tokens or 0
            if self.price:
                u.dollars += (resp.tokens_in * self.price[0] + resp.tokens_out * self.price[1]) / 1e6

    async def complete(self, request: Request) -> Response:
        try:
            resp = await self.inner.complete(request)
        except LLMFault as f:
            if f.kind != BUDGET:  # a refused call (a replayed refusal) is no error
                self.usage.errors += 1
            resp = f.response
            self._count(resp, cached=f.replayed or bool(resp and resp.cached), requests=sent(resp, f))
            raise
        self._count(resp, resp.cached, sent(resp, None))
        return resp


class Record(Wrapper):
    """Hands one row per attempt to ``sink`` (the run store). ``key_as`` is the (backend,
    model) the content key is computed for — a replay keys as the run it replays.
    ``secrets`` are replaced by ``***`` in everything recorded.

    The row dict also travels back in ``Response.extra["call"]`` so the decision can note a
    fallback on it before the tick is written."""

    def __init__(self, inner: LanguageModel, sink: Callable[[dict], None] | None = None,
                 key_as: tuple[str, str] | None = None, secrets: tuple[str, ...] = ()):
        super().__init__(inner)
        self.sink = sink
        self.key_as = key_as
        self.secrets = tuple(s for s in secrets if s)

    async def complete(self, request: Request) -> Response:
        kb, km = self.key_as or (self.inner.backend, self.inner.model)
        key = content_key(kb, km, request)
        t0 = time.perf_counter()
        try:
            resp = await self.inner.complete(request)
        except LLMFault as f:
            self._write(request, key, f.response, f, t0)
            raise
        except LLMError as e:  # a configuration problem: recorded, then the run stops
            self._write(request, key, None, LLMFault(CONFIG, str(e)), t0)
            raise
        resp.extra["call"] = self._write(request, key, resp, None, t0)
        return resp

    def _write(self, request: Request, key: str, r: Response | None, fault: LLMFault | None, t0: float) -> dict:
        params = {**request.parameters(), "seed": request.seed}
        if r is not None and "mode" in r.extra:
            params["mode"] = r.extra["mode"]
        row = {
            "tick": request.tick, "agent": request.agent, "decision": request.decision,
            "backend": r.backend if r is not None and r.backend else self.inner.backend,
            "model": r.model if r is not None and r.model else self.inner.model,
            "key": key, "attempt": request.attempt, "messages": request.messages_json(),
            "schema_name": request.schema_name, "params": params,
            "response": redact(r.text if r is not None else (fault.raw if fault else None), self.secrets),
            "value": r.value if r is not None and fault is None else None,
            "tokens_in": r.tokens_in if r is not None else 0, "tokens_out": r.tokens_out if r is not None else 0,
            "cached_tokens": r.cached_tokens if r is not None else None,
            "latency_s": round(r.latency_s if r is not None and r.latency_s else time.perf_counter() - t0, 4),
            "cached": bool((r is not None and r.cached) or (fault is not None and fault.replayed)),
            "requests": sent(r, fault),
            "error": redact(fault.message, self.secrets) if fault else None,
            "error_kind": fault.kind if fault else None, "note": None,
        }
        if self.sink is not None:
            self.sink(row)
        return row


class Budget(Wrapper):
    """Refuses to send (``BudgetExhausted``) once a cap is reached. Calls are reserved
    before sending, so the calls cap holds exactly even with requests in flight."""

    def __init__(self, inner: LanguageModel, usage: Usage, calls: int | None = None, tokens: int | None = None,
                 dollars: float | None = None):
        super().__init__(inner)
        self.usage = usage
        self.calls, self.tokens, self.dollars = calls, tokens, dollars
        self._in_flight = 0

    def exhausted(self) -> str | None:
        """Why the budget is spent, or None."""
        u = self.usage
        if self.calls is not None and u.calls + self._in_flight >= self.calls:
            return f"the budget of {self.calls} calls is spent"
        if self.tokens is not None and u.tokens_in + u.tokens_out >= self.tokens:
            return f"the budget of {self.tokens} tokens is spent"
        if self.dollars is not None and u.dollars >= self.dollars:
            return f"the budget of ${self.dollars:g} is spent"
        return None

    @property
    def spent(self) -> str | None:
        """Like :meth:`exhausted` but ignoring requests in flight (for the end of a tick)."""
        held, self._in_flight = self._in_flight, 0
        try:
            return self.exhausted()
        finally:
            self._in_flight = held

    async def complete(self, request: Request) -> Response:
        reason = self.exhausted()
        if reason:
            raise BudgetExhausted(reason)
        self._in_flight += 1
        try:
            return await self.inner.complete(request)
        finally:
            self._in_flight -= 1


def _vary(seed: int | None, attempt: int) -> int | None:
    return None if seed is None else (seed + attempt) % (2 ** 32)


class Retry(Wrapper):
    """Retries retryable faults with exponential backoff and jitter, each attempt with the
    next seed (so a sampled model can answer differently). Raises ``CallFailed`` at the end."""

    def __init__(self, inner: LanguageModel, attempts: int = 4, base_s: float = 0.5, cap_s: float = 8.0,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep, jitter: random.Random | None = None):
        super().__init__(inner)
        self.attempts = max(1, attempts)
        self.base_s, self.cap_s = base_s, cap_s
        self.sleep = sleep
        self.jitter = jitter or random.Random()  # timing only; never touches a run's results

    def delay(self, attempt: int, hint: float | None = None) -> float:
        d = min(self.cap_s, self.base_s * 2 ** attempt)
        d = d / 2 + self.jitter.uniform(0, d / 2)
        if hint is not None:
            d = max(d, min(hint, self.cap_s * 4))
        return d

    async def complete(self, request: Request) -> Response:
        last: LLMFault | None = None
        n = 0
        for n in range(self.attempts):
            r = request if n == 0 else dataclasses.replace(request, seed=_vary(request.seed, n), attempt=n)
            try:
                return await self.inner.complete(r)
            except LLMFault as f:
                last = f
                if not f.retryable or n == self.attempts - 1:
                    break
                if not f.replayed:
                    await self.sleep(self.delay(n, f.retry_after))
        raise CallFailed(n + 1, last)  # type: ignore[arg-type]  # attempts >= 1
