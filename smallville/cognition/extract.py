"""Decision ``extract_facts``: the facts a text carries, for the resident who heard, read or thought it.

A text — a conversation's lines, a whisper, an interview, a plain-text first memory — may
carry *events* (a name, a host, a place resolved to an address of the map, a start and an end
resolved against ``now``, who is invited), *news* (who did what, where, when) and, when the
resident was asked, its own *answer* (accept or decline). What a resident learns from words is
what this decision finds in them, with any backend.

Rules implementation (:func:`rules_extract`): the conversation read whole by
:mod:`smallville.cognition.dialogue` (an event's pieces gathered across sentences and turns, back
references, requests to come, answers only from the one asked), on this module's parts: the map's
place names and their short forms (:class:`Gazetteer`), clock times ("5pm", "17:00", "at five",
"half past five", "noon"; hand-written: ``dateparser`` 1.5 reads "at five" and "at 5" as May,
"5-7pm" as a day in May at 19:00, "tomorrow at 5" as 10:00, and not "half past five"), days ("today", "tonight", "tomorrow", "Tuesday", "next Tuesday", "February
14", "the 14th": found here, resolved by ``dateparser`` in :func:`day_of`), and the one-sentence
parser of the phrasings the rules turns produce (``converse.event_sentence``, ``converse.reply``,
news lines). An event with no end lasts :data:`DEFAULT_MINUTES`; a day not said is today when
the start is still ahead, else tomorrow; "HH:MM" is a 24-hour clock unless the sentence says
morning or evening; an hour in words or digits without am/pm ("at five") is read from the
sentence ("morning", "evening"…), else 1–7 as afternoon or evening and 8–11 as morning.

LLM implementation: ``prompts/extract_facts.txt`` with ``extract_facts.json``, narrowed per call
(:func:`schema_for`): places to the addresses the resident could mean (those the text names,
and the places it knows), days to the coming week, hosts and speakers to the people it could
mean. An unknown place, an impossible time or an event that ends before it starts is an
invalid answer (retried, then the rules decide).

The result (:class:`Extracted`) is plain data: events as the ``event`` facts memories carry
(``{"name", "host", "place", "start", "end", "invite"}`` with ``"YYYY-MM-DD HH:MM"`` times) plus
who told them (``told_by``), news as ``{"who", "did", "place", "when", "text", "told_by"}``, and
answers as ``{"who", "event", "accept"}`` (``event`` a name or None: the event being discussed).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass, field
from typing import Any, Sequence

from smallville.cognition.decisions import InvalidAnswer
from smallville.world.clock import long_date, weekday
from smallville.world.config import TIME_FORMAT

DEFAULT_MINUTES = 120  # an event whose end is not said
MAX_EVENTS, MAX_NEWS = 3, 4
EXTRACT_TOKENS = 400
DAYS_AHEAD = 8  # the days an answer may name: today and the week after
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
          "november", "december")
NUMBERS = {w: i + 1 for i, w in enumerate("one two three four five six seven eight nine ten eleven twelve".split())}
PRIVATE_KINDS = ("bedroom", "kitchen", "office", "storage")  # not where a sector's events are held


# ---------------------------------------------------------------- results


@dataclass(frozen=True)
class Extracted:
    events: tuple[dict, ...] = ()
    news: tuple[dict, ...] = ()
    answers: tuple[dict, ...] = ()

    def as_dict(self) -> dict:
        return {"events": [dict(e) for e in self.events], "news": [dict(n) for n in self.news],
                "answers": [dict(a) for a in self.answers]}

    def __bool__(self) -> bool:
        return bool(self.events or self.news or self.answers)


# ---------------------------------------------------------------- places


@dataclass
class Gazetteer:
    """The map's place names and their short forms, for finding places in words.

    ``places`` are ``"Sector:arena"`` addresses; ``kinds`` (address -> arena kind) tell which
    arena a sector's name alone means (the first that is not a bedroom, kitchen, office or
    storeroom, one named like the sector first)."""

    places: Sequence[str]
    kinds: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        by_sector: dict[str, list[str]] = {}
        for a in self.places:
            by_sector.setdefault(a.split(":")[0], []).append(a)
        self.default = {s: self._default_arena(s, arenas) for s, arenas in by_sector.items()}
        aliases: dict[str, set[str]] = {}
        self.proper: dict[str, str] = {}  # short forms that are names: matched only as written ("Town", not "town")

        def alias(text: str, address: str) -> None:
            text = " ".join(text.lower().split())
            if len(text) >= 3:
                aliases.setdefault(text, set()).add(address)

        for s, arenas in by_sector.items():
            d = self.default[s]
            alias(s, d)
            bare = re.sub(r"^the ", "", s, flags=re.I)
            alias(bare, d)
            words = bare.split()
            if len(words) > 1:  # "Corner Cafe": "Corner", and "the cafe"
                if words[0][0].isupper() and words[0].lower() != "the":
                    alias(words[0], d)
                    self.proper[words[0].lower()] = words[0]
                alias("the " + words[-1], d)
            for a in arenas:
                arena = a.split(":")[1]
                alias(f"{s} {arena}", a)
                if " " in arena or arena[0].isupper():  # a one-word arena ("study", "bar") only as "the study":
                    alias(arena, a)                     # "to study" is no place
                alias("the " + arena, a)
                m = re.match(r"(\w+) (\w+)'s (.+)", arena)  # "Ann Example's room": "Ann's room"
                if m:
                    alias(f"{m.group(1)}'s {m.group(3)}", a)
        # a short form that means more than one place means none
        self.aliases = {k: next(iter(v)) for k, v in aliases.items() if len(v) == 1}
        keys = sorted(self.aliases, key=len, reverse=True)
        self._pattern = re.compile(r"(?<![\w'])(" + "|".join(re.escape(k) for k in keys) + r")(?![\w'])", re.I) \
            if keys else None

    def _default_arena(self, sector: str, arenas: list[str]) -> str:
        words = {w.lower() for w in re.findall(r"\w+", sector)}

        def rank(a: str) -> tuple:
            arena = a.split(":")[1]
            private = self.kinds.get(a) in PRIVATE_KINDS or "'s " in arena
            named = bool(words & {w.lower() for w in re.findall(r"\w+", arena)})
            return (private, not named)

        return sorted(arenas, key=rank)[0]

    def find(self, text: str) -> list[tuple[int, int, str]]:
        """(start, end, address) of every place named in ``text``, in order."""
        if self._pattern is None:
            return []
        return [(m.start(), m.end(), self.aliases[m.group(1).lower()]) for m in self._pattern.finditer(text)
                if self.proper.get(m.group(1).lower(), m.group(1)) == m.group(1)]

    def candidates(self, text: str, known: Sequence[str] = ()) -> list[str]:
        """The addresses a resident could mean in ``text``: those it names, then ``known`` ones."""
        return list(dict.fromkeys([a for _, _, a in self.find(text)] + [p for p in known if p in self.places]))


# ---------------------------------------------------------------- people


def resolve_person(word: str, people: Sequence[str], speaker: str | None = None, listener: str | None = None
                   ) -> str | None:
    """A resident's full name for ``word`` ("Ann", "Ann Example", "I", "you"), or None."""
    w = word.strip()
    low = w.lower()
    if low in ("i", "i'm", "we", "we're", "me", "my", "our"):
        return speaker
    if low in ("you", "you're"):
        return listener
    for p in people:
        if p.lower() == low:
            return p
    hits = [p for p in people if p.split()[0].lower() == low]
    return hits[0] if len(hits) == 1 else None


