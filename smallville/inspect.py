"""``inspect``: the state of a stored run at any tick, as text or JSON. Reads the store only."""

from __future__ import annotations

import datetime as dt
import json

from smallville.errors import SmallvilleError
from smallville.store.inbox import read_interviews
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
    """Language-model accounting up to ``tick``: ``calls`` sent to a backend, ``cache_hits``
    (answered from a recording), tokens, ``errors`` (failed attempts), and decisions taken
    (``fallbacks``: decided by the rules implementation after a failed or mended answer)."""
    by_type = reader.decision_counts(tick)
    return {**reader.llm_usage(tick), "backend": reader.manifest.get("backend"), "model": reader.manifest.get("model"),
            "decisions": sum(by_type.values()), "decisions_by_type": by_type,
            "fallbacks": reader.decision_fallbacks(tick)}


def snapshot(reader: RunReader, tick: int) -> dict:
    info = reader.tick_info(tick)
    agents = [{k: r[k] for k in ("name", "x", "y", "action", "emoji", "place", "target", "utterance")}
              for r in reader.agents_at(tick)]
    return {"run": reader.manifest.get("run_id"), "time": info["time"], "tick": tick, "digest": info["digest"],
            "status": reader.manifest.get("status"), "agents": agents,
            "objects": reader.object_states_at(tick), "llm": llm_summary(reader, tick)}


def memory_view(reader: RunReader, tick: int, name: str, query: str | None = None) -> dict:
    """The agent's memories at ``tick`` (most recent first), its reflections (thoughts with
    evidence) and, for ``query``, the memories retrieval returns at that moment (without
    marking them accessed): normalised recency, importance, relevance and their weighted score."""
    from smallville.world.clock import Clock

    clock = Clock(dt.datetime.fromisoformat(reader.meta["start"]), int(reader.meta["tick_seconds"]))
    when = lambda t: clock.time_at(t).strftime(TIME_FORMAT)  # noqa: E731
    rows = reader.memories(name, until=tick)
    out: dict = {
        "memories": [{"id": r["id"], "created": when(r["tick"]), "kind": r["kind"], "description": r["description"],
                      "importance": r["importance"], **({"facts": json.loads(r["facts"])} if r["facts"] else {})}
                     for r in reversed(rows)],
        "reflections": [{"id": r["id"], "created": when(r["tick"]), "description": r["description"],
                         "importance": r["importance"], "depth": r["depth"], "evidence": json.loads(r["evidence"])}
                        for r in reversed(rows) if r["kind"] == "thought" and r["evidence"]],
    }
    if query is not None:
        from smallville.cognition.embedding import EmbeddingCache, embedder_for_model
        from smallville.cognition.memory import MemoryStreams

        model = reader.meta.get("embedder")
        if model is None:
            raise SmallvilleError(f"--query: {reader.dir} has no memory (it was run with --ablate memory)")
        mem = MemoryStreams.load(reader, tick, EmbeddingCache(embedder_for_model(model)), agents=[name])
        hits = mem.retrieve(name, [query], tick, touch=False)[0]
        out["retrieved"] = [{**h.as_dict(), "created": when(h.node.created), "kind": h.node.kind} for h in hits]
    return out


def plan_view(reader: RunReader, tick: int, name: str, now: str) -> dict | None:
    """The agent's plan for the day as it stood at ``tick`` (its latest ``plan`` event), with
    the block under way marked ``current``."""
    last = None
    for e in reader.events(kind="plan", agent=name, until=tick):
        last = e
    if last is None:
        return None
    plan = dict(last["data"])
    plan["made"] = reader.tick_info(last["tick"])["time"]
    hhmm = dt.datetime.fromisoformat(now).strftime("%H:%M")
    today = dt.datetime.fromisoformat(now).date().isoformat()
    blocks = []
    for b in plan.get("blocks", []):
        start, end = b["start"], b["end"]
        # a block past midnight belongs to the plan's day; compare on the plan's timeline
        if today == plan["day"]:
            current = start <= hhmm < end or (end < start and (hhmm >= start))
        else:
            current = end < start and hhmm < end or (start < plan["wake"] and start <= hhmm < end)
        blocks.append({**b, "current": bool(current)})
    plan["blocks"] = blocks
    return plan


