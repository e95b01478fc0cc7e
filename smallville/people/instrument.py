"""Survey instruments in YAML: items, constructs and experiments (docs/SURVEYS.md).

An instrument is plain data, validated at the edge (unknown keys rejected, errors naming the
file and key). Item kinds:

- ``choice`` — one of ``options`` (``ordered: true`` when they run along a scale, best or most
  first or last, e.g. "Very happy / Pretty happy / Not too happy");
- ``likert`` — 1..``points`` with ``labels`` (default: the agreement labels for 5 or 7 points);
- ``number`` — a number within ``min``..``max`` (``integer: true`` by default);
- ``text`` — free text (kept in answers, never scored).

A *value* is what an answer is recorded as: the option's label (``choice``), the integer point
(``likert``), the number (``number``) or the text. :meth:`Item.position` puts a value of an
ordered item on 0..1 (first option or point = 0).

Constructs average their items' values, reverse-keyed items flipped (``points + 1 - v``), e.g. a
trait of a short personality inventory. Experiments give an item different wording per arm;
residents are randomized to arms by the seed, balanced (:func:`assign_arms`).
"""

from __future__ import annotations

import hashlib
import random
from pathlib import Path
from typing import Literal, Sequence

from pydantic import Field, model_validator

from smallville.world.config import Strict, read_yaml, validate

AGREE = {5: ["Strongly disagree", "Disagree", "Neither agree nor disagree", "Agree", "Strongly agree"],
         7: ["Strongly disagree", "Disagree", "Somewhat disagree", "Neither agree nor disagree", "Somewhat agree",
             "Agree", "Strongly agree"]}
KINDS = ("choice", "likert", "number", "text")


class Arm(Strict):
    """An arm's wording of the experiment's item: its text, and (optionally) its options' labels,
    as many as the item has and meaning the same answers in the same order."""

    text: str = Field(min_length=1)
    options: list[str] | None = None


class Item(Strict):
    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    kind: Literal["choice", "likert", "number", "text"]
    text: str = Field(min_length=1)
    options: list[str] | None = None
    ordered: bool = False
    points: int | None = Field(default=None, ge=2, le=11)
    labels: list[str] | None = None
    min: float | None = None
    max: float | None = None
    integer: bool = True
    unit: str | None = None
    default: str | float | None = None  # the rules' answer when nothing it sees bears on the item

    @model_validator(mode="after")
    def _shape(self) -> "Item":
        if self.kind == "choice":
            if not self.options or len(self.options) < 2:
                raise ValueError("options: a choice item needs at least two options")
            if len(set(self.options)) != len(self.options):
                raise ValueError("options: each option must be different")
        elif self.options is not None:
            raise ValueError(f"options: only for kind choice (this item is {self.kind})")
        if self.kind == "likert":
            points = self.points or (len(self.labels) if self.labels else 5)
            labels = self.labels or AGREE.get(points)
            if labels is None:
                raise ValueError(f"labels: a {points}-point likert item needs its labels")
            if len(labels) != points:
                raise ValueError(f"labels: expected {points} labels, got {len(labels)}")
            object.__setattr__(self, "points", points)
            object.__setattr__(self, "labels", list(labels))
        elif self.points is not None or self.labels is not None:
            raise ValueError("points: only for kind likert")
        if self.kind == "number":
            if self.min is None or self.max is None or not self.max > self.min:
                raise ValueError("max: a number item needs min and max, max greater than min")
        elif self.min is not None or self.max is not None:
            raise ValueError("min: only for kind number")
        if self.default is not None:
            if self.kind == "choice" and self.default not in self.options:
                raise ValueError(f"default: expected one of the options, got {self.default!r}")
            if self.kind in ("likert", "number"):
                self.check(self.default)
        return self

    # ------------------------------------------------------------------ answers
    @property
    def scored(self) -> bool:
        return self.kind != "text"

    @property
    def ordinal(self) -> bool:
        return self.kind == "likert" or (self.kind == "choice" and self.ordered)

    @property
    def categories(self) -> list:
        """Every value a categorical item can take, in order (``[]`` for number and text)."""
        if self.kind == "choice":
            return list(self.options)
        if self.kind == "likert":
            return list(range(1, self.points + 1))
        return []

    def choices(self, arm: Arm | None = None) -> list[str]:
        """The labels shown (an arm may word them differently)."""
        if self.kind == "choice":
            return list(arm.options) if arm is not None and arm.options else list(self.options)
        if self.kind == "likert":
            return [f"{i} = {label}" for i, label in enumerate(self.labels, 1)]
        return []

    def wording(self, arm: Arm | None = None) -> str:
        return arm.text if arm is not None else self.text

    def check(self, value) -> str | int | float:
        """``value`` as this item records it, or ValueError."""
        if self.kind == "choice":
            if value not in self.options:
                raise ValueError(f"{self.id}: expected one of {self.options}, got {value!r}")
            return value
        if self.kind == "likert":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value \
                    or not 1 <= value <= self.points:
                raise ValueError(f"{self.id}: expected a whole number 1..{self.points}, got {value!r}")
            return int(value)
        if self.kind == "number":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value \
                    or not self.min <= value <= self.max:
                raise ValueError(f"{self.id}: expected a number {self.min:g}..{self.max:g}, got {value!r}")
            return int(round(value)) if self.integer else float(value)
        text = " ".join(str(value).split())
        if not text:
            raise ValueError(f"{self.id}: expected some text")
        return text[:1000]

    def parse(self, raw: str):
        """A value from a CSV cell (``""`` is a missing answer: None)."""
        raw = raw.strip()
        if raw == "":
            return None
        if self.kind in ("likert", "number"):
            return self.check(float(raw))
        return self.check(raw)

    def position(self, value) -> float:
        """An ordered item's value on 0..1 (first option/point 0, last 1); a number's place in its range."""
        if self.kind == "likert":
            return (value - 1) / (self.points - 1)
        if self.kind == "choice":
            return self.options.index(value) / (len(self.options) - 1)
        if self.kind == "number":
            return (value - self.min) / (self.max - self.min)
        raise ValueError(f"{self.id}: a text item has no position")

    def span(self) -> float:
        """The range numeric errors are divided by: max−min, points−1, or options−1."""
        if self.kind == "number":
            return self.max - self.min
        if self.kind == "likert":
            return self.points - 1
        return len(self.options) - 1


