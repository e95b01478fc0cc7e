"""Choosing a backend from ``--llm``, the world's llm settings and the environment, and
wrapping it in the run's stack (retry, budget, record, accounting, validation, limit).

Environment variables override the world's settings: ``SMALLVILLE_LLM_BASE_URL``,
``SMALLVILLE_LLM_MODEL``, ``OPENAI_API_KEY``. ``auto`` means ``openai`` when
``OPENAI_API_KEY`` or ``SMALLVILLE_LLM_BASE_URL`` is set, otherwise ``rules``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from smallville.errors import LLMError
from smallville.llm.protocol import LanguageModel
from smallville.llm.wrappers import Budget, Limit, Metered, Record, Retry, Structured, Usage, price_of

DEFAULT_OPENAI_MODEL = "gpt-4o-mini"
SWITCH = "--llm rules|local|openai|auto"


@dataclass
class Chosen:
    """The backend a run uses. ``lm`` is None for ``rules``."""

    name: str
    model: str
    line: str  # the startup line: which backend and model, and how to switch
    lm: LanguageModel | None = None
    keyed_as: tuple[str, str] | None = None  # (backend, model) content keys are computed for
    secrets: tuple[str, ...] = ()


@dataclass
class Stack:
    """A wrapped backend and the handles a run needs: totals, the budget, the recorder."""

    lm: LanguageModel
    usage: Usage
    budget: Budget
    record: Record
    backend: Any = None  # the unwrapped backend

    async def aclose(self) -> None:
        """Release what the backend holds on the event loop (HTTP connections)."""
        close = getattr(self.backend, "aclose", None)
        if close is not None:
            await close()


def resolve_auto(env: Mapping[str, str]) -> tuple[str, str]:
    """(backend, why) for ``--llm auto``."""
    if env.get("OPENAI_API_KEY") or env.get("SMALLVILLE_LLM_BASE_URL"):
        which = "SMALLVILLE_LLM_BASE_URL" if env.get("SMALLVILLE_LLM_BASE_URL") else "OPENAI_API_KEY"
        return "openai", f"auto: {which} is set"
    return "rules", "auto: neither OPENAI_API_KEY nor SMALLVILLE_LLM_BASE_URL is set"


def choose(requested: str, settings: Any, *, world_dir: Path | None = None, replay_calls: str | None = None,
           env: Mapping[str, str] | None = None) -> Chosen:
    """Open the backend ``requested`` (``auto``, ``rules``, ``openai``, ``local``, ``replay``)."""
    env = os.environ if env is None else env
    why = ""
    if requested == "auto":
        requested, why = resolve_auto(env)
        why = f" ({why})"
    if replay_calls is not None and requested != "replay":
        raise LLMError(f"--replay-calls needs --llm replay (got --llm {requested})")
    if requested == "rules":
        return Chosen("rules", "", f"LLM: rules baseline, no language model{why}; "
                                   f"use --llm openai (with OPENAI_API_KEY or SMALLVILLE_LLM_BASE_URL) "
                                   f"or --llm local to use a model")
    if requested == "openai":
        from smallville.llm.openai_backend import OpenAIBackend

        base_url = env.get("SMALLVILLE_LLM_BASE_URL") or settings.base_url
        api_key = env.get("OPENAI_API_KEY") or settings.api_key
        model = env.get("SMALLVILLE_LLM_MODEL") or settings.model
        if not base_url and not api_key:
            raise LLMError("--llm openai: no API key; set OPENAI_API_KEY (or SMALLVILLE_LLM_BASE_URL for a "
                           "local OpenAI-compatible server), or use --llm rules|local")
        if not model:
            model = discover_model(base_url, api_key, settings.timeout_s) if base_url else DEFAULT_OPENAI_MODEL
        lm = OpenAIBackend(model, base_url=base_url, api_key=api_key, timeout_s=settings.timeout_s)
        where = base_url or "api.openai.com"
        return Chosen("openai", model, f"LLM: openai{why}, model {model} at {where}; switch with {SWITCH} "
                                       f"(SMALLVILLE_LLM_BASE_URL, SMALLVILLE_LLM_MODEL pick the server and model)",
                      lm, secrets=(api_key,) if api_key else ())
    if requested == "local":
        from smallville.llm.local import LocalBackend

        path = settings.model_path
        if path and world_dir is not None and not Path(path).is_absolute():
            path = str(world_dir / path)
        lm = LocalBackend(path, n_ctx=settings.context_tokens)
        return Chosen("local", lm.model, f"LLM: local llama.cpp in-process, model {lm.path}; "
                                         f"switch with {SWITCH} (llm.model_path picks another GGUF file)", lm)
    if requested == "replay":
        if replay_calls is None:
            raise LLMError("--llm replay needs --replay-calls RUN_DIR (a run recorded with a language model)")
        from smallville.llm.replay import ReplayBackend

        lm = ReplayBackend(replay_calls)
        return Chosen("replay", lm.model, f"LLM: replay of the calls recorded in {replay_calls} "
                                          f"({lm.keyed_as[0]}, model {lm.keyed_as[1]}); no model is asked; "
                                          f"switch with {SWITCH}", lm, keyed_as=lm.keyed_as)
    raise LLMError(f"--llm {requested}: expected one of auto, rules, openai, local, replay")


def discover_model(base_url: str, api_key: str | None, timeout_s: float) -> str:
    """The first model an OpenAI-compatible server lists (when SMALLVILLE_LLM_MODEL is unset)."""
    import openai

    client = openai.OpenAI(base_url=base_url, api_key=api_key or "no-key", timeout=min(timeout_s, 10.0),
                           max_retries=1)
    try:
        models = [m.id for m in client.models.list()]
    except openai.OpenAIError as e:
        msg = " ".join(str(e).split())
        if api_key:
            msg = msg.replace(api_key, "***")
        raise LLMError(f"{base_url}: cannot list the server's models ({type(e).__name__}: {msg[:200]}); "
                       f"is the server running? Set SMALLVILLE_LLM_MODEL to skip this") from None
    finally:
        client.close()
    if not models:
        raise LLMError(f"{base_url}: the server lists no models; set SMALLVILLE_LLM_MODEL")
    return models[0]


def wrap(chosen: Chosen, settings: Any, sink: Callable[[dict], None] | None = None, *,
         retry_base_s: float = 0.5) -> Stack:
    """The run's stack around ``chosen.lm``: Retry → Record → Budget → Metered → Structured → Limit.

    Record sits above Budget so that a refused call is on record too (a replay then refuses
    it in the same place)."""
    if chosen.lm is None:
        raise LLMError("the rules baseline has no language model to wrap")
    usage = Usage()
    limited = Limit(chosen.lm, settings.concurrency, usage)
    metered = Metered(Structured(limited), usage)
    b = settings.budget
    budget = Budget(metered, usage, calls=b.calls, tokens=b.tokens, dollars=b.dollars)
    record = Record(budget, sink, key_as=chosen.keyed_as, secrets=chosen.secrets)
    lm = Retry(record, attempts=settings.max_retries + 1, base_s=retry_base_s)
    return Stack(lm, usage, budget, record, chosen.lm)


def budget_note(chosen: Chosen, settings: Any) -> str | None:
    """A warning when a dollar cap cannot be enforced because the model has no known price."""
    if settings.budget.dollars is not None and chosen.name == "openai" and price_of(chosen.model) is None:
        return (f"warning: llm.budget.dollars is set but model {chosen.model!r} has no price in the table; "
                f"only the calls and tokens caps apply")
    return None
