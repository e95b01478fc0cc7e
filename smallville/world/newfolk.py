"""The people of a generated town: households, ages, roles, traits, routines and persona files.

Used by :mod:`smallville.world.newtown`, which lays out the buildings they live and work in.
Everything is drawn from one seeded ``random.Random``: the same seed gives the same people.

A household shares a house; each member has a bedroom of their own with one bed. Adults
work (at a workplace of the town, a few from home) or are retired; children of 6 to 17
go to school. A routine is a weekday from waking to sleeping: getting ready, breakfast at
home, work or school with a lunch break, an errand or an outing, dinner at home, an evening
in the living room. Relationships are the household, co-workers and next-door neighbours.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

FIRST_F = """Alice Amelia Anna Beatrice Bianca Camille Chloe Clara Daisy Daphne Delia Diana Edith Elena Eliza
Elsa Emma Esme Eva Fatima Fiona Freya Gemma Grace Greta Hana Harriet Helen Ida Imogen Ines Iris Ivy Jade
Joanna Julia June Kate Lara Laura Leah Lena Lila Lily Lina Lucia Lucy Lydia Mabel Maeve Maja Marta Matilda
Maya Mila Mira Nadia Naomi Nina Nora Olga Olive Paula Petra Phoebe Pia Priya Rosa Rose Ruby Ruth Sara
Selma Sofia Stella Susan Tessa Thea Una Vera Viola Wendy Zara Zoe Agnes Alma Ada Carla Dora Ella Flora Hilda
Irene Kira Leila Miriam Noor Odette Rita Sonia""".split()
FIRST_M = """Aaron Abel Adrian Alan Albert Alex Andre Anton Axel Ben Boris Bruno Caleb Cyril Daniel Dario David
Declan Dmitri Edgar Elias Emil Ethan Felix Finn Gabriel George Hamid Hans Henry Hugo Ian Igor Isaac Ivan Jacob
Jakob Jonah Jonas Joseph Julian Kai Karl Kenji Leo Leon Liam Louis Luca Lucas Malik Marco Mark Martin Mateo
Max Miles Milo Nathan Neil Niko Noah Oliver Omar Oscar Otto Owen Pablo Paul Peter Philip Quentin Rafael Ray
Ravi Robin Roman Rory Rufus Samir Simon Stefan Theo Thomas Tobias Victor Walter Yusuf Zeke Arjun Bernard
Colin Dennis Ellis Frank Glen Harold Jasper Lars Magnus Nils Percy Reuben Silas""".split()
SURNAMES = """Abbott Adler Alvarez Andersen Bailey Baker Barnes Becker Bell Bennett Berg Blake Bose Brennan
Brooks Bryant Byrne Campbell Carter Castro Chandra Chowdhury Clarke Cole Collins Cooper Costa Cruz Dalton
Das Davies Delgado Dixon Doyle Duarte Dunn Ellis Engel Evans Farrell Fischer Fleming Flores Foster Fox
Garcia Gill Gordon Graham Grant Gray Green Gupta Hall Hansen Harper Hayes Hughes Hunt Ibrahim Iyer Jansen
Jensen Kaur Keller Kelly Kennedy Kim Klein Koch Kowalski Kramer Lambert Lange Larsen Lee Lewis Lindqvist
Lowe Lund Marsh Martin Mason Meyer Miller Mills Mitchell Morgan Murphy Nakamura Nash Nguyen Nielsen Novak
Nowak Obi Olsen Owens Palmer Parsons Pereira Perry Pham Porter Price Quinn Reed Reyes Richter Riley Romero
Russo Santos Sato Schmidt Scott Shah Silva Singh Sorensen Stone Sullivan Suzuki Tan Thorne Tran
Turner Vance Vargas Vogel Wagner Walsh Ward Watts Weber Wells West Wolff Wood Wright Young Zhang Ziegler""".split()

TRAITS = """kind curious patient cheerful careful talkative quiet thoughtful generous practical funny shy
ambitious calm energetic honest stubborn organised creative sensible warm reserved witty loyal easygoing
meticulous restless optimistic sceptical gentle brisk sociable dreamy punctual helpful frank proud
independent earnest playful""".split()

# hobby: (evening activity at home, outing activity, object at home or None)
HOBBIES = [
    ("reading a novel on the sofa", "browsing the shelves", "sofa"),
    ("watching a film on television", "taking a walk", "television"),
    ("knitting in the living room", "taking a walk", "sofa"),
    ("playing board games", "chatting with friends", None),
    ("writing in a journal", "reading the newspaper", "bookshelf"),
    ("listening to records", "taking a walk", "sofa"),
    ("doing a jigsaw puzzle", "reading the newspaper", None),
    ("practising the guitar", "taking a walk", "sofa"),
    ("sketching in a notebook", "sketching people passing by", "sofa"),
    ("watching the football on television", "having a drink with friends", "television"),
]


@dataclass
class Person:
    first: str
    last: str
    gender: str  # "f" or "m": the pronouns of the background text
    age: int
    household: int
    role: str  # "worker", "student", "retiree" or "remote" (works from home)
    traits: list[str] = field(default_factory=list)
    sociability: float = 0.5
    hobby: int = 0
    job: object = None  # newtown.Job for workers, the school's classroom for students
    family: dict[str, str] = field(default_factory=dict)  # name -> relation

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"

    @property
    def they(self) -> str:
        return "she" if self.gender == "f" else "he"

    @property
    def their(self) -> str:
        return "her" if self.gender == "f" else "his"

    @property
    def file_name(self) -> str:
        return f"{self.first}_{self.last}".lower().replace(" ", "_") + ".yaml"


def make_households(n: int, rng: random.Random) -> list[list[Person]]:
    """Households totalling exactly ``n`` people, each with a unique full name."""
    households: list[list[Person]] = []
    used: set[str] = set()
    surnames = SURNAMES[:]
    rng.shuffle(surnames)
    left = n

    def person(last: str, gender: str, age: int, role: str) -> Person:
        pool = FIRST_F if gender == "f" else FIRST_M
        for _ in range(200):
            first = rng.choice(pool)
            if f"{first} {last}" not in used:
                break
        else:  # pragma: no cover - 200 draws from 100 names for one surname
            first = f"{rng.choice(pool)}-{rng.choice(pool)}"
        used.add(f"{first} {last}")
        p = Person(first, last, gender, age, len(households), role)
        p.traits = rng.sample(TRAITS, 3)
        p.sociability = round(rng.uniform(0.25, 0.95), 2)
        p.hobby = rng.randrange(len(HOBBIES))
        return p

    while left > 0:
        last = surnames[len(households) % len(surnames)]
        kind = rng.choices(["single", "couple", "family", "parent", "flatmates", "retired"],
                           weights=[24, 20, 30, 6, 10, 10])[0]
        g = rng.choice("fm")
        other = "m" if g == "f" else "f"
        if kind == "single":
            members = [person(last, g, rng.randint(22, 64), "worker")]
        elif kind == "couple":
            a = rng.randint(24, 60)
            members = [person(last, g, a, "worker"), person(last, other, max(22, a + rng.randint(-4, 4)), "worker")]
        elif kind in ("family", "parent"):
            a = rng.randint(30, 52)
            members = [person(last, g, a, "worker")]
            if kind == "family":
                members.append(person(last, other, max(26, a + rng.randint(-4, 4)), "worker"))
            for _ in range(rng.choice([1, 1, 2, 2, 3])):
                members.append(person(last, rng.choice("fm"), rng.randint(6, min(17, a - 20)), "student"))
        elif kind == "flatmates":
            members = []
            for i in range(rng.choice([2, 3])):
                members.append(person(surnames[(len(households) + 37 * (i + 1)) % len(surnames)], rng.choice("fm"),
                                      rng.randint(22, 34), "worker"))
        else:
            a = rng.randint(67, 84)
            members = [person(last, g, a, "retiree")]
            if rng.random() < 0.5:
                members.append(person(last, other, max(65, a + rng.randint(-4, 4)), "retiree"))
        members = members[:left]
        for p in members:  # a few adults work from home
            if p.role == "worker" and rng.random() < 0.06:
                p.role = "remote"
        _relate_household(members, kind)
        households.append(members)
        left -= len(members)
    return households


def _relate_household(members: list[Person], kind: str) -> None:
    adults = [p for p in members if p.role != "student"]
    kids = [p for p in members if p.role == "student"]
    for p in members:
        for q in members:
            if p is q:
                continue
            if kind == "flatmates":
                rel = "a flatmate who shares the house"
            elif p in adults and q in adults:
                rel = "husband" if q.gender == "m" else "wife"
                rel = f"{p.their} {rel}"
            elif p in adults:
                rel = f"{p.their} {'daughter' if q.gender == 'f' else 'son'}, {q.age} years old"
            elif q in adults:
                rel = f"{p.their} {'mother' if q.gender == 'f' else 'father'}"
            else:
                rel = f"{p.their} {'sister' if q.gender == 'f' else 'brother'}"
            p.family[q.name] = rel


def hhmm(minutes: int) -> str:
    minutes %= 24 * 60
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@dataclass
class Job:
    """A post at a workplace: who does what where, and when (shift "early", "day" or "late")."""

    occupation: str
    sector: str
    arena: str
    object: str | None
    am: str  # the activity of the first half of the shift
    pm: str  # of the second half
    shift: str = "day"

    @property
    def place(self) -> str:
        return f"{self.sector}:{self.arena}"


@dataclass
class Spot:
    """A place with an object to use there and what one does there."""

    place: str
    object: str | None
    activity: str


@dataclass
class Home:
    sector: str
    bedroom: str  # addresses
    kitchen: str
    living: str


def _block(start: int, end: int, activity: str, place: str, obj: str | None = None) -> dict:
    b = {"start": hhmm(start), "end": hhmm(end), "activity": activity, "place": place}
    if obj:
        b["object"] = obj
    return b


def routine(p: Person, home: Home, lunch: Spot, errand: Spot, outing: Spot, rng: random.Random
            ) -> tuple[int, int, list[dict]]:
    """(wake, sleep, routine blocks) of a weekday, in minutes since midnight and persona-file blocks."""
    hob_home, _, hob_obj = HOBBIES[p.hobby]
    b = []
    if p.role == "student":
        start = rng.choice([450, 460])  # 07:30, 07:40
        wake = start - 50
        sleep = 20 * 60 + 30 + min(90, max(0, (p.age - 8) * 15))
        room = p.job
        b += [_block(wake, wake + 20, "getting dressed for school", home.bedroom),
              _block(wake + 20, start, "eating breakfast with the family", home.kitchen, "kitchen table"),
              _block(start, 720, "having lessons", room.place, "study desk"),
              _block(720, 765, "eating lunch with classmates", room.lunch, "dining table"),
              _block(765, 900, "having afternoon lessons", room.place, "study desk"),
              _block(900, 990, outing.activity, outing.place, outing.object),
              _block(990, 1080, "doing homework", home.bedroom, "desk"),
              _block(1080, 1140, "eating dinner with the family", home.kitchen, "kitchen table"),
              _block(1140, sleep, hob_home, home.living, hob_obj)]
        return wake, sleep, b
    if p.role == "retiree":
        wake = rng.choice([390, 420, 450])
        sleep = rng.choice([1290, 1320, 1350])
        b += [_block(wake, wake + 30, "getting up slowly and dressing", home.bedroom),
              _block(wake + 30, wake + 90, "making breakfast and reading the news", home.kitchen, "kitchen table"),
              _block(wake + 90, 660, hob_home, home.living, hob_obj),
              _block(660, 750, outing.activity, outing.place, outing.object),
              _block(750, 810, lunch.activity, lunch.place, lunch.object),
              _block(810, 900, "taking an afternoon nap on the sofa", home.living, "sofa"),
              _block(900, 990, errand.activity, errand.place, errand.object),
              _block(990, 1080, "pottering about the house", home.living),
              _block(1080, 1140, "cooking and eating dinner", home.kitchen, "stove"),
              _block(1140, sleep, hob_home, home.living, hob_obj)]
        return wake, sleep, b
    job: Job = p.job
    if job.shift == "early":
        start = rng.choice([330, 360])
    elif job.shift == "late":
        start = rng.choice([690, 720])
    else:
        start = rng.choices([420, 435, 450, 465, 480, 510, 540], weights=[2, 2, 3, 2, 2, 2, 1])[0]
    wake = start - rng.choice([60, 75, 90])
    mid = start + 240
    end = start + 510
    b += [_block(wake, wake + 30, "getting ready for the day", home.bedroom),
          _block(wake + 30, start, "having breakfast", home.kitchen, "kitchen table"),
          _block(start, mid, job.am, job.place, job.object),
          _block(mid, mid + 45, lunch.activity, lunch.place, lunch.object),
          _block(mid + 45, end, job.pm, job.place, job.object)]
    after = errand if rng.random() < 0.5 else outing
    b.append(_block(end, end + 60, after.activity, after.place, after.object))
    b.append(_block(end + 60, end + 120, "cooking and eating dinner", home.kitchen, "stove"))
    sleep = max(end + 150, rng.choice([1320, 1350, 1380]))
    b.append(_block(end + 120, sleep, hob_home, home.living, hob_obj))
    return wake, sleep % (24 * 60), b


def persona(p: Person, home: Home, wake: int, sleep: int, blocks: list[dict], favourites: list[str],
            friends: dict[str, str], rng: random.Random) -> dict:
    """The persona file of ``p`` as a mapping (docs/PERSONAS.md)."""
    they, their = p.they, p.their
    others = list(p.family)
    if not others:
        living = f"{they.capitalize()} lives alone at {home.sector}."
    elif len(others) == 1:
        living = f"{they.capitalize()} lives at {home.sector} with {p.family[others[0]].split(',')[0]}, {others[0]}."
    else:
        living = f"{they.capitalize()} lives at {home.sector} with {', '.join(others[:-1])} and {others[-1]}."
    if p.role == "student":
        occupation = "pupil"
        what = f"{p.name} is {p.age} and goes to {p.job.sector}."
    elif p.role == "retiree":
        occupation = "retired"
        what = f"{p.name} is {p.age} and has retired; {they} likes a settled daily rhythm."
    else:
        occupation = p.job.occupation
        at = "from home" if p.role == "remote" else f"at {p.job.sector}"
        what = f"{p.name} is a {p.age}-year-old {occupation} who works {at}."
    t1, t2, t3 = p.traits
    hobby = HOBBIES[p.hobby][0]
    background = (f"{what} {living} {they.capitalize()} is {t1}, {t2} and {t3}, and in the evenings "
                  f"{they} often ends up {hobby}.")
    rel = dict(p.family)
    rel.update({k: v for k, v in friends.items() if k not in rel})
    memories = [f"{p.name} usually spends the evening {hobby}."]
    if p.role in ("worker", "remote"):
        memories.append(f"{p.name} has been {p.job.am} most mornings this month.")
    elif p.role == "student":
        memories.append(f"{p.name} has a test at school at the end of the week.")
    else:
        memories.append(f"{p.name} enjoys {blocks[3]['activity']} before lunch.")
    if friends:
        k = sorted(friends)[rng.randrange(len(friends))]
        memories.append(f"{p.name} has been meaning to catch up with {k}, {friends[k]}.")
    return {
        "name": p.name, "age": p.age, "traits": p.traits, "sociability": p.sociability,
        "background": background, "occupation": occupation,
        "lifestyle": {"wake": hhmm(wake), "sleep": hhmm(sleep), "routine": blocks},
        "home": home.bedroom,
        "workplace": p.job.place if p.role in ("worker", "remote") else None,
        "favourites": favourites, "relationships": rel, "first_memories": memories,
    }
