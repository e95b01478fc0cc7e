"""Times in people's words, resolved against a moment: "two hours ago", "this morning",
"tomorrow at 3", "yesterday evening", "at 10 am tomorrow", "on Monday", "tonight".

API:

- :func:`find` ``(text, now) -> When | None`` — the first time expression in ``text``;
- :class:`When` — ``start``/``end`` (a point has ``start == end``), ``clock`` (a time of day
  was said), ``words`` (what was read);
- :func:`say` ``(t, now) -> str`` — a moment in words relative to ``now`` ("this morning at
  09:00", "yesterday at 18:00", "on Monday February 13 at 07:30").

Finding and resolving the expression is the ``dateparser`` library's work (``search_dates`` with
``now`` as its relative base). What is hand-written here is only what it does not do the way a
conversation means it: a day-part ("this morning", "tonight") is a span of hours, not one
instant; a bare hour of the day ("tomorrow at 3") means the waking hours (3 pm), which
dateparser reads as noon; a date alone is the whole day; and a month name alone ("think of May")
is not a time.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from smallville.world.clock import long_date, weekday

# day-parts as spans of hours: (start hour, end hour)
PARTS = {"morning": (6, 12), "afternoon": (12, 17), "evening": (17, 22), "tonight": (17, 24), "night": (20, 24),
         "noon": (12, 12), "midday": (12, 12), "midnight": (0, 0), "lunchtime": (12, 13), "lunch": (12, 13),
         "breakfast": (7, 9), "dinner": (18, 20)}
_PART = re.compile(r"\b(" + "|".join(PARTS) + r")\b", re.I)
_CLOCK = re.compile(r"\d\s*(?:am|pm|a\.m\.|p\.m\.|o'clock|h\b)|\d:\d\d|\bnoon\b|\bmidnight\b|\b(?:at|by|around|about)\s+\d",
                    re.I)
_RELATIVE = re.compile(r"\b(ago|from now|in an? (?:hour|minute)|in \w+ (?:hours?|minutes?)|later|earlier)\b", re.I)
_BARE_HOUR = re.compile(r"\b(?:at|by|around|about)\s+(\d{1,2})(?![\d:.]|\s*(?:am|pm|a\.m|p\.m|h\b))", re.I)
_TIME_WORD = re.compile(r"\d|\b(today|tomorrow|yesterday|tonight|now|ago|later|earlier|noon|midnight|morning|afternoon|"
                        r"evening|night|monday|tuesday|wednesday|thursday|friday|saturday|sunday|week|hours?|"
                        r"minutes?|day)\b", re.I)
_AMPM = re.compile(r"(am|pm|a\.m\.|p\.m\.)", re.I)


@dataclass(frozen=True)
class When:
    words: str  # the words read
    start: dt.datetime
    end: dt.datetime  # == start for a moment
    clock: bool  # a time of day was said ("at 3", "2 hours ago"), not only a day or a day-part

    @property
    def point(self) -> bool:
        return self.start == self.end

    @property
    def at(self) -> dt.datetime:
        """The moment meant: the point, or the middle of a span."""
        return self.start + (self.end - self.start) / 2


_search = None


def _dateparser():
    global _search
    if _search is None:
        from dateparser.search import search_dates

        _search = search_dates
    return _search


def find(text: str, now: dt.datetime) -> When | None:
    """The first time expression in ``text``, resolved against ``now`` (None when there is none)."""
    if not text or not _TIME_WORD.search(text):
        return None
    text = re.sub(r"\b(today|tomorrow|yesterday|tonight)'s\b", r"\1", text, flags=re.I)  # "tomorrow's plan"
    settings = {"RELATIVE_BASE": now, "PREFER_DATES_FROM": "current_period", "RETURN_AS_TIMEZONE_AWARE": False}
    try:
        found = _dateparser()(text, languages=["en"], settings=settings) or []
    except Exception:  # noqa: BLE001 - dateparser raises plain errors on odd input: no time then
        found = []
    for words, t in found:
        if not _TIME_WORD.search(words):  # "of May", "March" as a name: not a time here
            continue
        return _resolve(words, t, now)
    # a bare hour ("at 9") that dateparser did not take: that hour today, a waking hour
    m = re.search(r"\b(?:at|around|about|by)\s+(\d{1,2})(?:[:.](\d\d))?\b(?!\s*(?:hours?|minutes?|days?|people|%))",
                  text, re.I)
    if m and int(m.group(1)) <= 23 and (m.group(2) is None or int(m.group(2)) < 60):
        h = int(m.group(1))
        h = h + 12 if 1 <= h < 7 else h
        t = dt.datetime.combine(now.date(), dt.time(h % 24, int(m.group(2) or 0)))
        return When(m.group(0), t, t, True)
    # a day-part alone ("in the morning") that dateparser did not take
    m = _PART.search(text)
    if m:
        return _resolve(m.group(1), dt.datetime.combine(now.date(), dt.time()), now)
    return None


def _resolve(words: str, t: dt.datetime, now: dt.datetime) -> When:
    low = words.lower()
    day = t.date()
    if _RELATIVE.search(low):
        return When(words, t, t, True)
    bare = _BARE_HOUR.search(low)
    if bare and not _AMPM.search(low):  # "tomorrow at 3": a waking hour, 3 pm
        h = int(bare.group(1)) % 24
        part = _PART.search(low)
        if (1 <= h < 7) or (h < 12 and part and part.group(1).lower() in ("afternoon", "evening", "tonight", "night",
                                                                            "dinner")):
            h += 12
        mm = re.search(rf"\b{bare.group(1)}[:.](\d\d)", low)
        t = dt.datetime.combine(day, dt.time(h, int(mm.group(1)) if mm else 0))
        return When(words, t, t, True)
    if _CLOCK.search(low):
        return When(words, t, t, True)
    part = _PART.search(low)
    if part:
        a, b = PARTS[part.group(1).lower()]
        start = dt.datetime.combine(day, dt.time(a))
        end = dt.datetime.combine(day, dt.time()) + dt.timedelta(hours=b)
        return When(words, start, end, a == b)
    if re.search(r"\bnow\b", low):
        return When(words, now, now, True)
    start = dt.datetime.combine(day, dt.time())
    return When(words, start, start + dt.timedelta(days=1), False)


def say_day(day: dt.date, now: dt.datetime) -> str:
    delta = (day - now.date()).days
    return {0: "today", -1: "yesterday", 1: "tomorrow"}.get(delta, f"on {long_date(day)}")


def say(t: dt.datetime, now: dt.datetime) -> str:
    """``t`` in words relative to ``now``: "this morning at 09:00", "yesterday at 18:00"."""
    delta = (t.date() - now.date()).days
    if delta == 0:
        part = "this morning" if t.hour < 12 else "this afternoon" if t.hour < 17 else "this evening"
        if t.hour < 5:
            part = "last night" if t <= now else "tonight"
        return f"{part} at {t:%H:%M}"
    return f"{say_day(t.date(), now)} at {t:%H:%M}"


def weekday_of(day: dt.date) -> str:
    return weekday(day)
