"""Real parts for tests and benchmarks, on 127.0.0.1 only.

* :class:`LoopbackServer` — a small OpenAI-compatible HTTP server (stdlib, in a thread)
  that answers ``/v1/chat/completions`` with schema-shaped answers after an optional
  latency, and injects faults: timeouts, 429, 500, malformed JSON (in the content or the
  whole body), empty content and wrong-schema JSON. It can refuse ``json_schema`` the way
  llama-cpp-python's server does, and keeps every request it saw. ``answer=plausible``
  (:mod:`smallville.llm.plausible`) answers like a model would; ``prefix_cache=True`` reports
  the prompt tokens a server with automatic prefix caching would serve from its cache.
* :class:`LlamaServer` — ``python -m llama_cpp.server`` on the packaged SmolLM2 model,
  started on a free port and stopped again.
"""

from __future__ import annotations

import itertools
import json
import random
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable

# plausible is re-exported: LoopbackServer(answer=plausible)
from smallville.llm.plausible import PrefixCache, messages_text, plausible, schema_of, tokens  # noqa: F401

FAULTS = ("timeout", "rate_limit", "server_error", "malformed", "bad_body", "empty", "wrong_schema")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sample(schema: dict | None) -> Any:
    """A small value for a JSON schema: the first enum value, "reading" (or "09:00" where a
    pattern wants a time), 5 within the bounds, as many array items as ``minItems`` asks."""
    if not schema:
        return {"activity": "reading", "place": "nowhere", "emoji": "📚", "minutes": 5}
    if "enum" in schema:
        return schema["enum"][0]
    t = schema.get("type")
    if t == "object":
        return {k: sample(v) for k, v in schema.get("properties", {}).items()}
    if t == "array":
        return [sample(schema.get("items", {})) for _ in range(max(1, schema.get("minItems", 1)))]
    if t in ("integer", "number"):
        n = min(max(5, schema.get("minimum", 5)), schema.get("maximum", 5 if schema.get("minimum", 5) <= 5 else 10**9))
        return n if t == "integer" else float(n)
    if t == "boolean":
        return True
    pattern = schema.get("pattern")
    text = next((c for c in ("reading", "09:00") if pattern is None or re.search(pattern, c)), "reading")
    return text[:schema.get("maxLength", len(text))].ljust(schema.get("minLength", 0), "x")


