"""A resident's words about itself: third-person memories and persona texts said in the first
person ("Klaus Mueller keeps running into Ann" -> "I keep running into Ann"), places and
activities as a person says them. Used by the interview answers (:mod:`.answers`).

Hand-written: English verb agreement for a sentence whose subject becomes "I" (is -> am,
keeps -> keep); no maintained library turns third-person narration into the first person.
"""

from __future__ import annotations

import re
from typing import Sequence

from smallville.cognition import plan as P
from smallville.cognition import privacy
from smallville.cognition.understand import fold
from smallville.world.config import Persona


def _where(address: str) -> str:
    return P.sector(address) or address


def _place_words(address: str) -> str:
    if not address:
        return "outside"
    sector, _, arena = address.partition(":")
    if arena and fold(sector.split()[-1]) not in fold(arena) and not re.search(r"'s\b", arena):
        return f"the {arena} at {sector}"
    return sector


def _lower(text: str) -> str:
    first = text.split(" ", 1)[0] if text else ""
    second = text.split(" ", 2)[1] if text.count(" ") >= 1 else ""
    keep = (len(first) > 1 and first.isupper()) or re.fullmatch(r"I('m|'d|'ve|'ll)?", first) or \
        (second[:1].isupper() and first[:1].isupper())  # a name: "Ayesha Khan is…"
    return text[0].lower() + text[1:] if text and not keep else text


def pronoun(persona: Persona) -> str:
    """'he', 'she' or 'they', as the background speaks of the persona."""
    words = re.findall(r"\b(he|she|his|her|him)\b", persona.background.lower())
    he = sum(w in ("he", "his", "him") for w in words)
    she = sum(w in ("she", "her") for w in words)
    return "he" if he > she else "she" if she > he else "they"


_IRREGULAR = {"is": "am", "has": "have", "was": "was", "does": "do", "goes": "go", "'s": "'m"}


def _base(verb: str) -> str:
    v = verb.lower()
    if v in _IRREGULAR:
        return _IRREGULAR[v]
    if re.fullmatch(r"[a-z]+(ches|shes|sses|xes|zes|oes)", v):
        return verb[:-2]
    if re.fullmatch(r"[a-z]+[^aeiou]ies", v):
        return verb[:-3] + "y"
    if re.fullmatch(r"[a-z]+[^su]s", v):
        return verb[:-1]
    return verb


def first_person(text: str, persona: Persona, about_me: bool = False) -> str:
    """A memory about the persona, as the persona says it: "Klaus Mueller keeps running into Ann"
    -> "I keep running into Ann"; "Ann told Klaus Mueller" -> "Ann told me"."""
    if '"' in text:  # what someone said stays as they said it
        head, quote = text.split('"', 1)
        return first_person(head, persona, about_me) + '"' + quote if head.strip() else text
    name = persona.name
    first = name.split()[0]
    names = rf"(?:{re.escape(name)}|{re.escape(first)})"
    pn = pronoun(persona)
    poss = {"he": "his", "she": "her", "they": "their"}[pn]

    def subject(m: re.Match) -> str:
        verb = m.group(2)
        base = _base(verb)
        if base == "am":
            return m.group(1) + "I'm"
        return m.group(1) + "I " + base

    out = re.sub(rf"(^|[.;!?]\s+|\band\s+|\bthat\s+){names}'s\b", lambda m: m.group(1) + "my", text)
    if about_me and pn != "they":  # a text all about the persona: its "he"/"she" is "I"
        out = re.sub(rf"\b({pn})\b((?:\s+(?:often|sometimes|always|usually|never|also|really|still|now|even))*)\s+"
                     r"([a-z']+)", lambda m: f"I{m.group(2)} {_base(m.group(3))}", out, flags=re.I)
        out = re.sub(r"\bI am\b", "I'm", out)
        out = re.sub(rf"\b{poss}\b", "my", out) if pn == "he" else re.sub(r"\bher\b(?=\s+[a-z])", "my", out)
        out = re.sub(r"\b(him|himself|herself)\b", lambda m: "myself" if m.group(1).endswith("self") else "me", out) \
            if pn == "he" else re.sub(r"\bherself\b", "myself", out)
    out = re.sub(rf"(^|[.;!?]\s+|\bthat\s+|,\s+){names}\s+([a-z']+)", subject, out)
    out = re.sub(rf"\b{names}'s\b", "my", out)
    out = re.sub(rf"\b{names}\b", "me", out)
    if re.match(r"\s*I\b", out):  # a sentence about itself: its pronouns are its own
        out = re.sub(rf"\b{poss}\b", "my", out) if pn != "she" else re.sub(r"\bher\b(?=\s+[a-z])", "my", out)
        out = re.sub(r"\b(himself|herself|themselves)\b", "myself", out)
    out = re.sub(r"^me\b", "I", out)
    if re.match(r"\s*I\b", out):  # "I care about X and likes to …": the second verb is mine too
        out = re.sub(r"\b(and|but|or)\s+(is|has|does|[a-z]+s)\b(?=\s+(?:to|a|an|the|my|around|in|on|at|about|with|up|"
                     r"out|over|it|them|their|of|proud|often|very|into|for|through|busy|well|his|her|long|hard)\b)",
                     lambda m: f"{m.group(1)} {_base(m.group(2))}", out)
    return out[:1].upper() + out[1:] if out else out


def _activity(text: str, persona: Persona) -> str:
    """An action as the persona says it ("writing his research paper" -> "writing my research paper")."""
    pn = pronoun(persona)
    poss = {"he": "his", "she": "her", "they": "their"}[pn]
    text = re.sub(r"\s*\([^)]*\)", "", text)  # "(the desk is taken)": a note of the simulation, not words
    return re.sub(rf"\b{poss}\b", "my", _lower(text))


def _rel(persona: Persona, who: str) -> str:
    """What ``who`` is to the persona, in its words, without secrets ("" when it has no relationship)."""
    text = privacy.public(persona.relationships.get(who, ""))
    return _lower(first_person(text, persona, True)) if text else ""


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?", '"')) else text + "."


def _and(items: Sequence[str]) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1] if items else ""
