"""Turning a model's text into a schema-valid JSON value, tolerantly.

Small models wrap JSON in prose or code fences, leave trailing commas, or stop early.
:func:`extract_json` finds the first JSON object or array in the text; :func:`check`
parses and validates it against the schema (``jsonschema``), raising an
:class:`~smallville.llm.faults.LLMFault` of kind ``empty``, ``malformed`` or ``schema``.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any

import jsonschema

from smallville.llm.faults import EMPTY, MALFORMED, SCHEMA, LLMFault

_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.S)
_TRAILING_COMMA = re.compile(r",\s*([}\]])")


def _balanced(text: str, start: int) -> str | None:
    """The balanced ``{…}``/``[…]`` starting at ``start`` (string-aware), or None."""
    depth, in_str, esc = 0, False, False
    for i in range(start, len(text)):
        c = text[i]
        if in_str:
            if esc:
                esc = False
            elif c == "\\":
                esc = True
            elif c == '"':
                in_str = False
        elif c == '"':
            in_str = True
        elif c in "{[":
            depth += 1
        elif c in "}]":
            depth -= 1
            if depth == 0:
                return text[start:i + 1]
    return None


def extract_json(text: str) -> Any:
    """The first JSON value in ``text`` (fences, prose and trailing commas tolerated).

    Raises ValueError when there is none."""
    candidates = [m.group(1) for m in _FENCE.finditer(text)] + [text]
    for cand in candidates:
        cand = cand.strip()
        try:
            return json.loads(cand)
        except ValueError:
            pass
        for i, c in enumerate(cand):
            if c in "{[":
                chunk = _balanced(cand, i)
                if chunk is None:
                    break
                for attempt in (chunk, _TRAILING_COMMA.sub(r"\1", chunk)):
                    try:
                        return json.loads(attempt)
                    except ValueError:
                        pass
                break
    raise ValueError("no JSON value found")


@lru_cache(maxsize=64)
def _validator(schema_json: str):
    schema = json.loads(schema_json)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def validate(value: Any, schema: dict) -> None:
    """Raise an LLMFault of kind ``schema`` if ``value`` does not satisfy ``schema``."""
    v = _validator(json.dumps(schema, sort_keys=True))
    err = jsonschema.exceptions.best_match(v.iter_errors(value))
    if err is not None:
        where = "/".join(str(p) for p in err.absolute_path) or "(top)"
        raise LLMFault(SCHEMA, f"answer does not match the schema at {where}: {err.message[:200]}")


def check(text: str | None, schema: dict | None) -> Any:
    """The parsed, validated value of an answer ``text`` (None without a schema)."""
    if schema is None:
        if not text or not text.strip():
            raise LLMFault(EMPTY, "empty answer", raw=text)
        return None
    if text is None or not text.strip():
        raise LLMFault(EMPTY, "empty answer", raw=text)
    try:
        value = extract_json(text)
    except ValueError:
        raise LLMFault(MALFORMED, "the answer is not JSON", raw=text) from None
    try:
        validate(value, schema)
    except LLMFault as e:
        e.raw = text
        raise
    return value


def schema_instructions(schema: dict) -> str:
    """Words for the prompt when a server cannot constrain the answer to a schema."""
    props = schema.get("properties", {})
    fields = ", ".join(f'"{k}": {v.get("type", "value")}' for k, v in props.items())
    return ("Reply with one JSON object only, no other text, of the form {" + fields + "}. "
            "JSON schema: " + json.dumps(schema, separators=(",", ":")))
