"""The run store: ``replays/<run-id>/run.db`` (SQLite, WAL) plus ``manifest.json``.

One transaction per tick, so a crash loses at most the tick in progress. Agent rows are
written when an agent's visible state changes; the state at any tick is the latest row at
or before it. Readers (inspect, the viewer, analysis) use :class:`RunReader` only.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

if TYPE_CHECKING:  # numpy is imported lazily where vectors are read
    import numpy as np

from smallville.errors import RunStoreError

SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (name TEXT PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS agents (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, persona TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS ticks (
    tick INTEGER PRIMARY KEY, time TEXT NOT NULL, digest TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS agent_states (
    agent INTEGER NOT NULL, tick INTEGER NOT NULL, x INTEGER NOT NULL, y INTEGER NOT NULL,
    action TEXT NOT NULL, emoji TEXT NOT NULL, place TEXT NOT NULL, target TEXT NOT NULL,
    utterance TEXT, PRIMARY KEY (agent, tick)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY, tick INTEGER NOT NULL, agent INTEGER, kind TEXT NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_tick ON events (tick);
CREATE INDEX IF NOT EXISTS events_kind ON events (kind, tick);
CREATE TABLE IF NOT EXISTS object_states (
    tick INTEGER NOT NULL, address TEXT NOT NULL, state TEXT, PRIMARY KEY (address, tick)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS decisions (
    id INTEGER PRIMARY KEY, tick INTEGER NOT NULL, agent INTEGER, name TEXT NOT NULL,
    backend TEXT NOT NULL, fallback INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS decisions_tick ON decisions (tick);
CREATE TABLE IF NOT EXISTS checkpoints (tick INTEGER PRIMARY KEY, state TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS llm_calls (
    id INTEGER PRIMARY KEY, tick INTEGER NOT NULL, agent INTEGER, decision TEXT NOT NULL,
    backend TEXT NOT NULL, model TEXT NOT NULL, key TEXT NOT NULL, attempt INTEGER NOT NULL,
    messages TEXT NOT NULL, schema_name TEXT, params TEXT NOT NULL, response TEXT, value TEXT,
    tokens_in INTEGER NOT NULL, tokens_out INTEGER NOT NULL, latency_s REAL NOT NULL,
    cached INTEGER NOT NULL, requests INTEGER NOT NULL DEFAULT 1, error TEXT, error_kind TEXT, note TEXT,
    cached_tokens INTEGER);
CREATE INDEX IF NOT EXISTS llm_calls_tick ON llm_calls (tick);
CREATE TABLE IF NOT EXISTS memories (
    agent INTEGER NOT NULL, id INTEGER NOT NULL, tick INTEGER NOT NULL, kind TEXT NOT NULL,
    description TEXT NOT NULL, subject TEXT, predicate TEXT, object TEXT, importance INTEGER NOT NULL,
    depth INTEGER NOT NULL DEFAULT 0, evidence TEXT, facts TEXT, embedding TEXT NOT NULL,
    PRIMARY KEY (agent, id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS memory_access (agent INTEGER NOT NULL, id INTEGER NOT NULL, tick INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS memory_access_agent ON memory_access (agent, tick);
CREATE TABLE IF NOT EXISTS interventions (
    id INTEGER PRIMARY KEY, tick INTEGER NOT NULL, agent TEXT NOT NULL, kind TEXT NOT NULL, text TEXT NOT NULL,
    facts TEXT, source TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS embeddings (
    key TEXT PRIMARY KEY, model TEXT NOT NULL, dim INTEGER NOT NULL, vector BLOB NOT NULL) WITHOUT ROWID;
"""


def _connect(path: Path, readonly: bool = False) -> sqlite3.Connection:
    if readonly:  # a URI: the path is percent-encoded, so '#', '?' and '%' in a directory name are safe
        con = sqlite3.connect(f"{Path(path).absolute().as_uri()}?mode=ro", uri=True, timeout=30)
    else:
        con = sqlite3.connect(path, timeout=30, isolation_level=None)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=NORMAL")
    con.row_factory = sqlite3.Row
    return con