def _people_pattern(people: Sequence[str]) -> str:
    """A regex (source) matching any resident's full or first name; made once per list of people
    (a town of a thousand escapes two thousand names, and it is asked for every sentence)."""
    return _people_pattern_of(tuple(people))


@functools.lru_cache(maxsize=8)
def _people_pattern_of(people: tuple[str, ...]) -> str:
    names = sorted(set(people) | {p.split()[0] for p in people}, key=len, reverse=True)
    return r"\b(?:" + ("|".join(re.escape(n) for n in names) or r"(?!x)x") + r")(?!\w)"


# ---------------------------------------------------------------- times


_AMPM = r"(?:\s*(a\.?m\.?|p\.?m\.?|o'clock)(?![\w]))?"
_NUMWORD = "|".join(sorted(NUMBERS, key=len, reverse=True))
_CLOCK = re.compile(
    r"(?P<hm>\b(\d{1,2})[:.](\d{2})" + _AMPM + r")"
    r"|(?P<h>\b(\d{1,2})\s*(a\.?m\.?|p\.?m\.?|o'clock)(?![\w]))"
    r"|(?P<half>\b(half past|quarter past|quarter to) (\d{1,2}|" + _NUMWORD + r")\b" + _AMPM + r")"
    r"|(?P<w>\b(?:at|from|until|till|til|to|by|and|around|about|between|-|–)\s+(\d{1,2}|" + _NUMWORD + r")"
    r"(?![:.]\d)(?:[ -](thirty|fifteen|forty-five|forty five))?\b" + _AMPM + r")"
    r"|(?P<range>\b(\d{1,2})\s*[-–]\s*(\d{1,2})\s*(a\.?m\.?|p\.?m\.?)(?![\w]))"
    r"|(?P<noon>\b(noon|midday|midnight)\b)", re.I)