class Construct(Strict):
    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    items: list[str] = Field(min_length=1)
    reverse: list[str] = Field(default_factory=list)
    description: str | None = None


class Experiment(Strict):
    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    item: str
    arms: dict[str, Arm] = Field(min_length=2)
    measure: str | None = None  # a choice item: the option whose share is compared (default: the first)
    description: str | None = None


class Instrument(Strict):
    name: str = Field(min_length=1)
    description: str | None = None
    source: str | None = None
    items: list[Item] = Field(min_length=1)
    constructs: list[Construct] = Field(default_factory=list)
    experiments: list[Experiment] = Field(default_factory=list)

    @model_validator(mode="after")
    def _refs(self) -> "Instrument":
        ids = [i.id for i in self.items]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"items: each id must be different ({', '.join(dup)} repeated)")
        by = {i.id: i for i in self.items}
        for c in self.constructs:
            for ref in c.items + c.reverse:
                if ref not in by:
                    raise ValueError(f"constructs: {c.id} names an unknown item {ref!r}")
                if not by[ref].ordinal and by[ref].kind != "number":
                    raise ValueError(f"constructs: {c.id}: item {ref!r} is not on a scale")
            if set(c.reverse) - set(c.items):
                raise ValueError(f"constructs: {c.id}: every reverse-keyed item must be among its items")
        for e in self.experiments:
            if e.item not in by:
                raise ValueError(f"experiments: {e.id} names an unknown item {e.item!r}")
            item = by[e.item]
            if not item.scored:
                raise ValueError(f"experiments: {e.id}: a free-text item has no effect to measure")
            for name, arm in e.arms.items():
                if arm.options is not None and (item.kind != "choice" or len(arm.options) != len(item.options)):
                    raise ValueError(f"experiments: {e.id}: arm {name!r} must word the same "
                                     f"{len(item.options or [])} options")
            if e.measure is not None and (item.kind != "choice" or e.measure not in item.options):
                raise ValueError(f"experiments: {e.id}: measure must be one of the item's options")
        tested = [e.item for e in self.experiments]
        if len(set(tested)) != len(tested):
            raise ValueError("experiments: one experiment per item")
        return self

    def item(self, item_id: str) -> Item:
        for i in self.items:
            if i.id == item_id:
                return i
        raise KeyError(item_id)

    def experiment_of(self, item_id: str) -> Experiment | None:
        return next((e for e in self.experiments if e.item == item_id), None)

    def construct_of(self, item_id: str) -> Construct | None:
        return next((c for c in self.constructs if item_id in c.items), None)

    def digest(self) -> str:
        return hashlib.blake2b(self.model_dump_json().encode(), digest_size=8).hexdigest()


def load_instrument(path: str | Path) -> Instrument:
    """Read an instrument file; :class:`~smallville.errors.ConfigError` names the file and key."""
    return validate(Instrument, read_yaml(Path(path)), Path(path))


def merge(instruments: Sequence[Instrument]) -> Instrument:
    """Several instruments asked as one (their ids must not clash)."""
    if len(instruments) == 1:
        return instruments[0]
    return Instrument.model_validate({
        "name": " + ".join(i.name for i in instruments),
        "items": [it.model_dump() for i in instruments for it in i.items],
        "constructs": [c.model_dump() for i in instruments for c in i.constructs],
        "experiments": [e.model_dump() for i in instruments for e in i.experiments]})


def assign_arms(experiment: Experiment, residents: Sequence[str], seed: int) -> dict[str, str]:
    """Each resident's arm: the residents (in name order) shuffled by a RNG seeded with the run's seed
    and the experiment's id, then dealt to the arms in turn, so arm sizes differ by at most one."""
    order = sorted(residents)
    tag = int.from_bytes(hashlib.blake2b(f"{seed}:{experiment.id}".encode(), digest_size=8).digest(), "little")
    random.Random(tag).shuffle(order)
    arms = list(experiment.arms)
    return {name: arms[i % len(arms)] for i, name in enumerate(order)}


def default_value(item: Item):
    """What the rules answer when nothing bears on the item: the item's ``default``, else the middle of
    a scale (the lower middle for an even count), the middle of a range, or None (choose by the seed)."""
    if item.default is not None:
        return item.check(item.default)
    if item.kind == "likert":
        return (item.points + 1) // 2
    if item.kind == "choice" and item.ordered:
        return item.options[(len(item.options) - 1) // 2]
    if item.kind == "number":
        return item.check((item.min + item.max) / 2)
    return None
