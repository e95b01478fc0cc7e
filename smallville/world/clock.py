"""Game time. Only the engine advances ticks; everyone else converts with these helpers.

Tick 0 is the world's start time (the state before any step); tick ``n`` is
``start + n * tick_seconds``. A two-hour run with 10-second ticks ends at tick 720.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class Clock:
    start: dt.datetime
    tick_seconds: int

    def time_at(self, tick: int) -> dt.datetime:
        return self.start + dt.timedelta(seconds=tick * self.tick_seconds)

    def tick_at(self, when: dt.datetime) -> int:
        """The last tick at or before ``when`` (negative if before the start)."""
        return int((when - self.start).total_seconds() // self.tick_seconds)

    def ticks_in(self, seconds: float) -> int:
        return int(seconds // self.tick_seconds)


def minutes_of_day(when: dt.datetime) -> int:
    return when.hour * 60 + when.minute


# English names, never the process locale's: they go into prompts, memories and content keys,
# which must be the same on every machine.
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")


def weekday(d: dt.date) -> str:
    """'Monday'."""
    return WEEKDAYS[d.weekday()]


def month(d: dt.date) -> str:
    """'February'."""
    return MONTHS[d.month - 1]


def long_date(d: dt.date) -> str:
    """'Monday February 13'."""
    return f"{WEEKDAYS[d.weekday()]} {MONTHS[d.month - 1]} {d.day}"