_MORNING = re.compile(r"\b(morning|breakfast|a\.?m\b)", re.I)
_EVENING = re.compile(r"\b(evening|tonight|at night|(?:tomorrow|" + "|".join(WEEKDAYS) + r") night|afternoon|dinner|"
                      r"supper|after work|p\.?m\b)", re.I)  # not "night" alone: a "quiz night" may be at noon


def _hour_word(s: str) -> int:
    return int(s) if s.isdigit() else NUMBERS[s.lower()]


def _apply_ampm(h: int, m: int, mark: str | None, context: str | None) -> tuple[int, bool]:
    """Minutes since midnight and whether am/pm was known."""
    mark = (mark or "").lower().replace(".", "")
    if h > 12 or h == 0:
        return h % 24 * 60 + m, True
    if mark == "am":
        return (0 if h == 12 else h) * 60 + m, True
    if mark == "pm":
        return (12 if h == 12 else h + 12) * 60 + m, True
    if context == "am":
        return (0 if h == 12 else h) * 60 + m, False
    if context == "pm" or 1 <= h <= 7:
        return (12 if h == 12 else h + 12) * 60 + m, False
    return h * 60 + m, False


def clock_times(text: str) -> list[tuple[int, int, int, bool]]:
    """(start, end of the match, minutes since midnight, am/pm known) of every clock time in ``text``."""
    context = "am" if _MORNING.search(text) else "pm" if _EVENING.search(text) else None
    out: list[tuple[int, int, int, bool]] = []
    for m in _CLOCK.finditer(text):
        g = m.groups()
        if m.group("hm"):
            h, mi, mark = int(g[1]), int(g[2]), g[3]
            if h > 24 or mi > 59:
                continue
            if mark is None or mark.lower() == "o'clock":  # "HH:MM" is a 24-hour clock, unless the words say
                if context is None or h > 12 or h == 0 or len(g[1]) == 2 and g[1].startswith("0"):
                    out.append((m.start(), m.end(), h % 24 * 60 + mi, True))
                    continue
            out.append((m.start(), m.end(), *_apply_ampm(h, mi, mark, context)))
        elif m.group("h"):
            out.append((m.start(), m.end(), *_apply_ampm(int(g[5]), 0, g[6], context)))
        elif m.group("half"):
            how, h, mark = g[8].lower(), _hour_word(g[9]), g[10]
            mins = 30 if how == "half past" else 15 if how == "quarter past" else -15
            t, known = _apply_ampm(h, 0, mark, context)
            out.append((m.start(), m.end(), t + mins, known))
        elif m.group("w"):
            h = _hour_word(g[12])
            if h > 24:
                continue
            mi = {"thirty": 30, "fifteen": 15}.get((g[13] or "").lower(), 45 if g[13] else 0)
            if h > 12 or (g[12].isdigit() and len(g[12]) == 2 and g[12].startswith("0")):
                out.append((m.start(), m.end(), h % 24 * 60 + mi, True))
            else:
                out.append((m.start(), m.end(), *_apply_ampm(h, mi, g[14], context)))
        elif m.group("range"):  # "5-7pm"
            a, b, mark = int(g[16]), int(g[17]), g[18]
            if a > 12 or b > 12:
                continue
            t1, _ = _apply_ampm(a, 0, mark, context)
            t2, _ = _apply_ampm(b, 0, mark, context)
            out.append((m.start(), m.start() + 1, t1, True))
            out.append((m.start() + 1, m.end(), t2, True))
        elif m.group("noon"):
            out.append((m.start(), m.end(), 24 * 60 if g[20].lower() == "midnight" else 12 * 60, True))
    return out


_DATE_MD = re.compile(r"\b(" + "|".join(MONTHS) + r"|" + "|".join(m[:3] for m in MONTHS) + r")\.?\s+(\d{1,2})"
                      r"(?:st|nd|rd|th)?(?:,?\s+(\d{4}))?\b", re.I)
_DATE_DM = re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?(" + "|".join(MONTHS) + r"|"
                      + "|".join(m[:3] for m in MONTHS) + r")\b\.?(?:,?\s+(\d{4}))?", re.I)