def agent_view(reader: RunReader, tick: int, name: str, query: str | None = None) -> dict:
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
        "plan": plan_view(reader, tick, name, info["time"]),
        **memory_view(reader, tick, name, query),
        "interviews": [{k: iv[k] for k in ("id", "time", "question", "answer", "memory_ids", "retrieved", "backend",
                                           "model", "remembered")} for iv in read_interviews(reader.dir, name)],
        "interventions": [{"time": reader.tick_info(i["tick"])["time"] if reader.tick_info(i["tick"]) else None,
                           **i} for i in reader.interventions(until=tick) if i["agent"] == name],
    }


def render_text(view: dict) -> str:
    if "agents" in view:
        lines = [f"{view['run']}  {view['time']}  tick {view['tick']}  ({view['status']})",
                 f"digest {view['digest']}"]
        for a in view["agents"]:
            lines.append(f"  {a['name']:<20} ({a['x']:>3},{a['y']:>3})  {a['emoji']} {a['action']:<40} @ {a['place']}")
        llm = view["llm"]
        lines.append(f"llm: {llm['calls']} calls, {llm['cache_hits']} cache hits, "
                     f"{llm['tokens_in']}+{llm['tokens_out']} tokens ({llm['cached_tokens']} prompt tokens cached by "
                     f"the server), {llm['errors']} errors, "
                     f"{llm['decisions']} decisions {json.dumps(llm['decisions_by_type'])}, "
                     f"{llm['fallbacks']} fallbacks")
        return "\n".join(lines)
    lines = [f"{view['name']} at {view['time']} (tick {view['tick']})",
             f"  {view['emoji']} {view['action']} — at {view['place']} ({view['x']}, {view['y']}), going to {view['target']}"]
    lines.append(f"  persona: {json.dumps(view['persona'], ensure_ascii=False)}")
    plan = view.get("plan")
    if plan:
        lines.append(f"  plan for {plan['day']} (revision {plan['revision']}, made {plan['made']}; "
                     f"wakes {plan['wake']}, sleeps {plan['sleep']}):")
        lines += [f"    {'▶' if b['current'] else ' '} {b['start']}-{b['end']}  {b['activity']} @ {b['place']}"
                  for b in plan["blocks"]]
    else:
        lines.append("  plan: none (acting from the routine)")
    lines.append("  recent actions:")
    lines += [f"    tick {e['tick']}: {e['description']} @ {e['place']} until {e['until']}" for e in view["recent_actions"]]
    mems = view.get("memories", [])
    lines.append(f"  memories ({len(mems)}, most recent first):")
    for m in mems[:15]:
        lines.append(f"    {m['created']}  {m['kind']:<11} [{m['importance']:>2}] {m['description']}")
        ev = (m.get("facts") or {}).get("event")
        if ev:  # what the agent can plan with, structured or read from the words
            lines.append(f"{'':>32}event: {ev['name']} @ {ev['place']} {ev['start']}-{ev['end'][-5:]}"
                         + (f", host {ev['host']}" if ev.get("host") else "")
                         + (" (read from the words)" if m["facts"].get("from_words") else ""))
        if (m.get("facts") or {}).get("private"):
            lines.append(f"{'':>32}private")
    refl = view.get("reflections", [])
    lines.append(f"  reflections ({len(refl)}):")
    lines += [f"    {m['created']}  [{m['importance']:>2}] {m['description']}  (depth {m['depth']}, evidence "
              f"{', '.join(map(str, m['evidence']))})" for m in refl[:15]]
    if view.get("interventions"):
        lines.append(f"  interventions ({len(view['interventions'])}):")
        lines += [f"    {i['time']}  {i['kind']}: {i['text']}" for i in view["interventions"]]
    ivs = view.get("interviews", [])
    lines.append(f"  interviews ({len(ivs)}):")
    lines += [f"    {iv['time']}  Q: {iv['question']}\n      A: {iv['answer']}  (memories "
              f"{', '.join(map(str, iv['memory_ids'])) or 'none'}; {iv['backend']})" for iv in ivs]
    if "retrieved" in view:
        lines.append("  retrieved (score = recency + importance + relevance, each normalised, times its weight):")
        lines += [f"    {r['score']:.3f} = {r['recency']:.2f} {r['importance']:.2f} {r['relevance']:.2f}  "
                  f"{r['description']}" for r in view["retrieved"]]
    return "\n".join(lines)


def inspect_run(run: str, at: str | None, agent: str | None, query: str | None = None) -> dict:
    reader = RunReader(run)
    try:
        tick = resolve_tick(reader, at)
        return agent_view(reader, tick, agent, query) if agent else snapshot(reader, tick)
    finally:
        reader.close()
