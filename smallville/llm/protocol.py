"""The one language-model protocol. Backends implement it; wrappers (record, retry, budget,
concurrency, accounting) wrap it. Nothing outside ``smallville.llm`` and
``smallville.cognition.decisions`` talks to a backend."""

from __future__ import annotations

import contextvars
from dataclasses import dataclass, field
from typing import Any, Protocol

# True in a task doing work whose outcome is not needed at once (the engine's work for later): its
# requests wait behind the ones a tick is waiting for when the concurrency limit is reached
BACKGROUND: contextvars.ContextVar[bool] = contextvars.ContextVar("smallville_background", default=False)


@dataclass(frozen=True)
class Message:
    role: str  # "system" | "user" | "assistant"
    content: str


@dataclass(frozen=True)
class Request:
    messages: tuple[Message, ...]
    schema: dict | None = None  # JSON schema the answer must satisfy (None: free text)
    schema_name: str | None = None
    temperature: float = 0.7
    max_tokens: int = 256
    seed: int | None = None
    stop: tuple[str, ...] = ()
    # who asks, for the record (not sent to the model)
    decision: str = ""
    agent: str = ""
    tick: int = -1
    attempt: int = 0  # 0 for the first try; the retry wrapper counts up

    def messages_json(self) -> list[dict]:
        return [{"role": m.role, "content": m.content} for m in self.messages]

    def parameters(self) -> dict:
        """What is sent besides the messages, schema and seed."""
        return {"temperature": self.temperature, "max_tokens": self.max_tokens, "stop": list(self.stop)}


@dataclass
class Response:
    text: str
    value: Any = None  # the parsed JSON value when a schema was given
    tokens_in: int = 0
    tokens_out: int = 0
    cached_tokens: int | None = None  # of tokens_in, served from the server's prefix cache (when it says)
    latency_s: float = 0.0
    backend: str = ""
    model: str = ""
    cached: bool = False
    extra: dict = field(default_factory=dict)


class LanguageModel(Protocol):
    backend: str
    model: str

    async def complete(self, request: Request) -> Response: ...