_ORDINAL = re.compile(r"\bthe\s+(\d{1,2})(?:st|nd|rd|th)\b", re.I)
_WEEKDAY = re.compile(r"\b(next\s+|this\s+|on\s+)?(" + "|".join(WEEKDAYS) + r")\b", re.I)
_RELATIVE = re.compile(r"\b(the day after tomorrow|tomorrow|today|tonight|this (?:morning|afternoon|evening))\b",
                       re.I)
_ISO = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")


def _month(word: str) -> int:
    w = word.lower()[:3]
    return [m[:3] for m in MONTHS].index(w) + 1


def find_day(text: str, now: dt.datetime) -> dt.date | None:
    """The day ``text`` names, resolved against ``now``; None when it names none (or an impossible one).

    Which words name a day is found here (an ISO date, "February 14th, 2023", "14 March", "today",
    "tonight", "tomorrow", "the day after tomorrow", "(next) Tuesday", "the 15th"); what day they
    mean is :func:`day_of`'s (the ``dateparser`` library's) answer."""
    for pattern in (_ISO, _DATE_MD, _DATE_DM, _RELATIVE, _WEEKDAY, _ORDINAL):
        m = pattern.search(text)
        if m:
            return day_of(m.group(0), now)
    return None


def day_of(words: str, now: dt.datetime) -> dt.date | None:
    """The day a phrase names ("tomorrow", "next Tuesday", "February 14th, 2023", "the 15th"), read by
    ``dateparser`` relative to ``now``, preferring the days ahead — an event is told before it
    happens. Two readings are the conversation's, not the library's: a weekday that is today
    ("on Monday", said on a Monday) is today unless "next" is said, and a date without a year up
    to a month past is this year's (the library would move it to next year). This is the one
    place the rules' event reader resolves days (the interviews' ``cognition/when.py`` resolves
    times of the past and present with the same library)."""
    low = " ".join(words.lower().split())
    today = now.date()
    m = _WEEKDAY.fullmatch(low)
    if m and (m.group(1) or "").strip() != "next" and WEEKDAYS.index(m.group(2)) == today.weekday():
        return today
    if re.fullmatch(r"this (morning|afternoon|evening)", low):
        return today
    low = re.sub(r"^on\s+", "", low)
    try:
        got = _dateparser().parse(low, languages=["en"], settings={
            "RELATIVE_BASE": dt.datetime.combine(today, dt.time(12)), "PREFER_DATES_FROM": "future",
            "RETURN_AS_TIMEZONE_AWARE": False})
    except Exception:  # noqa: BLE001 - dateparser raises plain errors on odd input: no day then
        return None
    if got is None:
        return None
    day = got.date()
    if not re.search(r"\d{4}", low) and day - today > dt.timedelta(days=300):
        try:
            last = day.replace(year=day.year - 1)
        except ValueError:
            return day
        if today - dt.timedelta(days=31) <= last:
            return last
    return day


@functools.lru_cache(maxsize=1)
def _dateparser():
    import dateparser  # imported on first use: a run that reads no words never loads it

    return dateparser


def _dated(year: int | None, month: int, day: int, today: dt.date) -> dt.date:
    if year is not None:
        return dt.date(year, month, day)
    d = dt.date(today.year, month, day)
    return d if d >= today - dt.timedelta(days=31) else dt.date(today.year + 1, month, day)


def clock_span(text: str) -> tuple[int, int | None] | None:
    """(start, end) in minutes since midnight of the first clock time in ``text`` and, when the next
    makes a range with it ("from 5 to 7", "5-7pm", "between five and seven", "until 7"), its end
    (past midnight: more than 24 hours' minutes); the end None when not said; None without a time."""
    times = clock_times(text)
    if not times:
        return None
    _, e0, start, _ = times[0]
    end = None
    if len(times) > 1:
        between = text[e0:times[1][0]].lower()
        if re.fullmatch(r"\s*(to|until|till|til|and|-|–|through)?\s*", between) or times[1][0] <= e0 + 1:
            end = times[1][2]
        elif re.search(r"\b(to|until|till|and)\b", text[times[1][0]:times[1][1]].lower()):
            end = times[1][2]
    if end is not None:
        while end <= start:
            end += 12 * 60 if end + 12 * 60 > start and not times[1][3] else 24 * 60
    return start, end


def default_day(start: int, now: dt.datetime) -> dt.date:
    """The day of a time said without one: today when it is still ahead, else tomorrow."""
    ahead = dt.datetime.combine(now.date(), dt.time()) + dt.timedelta(minutes=start) > now
    return now.date() if ahead else now.date() + dt.timedelta(days=1)


