"""The side store of a run: ``<run>/inbox.db`` beside ``run.db`` — commands for the live run
(``whisper``, ``interview --remember``) and the interviews held with its residents.

Why a file of its own: ``run.db`` has one writer, the run, which commits a transaction per
tick; a second process writing there would make the run wait for the lock (or, past the busy
timeout, fail). Here other processes write short transactions with a busy timeout, and the run
only reads the pending commands and marks them taken, once per tick, in a file nobody holds for
long. A finished run (or the parent of a branch) keeps ``run.db`` and ``manifest.json``
byte-identical when interviewed. A command the run applied is recorded in ``run.db`` too
(table ``interventions``, with the tick it applied at), so a rerun or a branch replays it.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path
from typing import Any

from smallville.errors import RunStoreError

INBOX = "inbox.db"
BUSY_MS = 2000

SCHEMA = """
CREATE TABLE IF NOT EXISTS inbox (
    id INTEGER PRIMARY KEY, created TEXT NOT NULL, agent TEXT NOT NULL, kind TEXT NOT NULL,
    text TEXT NOT NULL, facts TEXT, applied_tick INTEGER);
CREATE TABLE IF NOT EXISTS interviews (
    id INTEGER PRIMARY KEY, created TEXT NOT NULL, tick INTEGER NOT NULL, time TEXT NOT NULL,
    agent TEXT NOT NULL, question TEXT NOT NULL, answer TEXT NOT NULL, memory_ids TEXT NOT NULL,
    retrieved TEXT NOT NULL, category TEXT, backend TEXT NOT NULL, model TEXT NOT NULL, remembered INTEGER NOT NULL DEFAULT 0);
"""


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


class Inbox:
    """``<run>/inbox.db``: opened (and created) on demand; every write is one short transaction."""

    def __init__(self, run_dir: str | Path, create: bool = True):
        self.path = Path(run_dir) / INBOX
        if not create and not self.path.exists():
            self.con = None
            return
        try:
            self.con = sqlite3.connect(self.path, timeout=BUSY_MS / 1000, isolation_level=None)
            self.con.execute(f"PRAGMA busy_timeout={BUSY_MS}")
            self.con.execute("PRAGMA journal_mode=WAL")
            self.con.executescript(SCHEMA)
        except sqlite3.DatabaseError as e:
            raise RunStoreError(f"{self.path}: unusable ({e})") from None
        self.con.row_factory = sqlite3.Row

    def close(self) -> None:
        if self.con is not None:
            self.con.close()

    # -- commands -------------------------------------------------------
    def submit(self, agent: str, kind: str, text: str, facts: list[dict] | None = None) -> int:
        cur = self.con.execute("INSERT INTO inbox (created, agent, kind, text, facts) VALUES (?, ?, ?, ?, ?)",
                               (_now(), agent, kind, text, json.dumps(facts) if facts is not None else None))
        return int(cur.lastrowid)

    def pending(self) -> list[dict]:
        if self.con is None:
            return []
        rows = self.con.execute("SELECT * FROM inbox WHERE applied_tick IS NULL ORDER BY id").fetchall()
        return [command(r) for r in rows]

    def mark_applied(self, ids: list[int], tick: int) -> None:
        self.con.executemany("UPDATE inbox SET applied_tick = ? WHERE id = ?", [(tick, i) for i in ids])

    def command(self, cid: int) -> dict | None:
        r = self.con.execute("SELECT * FROM inbox WHERE id = ?", (cid,)).fetchone() if self.con else None
        return command(r) if r else None

    # -- interviews -----------------------------------------------------
    def add_interview(self, row: dict[str, Any]) -> int:
        cur = self.con.execute(
            """INSERT INTO interviews (created, tick, time, agent, question, answer, memory_ids, retrieved, category,
               backend, model, remembered) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            (_now(), row["tick"], row["time"], row["agent"], row["question"], row["answer"],
             json.dumps(list(row["memory_ids"])), json.dumps([r["id"] for r in row.get("retrieved", [])]),
             row.get("category"), row["backend"], row["model"],
             int(bool(row.get("remembered")))))
        return int(cur.lastrowid)

    def interviews(self, agent: str | None = None) -> list[dict]:
        if self.con is None:
            return []
        q, args = "SELECT * FROM interviews", []
        if agent is not None:
            q, args = q + " WHERE agent = ?", [agent]
        out = []
        for r in self.con.execute(q + " ORDER BY id", args):
            d = dict(r)
            d["memory_ids"] = json.loads(d["memory_ids"])
            d["retrieved"] = json.loads(d["retrieved"])
            d["remembered"] = bool(d["remembered"])
            out.append(d)
        return out


def command(r) -> dict:
    return {"id": r["id"], "agent": r["agent"], "kind": r["kind"], "text": r["text"],
            "facts": json.loads(r["facts"]) if r["facts"] else None, "applied_tick": r["applied_tick"]}


def read_interviews(run_dir: str | Path, agent: str | None = None) -> list[dict]:
    """The interviews of a run (none when it has no side store): for ``inspect`` and the viewer."""
    inbox = Inbox(run_dir, create=False)
    try:
        return inbox.interviews(agent)
    except sqlite3.DatabaseError:
        return []
    finally:
        inbox.close()
