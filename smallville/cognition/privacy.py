"""What is a resident's own business, wherever it is written.

A secret may be a first memory marked ``private: true``, any memory that says it is a secret
("a secret crush", "has not told anyone"), a thought resting on such a memory, a relationship
text ("… on whom Maria has a secret crush") or a sentence of the background.

- The rules baseline never volunteers one (conversations, :mod:`.converse`; interviews,
  :mod:`.interview`): a memory that is private is left out of what it tells, and a relationship or
  background text loses its secret clauses (:func:`public`).
- Asked about it directly, the rules interviewee neither tells nor lies: "That's something I'd
  rather keep to myself." (README, "Interviews").
- A model sees secrets in its prompts marked "(private)" (:func:`marked`) and decides itself.
"""

from __future__ import annotations

import re
from typing import Any, Iterable

SECRET = re.compile(r"\b(secret|secrets|secretly|confidential|in confidence|has not told|hasn't told|not told anyone|"
                    r"nobody knows|no one knows|not yet decided whether to tell|tells no one|told no one)\b", re.I)
# where a clause starts: a secret clause goes with all that follows it, what comes before stays
_CLAUSE = re.compile(r"[,;:]\s*|\s+(?:on|of|for|with|to|about|at|in)\s+(?:whom|which)\b|\s+(?:who|whom|which|that|but)\b|"
                     r"\s+and\s+(?:has|is|secretly|who)\b", re.I)
MARK = " (private)"


def secret_text(text: str) -> bool:
    return bool(SECRET.search(text or ""))


def private(node: Any) -> bool:
    """Whether a memory is not to be told: marked private (a first memory's ``private: true``), or a
    secret in its own words ("a secret admirer", "has not told anyone")."""
    facts = getattr(node, "facts", None) or {}
    return bool(facts.get("private")) or secret_text(getattr(node, "description", ""))


def private_ids(nodes: Iterable[Any]) -> set[int]:
    """Ids of the private memories, and of the thoughts that rest on one (in creation order)."""
    out: set[int] = set()
    for n in nodes:
        if private(n) or any(e in out for e in getattr(n, "evidence", ()) or ()):
            out.add(n.id)
    return out


def public(text: str) -> str:
    """``text`` without its secret clauses (a sentence at a time); "" when nothing is left."""
    if not secret_text(text):
        return text
    kept = []
    for sentence in re.split(r"(?<=[.!?])\s+", text):
        if not secret_text(sentence):
            kept.append(sentence)
            continue
        cut = SECRET.search(sentence).start()
        starts = [m.start() for m in _CLAUSE.finditer(sentence) if m.start() < cut]
        if starts and starts[-1] > 0:
            kept.append(sentence[:starts[-1]].rstrip(" ,;:") + ("." if sentence.rstrip().endswith(".") else ""))
    return " ".join(kept).strip()


def marked(text: str) -> str:
    """``text`` marked "(private)" where it tells a secret (for a model's prompt)."""
    if not secret_text(text):
        return text
    out = []
    for sentence in re.split(r"(?<=[.!?])\s+", text):
        out.append(sentence + MARK if secret_text(sentence) else sentence)
    return " ".join(out)


def shown(node: Any) -> str:
    """A memory as a prompt shows it: its words, marked "(private)" when it is a secret."""
    return node.description + (MARK if private(node) else "")