class RunWriter:
    """Writes one run. Create with :meth:`create`; then ``record`` each tick."""

    def __init__(self, run_dir: Path, con: sqlite3.Connection, manifest: dict):
        self.dir = run_dir
        self.con = con
        self.manifest = manifest
        self._agent_ids = {r["name"]: r["id"] for r in con.execute("SELECT id, name FROM agents")}
        self._llm_calls: list[dict] = []  # rows waiting for their tick's transaction

    @classmethod
    def create(cls, run_dir: Path, manifest: dict, agents: list[tuple[str, dict]],
               files: dict[str, bytes], meta: dict[str, Any]) -> "RunWriter":
        run_dir = Path(run_dir)
        if (run_dir / "run.db").exists():
            raise RunStoreError(f"{run_dir}: a run is already stored there; choose another --out")
        run_dir.mkdir(parents=True, exist_ok=True)
        con = _connect(run_dir / "run.db")
        con.executescript(SCHEMA)
        con.execute("BEGIN")
        meta = {"schema_version": SCHEMA_VERSION, **meta}
        con.executemany("INSERT INTO meta VALUES (?, ?)", [(k, json.dumps(v)) for k, v in meta.items()])
        con.executemany("INSERT INTO files VALUES (?, ?)", list(files.items()))
        con.executemany("INSERT INTO agents (name, persona) VALUES (?, ?)",
                        [(name, json.dumps(p, ensure_ascii=False)) for name, p in agents])
        con.execute("COMMIT")
        writer = cls(run_dir, con, dict(manifest))
        writer.write_manifest(status="running")
        return writer

    @classmethod
    def open_existing(cls, run_dir: Path) -> "RunWriter":
        run_dir = Path(run_dir)
        manifest = read_manifest(run_dir)
        con = _connect(run_dir / "run.db")
        con.executescript(SCHEMA)  # tables added since the run was recorded (interventions)
        if "cached_tokens" not in {r["name"] for r in con.execute("PRAGMA table_info(llm_calls)")}:
            # a store written before cached prompt tokens were recorded: the column is added (nullable,
            # so its old rows say "not reported"); the schema version stays 1
            con.execute("ALTER TABLE llm_calls ADD COLUMN cached_tokens INTEGER")
        return cls(run_dir, con, manifest)

    def write_manifest(self, **updates: Any) -> None:
        self.manifest.update(updates)
        tmp = self.dir / "manifest.json.tmp"
        tmp.write_text(json.dumps(self.manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
        os.replace(tmp, self.dir / "manifest.json")

    def record(self, rec) -> None:
        """Write one tick (an engine ``TickRecord``) in one transaction."""
        ids = self._agent_ids
        c = self.con
        c.execute("BEGIN")
        try:
            c.execute("INSERT INTO ticks VALUES (?, ?, ?)", (rec.tick, rec.time.isoformat(), rec.digest))
            if rec.agents:
                c.executemany(
                    "INSERT INTO agent_states VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [(ids[r["name"]], rec.tick, r["x"], r["y"], r["action"], r["emoji"], r["place"], r["target"],
                      r["utterance"]) for r in rec.agents])
            if rec.events:
                c.executemany("INSERT INTO events (tick, agent, kind, data) VALUES (?, ?, ?, ?)",
                              [(rec.tick, ids.get(e.get("agent")), e["kind"],
                                json.dumps(e.get("data", {}), ensure_ascii=False, sort_keys=True)) for e in rec.events])
            if rec.object_changes:
                c.executemany("INSERT INTO object_states VALUES (?, ?, ?)",
                              [(rec.tick, a, s) for a, s in rec.object_changes])
            if rec.decisions:
                c.executemany("INSERT INTO decisions (tick, agent, name, backend, fallback) VALUES (?, ?, ?, ?, ?)",
                              [(rec.tick, ids.get(d["agent"]), d["name"], d["backend"], int(d["fallback"]))
                               for d in rec.decisions])
            if getattr(rec, "interventions", None):  # commands applied at this tick (whisper, remember)
                c.executemany("INSERT INTO interventions (tick, agent, kind, text, facts, source) VALUES (?, ?, ?, ?, ?, ?)",
                              [(rec.tick, i["agent"], i["kind"], i["text"],
                                json.dumps(i["facts"], ensure_ascii=False, sort_keys=True) if i.get("facts") is not None
                                else None, i.get("source", "")) for i in rec.interventions])
            self._write_llm_calls()
            if getattr(rec, "memory", None):
                self._write_memory(rec.memory)
            c.execute("COMMIT")
        except BaseException:
            c.execute("ROLLBACK")
            raise

    def record_memory(self, delta) -> None:
        """Write a memory delta outside a tick (the vectors embedded at a checkpoint or the end)."""
        if not delta:
            return
        self.con.execute("BEGIN")
        try:
            self._write_memory(delta)
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise

    def _write_memory(self, delta) -> None:
        """New memory nodes, last-accessed updates, embedding vectors and later ratings (a ``MemoryDelta``)."""
        ids, c = self._agent_ids, self.con
        if delta.memories:
            c.executemany("INSERT INTO memories VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                          [(ids[m["agent"]], m["id"], m["tick"], m["kind"], m["description"], m["subject"],
                            m["predicate"], m["object"], m["importance"], m["depth"], m["evidence"], m["facts"],
                            m["embedding"]) for m in delta.memories])
        if delta.accesses:
            c.executemany("INSERT INTO memory_access VALUES (?, ?, ?)",
                          [(ids[a], i, t) for a, i, t in delta.accesses])
        if delta.embeddings:
            c.executemany("INSERT OR IGNORE INTO embeddings VALUES (?, ?, ?, ?)", delta.embeddings)
        if getattr(delta, "rescored", None):  # importance rated after the node was stored (after its insert)
            c.executemany("UPDATE memories SET importance = ? WHERE agent = ? AND id = ?",
                          [(imp, ids[a], i) for a, i, imp in delta.rescored])

    def add_llm_call(self, row: dict) -> None:
        """Queue one language-model call (a row from ``smallville.llm.wrappers.Record``); it is
        written with the next tick, so the row may still be annotated until then."""
        self._llm_calls.append(row)

    def _write_llm_calls(self) -> None:
        rows, self._llm_calls = self._llm_calls, []
        if not rows:
            return
        ids = self._agent_ids
        dump = lambda v: json.dumps(v, ensure_ascii=False, sort_keys=True)  # noqa: E731
        self.con.executemany(
            """INSERT INTO llm_calls (tick, agent, decision, backend, model, key, attempt, messages, schema_name,
               params, response, value, tokens_in, tokens_out, latency_s, cached, requests, error, error_kind, note,
               cached_tokens)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            [(r["tick"], ids.get(r["agent"]), r["decision"], r["backend"], r["model"], r["key"], r["attempt"],
              dump(r["messages"]), r["schema_name"], dump(r["params"]), r["response"],
              None if r["value"] is None else dump(r["value"]), r["tokens_in"], r["tokens_out"], r["latency_s"],
              int(r["cached"]), r.get("requests", 1), r["error"], r["error_kind"], r["note"], r.get("cached_tokens"))
             for r in rows])

    PER_TICK_TABLES = ("ticks", "agent_states", "events", "object_states", "decisions", "llm_calls", "memories",
                       "memory_access", "checkpoints", "interventions")

    def truncate_after(self, tick: int, importance_fixes: Iterable[tuple[str, int, int]] = (),
                       keep_calls: bool = False) -> None:
        """Drop every row recorded after ``tick`` and set back the importances rated after it
        ((agent, node id, importance)), in one transaction: the log ends at ``tick`` again.
        ``keep_calls`` keeps the language-model calls (a stopped run keeps what it spent on record)."""
        c = self.con
        c.execute("BEGIN")
        try:
            for t in self.PER_TICK_TABLES:
                if keep_calls and t == "llm_calls":
                    continue
                c.execute(f"DELETE FROM {t} WHERE tick > ?", (tick,))
            c.executemany("UPDATE memories SET importance = ? WHERE agent = ? AND id = ?",
                          [(imp, self._agent_ids[name], i) for name, i, imp in importance_fixes])
            c.execute("COMMIT")
        except BaseException:
            c.execute("ROLLBACK")
            raise

    def digest_at(self, tick: int) -> str:
        return self.con.execute("SELECT digest FROM ticks WHERE tick = ?", (tick,)).fetchone()[0]

    def checkpoint(self, tick: int, state_json: str) -> None:
        self.con.execute("INSERT OR REPLACE INTO checkpoints VALUES (?, ?)", (tick, state_json))

    def close(self, **manifest_updates: Any) -> None:
        if self._llm_calls:  # calls of a tick that did not complete
            self.con.execute("BEGIN")
            self._write_llm_calls()
            self.con.execute("COMMIT")
        if manifest_updates:
            self.write_manifest(**manifest_updates)
        self.con.close()


def read_manifest(run_dir: Path) -> dict:
    p = Path(run_dir) / "manifest.json"
    if not (Path(run_dir) / "run.db").exists():
        raise RunStoreError(f"{run_dir}: not a run directory (no run.db)")
    try:
        return json.loads(p.read_text())
    except FileNotFoundError:
        raise RunStoreError(f"{p}: missing") from None
    except json.JSONDecodeError as e:
        raise RunStoreError(f"{p}: malformed JSON ({e.msg})") from None


class RunReader:
    """Read-only access to a stored run, at any tick."""

    def __init__(self, run_dir: str | Path):
        self.dir = Path(run_dir)
        self.manifest = read_manifest(self.dir)
        try:
            self.con = _connect(self.dir / "run.db", readonly=True)
            rows = list(self.con.execute("SELECT key, value FROM meta"))
        except sqlite3.DatabaseError as e:
            raise RunStoreError(f"{self.dir / 'run.db'}: unreadable ({e})") from None
        self.meta = {}
        for r in rows:
            try:
                self.meta[r["key"]] = json.loads(r["value"])
            except (json.JSONDecodeError, TypeError) as e:
                raise RunStoreError(f"{self.dir / 'run.db'}: meta.{r['key']} is not valid JSON "
                                    f"({getattr(e, 'msg', e)})") from None
        if self.meta.get("schema_version") != SCHEMA_VERSION:
            raise RunStoreError(f"{self.dir}: run store version {self.meta.get('schema_version')} "
                                f"is not {SCHEMA_VERSION}")
        self.agents = {r["id"]: r["name"] for r in self.con.execute("SELECT id, name FROM agents ORDER BY id")}
        self._ids = {n: i for i, n in self.agents.items()}

    def close(self) -> None:
        self.con.close()

    # -- time ------------------------------------------------------------
    def last_tick(self) -> int | None:
        row = self.con.execute("SELECT MAX(tick) AS t FROM ticks").fetchone()
        return row["t"]

    def first_tick(self) -> int | None:
        row = self.con.execute("SELECT MIN(tick) AS t FROM ticks").fetchone()
        return row["t"]

    def tick_info(self, tick: int) -> sqlite3.Row | None:
        return self.con.execute("SELECT tick, time, digest FROM ticks WHERE tick = ?", (tick,)).fetchone()

    def tick_at(self, when: dt.datetime) -> int | None:
        """The last recorded tick at or before ``when``."""
        row = self.con.execute("SELECT MAX(tick) AS t FROM ticks WHERE time <= ?", (when.isoformat(),)).fetchone()
        return row["t"]

    # -- state -----------------------------------------------------------
    def agent_id(self, name: str) -> int | None:
        return self._ids.get(name)

    def persona(self, name: str) -> dict:
        row = self.con.execute("SELECT persona FROM agents WHERE name = ?", (name,)).fetchone()
        return json.loads(row["persona"]) if row else {}

    def agents_at(self, tick: int) -> list[dict]:
        rows = self.con.execute(
            """SELECT a.name, s.tick, s.x, s.y, s.action, s.emoji, s.place, s.target, s.utterance
               FROM agents a JOIN agent_states s ON s.agent = a.id
               AND s.tick = (SELECT MAX(tick) FROM agent_states WHERE agent = a.id AND tick <= ?)
               ORDER BY a.id""", (tick,)).fetchall()
        return [dict(r) for r in rows]

    def agent_states(self, name: str, first: int, last: int) -> list[dict]:
        """``name``'s recorded (tick, action, place) from the state in force at ``first`` to ``last``."""
        aid = self.agent_id(name)
        if aid is None:
            return []
        rows = self.con.execute(
            """SELECT tick, action, place FROM agent_states WHERE agent = ? AND tick <= ? AND
               tick >= COALESCE((SELECT MAX(tick) FROM agent_states WHERE agent = ? AND tick <= ?), 0)
               ORDER BY tick""", (aid, last, aid, first)).fetchall()
        return [dict(r) for r in rows]

    def object_states_at(self, tick: int) -> dict[str, str]:
        rows = self.con.execute(
            """SELECT address, state FROM object_states o
               WHERE tick = (SELECT MAX(tick) FROM object_states WHERE address = o.address AND tick <= ?)""",
            (tick,)).fetchall()
        return {r["address"]: r["state"] for r in rows if r["state"] is not None}

    def events(self, kind: str | None = None, agent: str | None = None, until: int | None = None,
               since: int | None = None) -> Iterable[dict]:
        q, args = "SELECT e.tick, e.kind, e.data, a.name AS agent FROM events e LEFT JOIN agents a ON a.id = e.agent WHERE 1", []
        for cond, val in (("e.kind = ?", kind), ("a.name = ?", agent), ("e.tick <= ?", until), ("e.tick >= ?", since)):
            if val is not None:
                q += f" AND {cond}"
                args.append(val)
        for r in self.con.execute(q + " ORDER BY e.id", args):
            yield {"tick": r["tick"], "kind": r["kind"], "agent": r["agent"], "data": json.loads(r["data"])}

    def decision_counts(self, until: int) -> dict[str, int]:
        rows = self.con.execute("SELECT name, COUNT(*) AS n FROM decisions WHERE tick <= ? GROUP BY name ORDER BY name",
                                (until,)).fetchall()
        return {r["name"]: r["n"] for r in rows}

    def decision_fallbacks(self, until: int) -> int:
        row = self.con.execute("SELECT COUNT(*) AS n FROM decisions WHERE tick <= ? AND fallback = 1",
                               (until,)).fetchone()
        return row["n"]

    # -- language-model calls ----------------------------------------------
    def llm_usage(self, until: int | None = None) -> dict:
        """Totals of the recorded calls up to ``until``: calls sent to a backend, cache hits,
        tokens, prompt tokens the server served from its prefix cache (``cached_tokens``; 0 where it
        did not say, and in stores written before they were recorded), errors."""
        zero = {"calls": 0, "cache_hits": 0, "tokens_in": 0, "tokens_out": 0, "cached_tokens": 0, "errors": 0}
        if not self._has_table("llm_calls"):
            return zero
        has_cached = "cached_tokens" in {r["name"] for r in self.con.execute("PRAGMA table_info(llm_calls)")}
        cached = "COALESCE(SUM(cached_tokens * (cached = 0)), 0)" if has_cached else "0"
        row = self.con.execute(
            f"""SELECT COALESCE(SUM(requests * (cached = 0)), 0) AS calls, COALESCE(SUM(cached), 0) AS cache_hits,
                      COALESCE(SUM(tokens_in * (cached = 0)), 0) AS tokens_in,
                      COALESCE(SUM(tokens_out * (cached = 0)), 0) AS tokens_out, {cached} AS cached_tokens,
                      COALESCE(SUM(error IS NOT NULL AND error_kind IS NOT 'budget'), 0) AS errors
               FROM llm_calls WHERE tick <= ?""", (until if until is not None else 2 ** 62,)).fetchone()
        return {k: int(row[k]) for k in zero}

    def llm_calls(self, until: int | None = None) -> list[dict]:
        """Every recorded call (in the order they finished), as plain dicts."""
        if not self._has_table("llm_calls"):
            return []
        rows = self.con.execute(
            """SELECT c.*, a.name AS agent_name FROM llm_calls c LEFT JOIN agents a ON a.id = c.agent
               WHERE c.tick <= ? ORDER BY c.id""", (until if until is not None else 2 ** 62,)).fetchall()
        out = []
        for r in rows:
            d = dict(r)
            d["agent"] = d.pop("agent_name") or ""
            d["messages"] = json.loads(d["messages"])
            d["params"] = json.loads(d["params"])
            d["value"] = None if d["value"] is None else json.loads(d["value"])
            d["cached"] = bool(d["cached"])
            out.append(d)
        return out

    # -- memory streams ----------------------------------------------------
    def _has_table(self, name: str) -> bool:
        return self.con.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)).fetchone() \
            is not None

    def memories(self, agent: str, until: int | None = None) -> list[dict]:
        """The agent's memory nodes created at or before ``until``, oldest first (plain rows)."""
        aid = self._ids.get(agent)
        if aid is None or not self._has_table("memories"):
            return []
        rows = self.con.execute("SELECT * FROM memories WHERE agent = ? AND tick <= ? ORDER BY id",
                                (aid, until if until is not None else 2 ** 62)).fetchall()
        return [dict(r) for r in rows]

    def recent_memories(self, agent: str, until: int, limit: int = 8, reflections: bool = False) -> list[dict]:
        """The agent's newest memory nodes at ``until``, newest first, without embeddings (for the viewer).
        ``reflections``: only reflections (thoughts of depth > 0); otherwise every other kind."""
        aid = self._ids.get(agent)
        if aid is None or not self._has_table("memories"):
            return []
        cond = "kind = 'thought' AND depth > 0" if reflections else "NOT (kind = 'thought' AND depth > 0)"
        rows = self.con.execute(
            f"""SELECT id, tick, kind, description, importance, depth FROM memories
                WHERE agent = ? AND tick <= ? AND {cond} ORDER BY tick DESC, id DESC LIMIT ?""",
            (aid, until, limit)).fetchall()
        return [dict(r) for r in rows]

    def memory_last_access(self, agent: str, until: int | None = None) -> dict[int, int]:
        """Node id → the last tick (at or before ``until``) it was retrieved."""
        aid = self._ids.get(agent)
        if aid is None or not self._has_table("memory_access"):
            return {}
        rows = self.con.execute("SELECT id, MAX(tick) AS t FROM memory_access WHERE agent = ? AND tick <= ? GROUP BY id",
                                (aid, until if until is not None else 2 ** 62)).fetchall()
        return {r["id"]: r["t"] for r in rows}

    def embeddings(self, keys: Iterable[str], model: str | None = None) -> dict[str, "np.ndarray"]:
        """Stored vectors by text key (float32)."""
        import numpy as np

        if not self._has_table("embeddings"):
            return {}
        keys = list(keys)
        out = {}
        for i in range(0, len(keys), 500):
            chunk = keys[i:i + 500]
            q = f"SELECT key, model, vector FROM embeddings WHERE key IN ({','.join('?' * len(chunk))})"
            for r in self.con.execute(q, chunk):
                if model is None or r["model"] == model:
                    out[r["key"]] = np.frombuffer(r["vector"], dtype="<f4").astype(np.float32)
        return out

    def interventions(self, until: int | None = None, since: int | None = None) -> list[dict]:
        """Commands the run applied (whisper, an interview remembered), with the tick they applied at."""
        if not self._has_table("interventions"):
            return []
        rows = self.con.execute("SELECT * FROM interventions WHERE tick <= ? AND tick >= ? ORDER BY id",
                                (until if until is not None else 2 ** 62, since if since is not None else 0)).fetchall()
        return [{"tick": r["tick"], "agent": r["agent"], "kind": r["kind"], "text": r["text"],
                 "facts": json.loads(r["facts"]) if r["facts"] else None, "source": r["source"]} for r in rows]

    def checkpoint_at(self, tick: int) -> tuple[int, str] | None:
        row = self.con.execute("SELECT tick, state FROM checkpoints WHERE tick <= ? ORDER BY tick DESC LIMIT 1",
                               (tick,)).fetchone()
        return (row["tick"], row["state"]) if row else None

    def file(self, name: str) -> bytes | None:
        row = self.con.execute("SELECT data FROM files WHERE name = ?", (name,)).fetchone()
        return bytes(row["data"]) if row else None

    def files(self) -> list[str]:
        return [r["name"] for r in self.con.execute("SELECT name FROM files ORDER BY name")]
