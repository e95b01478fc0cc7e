"""``interview``: ask a resident of a stored or live run questions, as of any recorded moment.

The resident is rebuilt from the run store as it was at the tick asked for: its persona, its
memories up to then (the last accesses as of then, the importances of the checkpoint at or
before then — a rating made after that checkpoint but before the tick is seen with its final
value), the plan of the day as logged, and its current action. Decision ``answer_interview``
(:mod:`smallville.cognition.interview`) answers; each exchange is stored in the run's side
store (:mod:`smallville.store.inbox`) with the memory ids it drew on, and ``inspect --agent``
lists them. ``remember``: on a live run the exchange is put in the inbox, and the run adds it
to the resident's memory at its next tick boundary.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sys
from dataclasses import dataclass, field
from typing import Any

from smallville.cognition import interview as I
from smallville.cognition.decisions import Decider
from smallville.cognition.embedding import EmbeddingCache, embedder_for_model
from smallville.cognition.memory import MemoryStreams
from smallville.cognition.understand import fold
from smallville.engine.engine import Snapshot
from smallville.errors import RunStoreError, SmallvilleError
from smallville.inspect import plan_view, resolve_tick
from smallville.store.inbox import Inbox
from smallville.store.runstore import RunReader
from smallville.world.config import TIME_FORMAT, LLMSettings, Persona

INTERVIEWER = "An interviewer"


def is_live(reader: RunReader) -> bool:
    return reader.manifest.get("status") == "running"


def finished_error(run: str, what: str) -> SmallvilleError:
    return SmallvilleError(f"{run}: the run is not running (status {what!r}); nothing can reach its residents now. "
                           f"Branch it instead: python -m smallville branch {run} --at TIME --out NEW "
                           f"--whisper \"Name: thought\"")


@dataclass
class Session:
    """An interview session on one run: the reader, the answering backend, the side store."""

    reader: RunReader
    decider: Decider
    model: str
    inbox: Inbox | None
    cache: EmbeddingCache | None = None
    gazetteer: Any = None
    moments: dict = field(default_factory=dict)  # (tick, name) -> (Moment, MemoryStreams)

    def close(self) -> None:
        self.reader.close()
        if self.inbox is not None:
            self.inbox.close()


def open_session(run: str, llm: str | None = None, store: bool = True) -> Session:
    reader = RunReader(run)
    backend = llm or ("rules" if reader.manifest.get("backend") in (None, "rules", "replay") else
                      reader.manifest["backend"])
    model = "rules"
    lm = None
    if backend != "rules":
        from smallville.llm import factory

        try:
            settings = LLMSettings.model_validate(reader.meta["world"].get("llm", {}))
        except Exception as e:  # noqa: BLE001 - a pydantic error: the stored world is not this version's
            reader.close()
            raise RunStoreError(f"{run}: its llm settings are unreadable ({e})") from None
        chosen = factory.choose(backend, settings)
        if chosen.lm is not None:
            lm = factory.wrap(chosen, settings).lm
            backend, model = chosen.name, chosen.model
        else:
            backend = "rules"
    model = model if lm is not None else "rules"
    model_name = reader.meta.get("embedder")
    cache = EmbeddingCache(_embedder(model_name)) if model_name else None
    return Session(reader, Decider(lm), model, Inbox(run) if store else None, cache)


def _embedder(model_name: str):
    """The run's embedder for the few texts an interview embeds: MiniLM in numpy where it can
    (the same vectors, without importing torch), else as the run made them."""
    from smallville.cognition.minilm import NumpyMiniLM, shared

    if model_name == NumpyMiniLM.name and NumpyMiniLM.available():
        return shared()
    return embedder_for_model(model_name)


def _fold(text: str, german: bool = False) -> str:
    if german:  # "Müller" written "Mueller"
        for a, b in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("Ä", "Ae"), ("Ö", "Oe"), ("Ü", "Ue"), ("ß", "ss")):
            text = text.replace(a, b)
    return " ".join(fold(text).split())


def resident(reader: RunReader, name: str) -> str:
    """The resident ``name`` means: forgiving case, spaces, accents and a first (or last) name
    that only one resident has; a near miss is an error that says whom it may mean."""
    names = list(reader.agents.values())
    if name in names:
        return name
    wanted = {_fold(name), _fold(name, True)}
    hits = [n for n in names if {_fold(n), _fold(n, True)} & wanted]
    if len(hits) == 1:
        return hits[0]
    one = [n for n in names if any(w in (_fold(n).split()[0], _fold(n).split()[-1]) for w in wanted)]
    if len(one) == 1:
        return one[0]
    from rapidfuzz import fuzz, process

    near = process.extract(_fold(name, True), {n: _fold(n, True) for n in names}, scorer=fuzz.WRatio, limit=3)
    near = [n for _, score, n in near if score >= 70]
    if len(one) > 1:
        near = one
    hint = f"; did you mean {' or '.join(near[:3])}?" if near else f" (residents: {', '.join(names)})"
    raise SmallvilleError(f"no resident named {name!r}{hint}")


def moment_tick(reader: RunReader, at: str | None) -> int:
    """The tick for ``--at``: a time before the run's start or after its last recorded tick is an error."""
    tick = resolve_tick(reader, at)
    if at is not None:
        when = dt.datetime.fromisoformat(reader.tick_info(tick)["time"])
        asked = dt.datetime.strptime(at, TIME_FORMAT)
        last = reader.last_tick()
        step = dt.timedelta(seconds=int(reader.meta.get("tick_seconds", 10)))
        if tick == last and asked - when >= step:
            raise SmallvilleError(f"--at: {at} is after the run's last recorded moment "
                                  f"({reader.tick_info(last)['time'][:16].replace('T', ' ')})")
    return tick


