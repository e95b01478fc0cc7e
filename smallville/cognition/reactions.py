"""What a resident would do in a hypothetical situation ("Your breakfast is burning! What would you do?").

The rules baseline answers with a first-person action drawn from the situation's own words and
the persona's traits, not one fixed sentence: the situation is the question without its frame
("what would you do if …"); its kind (a danger, someone in need, a loss, good news, …) is the
nearest of a few described kinds by the sentence embedder; the action names the thing at
stake from the situation's words ("the breakfast", "my friend"), what the resident was doing
is put aside, and the persona's traits colour how ("calmly", "right away", "with a joke").
"""

from __future__ import annotations

import re

import numpy as np

from smallville.world.config import Persona

# kind -> (descriptions to match by meaning, what one does: {thing} is the thing at stake)
KINDS: dict[str, tuple[tuple[str, ...], str]] = {
    "danger": (("something is burning", "a fire breaks out", "smoke in the kitchen", "the stove is on fire",
                "a gas leak", "water is flooding the floor", "a pipe bursts"),
               "get {thing} under control — turn off the heat or the water, put it out, and call for help if it spreads"),
    "someone_needs_help": (("a friend is sick", "someone is hurt", "a neighbour needs help", "a stranger asks for help",
                            "someone faints", "a child is crying and lost", "an accident in the street"),
                           "go to {thing} straight away, see what they need, and get a doctor or someone who can help"),
    "loss": (("you lost your keys", "your wallet is missing", "your phone is gone", "you forgot something important",
              "you missed the bus", "your computer crashed and you lost your work"),
             "retrace my steps to find {thing}, ask around, and sort out a way round it in the meantime"),
    "conflict": (("someone insults you", "a customer is complaining", "two people are arguing", "someone is rude",
                  "a neighbour is angry at you", "someone accuses you"),
                 "stay calm, listen to {thing}, and try to talk it through fairly"),
    "noise": (("you hear a loud crash", "someone knocks on your door at midnight", "a strange noise outside",
               "an alarm goes off", "the lights go out", "the power goes out"),
              "go and check on {thing} carefully, and call someone if it looks wrong"),
    "bad_news": (("you get bad news", "you lose your job", "your boss fires you", "your plans are cancelled",
                  "you fail an exam", "someone you love is leaving"),
                 "take a moment, talk it over with someone close, and make a new plan about {thing}"),
    "good_news": (("you win the lottery", "you get a promotion", "you find money", "you receive a gift",
                   "you are offered a new job", "someone gives you good news"),
                  "share the news about {thing} with the people I care about, and think carefully before deciding anything"),
    "found": (("you find a wallet on the street", "you find a lost dog", "someone left a bag behind",
               "you find something that isn't yours"),
              "try to get {thing} back to its owner — ask around or hand it in"),
    "invitation": (("someone invites you to a party", "a friend asks you out", "you are invited to an event",
                    "someone asks you to join them"),
                   "{accept} {thing}"),
    "weather": (("it starts raining heavily", "a storm is coming", "it snows", "it is very hot outside"),
                "find shelter, change my plans around {thing}, and check that the people near me are all right"),
}
_FRAME = re.compile(r"\b(what|how) (would|will|do|should|might) (you|u) (do|react|respond|handle|deal with|say)( it| that| this)?\b|"
                    r"\bwhat('s| is) your reaction\b|\bwhat now\b|\bhow do you handle it\b|\bimagine( that)?\b|"
                    r"\bsuppose( that)?\b|\bwhat if\b|\bif\b|\bwhen\b", re.I)
_THING = re.compile(r"\b(?:your|a|an|the|my|some|someone's)\s+((?:[a-z]+\s+){0,1}[a-z]+)", re.I)
_MANNER = [  # trait words -> how the trait colours the action
    (r"calm|patient|practical|level|methodical|careful|meticulous|organi[sz]ed|diligent", "I'd keep a cool head and take it step by step"),
    (r"friendly|kind|caring|warm|gentle|hospitable|compassionate|empathetic|nurturing", "I'd make sure everyone around me is all right"),
    (r"energetic|outgoing|lively|enthusiastic|spontaneous|adventurous|bold", "I'd do it right away, without much fuss"),
    (r"humou?r|playful|funny|witty|cheerful", "I'd try to keep everyone's spirits up with a joke"),
    (r"stubborn|determined|ambitious|driven|civic", "I wouldn't rest until it's properly sorted"),
    (r"shy|quiet|introvert|reserved|anxious|nervous", "I'd probably be a bit flustered at first"),
    (r"curious|inquisitive|thoughtful|reflective|analytical|studious|intellectual|earnest", "afterwards I'd want to understand why it happened"),
]
_NOT_NOUN = frozenset("of in on at to for with from is was are were fell falls caught catches got gets goes went has had "
                      "needs needed asks asked breaks broke starts started catch suddenly just and or but who that "
                      "which you your me".split())
_VEC: dict[str, np.ndarray] = {}


def situation(question: str) -> str:
    s = _FRAME.sub(" ", question)
    return " ".join(re.sub(r"[?!]+", ".", s).split()).strip(" .,")


def kind_of(text: str) -> str:
    from smallville.cognition.understand import intent_model

    model = intent_model()
    emb = model.embedder
    if emb.name not in _VEC:
        rows = [model.lookup(list(descs)) for descs, _ in KINDS.values()]
        _VEC[emb.name] = np.stack([r.mean(0) / np.linalg.norm(r.mean(0)) for r in rows])
    v = emb.embed([text or "something happens"])[0]
    return list(KINDS)[int(np.argmax(_VEC[emb.name] @ v))]


def _thing(text: str) -> str:
    m = _THING.search(text)
    if not m:
        return "it"
    words = m.group(1).split()
    while words and (words[-1].lower() in _NOT_NOUN or (len(words) > 1 and re.search(r"(ing|ed)$", words[-1]))):
        words = words[:-1]
    if not words:
        return "it"
    det = m.group(0).split()[0].lower()
    own = {"your": "my", "my": "your"}.get(det, "the")
    return f"{own} {' '.join(words)}"


def react(question: str, persona: Persona, action: str = "") -> str:
    """The resident's first-person reaction to the situation in ``question``."""
    sit = situation(question)
    kind = kind_of(sit)
    thing = _thing(sit)
    what = KINDS[kind][1]
    accept = "gladly say yes to" if persona.sociability >= 0.5 else "thank them, and probably politely decline"
    if kind == "invitation":
        thing = thing if thing != "it" else "the invitation"
    if kind in ("someone_needs_help", "conflict") and thing == "it":
        thing = "them"
    what = what.format(thing=thing, accept=accept)
    traits = [t for t in persona.traits]
    manner = next(((t, m) for pat, m in _MANNER for t in traits if re.search(pat, t.lower())), None)
    doing = action[0].lower() + action[1:] if action else ""
    from smallville.cognition.speech import _activity

    stop = f"stop {_activity(doing, persona)} and " if doing and not doing.startswith("sleeping") else ""
    text = f"I'd {stop}{what}."
    if manner:
        text += f" Being {manner[0].lower()}, {manner[1]}."
    return text
