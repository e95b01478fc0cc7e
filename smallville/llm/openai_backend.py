"""The ``openai`` backend: OpenAI or any OpenAI-compatible server (llama.cpp's server,
Ollama, vLLM, LM Studio) through the ``openai`` package's async client.

Structured answers are negotiated once per backend: ``response_format`` of type
``json_schema`` (OpenAI, vLLM, Ollama); if the server says it does not support that,
``json_object`` with the schema beside it (llama-cpp-python's server constrains decoding
with it); if that is refused too, instructions in the prompt. In every mode the answer is
then parsed tolerantly and validated by the wrappers. What worked is remembered in
:attr:`OpenAIBackend.mode`.

Faults come back as :class:`~smallville.llm.faults.LLMFault`; a refused key or an unknown
model is an :class:`~smallville.errors.LLMError`. The API key never appears in a message.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from smallville.errors import LLMError
from smallville.llm import faults as F
from smallville.llm.answers import schema_instructions
from smallville.llm.faults import LLMFault, redact
from smallville.llm.protocol import Request, Response

MODES = ("json_schema", "json_object", "prompt")
_UNSUPPORTED_STATUS = {400, 404, 415, 422, 500, 501}
_UNSUPPORTED_WORDS = ("response_format", "json_schema", "json_object", "structured output")


class OpenAIBackend:
    backend = "openai"

    def __init__(self, model: str, base_url: str | None = None, api_key: str | None = None,
                 timeout_s: float = 60.0, mode: str | None = None, client: Any = None):
        import openai

        self._openai = openai
        self.model = model
        self.base_url = base_url
        self._secrets = (api_key,) if api_key else ()
        # local servers need no key, but the client insists on one
        self._make_client = lambda: openai.AsyncOpenAI(api_key=api_key or "no-key", base_url=base_url,
                                                       timeout=timeout_s, max_retries=0)
        self._client: Any = client
        self._client_loop: Any = None if client is None else False
        if mode is not None and mode not in MODES:
            raise LLMError(f"structured-output mode {mode!r}: expected one of {', '.join(MODES)}")
        self.mode: str | None = mode  # the structured-output mode this server accepts, once known
        self._floor = 0  # index into MODES of the first mode not known to be refused
        self._lock: asyncio.Lock | None = None

    @property
    def client(self) -> Any:
        """The async client, one per event loop (an httpx client cannot outlive its loop)."""
        loop = asyncio.get_running_loop()
        if self._client_loop is not False and self._client_loop is not loop:
            self._client, self._client_loop = self._make_client(), loop
            self._lock = None
        return self._client

    async def aclose(self) -> None:
        """Close the HTTP client of the running loop (call before the loop ends)."""
        if self._client is not None and self._client_loop is asyncio.get_running_loop():
            await self._client.close()
            self._client, self._client_loop = None, None

    # ------------------------------------------------------------------ protocol
    async def complete(self, request: Request) -> Response:
        if request.schema is None:
            return await self._send(request, None)
        mode, refused = self.mode, 0
        if mode is not None:
            try:
                return await self._send(request, mode)
            except LLMFault as f:
                if f.kind != F.UNSUPPORTED or mode == MODES[-1]:
                    raise
                refused = 1
                if self.mode == mode:  # refused for this schema: step down for every request
                    self.mode, self._floor = None, max(self._floor, MODES.index(mode) + 1)
        self.client  # noqa: B018  # (re)binds the client and the lock to this loop
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:  # the first structured request finds the mode; the rest wait for it
            if self.mode is None:
                return await self._negotiate(request, refused)
        # the mode is known now: sent outside the lock, so the requests that waited go at once, together
        # (inside it they went one at a time: a run's first burst of decisions took one latency each)
        return await self.complete(request)

    async def _negotiate(self, request: Request, refused: int = 0) -> Response:
        while True:
            mode = MODES[self._floor]
            try:
                resp = await self._send(request, mode)
            except LLMFault as f:
                if f.kind == F.UNSUPPORTED and self._floor < len(MODES) - 1:
                    self._floor += 1
                    refused += 1
                    continue
                f.requests = refused + 1
                raise
            self.mode = mode
            resp.extra["requests"] = refused + 1
            return resp

    # ------------------------------------------------------------------ one request
    def _arguments(self, request: Request, mode: str | None) -> dict:
        messages = request.messages_json()
        kw: dict[str, Any] = {"model": self.model, "temperature": request.temperature,
                              "max_tokens": request.max_tokens}
        if request.seed is not None:
            kw["seed"] = request.seed
        if request.stop:
            kw["stop"] = list(request.stop)
        if mode == "json_schema":
            kw["response_format"] = {"type": "json_schema", "json_schema": {
                "name": request.schema_name or "answer", "schema": strict_schema(request.schema),
                "strict": strict_ok(request.schema)}}
        elif mode in ("json_object", "prompt"):
            if mode == "json_object":
                kw["response_format"] = {"type": "json_object", "schema": request.schema}
            last = messages[-1]
            messages[-1] = {**last, "content": last["content"] + "\n\n" + schema_instructions(request.schema)}
        kw["messages"] = messages
        return kw

    async def _send(self, request: Request, mode: str | None) -> Response:
        oa = self._openai
        t0 = time.perf_counter()
        try:
            r = await self.client.chat.completions.create(**self._arguments(request, mode))
        except oa.APITimeoutError:
            raise LLMFault(F.TIMEOUT, f"no answer within the timeout from {self._where()}") from None
        except oa.APIConnectionError as e:
            raise LLMFault(F.CONNECTION, f"cannot reach {self._where()}: {self._clean(e)}") from None
        except (oa.AuthenticationError, oa.PermissionDeniedError) as e:
            raise LLMError(f"{self._where()} refused the API key (HTTP {e.status_code}); check OPENAI_API_KEY "
                           f"or the world's llm.api_key") from None
        except oa.APIStatusError as e:
            raise self._status_fault(e, mode) from None
        except (oa.OpenAIError, ValueError, TypeError, KeyError) as e:
            raise LLMFault(F.MALFORMED, f"unreadable answer from {self._where()}: {self._clean(e)}") from None
        latency = time.perf_counter() - t0
        try:
            choice = r.choices[0] if r.choices else None
            text = (choice.message.content if choice is not None and choice.message is not None else None) or ""
            usage = r.usage
            tin = int(getattr(usage, "prompt_tokens", 0) or 0) if usage else 0
            tout = int(getattr(usage, "completion_tokens", 0) or 0) if usage else 0
            details = getattr(usage, "prompt_tokens_details", None) if usage else None
            cached = getattr(details, "cached_tokens", None) if details is not None else None
            cached = int(cached) if cached is not None else None
        except (AttributeError, TypeError, ValueError) as e:
            raise LLMFault(F.MALFORMED, f"unreadable answer from {self._where()}: {self._clean(e)}") from None
        extra = {"mode": mode} if mode else {}
        return Response(text=text, tokens_in=tin, tokens_out=tout, cached_tokens=cached, latency_s=latency,
                        backend=self.backend, model=self.model, extra=extra)

    def _status_fault(self, e: Any, mode: str | None) -> Exception:
        status = e.status_code
        text = self._clean(e)
        low = text.lower()
        if mode in ("json_schema", "json_object") and status in _UNSUPPORTED_STATUS and \
                any(w in low for w in _UNSUPPORTED_WORDS):
            return LLMFault(F.UNSUPPORTED, f"{self._where()} does not accept response_format {mode}: {text[:300]}")
        if status == 404:
            return LLMError(f"{self._where()}: not found (HTTP 404) — is the base URL right and does it serve "
                            f"model {self.model!r}? {text[:300]}")
        if status == 429:
            return LLMFault(F.RATE_LIMIT, f"rate limited by {self._where()}: {text[:300]}",
                            retry_after=_retry_after(e))
        if status == 408:
            return LLMFault(F.TIMEOUT, f"{self._where()} timed out (HTTP 408)")
        if status >= 500:
            return LLMFault(F.SERVER_ERROR, f"HTTP {status} from {self._where()}: {text[:300]}")
        return LLMFault(F.CLIENT_ERROR, f"HTTP {status} from {self._where()}: {text[:300]}")

    def _where(self) -> str:
        return self.base_url or "api.openai.com"

    def _clean(self, e: BaseException) -> str:
        return redact(" ".join(str(e).split()), self._secrets) or ""


# left out of strict schemas: the common subset of providers' strict modes has no length,
# numeric or pattern constraints
_NOT_STRICT = {"maxLength", "minLength", "maximum", "minimum", "pattern", "format", "minItems", "maxItems"}


def strict_schema(schema: Any) -> Any:
    """``schema`` without the keywords OpenAI's strict structured outputs refuse (the
    answer is still validated against the full schema afterwards)."""
    if isinstance(schema, dict):
        return {k: strict_schema(v) for k, v in schema.items() if k not in _NOT_STRICT}
    if isinstance(schema, list):
        return [strict_schema(v) for v in schema]
    return schema


def strict_ok(schema: Any) -> bool:
    """Whether OpenAI's strict mode accepts ``schema``: every object closed
    (``additionalProperties: false``) with all its properties required."""
    if isinstance(schema, list):
        return all(strict_ok(v) for v in schema)
    if not isinstance(schema, dict):
        return True
    if schema.get("type") == "object" or "properties" in schema:
        props = schema.get("properties", {})
        if schema.get("additionalProperties") is not False or set(schema.get("required", [])) != set(props):
            return False
    return all(strict_ok(v) for k, v in schema.items() if k not in ("enum", "const", "required"))


def _retry_after(e: Any) -> float | None:
    try:
        value = e.response.headers.get("retry-after")
        return float(value) if value is not None else None
    except (AttributeError, TypeError, ValueError):
        return None
