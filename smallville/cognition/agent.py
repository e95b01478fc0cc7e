"""The generative agent: plan the day, act it out step by step, react, converse, remember.

:class:`AgentPolicy` is the one policy of a run, for the rules baseline and for a language
model alike: every cognitive choice goes through ``ctx.decide`` (``plan_day``, ``replan``,
``decompose``, ``react``, ``converse_turn``, and the memory decisions of
:mod:`~smallville.cognition.perceive` — an agent's waiting memories are rated before it
retrieves, see :mod:`~smallville.cognition.importance`), whose rules implementation is the classic
agent-based model and whose LLM implementation is a prompt file with a schema.

Acting (``decide``): asleep per the routine → sleep (no decision). On the first waking
moment of a day → ``plan_day``. A salient event learned since the last action → ``react``
(continue or replan). Then the current block of the plan is decomposed (``decompose``, lazily)
and its current step is the action. ``--ablate planning`` acts from the routine only, with any
backend (no decision: the routine's block is the action); ``--ablate conversation`` never talks.

Conversations (``end_conversation``): with a language model, one ``extract_facts`` decision per
conversation, at its end, over both sides' words, shared by the two participants
(:attr:`AgentPolicy.extract_per` ``"line"`` asks once per line instead — measured in
``benchmarks/bench_words.py``: with the same outcome, the conversation-wide call takes half the
decisions and prompt tokens on the scripted model's two-line conversations, and the saving grows
with the number of lines (a prompt's fixed part — people, places, days — dominates its size);
it also reads an answer beside the invitation it answers).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from typing import Any, Iterable, Mapping, Sequence

from smallville.cognition import converse, extract, importance, react
from smallville.cognition import plan as P
from smallville.cognition.interface import Action, ConversationView, DecisionContext, Observation, Reaction, Turn
from smallville.cognition.privacy import shown
from smallville.cognition.retrieve import relevant
from smallville.cognition.rules import RulesPolicy, day_offset, emoji_for, routine_action
from smallville.cognition.state import ResidentState
from smallville.world.config import Persona

ABLATIONS = ("planning", "conversation")


class AgentPolicy(RulesPolicy):
    extract_per = "conversation"  # or "line": how often a model's words are read for facts

    def __init__(self, personas: dict[str, Persona], ablations: Iterable[str] = (), places: Sequence[str] = (),
                 kinds: Mapping[str, str] | None = None):
        super().__init__(personas)
        self.ablations = frozenset(ablations)
        self.planning = "planning" not in self.ablations
        self.conversation = "conversation" not in self.ablations
        # the map's places (addresses and arena kinds) and the residents, for reading facts in words
        self.gazetteer = extract.Gazetteer(list(places), dict(kinds or {}))
        self.people = list(personas)
        self._words: dict[tuple[int, int], list[Any]] = {}  # a conversation's extraction, until both have it

    @classmethod
    def for_world(cls, world: Any, ablations: Iterable[str] = ()) -> "AgentPolicy":
        arenas = world.map.arenas
        return cls({r.persona.name: r.persona for r in world.residents}, ablations,
                   places=[a.address for a in arenas], kinds={a.address: a.kind for a in arenas})

    # ------------------------------------------------------------------ acting
    async def decide(self, obs: Observation, ctx: DecisionContext) -> Action:
        persona = self.personas[obs.agent]
        if not self.planning:  # the routine, with no decision, whatever the backend
            return routine_action(persona, obs.now, day_offset(ctx.state, obs.now.date(), ctx.rng))
        day = P.plan_date(persona, obs.now)
        offset = day_offset(ctx.state, day, ctx.rng)
        routine = routine_action(persona, obs.now, offset)
        plan = ctx.state.plan
        m = P.minutes_since(day, obs.now)
        if routine.asleep and not (plan and plan["day"] == day.isoformat() and P.block_at(plan, m)):
            if plan is None or plan["day"] != day.isoformat():  # the day's plan is made in the night
                await self.plan_ahead(persona, obs, ctx, day, offset, routine.end)
            elif (switch := P.next_switch(persona, obs.now)) < routine.end:  # the night turns to the next day
                return dataclasses.replace(routine, end=switch)
            return routine
        if plan is None or plan["day"] != day.isoformat():
            ahead = ctx.state.next_plan
            if ahead and ahead["day"] == day.isoformat() and ahead["plan"] is not None:
                plan = self._adopt(persona, ctx, ahead["plan"], revision=0, reason="day")
                ctx.state.ahead, ctx.state.next_plan = ahead["steps"], None
            else:
                plan = await self.plan_day(persona, obs, ctx, day, offset)
        if ctx.state.salient:
            plan = await self.consider(persona, obs, ctx, plan, day, offset, m)
        if m < plan["wake"]:
            return Action("sleeping", persona.home, P.midnight(day) + dt.timedelta(minutes=plan["wake"]), emoji="😴",
                          object="bed", object_state="being slept in", asleep=True)
        block = P.block_at(plan, m)
        if block is None:
            until = P.midnight(day) + dt.timedelta(minutes=P.next_start(plan, m))
            return Action("resting at home", persona.home, max(until, obs.now + dt.timedelta(minutes=1)), emoji="🛋️")
        step = await self.step(persona, obs, ctx, block, m, day)
        end = P.midnight(day) + dt.timedelta(minutes=min(step["end"], block["end"]))
        desc = step["description"]
        obj = block.get("object")
        return Action(desc, block["place"], end, emoji="🎉" if block.get("event") else emoji_for(desc), object=obj,
                      object_state=f"in use: {desc}" if obj else None)

    def _stream_nodes(self, ctx: DecisionContext) -> list:
        return ctx.stream.nodes if ctx.stream is not None else []

    async def plan_day(self, persona: Persona, obs: Observation, ctx: DecisionContext, day: dt.date,
                       offset: int) -> dict:
        """Decision ``plan_day``: one per agent per day, when it wakes (unless made in the night)."""
        variables, events, places = self._plan_inputs(persona, ctx, day, offset)
        plan = await ctx.decide(
            "plan_day", variables=variables,
            rules=lambda: P.rules_plan(persona, day, offset, events, rng=ctx.rng),
            parse=lambda value: P.parse_plan(value, persona, day, offset, places, events), rng=ctx.rng,
            enums={"blocks.place": places}, max_tokens=P.PLAN_TOKENS)
        return self._adopt(persona, ctx, plan, revision=0, reason="day")

    def _plan_inputs(self, persona: Persona, ctx: DecisionContext, day: dt.date, offset: int
                     ) -> tuple[dict, dict, list[str]]:
        """What a day's plan is made from: the prompt's variables (yesterday, memories retrieved
        for the day, known places), the events the resident knows of, and its places."""
        old = ctx.state.plan
        yesterday = P.summary(old) if old else ""
        memories: list[str] = []
        if ctx.stream is not None:
            memories = [shown(r.node) for r in relevant(ctx.stream.retrieve(P.FOCAL, k=10))]
        events = P.known_events(self._stream_nodes(ctx), persona.name)
        places = P.known_places(persona, ctx.state)
        return P.plan_variables(persona, day, offset, yesterday, memories, places), events, places

    async def plan_ahead(self, persona: Persona, obs: Observation, ctx: DecisionContext, day: dt.date, offset: int,
                         wake: dt.datetime) -> None:
        """Decision ``plan_day`` for ``day``, made in the night as work for later: from what the
        resident knows now (asleep, it learns nothing more before ``wake``), and with the steps of
        the plan's first stretch (``decompose``), so that it wakes with both — no waiting for a model
        at a day's start. Once a night: ``next_plan`` marks it under way."""
        if ctx.state.next_plan is not None and ctx.state.next_plan["day"] == day.isoformat():
            return
        ctx.state.next_plan = {"day": day.isoformat(), "plan": None, "steps": None}
        variables, events, places = self._plan_inputs(persona, ctx, day, offset)

        async def work(job: DecisionContext) -> dict:
            plan = await job.decide(
                "plan_day", variables=variables,
                rules=lambda: P.rules_plan(persona, day, offset, events, rng=job.rng),
                parse=lambda value: P.parse_plan(value, persona, day, offset, places, events), rng=job.rng,
                enums={"blocks.place": places}, max_tokens=P.PLAN_TOKENS)
            blocks = P.number(plan["blocks"], 0)
            first = next((b for b in blocks if b["end"] > plan["wake"]), None)
            steps = None
            if first is not None:
                start = max(plan["wake"], first["start"])
                end = min(first["end"], start + P.HORIZON)
                if end - start > P.STEP_MAX:
                    found = await job.decide(
                        "decompose", variables=P.decompose_variables(persona, first, start, end, day),
                        rules=lambda: P.rules_decompose(first, start, end, job.rng),
                        parse=lambda value: P.parse_decompose(value, start, end), rng=job.rng,
                        max_tokens=P.STEPS_TOKENS)
                    steps = {"day": day.isoformat(), "block": first["id"], "start": start, "until": end,
                             "steps": found}
            return {"plan": plan, "steps": steps}

        await ctx.later("plan", {"day": day.isoformat()}, work, P.apply_plan, by=wake)

    def _adopt(self, persona: Persona, ctx: DecisionContext, plan: dict, revision: int, reason: str) -> dict:
        plan = {**plan, "revision": revision, "blocks": P.number(plan["blocks"], revision)}
        ctx.state.plan = plan
        ctx.state.queue = ctx.state.ahead = None
        ctx.emit("plan", {**P.as_record(plan), "reason": reason})
        if ctx.stream is not None:
            ctx.stream.add("plan", P.memory_text(persona, plan), 3 if reason == "day" else 5)
        return plan

    async def consider(self, persona: Persona, obs: Observation, ctx: DecisionContext, plan: dict, day: dt.date,
                       offset: int, m: int) -> dict:
        """Salient events (learned in a conversation): decision ``react`` — continue or replan."""
        keys, ctx.state.salient = ctx.state.salient, []
        events = P.known_events(self._stream_nodes(ctx), persona.name)
        for key in dict.fromkeys(keys):
            k = events.get(key)
            if k is None or k["intent"] != "attend" or any(b.get("event") == key for b in plan["blocks"]):
                continue
            ev = k["event"]
            start, end = P.event_times(ev)
            if start.date() != day or P.minutes_since(day, end) <= m:
                continue
            memories: list[str] = []
            if ctx.stream is not None:
                memories = [shown(r.node) for r in relevant(ctx.stream.retrieve(ev["name"], k=5))]
            choice = await ctx.decide(
                "react", variables=react.variables(persona, obs, react.salient(persona, obs, plan, ev), memories,
                                                   ["continue", "replan"]),
                rules=lambda: "replan", parse=react.parse_salient, rng=ctx.rng,
                enums={"reaction": ["continue", "replan"]})
            if choice == "replan":
                plan = await self.replan(persona, obs, ctx, plan, day, offset, m, events)
        return plan

    async def replan(self, persona: Persona, obs: Observation, ctx: DecisionContext, plan: dict, day: dt.date,
                     offset: int, m: int, events: dict) -> dict:
        """Decision ``replan``: the rest of the day rewritten from now."""
        keep = [{**b, "end": min(b["end"], m)} for b in plan["blocks"] if b["start"] < m]
        keep = [b for b in keep if b["end"] > b["start"]]
        memories: list[str] = []
        if ctx.stream is not None:
            memories = [shown(r.node) for r in relevant(ctx.stream.retrieve(P.FOCAL, k=10))]
        places = P.known_places(persona, ctx.state)
        variables = P.plan_variables(persona, day, offset, P.summary({"blocks": keep}), memories, places)
        variables["now"] = P.clock(m)
        rest = [{**b, "start": max(b["start"], m)} for b in plan["blocks"] if b["end"] > m]
        variables["current"] = "\n".join(f"- {P.clock(b['start'])}-{P.clock(b['end'])} {b['activity']} @ {b['place']}"
                                         for b in rest) or "- nothing"
        new = await ctx.decide(
            "replan", variables=variables,
            rules=lambda: P.rules_plan(persona, day, offset, events, keep=keep, after=m, rng=ctx.rng),
            parse=lambda value: P.parse_plan(value, persona, day, offset, places, events, keep=keep, after=m),
            rng=ctx.rng, enums={"blocks.place": places}, max_tokens=P.PLAN_TOKENS)
        return self._adopt(persona, ctx, new, revision=plan.get("revision", 0) + 1, reason="replan")

    async def step(self, persona: Persona, obs: Observation, ctx: DecisionContext, block: dict, m: int,
                   day: dt.date) -> dict:
        """The step of ``block`` at minute ``m``; decision ``decompose`` for the next stretch of it.

        The stretch after this one is decomposed ahead, as work for later (``ctx.later``): its
        inputs (the block, its times) are fixed now, and its steps wait in the working state
        (``ahead``) for the resident to get there — no waiting for a model at a block's start."""
        q = ctx.state.queue
        if q and q["block"] == block["id"] and m < q["until"]:
            for s in q["steps"]:
                if s["end"] > m:
                    return s
        start, end = max(m, block["start"]), min(block["end"], max(m, block["start"]) + P.HORIZON)
        ahead = ctx.state.ahead
        if (ahead and ahead["day"] == day.isoformat() and ahead["block"] == block["id"] and ahead["start"] <= m
                and m < ahead["until"] and any(s["end"] > m for s in ahead["steps"])):
            end, steps = ahead["until"], [s for s in ahead["steps"] if s["end"] > m]
        elif end - start <= P.STEP_MAX:
            steps = [{"start": start, "end": end, "description": block["activity"]}]
        else:
            steps = await ctx.decide(
                "decompose", variables=P.decompose_variables(persona, block, start, end, day),
                rules=lambda: P.rules_decompose(block, start, end, ctx.rng),
                parse=lambda value: P.parse_decompose(value, start, end), rng=ctx.rng, max_tokens=P.STEPS_TOKENS)
        ctx.state.queue = {"block": block["id"], "until": end, "steps": steps}
        ctx.state.ahead = None
        nxt = P.next_stretch(ctx.state.plan or {"blocks": [block]}, block, end)
        if nxt is not None and nxt[2] - nxt[1] > P.STEP_MAX:
            await self._decompose_ahead(persona, ctx, day, *nxt)
        return steps[0]

    async def _decompose_ahead(self, persona: Persona, ctx: DecisionContext, day: dt.date, block: dict, start: int,
                               end: int) -> None:
        """Decision ``decompose`` for the stretch ``start``–``end`` of ``block``, as work for later."""
        async def work(job: DecisionContext) -> list[dict]:
            return await job.decide(
                "decompose", variables=P.decompose_variables(persona, block, start, end, day),
                rules=lambda: P.rules_decompose(block, start, end, job.rng),
                parse=lambda value: P.parse_decompose(value, start, end), rng=job.rng, max_tokens=P.STEPS_TOKENS)

        await ctx.later("steps", {"day": day.isoformat(), "block": block["id"], "start": start, "until": end}, work,
                        P.apply_steps, by=P.midnight(day) + dt.timedelta(minutes=start))

    # ------------------------------------------------------------------ reacting
    def may_react(self, state: ResidentState, now: dt.datetime, nearby: list[str]) -> bool:
        """Whether :meth:`react` could do anything (no decision, no observation needed)."""
        started = state.plan is not None or not self.planning  # not before the agent's day has begun
        return self.conversation and started and react.ready(state.react, now, nearby)

    def react_after(self, state: ResidentState, others: list[str]) -> list[dt.datetime | None]:
        if not self.conversation:
            return [None] * len(others)
        return [react.ready_at(state.react, n) for n in others]

    async def react(self, obs: Observation, ctx: DecisionContext) -> Reaction | None:
        if not self.conversation or not obs.nearby or not obs.action:  # not before its first action
            return None
        persona = self.personas[obs.agent]
        cache: dict[str, list[dict]] = {}

        def news_for(name: str) -> list[dict]:
            if name not in cache:
                cache[name] = converse.news_items(persona.name, ctx.stream, ctx.state, name, obs.now)
            return cache[name]

        other = react.gate(ctx.state.react, obs, news_for)
        if other is None:
            return None
        memories: list[str] = []
        if ctx.stream is not None:
            memories = [shown(r.node) for r in relevant(ctx.stream.retrieve(other.name, k=5))]
        news = news_for(other.name)
        options = ["continue", "wait"] if other.talking else ["continue", "talk", "wait"]
        situation = react.seeing(persona, other, news)
        memories = [m for m in memories if m not in situation]  # news it could tell is shown once
        choice = await ctx.decide(
            "react", variables=react.variables(persona, obs, situation, memories, options),
            rules=lambda: react.rules_react(persona, other, news, ctx.rng),
            parse=lambda value: react.parse(value, other), rng=ctx.rng, enums={"reaction": options})
        react.mark(ctx.state.react, obs, other.name, waiting=choice == "wait")
        if choice == "talk":
            return Reaction("talk", other.name)
        if choice == "wait":
            plan = ctx.state.plan or {}
            block = P.block_at(plan, P.minutes_since(dt.date.fromisoformat(plan["day"]), obs.now)) if plan else None
            return Reaction("wait", other.name, react.wait_action(obs, other.name,
                                                                   block["place"] if block else persona.home))
        return None

    # ------------------------------------------------------------------ conversing
    async def converse(self, obs: Observation, ctx: DecisionContext, conv: ConversationView) -> Turn:
        return await converse.turn(self.personas[obs.agent], obs, ctx, conv)

    async def end_conversation(self, obs: Observation, ctx: DecisionContext, conv: ConversationView) -> None:
        plan = ctx.state.plan
        words = None
        if ctx.backend != "rules" and conv.lines:
            words = lambda: self._shared(obs, ctx, conv)  # noqa: E731
        await converse.remember(self.personas[obs.agent], obs, ctx, conv, plan, words=words)

    async def extract_facts(self, obs: Observation, ctx: DecisionContext, text: str, kind: str) -> list[dict]:
        """Decision ``extract_facts`` over words from outside (a whisper, an interview it remembers),
        as the facts :mod:`~smallville.cognition.hear` stores. An inner voice speaks to the resident
        ("you will host…"): it is read as the resident's own words ("I will host…")."""
        said = text if kind != "whisper" else inner_voice(text)
        x = await self._read(obs, ctx, [(obs.agent, said)])
        facts: list[dict] = []
        for ev in x.events:
            facts.append({"type": "event", "event": {k: v for k, v in ev.items()
                                                     if k not in ("told_by", "invited") and v is not None}})
        for n in x.news:
            facts.append({"type": "news", "text": n["text"]})
        return facts

    def _read(self, obs: Observation, ctx: DecisionContext, lines: list[tuple[str | None, str]],
              here: str | None = None):
        return extract.extract(ctx.decide, me=obs.agent, lines=lines, now=obs.now, gazetteer=self.gazetteer,
                               people=self.people, known=P.known_places(self.personas[obs.agent], ctx.state),
                               rng=ctx.rng, here=here)

    async def _shared(self, obs: Observation, ctx: DecisionContext, conv: ConversationView) -> extract.Extracted:
        """What the conversation's words carry, read once for both participants: by the one who
        remembers first (the engine's order), and shared with the other."""
        key = (conv.id, len(conv.lines))
        entry = self._words.get(key)
        if entry is None:
            read = self._per_line if self.extract_per == "line" else self._per_conversation
            entry = self._words[key] = [asyncio.ensure_future(read(obs, ctx, conv)), 2]
        entry[1] -= 1
        if entry[1] <= 0:
            self._words.pop(key, None)
        return await entry[0]

    async def _per_conversation(self, obs: Observation, ctx: DecisionContext, conv: ConversationView
                                ) -> extract.Extracted:
        """One ``extract_facts`` decision over the whole conversation."""
        return await self._read(obs, ctx, [(l.speaker, l.text) for l in conv.lines], here=conv.place)

    async def _per_line(self, obs: Observation, ctx: DecisionContext, conv: ConversationView) -> extract.Extracted:
        """One ``extract_facts`` decision per line (with the line before it, for an answer's context)."""
        events, news, answers = [], [], []
        for i in range(len(conv.lines)):
            lines = [(l.speaker, l.text) for l in conv.lines[max(0, i - 1):i + 1]]
            x = await self._read(obs, ctx, lines, here=conv.place)
            events += [e for e in x.events if e.get("told_by") == conv.lines[i].speaker or len(lines) == 1]
            news += [n for n in x.news if n.get("told_by") == conv.lines[i].speaker or len(lines) == 1]
            answers += [a for a in x.answers if a["who"] == conv.lines[i].speaker]
        return extract.Extracted(tuple(events), tuple(news), tuple(answers))


_SECOND_PERSON = [(r"\byou are\b", "I am"), (r"\byou're\b", "I'm"), (r"\byou will\b", "I will"),
                  (r"\byou'll\b", "I'll"), (r"\byou have\b", "I have"), (r"\byou've\b", "I've"),
                  (r"\byours\b", "mine"), (r"\byour\b", "my"), (r"\byourself\b", "myself"), (r"\byou\b", "I")]


def inner_voice(text: str) -> str:
    """An inner voice's second person as the resident's first person ("You will host" → "I will host")."""
    import re

    out = text
    for pat, rep in _SECOND_PERSON:
        out = re.sub(pat, lambda m, rep=rep: rep if m.group(0)[0].islower() or rep[0] == "I" else rep.capitalize(),
                     out, flags=re.I)
    return out
