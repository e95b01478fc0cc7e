"""``persona from-interview TRANSCRIPT --name NAME --out personas/x.yaml``: a resident made from a
person's interview (docs/SURVEYS.md).

The persona holds the demographics, a summary (decision ``summarize_interview``) as its background
with the traits it found, the transcript's answers as first memories in the person's words,
attributed and with importance rated (the rules' importance), and the expert reflections (decision
``expert_reflect``), which are also first memories. The transcript is copied beside the persona
(``<out stem>.transcript.<ext>``) and named in ``interview.transcript``. With ``--world`` the
resident gets a home (a bedroom no resident of the world sleeps in), a workplace (the place whose
name best matches the occupation, if any) and a simple routine there; without it, a home of its own
that no map holds (fine for surveys, not for a run).
"""

from __future__ import annotations

import asyncio
import re
import shutil
from pathlib import Path
from typing import Any

import yaml

from smallville.cognition.decisions import Decider
from smallville.cognition.importance import rules_importance
from smallville.cognition.understand import content_words
from smallville.errors import ConfigError, SmallvilleError
from smallville.people import summarize as S
from smallville.people.transcript import memory_texts, read_transcript
from smallville.world.config import LLMSettings, Persona, read_yaml, validate


def parse_demographics(items: list[str], file: str | None) -> dict[str, Any]:
    """``--demographics FILE`` (YAML or JSON mapping) and ``k=v`` pairs; numbers become numbers."""
    out: dict[str, Any] = {}
    if file:
        data = read_yaml(Path(file))
        for k, v in data.items():
            if not isinstance(v, (str, int, float, bool)):
                raise ConfigError(file, str(k), f"expected a plain value, got {type(v).__name__}")
            out[str(k)] = v
    for kv in items:
        k, sep, v = kv.partition("=")
        if not sep or not k.strip():
            raise SmallvilleError(f"--demographics: expected key=value or a file, got {kv!r}")
        v = v.strip()
        out[k.strip()] = int(v) if re.fullmatch(r"-?\d+", v) else float(v) if re.fullmatch(r"-?\d+\.\d+", v) else v
    return out


def _decider(llm: str | None) -> Decider:
    if llm in (None, "rules"):
        return Decider(None)
    from smallville.llm import factory

    settings = LLMSettings()
    chosen = factory.choose(llm, settings)
    if chosen.lm is None:
        return Decider(None)
    return Decider(factory.wrap(chosen, settings).lm, context_tokens=settings.context_tokens)


def _place_in_world(world_file: str, name: str, occupation: str) -> dict:
    from smallville.world.world import load_world

    world = load_world(world_file)
    taken = {r.persona.home for r in world.residents}
    arenas = world.map.arenas
    beds = sorted(a.address for a in arenas if a.kind == "bedroom" and a.address not in taken) or \
        sorted(a.address for a in arenas if a.kind == "bedroom")
    if not beds:
        raise SmallvilleError(f"{world_file}: the map has no bedroom to give {name} a home")
    home = beds[0]
    job = content_words(occupation)
    scored = sorted(((len(job & content_words(a.address.replace(":", " "))), a.address) for a in arenas
                     if a.kind != "bedroom"), key=lambda t: (-t[0], t[1]))
    work = scored[0][1] if scored and scored[0][0] > 0 else None
    routine = [{"start": "07:00", "end": "08:30", "activity": "getting ready for the day", "place": home}]
    if work:
        routine += [{"start": "08:30", "end": "17:00", "activity": f"working as {occupation}", "place": work},
                    {"start": "17:00", "end": "22:00", "activity": "spending the evening at home", "place": home}]
    else:
        routine += [{"start": "08:30", "end": "22:00", "activity": "going about the day at home", "place": home}]
    return {"home": home, "workplace": work, "lifestyle": {"wake": "07:00", "sleep": "22:00", "routine": routine}}


def build(transcript_path: str, name: str, demographics: dict[str, Any], out: str, world: str | None = None,
          llm: str | None = None, person: str | None = None) -> Persona:
    """Make the persona, write it to ``out`` with the transcript beside it; returns it."""
    if "age" not in demographics:
        raise SmallvilleError("--demographics: age is required (e.g. --demographics age=34)")
    try:
        age = int(demographics["age"])
    except (TypeError, ValueError):
        raise SmallvilleError(f"--demographics: age must be a whole number, got {demographics['age']!r}") from None
    t = read_transcript(transcript_path)
    decider = _decider(llm)
    decide = lambda *a, **k: decider.decide(*a, agent=name, tick=0, **k)  # noqa: E731

    async def both():
        return (await S.summarize(decide, decider, name, demographics, t),
                await S.reflect(decide, decider, name, demographics, t))
    summary, reflections = asyncio.run(both())
    occupation = str(demographics.get("occupation") or "not stated")
    memories: list[dict] = []
    for text in memory_texts(name, t):
        memories.append({"text": text, "importance": rules_importance(name, text, "chat")})
    for lens, insights in reflections.items():
        memories += [{"text": s, "importance": 7} for s in insights]
    out_path = Path(out)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    src = Path(transcript_path)
    copy = out_path.with_name(f"{out_path.stem}.transcript{src.suffix or '.txt'}")
    if src.resolve() != copy.resolve():
        shutil.copyfile(src, copy)
    data: dict[str, Any] = {"name": name, "age": age, "traits": list(summary.traits)[:8],
                            "background": summary.text, "occupation": occupation}
    if world:
        data.update(_place_in_world(world, name, occupation))
    else:
        home = f"{name}'s home:bedroom"
        data.update({"home": home, "lifestyle": {"wake": "07:00", "sleep": "22:00", "routine": [
            {"start": "07:00", "end": "22:00", "activity": "going about the day", "place": home}]}})
    data["first_memories"] = memories
    data["demographics"] = {k: v for k, v in demographics.items()}
    data["interview"] = {"transcript": copy.name, "words": t.words, "reflections": reflections,
                         **({"person": str(person)} if person is not None else {})}
    persona = validate(Persona, data, out_path)
    out_path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=110), encoding="utf-8")
    return persona
