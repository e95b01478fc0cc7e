"""What can go wrong when asking a language model, as types.

An :class:`LLMFault` is a failed attempt (a timeout, a 429, a 5xx, an answer that is not
valid JSON or not valid for its schema…). The retry wrapper retries the retryable ones;
when it gives up it raises :class:`CallFailed`, and the decision falls back to its rules
implementation — a run never dies of a fault. Errors that the user must fix (a missing
key, a replay that has no answer recorded for a request) are
:class:`~smallville.errors.LLMError` and stop the run with a clear message.
"""

from __future__ import annotations

from smallville.errors import LLMError

# fault kinds, as recorded in the run store
TIMEOUT = "timeout"
CONNECTION = "connection"
RATE_LIMIT = "rate_limit"
SERVER_ERROR = "server_error"
CLIENT_ERROR = "client_error"
UNSUPPORTED = "unsupported"
MALFORMED = "malformed"
EMPTY = "empty"
SCHEMA = "schema"
BUDGET = "budget"
CONFIG = "config"  # recorded when a configuration error (LLMError) stopped a call

RETRYABLE = {TIMEOUT, CONNECTION, RATE_LIMIT, SERVER_ERROR, MALFORMED, EMPTY, SCHEMA}


class LLMFault(Exception):
    """One failed attempt at a call. ``kind`` is one of the kinds above; ``raw`` is the
    answer text when there was one (for the record); ``retry_after`` a server's hint."""

    def __init__(self, kind: str, message: str, raw: str | None = None, retry_after: float | None = None,
                 replayed: bool = False):
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message
        self.raw = raw
        self.retry_after = retry_after
        self.replayed = replayed  # answered from a recording: no need to wait before retrying
        self.response = None  # the Response, when the fault is in an answer that did arrive
        self.requests = 1  # requests this attempt sent (a negotiation may send more than one)

    @property
    def retryable(self) -> bool:
        return self.kind in RETRYABLE


class CallFailed(LLMFault):
    """Every attempt of a call failed; ``last`` is the last attempt's fault."""

    def __init__(self, attempts: int, last: LLMFault):
        super().__init__(last.kind, f"gave up after {attempts} attempt(s); last: {last.message}", raw=last.raw)
        self.attempts = attempts
        self.last = last


class BudgetExhausted(LLMFault):
    """A budget cap (calls, tokens or dollars) is reached; no request is sent."""

    def __init__(self, message: str):
        super().__init__(BUDGET, message)
        self.requests = 0  # nothing was sent


class ReplayMiss(LLMError):
    """``--llm replay`` was asked something the recorded run never answered."""


def redact(text: str | None, secrets: tuple[str, ...]) -> str | None:
    """``text`` with every secret replaced by ``***``."""
    if text is None:
        return None
    for s in secrets:
        if s:
            text = text.replace(s, "***")
    return text
