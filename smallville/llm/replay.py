"""The ``replay`` backend: answers only from the calls recorded in an earlier run.

Requests are matched on their content key (see :func:`~smallville.llm.wrappers.content_key`),
computed as the recorded run computed it, so the order in which concurrent decisions ask
does not matter. A recorded fault is replayed as that fault (and the retry that followed
it finds the next attempt's answer), so fallbacks happen exactly where they happened. A
request that was never recorded is a :class:`~smallville.llm.faults.ReplayMiss`.
"""

from __future__ import annotations

from collections import deque
from pathlib import Path

from smallville.errors import LLMError
from smallville.llm.faults import LLMFault, ReplayMiss
from smallville.llm.protocol import Request, Response
from smallville.llm.wrappers import content_key


class ReplayBackend:
    backend = "replay"

    def __init__(self, run_dir: str | Path):
        from smallville.store.runstore import RunReader

        self.run_dir = Path(run_dir)
        reader = RunReader(self.run_dir)
        try:
            manifest = reader.manifest
            calls = reader.llm_calls()
        finally:
            reader.close()
        keyed = manifest.get("llm_keyed_as") or [manifest.get("backend", ""), manifest.get("model", "")]
        self.keyed_as: tuple[str, str] = (keyed[0], keyed[1])
        if not calls:
            raise LLMError(f"--replay-calls {self.run_dir}: the run recorded no language-model calls "
                           f"(its backend was {manifest.get('backend')!r})")
        self.model = self.keyed_as[1]
        self._answers: dict[str, deque[dict]] = {}
        for c in calls:
            self._answers.setdefault(c["key"], deque()).append(c)

    async def complete(self, request: Request) -> Response:
        key = content_key(*self.keyed_as, request)
        queue = self._answers.get(key)
        if not queue:
            raise ReplayMiss(
                f"--replay-calls {self.run_dir}: no recorded answer for decision {request.decision!r} of "
                f"{request.agent or 'nobody'} at tick {request.tick} (attempt {request.attempt + 1}); the world, "
                f"seed, prompts or settings differ from the recorded run, or it stopped earlier")
        row = queue.popleft() if len(queue) > 1 else queue[0]  # the last answer stays for repeats
        if row["error"] is not None:
            raise LLMFault(row["error_kind"] or "replayed", row["error"], raw=row["response"], replayed=True)
        return Response(text=row["response"] or "", tokens_in=row["tokens_in"], tokens_out=row["tokens_out"],
                        latency_s=0.0, backend=self.backend, model=self.model, cached=True)