def event_span(text: str, now: dt.datetime) -> tuple[dt.datetime, dt.datetime] | None:
    """(start, end) of the event ``text`` describes: :func:`clock_span`, the end
    :data:`DEFAULT_MINUTES` after the start when not said; the day as :func:`find_day` reads it,
    else :func:`default_day`."""
    span = clock_span(text)
    if span is None:
        return None
    start, end = span
    if end is None:
        end = start + DEFAULT_MINUTES
    day = find_day(text, now) or default_day(start, now)
    base = dt.datetime.combine(day, dt.time())
    return base + dt.timedelta(minutes=start), base + dt.timedelta(minutes=end)


# ---------------------------------------------------------------- the rules parser


_LEAD = re.compile(r"^\s*(?:have you heard\??|did you hear\??|did you know\??|guess what\??|some news from me:|"
                   r"news:|i heard (?:that )?|i just heard (?:that )?|word is (?:that )?|apparently,?|"
                   r"oh,? and |by the way,? |so,? )\s*", re.I)
_EVENT_VERB = (r"(?:is |are |'s |'re |am |'m |will be |will |'ll |was )?(?:hosting|throwing|having|holding|organi[sz]ing|"
               r"planning|putting on|running|giving|host|throw|hold|organi[sz]e|plan)")
_DET = r"(?:a|an|the|her|his|their|our|my|this|that|some)"
_NAME_END = (r"(?=\s+(?:at|in|on|this|next|tomorrow|today|tonight|from|for|over|with|starting|between|around|by)\b"
             r"|\s*[,.!?;]|\s*$|\s+(?:and|to)\s)")
_GREETING = re.compile(r"^(hi|hello|hey|good (morning|afternoon|evening)|see you|take care|bye|thanks|thank you|"
                       r"how are you|good to see you|oh,? (nice|i hadn't)|yes|no|sure|sounds)", re.I)
_DECLINE = re.compile(r"(can't make it|cannot make it|can not make it|won't be able|will not be able|"
                      r"don't think i'll (go|come|make it)|not going|won't (go|come|make it)|i'll pass|"
                      r"\bi'll be [a-z ,']+ then\b|no,? thanks|unfortunately|i'm busy|i am busy|have to work|"
                      r"can't come|can't go|not for me|maybe another time|i'd rather not|sadly)", re.I)
_ACCEPT = re.compile(r"(i'll be there|i will be there|i'll go|i will go|i'm going|i am going|i think i'll go|"
                     r"i'll come|i will come|count me in|i'd love to|i would love to|wouldn't miss it|"
                     r"sounds (lovely|great|wonderful|fun|good)|see you there|i'm in\b|\bsure\b|yes|of course|"
                     r"absolutely|definitely|i'll try to make it|i'd be happy to)", re.I)
_INVITE_EVERYONE = re.compile(r"\b(everyone|everybody|whole town|all welcome|anyone|the town)\b", re.I)
_INVITE_NOBODY = re.compile(r"\b(private|just for (?:the )?family|invitation only|invite only|"
                            r"not (?:inviting|telling) anyone)\b", re.I)
_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'])")


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SPLIT.split(" ".join(text.split())) if s.strip()]


def _strip(s: str) -> str:
    return s.strip().strip(".!?;,").strip()


