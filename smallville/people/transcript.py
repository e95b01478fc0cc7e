"""Interview transcripts: read, checked, and cut into the participant's own words.

Two formats (docs/SURVEYS.md):

- plain text with speaker turns. A turn starts with a label and a colon: ``Interviewer:``,
  ``Q:``, ``Question:`` (also ``I:``, ``Int:``, ``Moderator:``) for the interviewer; any other label
  (``A:``, ``Answer:``, ``Participant:``, the person's name) for the participant. A leading time
  stamp (``[00:12:03]``) is ignored; a line without a label continues the turn before it.
- JSON: a list of ``{"question": …, "answer": …}`` objects (or ``{"turns": [...]}`` holding one).

Hand-written rather than a library: no maintained parser exists for interview turn labels, and
the format is a line-level split. Malformed input raises :class:`TranscriptError` (exit 2) naming
the file and line or index.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from smallville.errors import SmallvilleError

INTERVIEWER = frozenset({"interviewer", "q", "question", "i", "int", "moderator"})
PARTICIPANT = frozenset({"a", "answer", "participant", "respondent", "r", "p", "interviewee"})
_LABEL = re.compile(r"^\s*(?:\[[0-9:.\s]+\]\s*)?([A-Za-z][A-Za-z .'-]{0,40}?)\s*:\s?(.*)$")
_NAME = re.compile(r"^[A-Z][A-Za-z'-]*(?: [A-Z][A-Za-z'.-]*){0,3}$")  # a speaker's name: capitalised words
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[\"'A-Z0-9])")
CHUNK_WORDS = 60  # an answer longer than this becomes several memories, cut at sentence ends


class TranscriptError(SmallvilleError):
    """A transcript cannot be read."""


@dataclass(frozen=True)
class Turn:
    """One question and the participant's answer to it."""

    question: str
    answer: str


@dataclass(frozen=True)
class Transcript:
    path: str
    turns: tuple[Turn, ...]

    @property
    def words(self) -> int:
        return sum(len(t.answer.split()) for t in self.turns)

    def text(self) -> str:
        return "\n".join(f"Interviewer: {t.question}\nParticipant: {t.answer}" for t in self.turns)


def read_transcript(path: str | Path) -> Transcript:
    p = Path(path)
    try:
        raw = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TranscriptError(f"{p}: transcript not found") from None
    except IsADirectoryError:
        raise TranscriptError(f"{p}: is a directory, expected a transcript file") from None
    except UnicodeDecodeError:
        raise TranscriptError(f"{p}: not UTF-8 text") from None
    except (OSError, ValueError) as e:
        raise TranscriptError(f"{p}: cannot read: {e}") from None
    stripped = raw.lstrip()
    turns = parse_json(raw, p) if stripped[:1] in ("[", "{") else parse_text(raw, p)
    return Transcript(str(p), tuple(turns))


def parse_json(raw: str, path: Path) -> list[Turn]:
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as e:
        raise TranscriptError(f"{path}: malformed JSON at line {e.lineno}, column {e.colno}: {e.msg}") from None
    if isinstance(data, dict):
        if not isinstance(data.get("turns"), list):
            raise TranscriptError(f"{path}: expected a list of {{\"question\", \"answer\"}} objects "
                                  f"(or {{\"turns\": [...]}})")
        data = data["turns"]
    if not isinstance(data, list):
        raise TranscriptError(f"{path}: expected a list of {{\"question\", \"answer\"}} objects")
    turns = []
    for i, row in enumerate(data):
        if not isinstance(row, dict):
            raise TranscriptError(f"{path}: [{i}]: expected an object with question and answer, got "
                                  f"{type(row).__name__}")
        q, a = row.get("question", row.get("q")), row.get("answer", row.get("a"))
        for key, v in (("question", q), ("answer", a)):
            if not isinstance(v, str) or not v.strip():
                raise TranscriptError(f"{path}: [{i}].{key}: expected some text, got {v!r}")
        extra = set(row) - {"question", "answer", "q", "a"}
        if extra:
            raise TranscriptError(f"{path}: [{i}]: unknown key {sorted(extra)[0]!r}; expected question, answer")
        turns.append(Turn(" ".join(q.split()), " ".join(a.split())))
    if not turns:
        raise TranscriptError(f"{path}: no question-answer pairs")
    return turns


def parse_text(raw: str, path: Path) -> list[Turn]:
    if "\x00" in raw:
        raise TranscriptError(f"{path}: binary data, expected a text transcript")
    blocks: list[tuple[bool, list[str], int]] = []  # (interviewer?, lines, first line number)
    for n, line in enumerate(raw.splitlines(), 1):
        if not line.strip():
            continue
        m = _LABEL.match(line)
        label = m.group(1).strip() if m else ""
        if m and (label.lower() in INTERVIEWER or label.lower() in PARTICIPANT or _NAME.match(label)):
            who = label.lower()
            blocks.append((who in INTERVIEWER, [m.group(2).strip()], n))
        elif blocks:
            blocks[-1][1].append(line.strip())
        else:
            raise TranscriptError(f"{path}: line {n}: expected a speaker turn such as \"Interviewer: …\" or "
                                  f"\"Q: …\", got {line.strip()[:40]!r}")
    if not blocks:
        raise TranscriptError(f"{path}: empty transcript")
    if not any(b[0] for b in blocks):
        raise TranscriptError(f"{path}: no interviewer turns (label them \"Interviewer:\" or \"Q:\")")
    turns: list[Turn] = []
    question: str | None = None
    answer: list[str] = []
    for is_q, lines, n in blocks:
        text = " ".join(" ".join(lines).split())
        if is_q:
            if question is not None and answer:
                turns.append(Turn(question, " ".join(answer)))
            question, answer = text, []
        elif question is None:
            question, answer = "(before the first question)", [text]
        elif text:
            answer.append(text)
    if question is not None and answer:
        turns.append(Turn(question, " ".join(answer)))
    if not turns:
        raise TranscriptError(f"{path}: no answers from the participant")
    return turns


def chunks(answer: str, words: int = CHUNK_WORDS) -> list[str]:
    """An answer cut at sentence ends into pieces of about ``words`` words (a long sentence alone)."""
    out: list[str] = []
    cur: list[str] = []
    n = 0
    for s in _SENTENCE.split(answer.strip()):
        k = len(s.split())
        if cur and n + k > words:
            out.append(" ".join(cur))
            cur, n = [], 0
        cur.append(s)
        n += k
    if cur:
        out.append(" ".join(cur))
    return out


def topic(question: str, limit: int = 30) -> str:
    """The question as it is quoted in a memory: its last sentences (the question itself comes after any
    lead-in), at most ``limit`` words, no trailing '?'."""
    kept: list[str] = []
    n = 0
    for s in reversed(_SENTENCE.split(question.strip())):
        k = len(s.split())
        if kept and n + k > limit:
            break
        kept.insert(0, s)
        n += k
    words = " ".join(kept).rstrip("?.!").split()
    return ("…" if len(words) > limit else "") + " ".join(words[-limit:])


def memory_texts(name: str, transcript: Transcript) -> list[str]:
    """The participant's answers as first memories, in their words and attributed:
    ``Asked "<question>", <name> said: "<answer>"`` (a long answer as several)."""
    out = []
    for t in transcript.turns:
        for piece in chunks(t.answer):
            out.append(f'Asked "{topic(t.question)}", {name} said: "{piece}"')
    return out
