"""``inspect``: the state of a stored run at any tick, as text or JSON. Reads the store only."""

from __future__ import annotations

import datetime as dt
import json

from smallville.errors import SmallvilleError
from smallville.store.runstore import RunReader
from smallville.world.config import TIME_FORMAT


def resolve_tick(reader: RunReader, at: str | None) -> int:
    last = reader.last_tick()
    if last is None:
        raise SmallvilleError(f"{reader.dir}: the run has no recorded tick yet")
    if at is None:
        return last
    try:
        when = dt.datetime.strptime(at, TIME_FORMAT)
    except ValueError:
        raise SmallvilleError(f'--at: expected "YYYY-MM-DD HH:MM", got {at!r}') from None
    tick = reader.tick_at(when)
    if tick is None:
        raise SmallvilleError(f"--at: {at} is before the run's start ({reader.manifest.get('game_start')})")
    return tick


def llm_summary(reader: RunReader, tick: int) -> dict:
    by_type = reader.decision_counts(tick)
    return {"calls": 0, "cache_hits": 0, "tokens_in": 0, "tokens_out": 0, "errors": 0,
            "decisions": sum(by_type.values()), "decisions_by_type": by_type}


def snapshot(reader: RunReader, tick: int) -> dict:
    info = reader.tick_info(tick)
    agents = [{k: r[k] for k in ("name", "x", "y", "action", "emoji", "place", "target", "utterance")}
              for r in reader.agents_at(tick)]
    return {"run": reader.manifest.get("run_id"), "time": info["time"], "tick": tick, "digest": info["digest"],
            "status": reader.manifest.get("status"), "agents": agents,
            "objects": reader.object_states_at(tick), "llm": llm_summary(reader, tick)}


def agent_view(reader: RunReader, tick: int, name: str) -> dict:
    if reader.agent_id(name) is None:
        raise SmallvilleError(f"--agent: no resident named {name!r} (residents: {', '.join(reader.agents.values())})")
    info = reader.tick_info(tick)
    row = next(r for r in reader.agents_at(tick) if r["name"] == name)
    persona = reader.persona(name)
    recent = [e for e in reader.events(kind="action", agent=name, until=tick)][-10:]
    return {
        "name": name, "time": info["time"], "tick": tick,
        **{k: row[k] for k in ("x", "y", "action", "emoji", "place", "target", "utterance")},
        "persona": {k: persona.get(k) for k in ("age", "occupation", "traits", "home", "workplace")},
        "recent_actions": [{"tick": e["tick"], **e["data"]} for e in reversed(recent)],
    }


def render_text(view: dict) -> str:
    if "agents" in view:
        lines = [f"{view['run']}  {view['time']}  tick {view['tick']}  ({view['status']})",
                 f"digest {view['digest']}"]
        for a in view["agents"]:
            lines.append(f"  {a['name']:<20} ({a['x']:>3},{a['y']:>3})  {a['emoji']} {a['action']:<40} @ {a['place']}")
        llm = view["llm"]
        lines.append(f"llm: {llm['calls']} calls, {llm['tokens_in']}+{llm['tokens_out']} tokens, "
                     f"{llm['decisions']} decisions {json.dumps(llm['decisions_by_type'])}")
        return "\n".join(lines)
    lines = [f"{view['name']} at {view['time']} (tick {view['tick']})",
             f"  {view['emoji']} {view['action']} — at {view['place']} ({view['x']}, {view['y']}), going to {view['target']}"]
    lines += [f"  persona: {json.dumps(view['persona'], ensure_ascii=False)}", "  recent actions:"]
    lines += [f"    tick {e['tick']}: {e['description']} @ {e['place']} until {e['until']}" for e in view["recent_actions"]]
    return "\n".join(lines)


def inspect_run(run: str, at: str | None, agent: str | None) -> dict:
    reader = RunReader(run)
    try:
        tick = resolve_tick(reader, at)
        return agent_view(reader, tick, agent) if agent else snapshot(reader, tick)
    finally:
        reader.close()