def _event_in(sentence: str, speaker: str | None, listener: str | None, now: dt.datetime, gaz: Gazetteer,
              people: Sequence[str], context: str = "") -> dict | None:
    """An event in one sentence: a host, a name, a place and a time. ``context`` (the sentences
    around it) may supply the time or place the sentence leaves out."""
    body = _LEAD.sub("", sentence)
    person = _people_pattern(people)
    host_word = None
    name = None
    m = re.search(r"(?P<host>\bI\b|\bI'm\b|\bwe\b|\bwe're\b|" + person + r"|\b[A-Z][a-z]+(?: [A-Z][a-z]+)?)\s*"
                  + _EVENT_VERB + r"\s+(?:a\s+little\s+|a\s+small\s+|a\s+big\s+)?" + _DET + r"?\s*(?P<name>.+?)"
                  + _NAME_END, body)
    if m:
        host_word, name = m.group("host"), m.group("name")
    else:
        m = re.search(r"(?P<host>" + person + r")'s\s+(?P<name>[\w' -]+?)" + _NAME_END, body)
        if m and gaz.find(body[m.end():]) and clock_times(body + " " + context):
            host_word, name = m.group("host"), m.group("name")
        else:
            m = re.search(r"\b(?:come to|join (?:us|me) (?:for|at)|invite you to|invited to|there's|there is|"
                          r"there will be|going to)\s+(?P<own>my|our)?\s*" + _DET + r"?\s*(?P<name>[\w' -]+?)"
                          + _NAME_END, body, re.I)
            if m and clock_times(body + " " + context):
                name = m.group("name")
                host_word = "I" if m.group("own") or re.search(r"\b(come to|join (?:us|me))\b", m.group(0), re.I) \
                    else None
                if host_word is None:
                    hm = re.search(r"(" + person + r")\s+(?:is|will be)\s+(?:inviting|asking)", body)
                    host_word = hm.group(1) if hm else None
    if not name:
        return None
    name = re.sub(r"^(?:a|an|the|little|small|big)\s+", "", name.strip(), flags=re.I).strip(" '")
    whole = gaz.find(name)
    if not name or whole and (whole[0][0], whole[0][1]) == (0, len(name)):  # a place's name is not an event's
        return None
    after = body[m.end():] if m else body
    places = gaz.find(after) or gaz.find(body) or gaz.find(context)
    span = event_span(body, now) or (event_span(body + " " + context, now) if context else None)
    if not places or span is None:
        return None
    host = resolve_person(host_word, people, speaker, listener) if host_word else None
    if host is None and host_word and host_word.lower() not in ("there",):
        host = host_word if host_word[0].isupper() and host_word not in ("I", "We") else None
    said = sentence + " " + context
    invite: Any = "everyone"
    if _INVITE_NOBODY.search(said) and not _INVITE_EVERYONE.search(said):
        invite = "nobody"
    elif re.search(r"you're invited|you are invited", said, re.I) and not _INVITE_EVERYONE.search(said) \
            and listener:
        invite = [listener]
    return {"name": name, "host": host, "place": places[0][2], "start": span[0].strftime(TIME_FORMAT),
            "end": span[1].strftime(TIME_FORMAT), "invite": invite}


_OWN_NEWS = re.compile(r"(?:(?:is|has|was|will|had)\s+(?:just\s+|finally\s+|been\s+|also\s+)?\w+(?:ing|ed|en)\b|"
                       r"(?:just\s+)?\w+ed\b|(?:just\s+)?(?:got|won|saw|met|made|went|wrote|bought|found|began|took|"
                       r"ran|sold|built|lost|left|moved|became|gave|read)\b)", re.I)
_OWN_TALK = re.compile(r"\b(you|your|yours|keeping busy|not much|doing (?:well|fine|good|great|ok|okay|alright|all right|"
                       r"pretty \w+|wonderful|fantastic|amazing|awesome|not bad)|thanks|glad|happy|sorry|excited|"
                       r"looking forward|wondering|hoping|thinking of you|available|free|busy)\b", re.I)


def _news_in(sentence: str, speaker: str | None, listener: str | None, now: dt.datetime, gaz: Gazetteer,
             people: Sequence[str]) -> dict | None:
    """News in one sentence: someone (a resident, or the speaker's "I") did or does something."""
    body = _LEAD.sub("", sentence).strip()
    if not body or body.endswith("?") or _GREETING.match(body) or _ACCEPT.match(body) or _DECLINE.search(body):
        return None
    person = _people_pattern(people)
    m = re.match(r"(?P<who>" + person + r"|I've|I'm|I'll|I)(?![\w'’])\s*(?P<did>.+)$", body.replace("’", "'"))
    if not m:
        return None
    who_word, did = m.group("who"), _strip(m.group("did"))
    mine = who_word in ("I", "I've", "I'm", "I'll")
    if mine:
        if who_word != "I":
            did = {"I've": "has", "I'm": "is", "I'll": "will"}[who_word] + " " + did
        elif re.match(r"(am|was|have|had)\b", did):
            did = {"am": "is", "have": "has"}.get(did.split()[0], did.split()[0]) + did[len(did.split()[0]):]
        # what one says of oneself is news only as something done or under way ("has started a
        # project", "is writing a paper", "won a prize"), not talk to the listener ("I think you…",
        # "I'm available…", "I'm so glad…") nor small talk ("I've been keeping busy")
        if not _OWN_NEWS.match(did) or _OWN_TALK.search(did):
            return None
        who = speaker
    else:
        who = resolve_person(who_word, people, speaker, listener)
    if who is None or len(did.split()) < 2 or not re.match(r"[a-z']", did):
        return None
    places = gaz.find(did)
    when = find_day(did, now)
    text = f"{who} {did}." if mine else body
    return {"who": who, "did": did, "place": places[0][2] if places else None,
            "when": when.isoformat() if when else None, "text": _strip(text) + "."}