def _gazetteer(reader: RunReader):
    from smallville.cognition.extract import Gazetteer

    places: dict[str, None] = {}
    for n in reader.agents.values():
        try:
            p = Persona.model_validate({**reader.persona(n), "first_memories": []})
        except Exception:  # noqa: BLE001 - a persona of another version: its places are not needed
            continue
        for _, a in p.known_places():
            places[a] = None
    return Gazetteer(list(places))


def moment(s: Session, tick: int, name: str) -> tuple[I.Moment, MemoryStreams | None]:
    """The resident ``name`` as of ``tick`` (kept for the session's next questions: a recorded tick does not change)."""
    name = resident(s.reader, name)
    key = (tick, name)
    if key not in s.moments:
        if len(s.moments) >= 8:
            s.moments.pop(next(iter(s.moments)))
        s.moments[key] = _moment(s, tick, name)
    return s.moments[key]


def _moment(s: Session, tick: int, name: str) -> tuple[I.Moment, MemoryStreams | None]:
    reader = s.reader
    info = reader.tick_info(tick)
    now = dt.datetime.fromisoformat(info["time"])
    row = next(r for r in reader.agents_at(tick) if r["name"] == name)
    # its first memories are in its memory stream; the stored persona keeps their times in ISO form
    persona = Persona.model_validate({**reader.persona(name), "first_memories": []})
    mem = None
    nodes: list = []
    if s.cache is not None:
        mem = MemoryStreams.load(reader, tick, s.cache, agents=[name])
        cp = reader.checkpoint_at(tick)
        if cp is not None:  # importances as rated by the checkpoint at or before the tick
            saved = (Snapshot.from_json(cp[1]).memory or {}).get(name, {})
            stream = mem.stream(name)
            for n, imp in zip(stream.nodes, saved.get("importance", [])):
                stream.set_importance(n.id, imp)
        nodes = mem.stream(name).nodes
    start = dt.datetime.fromisoformat(reader.meta["start"])
    seconds = int(reader.meta["tick_seconds"])

    def history(a: dt.datetime, b: dt.datetime) -> list[tuple[dt.datetime, str, str]]:
        b = min(b, now)  # never after the moment asked about
        if b < a:
            return []
        first = max(0, int((a - start).total_seconds() // seconds))
        last = min(tick, int((b - start).total_seconds() // seconds))
        return [(max(a, start + dt.timedelta(seconds=r["tick"] * seconds)), r["action"], r["place"])
                for r in reader.agent_states(name, first, last)]

    if s.gazetteer is None:
        s.gazetteer = _gazetteer(reader)
    return I.Moment(persona, now, row["action"], row["place"], plan_view(reader, tick, name, info["time"]),
                    nodes, tuple(reader.agents.values()), start, seconds, history, s.gazetteer), mem


def ask(s: Session, tick: int, name: str, question: str, remember: bool = False) -> dict:
    """One exchange: the answer, the memories it drew on, and what was retrieved for the question."""
    name = resident(s.reader, name)
    question = "".join(c for c in question if c.isprintable() or c in "\t\n")
    m, mem = moment(s, tick, name)
    u = I.read(m, question)
    focal = I.focal(u, question) if question.strip() else ["?"]
    retrieved = mem.retrieve(name, focal, tick, touch=False)[0] if mem is not None else []
    decide = lambda *a, **k: s.decider.decide(*a, agent=name, tick=tick, **k)  # noqa: E731
    ans = asyncio.run(I.answer(decide, m, question, retrieved, u=u))
    by_id = {n.id: n for n in m.nodes}
    out = {"agent": name, "tick": tick, "time": m.now.strftime("%Y-%m-%d %H:%M"), "question": question,
           "answer": ans.text, "category": ans.category, "intent": u.intent, "memory_ids": list(ans.memory_ids),
           "memories": [by_id[i].description for i in ans.memory_ids if i in by_id],
           "retrieved": [{"id": r.node.id, "score": round(r.score, 4), "description": r.node.description}
                         for r in retrieved],
           "backend": s.decider.backend, "model": s.model, "remembered": False}
    if remember:
        if not is_live(s.reader):
            raise finished_error(str(s.reader.dir), s.reader.manifest.get("status"))
        text = f"{INTERVIEWER} asked {name}: \"{question}\" {name} answered: \"{ans.text}\""
        out["command"] = s.inbox.submit(name, "interview", text)
        out["remembered"] = True
    if s.inbox is not None:
        out["id"] = s.inbox.add_interview(out)
    return out


def whisper(run: str, name: str, text: str, facts: list[dict] | None = None) -> int:
    """Put an inner-voice command in a live run's inbox; returns its id."""
    reader = RunReader(run)
    try:
        name = resident(reader, name)
        if not is_live(reader):
            raise finished_error(run, reader.manifest.get("status"))
    finally:
        reader.close()
    inbox = Inbox(run)
    try:
        return inbox.submit(name, "whisper", text, facts)
    finally:
        inbox.close()


def render(ex: dict) -> str:
    return f"[{ex['time']}] {ex['agent']}: {ex['answer']}"


def run_interview(run: str, name: str, at: str | None, questions: list[str], as_json: bool = False,
                  remember: bool = False, llm: str | None = None) -> int:
    s = open_session(run, llm)
    try:
        if remember and not is_live(s.reader):
            raise finished_error(run, s.reader.manifest.get("status"))
        if remember and at is not None:
            raise SmallvilleError("--remember: only on the newest tick of a live run (no --at)")
        tick = moment_tick(s.reader, at)
        name = resident(s.reader, name)
        if questions:
            out = [ask(s, tick, name, q, remember) for q in questions]
            if as_json:
                print(json.dumps(out, indent=2, ensure_ascii=False))
            else:
                for ex in out:
                    print(render(ex))
            return 0
        return interactive(s, run, name, at, remember)
    finally:
        s.close()


def interactive(s: Session, run: str, name: str, at: str | None, remember: bool) -> int:
    """Questions from the terminal: ``:at TIME`` moves in time, ``:who NAME`` switches resident,
    ``:history`` lists this session's exchanges, Ctrl-D leaves."""
    try:
        import readline  # noqa: F401 - line editing and history where available
    except ImportError:
        pass
    history: list[dict] = []
    tick = moment_tick(s.reader, at)
    when = lambda t: s.reader.tick_info(t)["time"][:16].replace("T", " ")  # noqa: E731
    print(f"interviewing {name} at {when(tick)} (:at TIME, :who NAME, :history, Ctrl-D to leave)", file=sys.stderr)
    while True:
        try:
            line = input(f"{name}> ").strip()
        except EOFError:
            print(file=sys.stderr)
            return 0
        if not line:
            continue
        try:
            if line.startswith(":at "):
                at = line[4:].strip().strip('"')
                tick = moment_tick(s.reader, at)
                print(f"now at {when(tick)} (tick {tick})", file=sys.stderr)
            elif line.startswith(":who "):
                name = resident(s.reader, line[5:].strip().strip('"'))
            elif line == ":history":
                for ex in history:
                    print(f"  Q: {ex['question']}\n  {render(ex)}")
            else:
                if at is None:  # a live run goes on: the newest committed tick
                    tick = resolve_tick(s.reader, None)
                ex = ask(s, tick, name, line, remember)
                history.append(ex)
                print(render(ex))
        except SmallvilleError as e:
            print(f"error: {e}", file=sys.stderr)