class LoopbackServer:
    """An OpenAI-compatible server on 127.0.0.1 for tests.

    ``faults``: a fault kind per request index, as a callable ``index -> kind | None``;
    :meth:`every` and :meth:`rate` build the usual ones. ``refuse`` is the set of
    ``response_format`` types answered with llama.cpp's HTTP 500 "unsupported" error.
    ``echo_auth`` puts the request's Authorization header into error bodies (to prove the
    key is scrubbed from what is recorded). ``latency_s`` is seconds before each answer, or a
    callable ``index -> seconds`` (a random latency per request). ``answer`` is a callable
    ``body -> value`` (:func:`~smallville.llm.plausible.plausible` answers like a model), by
    default :func:`sample` of the request's schema. ``usage`` counts about four characters a
    token (the prompt's messages in, the answer out). ``cached_tokens`` is reported as
    ``usage.prompt_tokens_details.cached_tokens`` (a server with a prefix cache) when given;
    ``prefix_cache=True`` reports instead what a server with automatic prefix caching would have
    cached of each prompt (:class:`~smallville.llm.plausible.PrefixCache`: the longest run of
    leading 16-token blocks an earlier prompt shared)."""

    def __init__(self, latency_s: float | Callable[[int], float] = 0.0, faults: Callable[[int], str | None] | None = None,
                 hang_s: float = 2.0, refuse: tuple[str, ...] = (), answer: Callable[[dict], Any] | None = None,
                 echo_auth: bool = False, model: str = "loopback-model", cached_tokens: int | None = None,
                 prefix_cache: bool = False):
        self.latency_s = latency_s
        self.cached_tokens = cached_tokens
        self.prefix_cache = PrefixCache() if prefix_cache else None
        self.faults = faults or (lambda i: None)
        self.hang_s = hang_s
        self.refuse = set(refuse)
        self.answer = answer
        self.echo_auth = echo_auth
        self.model = model
        self.requests: list[dict] = []  # {"body", "headers", "fault", "at" (time.monotonic() on arrival)}
        self.in_flight = 0  # requests being answered now (past the refusal check)
        self.peak_in_flight = 0  # the most at once
        self._counter = itertools.count()
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None

    @staticmethod
    def every(n: int, kinds: tuple[str, ...] = FAULTS, offset: int = 1) -> Callable[[int], str | None]:
        """A fault on every ``n``-th request (from ``offset``), cycling through ``kinds``."""
        return lambda i: kinds[(i // n) % len(kinds)] if i % n == offset % n else None

    @staticmethod
    def rate(p: float, seed: int = 0, kinds: tuple[str, ...] = FAULTS) -> Callable[[int], str | None]:
        rng = random.Random(seed)
        lock = threading.Lock()

        def pick(i: int) -> str | None:
            with lock:
                return rng.choice(kinds) if rng.random() < p else None
        return pick

    @property
    def base_url(self) -> str:
        assert self._httpd is not None, "start the server first"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def fault_counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.requests:
            if r["fault"] and r["fault"] != "refused":  # a refused response_format is no fault
                out[r["fault"]] = out.get(r["fault"], 0) + 1
        return out

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> "LoopbackServer":
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms stall

            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: bytes, ctype: str = "application/json",
                      headers: dict | None = None) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(body)))
                    for k, v in (headers or {}).items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def do_GET(self) -> None:
                if self.path.rstrip("/").endswith("/models"):
                    body = {"object": "list", "data": [{"id": server.model, "object": "model", "owned_by": "me"}]}
                    return self._send(200, json.dumps(body).encode())
                self._send(404, b'{"error": {"message": "not found"}}')

            def do_POST(self) -> None:
                n = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(n) or b"{}")
                headers = {k.lower(): v for k, v in self.headers.items()}
                auth = headers.get("authorization", "")
                with server._lock:
                    i = next(server._counter)
                rf = body.get("response_format") or {}
                if rf.get("type") in server.refuse:
                    server.requests.append({"body": body, "headers": headers, "fault": "refused"})
                    msg = (f"1 validation error: response_format.type: Input should be 'text' or "
                           f"'json_object' (got {rf.get('type')!r})")
                    return self._send(500, json.dumps({"error": {"message": msg}}).encode())
                fault = server.faults(i)
                server.requests.append({"body": body, "headers": headers, "fault": fault, "at": time.monotonic()})
                wait = server.latency_s(i) if callable(server.latency_s) else server.latency_s
                with server._lock:
                    server.in_flight += 1
                    server.peak_in_flight = max(server.peak_in_flight, server.in_flight)
                try:
                    if wait:
                        time.sleep(wait)
                finally:
                    with server._lock:
                        server.in_flight -= 1
                err = {"error": {"message": "injected fault" + (f" (request had {auth})" if server.echo_auth else ""),
                                 "type": "server_error"}}
                if fault == "timeout":
                    time.sleep(server.hang_s)
                    return self._send(504, json.dumps(err).encode())
                if fault == "rate_limit":
                    return self._send(429, json.dumps(err).encode())
                if fault == "server_error":
                    return self._send(500, json.dumps(err).encode())
                if fault == "bad_body":
                    return self._send(200, b'{"id": "x", "choices": [{"message": {"content": "{"')
                schema = schema_of(body)  # in response_format, or written into the prompt
                value = server.answer(body) if server.answer else sample(schema)
                content = value if isinstance(value, str) else json.dumps(value)
                if fault == "malformed":
                    content = '{"activity": "reading", "place": '
                elif fault == "empty":
                    content = ""
                elif fault == "wrong_schema":
                    content = json.dumps({"what": "something else", "minutes": "soon"})
                prompt = messages_text(body)
                tin, tout = tokens(prompt), tokens(content)
                reply = {"id": f"chatcmpl-{i}", "object": "chat.completion", "created": int(time.time()),
                         "model": body.get("model", server.model),
                         "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                                      "finish_reason": "stop"}],
                         "usage": {"prompt_tokens": tin, "completion_tokens": tout, "total_tokens": tin + tout}}
                if server.prefix_cache is not None:
                    with server._lock:
                        cached = server.prefix_cache.add(prompt)
                    reply["usage"]["prompt_tokens_details"] = {"cached_tokens": min(cached, tin)}
                elif server.cached_tokens is not None:
                    reply["usage"]["prompt_tokens_details"] = {"cached_tokens": server.cached_tokens}
                self._send(200, json.dumps(reply).encode())

        class Server(ThreadingHTTPServer):
            request_queue_size = 256  # many agents connect at once (the default backlog is 5)
            daemon_threads = True

        self._httpd = Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._httpd.serve_forever, daemon=True, name="loopback-llm").start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> "LoopbackServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


class LlamaServer:
    """``python -m llama_cpp.server`` on a GGUF model (default: the packaged SmolLM2)."""

    def __init__(self, model_path: str | Path | None = None, n_ctx: int = 2048, startup_s: float = 120.0):
        from smallville.llm.local import default_model_path

        self.model_path = Path(model_path) if model_path else default_model_path()
        self.n_ctx = n_ctx
        self.startup_s = startup_s
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self._log: Any = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> "LlamaServer":
        self._log = tempfile.TemporaryFile(mode="w+")  # a pipe nobody reads would block the server
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(self.model_path), "--host", "127.0.0.1",
             "--port", str(self.port), "--n_ctx", str(self.n_ctx)],
            stdout=self._log, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + self.startup_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self._log.seek(0)
                err = self._log.read()[-2000:]
                self.stop()
                raise RuntimeError(f"llama_cpp.server exited: {err}")
            try:
                with urllib.request.urlopen(self.base_url + "/models", timeout=1) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"llama_cpp.server did not answer on port {self.port} within {self.startup_s:.0f}s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._log is not None:
            self._log.close()
            self._log = None
        self.proc = None

    def __enter__(self) -> "LlamaServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