def answer_of(text: str) -> bool | None:
    """Whether a reply accepts (True) or declines (False) an invitation, or neither (None; a maybe
    is neither)."""
    from smallville.cognition.dialogue import answer_of as said

    return {"accept": True, "decline": False}.get(said(text))


def rules_extract(lines: Sequence[tuple[str | None, str]], *, listener: str | None, now: dt.datetime,
                  gazetteer: Gazetteer, people: Sequence[str], here: str | None = None) -> Extracted:
    """The facts in ``lines`` — (speaker, text) pairs, in order; the speaker None for a text that is
    nobody's line (a first memory, a note) — read whole (:func:`smallville.cognition.dialogue.read_lines`):
    each gathering told, once, as its teller first told it with the pieces the conversation
    gave; news; and the answers (accept or decline — a maybe is none) of the people asked.
    ``here``: the address where the words were said ("a dinner here")."""
    from smallville.cognition.dialogue import read_lines

    events: list[dict] = []
    news: list[dict] = []
    answers: list[dict] = []
    for r in read_lines(lines, listener=listener, now=now, gazetteer=gazetteer, people=people, here=here):
        for ev in r.events:
            same = next((i for i, e in enumerate(events) if (e["place"], e["start"]) == (ev["place"], ev["start"])
                         or (e["name"], e["start"]) == (ev["name"], ev["start"])), None)
            if same is None:
                events.append(dict(ev))
            elif events[same]["host"] is None and ev["host"] is not None:
                events[same] = {**events[same], "host": ev["host"]}
        for n in r.news:
            if not any(x["text"] == n["text"] for x in news):
                news.append(dict(n))
        if r.answer in ("accept", "decline") and r.speaker is not None:
            answers.append({"who": r.speaker, "event": r.answer_to, "accept": r.answer == "accept"})
    return Extracted(tuple(events[:MAX_EVENTS]), tuple(news[:MAX_NEWS]), tuple(answers))


def _others(lines: Sequence[tuple[str | None, str]], speaker: str | None) -> list[str]:
    return list(dict.fromkeys(s for s, _ in lines if s is not None and s != speaker))


# ---------------------------------------------------------------- the LLM side


def day_options(now: dt.datetime) -> list[tuple[str, str]]:
    """(ISO date, how to say it) for the days an answer may name."""
    out = []
    for i in range(DAYS_AHEAD):
        d = now.date() + dt.timedelta(days=i)
        label = "today" if i == 0 else "tomorrow" if i == 1 else weekday(d)
        out.append((d.isoformat(), f"{label}, {long_date(d)}"))
    return out


def variables(me: str, lines: Sequence[tuple[str | None, str]], now: dt.datetime, places: Sequence[str],
              people: Sequence[str]) -> dict[str, Any]:
    text = "\n".join(f"{s}: {t}" if s else t for s, t in lines)
    return {"name": me, "now": f"{long_date(now)}, {now.year}, {now:%H:%M}",
            "days": "\n".join(f"- {iso} = {label}" for iso, label in day_options(now)),
            "places": "\n".join(f"- {p}" for p in places) or "- (none)",
            "people": ", ".join(people), "text": text}


def schema_for(places: Sequence[str], people: Sequence[str], speakers: Sequence[str], now: dt.datetime):
    """The call's schema: places, days, hosts and speakers narrowed to what the resident could mean."""
    days = [iso for iso, _ in day_options(now)]
    hosts = list(dict.fromkeys(list(people) + ["unknown"]))
    tellers = list(dict.fromkeys(list(speakers) + ["unknown"]))

    def narrow(schema: dict) -> dict:
        props = schema["properties"]
        ev = props["events"]["items"]["properties"]
        ev = {**ev, "place": {"type": "string", "enum": list(places) or ["unknown"]},
              "day": {"type": "string", "enum": days}, "host": {"type": "string", "enum": hosts},
              "told_by": {"type": "string", "enum": tellers}}
        nw = {**props["news"]["items"]["properties"], "who": {"type": "string", "enum": hosts},
              "told_by": {"type": "string", "enum": tellers}}
        an = {**props["answers"]["items"]["properties"], "who": {"type": "string", "enum": tellers}}
        return {**schema, "properties": {
            "events": {**props["events"], "items": {**props["events"]["items"], "properties": ev}},
            "news": {**props["news"], "items": {**props["news"]["items"], "properties": nw}},
            "answers": {**props["answers"], "items": {**props["answers"]["items"], "properties": an}}}}
    return narrow


def parse(value: Any, *, now: dt.datetime, places: Sequence[str], people: Sequence[str],
          speakers: Sequence[str]) -> Extracted:
    """A schema-valid answer as :class:`Extracted`; an unknown place or an impossible time is invalid."""
    if not isinstance(value, dict):
        raise InvalidAnswer("not an object")
    days = {iso for iso, _ in day_options(now)}
    events = []
    for i, e in enumerate(value.get("events") or []):
        if not isinstance(e, dict):
            raise InvalidAnswer(f"event {i} is not an object")
        name = " ".join(str(e.get("name", "")).split())[:60].strip(" .")
        if not name or name.lower() in ("...", "name", "event"):
            raise InvalidAnswer(f"event {i}: no name")
        place = e.get("place")
        if place not in places:
            raise InvalidAnswer(f"event {i}: unknown place {str(place)[:60]!r}")
        day = str(e.get("day", ""))
        if day not in days:
            raise InvalidAnswer(f"event {i}: day {day[:20]!r} is not one of the coming week")
        s, en = _hhmm(e.get("start")), _hhmm(e.get("end"))
        if s is None or en is None:
            raise InvalidAnswer(f"event {i}: start and end must be HH:MM")
        if en <= s:
            en += 24 * 60
        if en - s > 16 * 60:
            raise InvalidAnswer(f"event {i}: {e.get('start')}-{e.get('end')} is not a time an event lasts")
        base = dt.datetime.combine(dt.date.fromisoformat(day), dt.time())
        start, end = base + dt.timedelta(minutes=s), base + dt.timedelta(minutes=en)
        if end <= now:
            raise InvalidAnswer(f"event {i}: it is over ({end:%Y-%m-%d %H:%M})")
        host = e.get("host")
        host = host if host in people else None
        invited = str(e.get("invited", "everyone"))
        invite: Any = "nobody" if invited == "nobody" else "everyone"
        events.append({"name": name, "host": host, "place": place, "start": start.strftime(TIME_FORMAT),
                       "end": end.strftime(TIME_FORMAT), "invite": invite,
                       "told_by": e.get("told_by") if e.get("told_by") in speakers else None,
                       **({"invited": invited} if invited == "listener" else {})})
    news = []
    for i, n in enumerate(value.get("news") or []):
        if not isinstance(n, dict):
            raise InvalidAnswer(f"news {i} is not an object")
        who, did = n.get("who"), " ".join(str(n.get("did", "")).split())[:200].strip(" .")
        if who not in people or len(did) < 3:
            continue
        news.append({"who": who, "did": did, "place": None, "when": None, "text": f"{who} {did}.",
                     "told_by": n.get("told_by") if n.get("told_by") in speakers else None})
    answers = []
    for a in value.get("answers") or []:
        if isinstance(a, dict) and a.get("who") in speakers and a.get("answer") in ("accept", "decline"):
            answers.append({"who": a["who"], "event": events[0]["name"] if events else None,
                            "accept": a["answer"] == "accept"})
    return Extracted(tuple(events[:MAX_EVENTS]), tuple(news[:MAX_NEWS]), tuple(answers))


def _hhmm(text: Any) -> int | None:
    m = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*", str(text))
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        return None
    return int(m.group(1)) * 60 + int(m.group(2))


async def extract(decide, *, me: str, lines: Sequence[tuple[str | None, str]], now: dt.datetime,
                  gazetteer: Gazetteer, people: Sequence[str], known: Sequence[str] = (), rng=None,
                  here: str | None = None) -> Extracted:
    """Decision ``extract_facts`` for ``me`` over ``lines`` (``decide`` is ``ctx.decide``); ``here``:
    where they were said (the rules read "here" as that place)."""
    text = " ".join(t for _, t in lines)
    places = gazetteer.candidates(text, known)
    speakers = list(dict.fromkeys(s for s, _ in lines if s))
    return await decide("extract_facts", variables=variables(me, lines, now, places, people),
                        rules=lambda: rules_extract(lines, listener=me, now=now, gazetteer=gazetteer, people=people,
                                                    here=here),
                        parse=lambda value: parse(value, now=now, places=places, people=people, speakers=speakers),
                        rng=rng, schema=schema_for(places, people, speakers, now), max_tokens=EXTRACT_TOKENS)
