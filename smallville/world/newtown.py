"""Generate a plausible town of any size: a Tiled map, persona files and a world file.

    python -m smallville new-town --residents 250 --seed 1 --out worlds/town250

writes ``OUT/town.tmj`` and ``OUT/tileset.png`` (the map, drawn with the hand-laid town's
tileset and layer conventions, see docs/MAPS.md), ``OUT/personas/*.yaml`` (one per resident,
see docs/PERSONAS.md and :mod:`smallville.world.newfolk`) and ``OUT/world.yaml``. The same
``--residents`` and ``--seed`` give byte-identical files.

The town is a grid of streets. Between two streets stand two rows of buildings back to back,
each with its front door facing its street: houses (one per household, a bedroom with one
bed for each member, a kitchen and a living room), workplaces that are also the town's shops
and meeting places (cafes, diners, pubs, bakeries, grocers, pharmacies, bookshops, offices,
workshops, clinics, schools, libraries, a town hall) and parks. There are as many posts as
working residents, a school seat for every child, and at least one park per sixty residents.
Outside the buildings everything is grass, paths and streets, so every room can be reached.
"""

from __future__ import annotations

import math
import random
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from smallville.errors import SmallvilleError
from smallville.world import newfolk
from smallville.world.newfolk import Home, Job, Spot
from smallville.world.tileset import tileset_pixels, write_png
from smallville.world.townmap import Town, to_tmj

MAX_RESIDENTS = 5000
WORDS = """Juniper Linden Rowan Hazel Aspen Poplar Larch Alder Beacon Chestnut Fern Bluebell Copper Meadow
Orchard Station Bridge Harbour Hilltop Lantern Kingfisher Heron Sunrise Riverside Northgate Southgate
Greenway Millbrook Foxglove Thistle Sparrow Wren Lark Clover Bramble Ivy Holly Quarry Canal Windmill Beech
Sycamore Acorn Primrose Marigold Saffron Amber Granite Slate Cobble Brook Fairfield Ashford Kestrel Otter
Badger Falcon Starling Robin Lavender Rosemary Tansy Sorrel Yarrow Mallow Hawthorn Elder Blackthorn
Hornbeam Cypress Cedar Pine Spruce Fir Laurel Myrtle Olive Magnolia Camellia Heather Gorse Sedge Reed
Rush Willowherb Goldcrest Nuthatch Dipper Plover Curlew Lapwing Swift Martin Swallow Finch Linnet""".split()
ROADS = ["Road", "Street", "Lane", "Avenue", "Way"]

# ---------------------------------------------------------------------------------------
# Buildings: inner rows of rooms [(height, [(arena, width), ...])], kinds, objects, posts
# ---------------------------------------------------------------------------------------
# A post: (occupation, arena, object, morning activity, afternoon activity, shift, how many)
WORKPLACES: dict[str, dict] = {
    "cafe": {
        "name": "{} Cafe", "rows": [(7, [("cafe", 10), ("cafe kitchen", 5)])],
        "kinds": {"cafe": "cafe", "cafe kitchen": "kitchen"},
        "objects": {"cafe": ["cafe counter", "coffee machine", "cafe table", "cafe table", "cafe table"],
                    "cafe kitchen": ["stove", "refrigerator", "sink"]},
        "posts": [("barista", "cafe", "coffee machine", "making coffee for the morning rush",
                   "serving customers and wiping tables", "early", 2),
                  ("cafe cook", "cafe kitchen", "stove", "baking pastries", "making sandwiches", "early", 1)],
        "meal": ("cafe", "cafe table", "having lunch at {}"),
    },
    "diner": {
        "name": "{} Diner", "rows": [(8, [("dining room", 11), ("diner kitchen", 5)])],
        "kinds": {"dining room": "dining", "diner kitchen": "kitchen"},
        "objects": {"dining room": ["serving counter", "dining table", "dining table", "dining table", "dining table"],
                    "diner kitchen": ["stove", "stove", "refrigerator", "sink"]},
        "posts": [("cook", "diner kitchen", "stove", "preparing the lunch dishes", "cooking orders", "day", 2),
                  ("waiter", "dining room", "serving counter", "setting tables and taking orders",
                   "serving meals to diners", "late", 2)],
        "meal": ("dining room", "dining table", "eating lunch at {}"),
    },
    "pub": {
        "name": "The {} Arms", "rows": [(8, [("bar", 12), ("pub kitchen", 4)])],
        "kinds": {"bar": "bar", "pub kitchen": "kitchen"},
        "objects": {"bar": ["bar counter", "pub table", "pub table", "pub table", "dartboard"],
                    "pub kitchen": ["stove", "sink"]},
        "posts": [("bartender", "bar", "bar counter", "restocking the bar", "pulling pints and chatting with regulars",
                   "late", 2),
                  ("pub cook", "pub kitchen", "stove", "cooking pub lunches", "cooking evening meals", "late", 1)],
        "meal": ("bar", "pub table", "having a pub lunch at {}"),
        "outing": ("bar", "pub table", "having a drink at {}"),
    },
    "bakery": {
        "name": "{} Bakery", "rows": [(6, [("bakery shop", 8), ("bakehouse", 6)])],
        "kinds": {"bakery shop": "shop", "bakehouse": "kitchen"},
        "objects": {"bakery shop": ["bakery counter", "bread shelf", "bread shelf"],
                    "bakehouse": ["stove", "stove", "kneading table"]},
        "posts": [("baker", "bakehouse", "stove", "baking bread and rolls", "making cakes for tomorrow", "early", 2),
                  ("shop assistant", "bakery shop", "bakery counter", "selling fresh bread",
                   "serving customers and tidying the shelves", "day", 1)],
        "errand": ("bakery shop", "bread shelf", "buying bread at {}"),
    },
    "grocer": {
        "name": "{} Grocers", "rows": [(7, [("shop floor", 11), ("storeroom", 4)])],
        "kinds": {"shop floor": "shop", "storeroom": "storage"},
        "objects": {"shop floor": ["checkout counter", "grocery shelf", "grocery shelf", "grocery shelf"],
                    "storeroom": ["crate", "crate", "storage shelf"]},
        "posts": [("cashier", "shop floor", "checkout counter", "serving customers at the till",
                   "serving customers and counting the till", "day", 2),
                  ("stock clerk", "storeroom", "crate", "unpacking deliveries", "restocking the shelves", "early", 1)],
        "errand": ("shop floor", "grocery shelf", "buying groceries at {}"),
    },
    "pharmacy": {
        "name": "{} Pharmacy", "rows": [(6, [("pharmacy", 9), ("dispensary", 5)])],
        "kinds": {"pharmacy": "shop", "dispensary": "storage"},
        "objects": {"pharmacy": ["pharmacy counter", "medicine shelf", "medicine shelf"],
                    "dispensary": ["storage shelf", "desk"]},
        "posts": [("pharmacist", "dispensary", "desk", "preparing prescriptions", "advising customers on medicines",
                   "day", 1),
                  ("pharmacy assistant", "pharmacy", "pharmacy counter", "serving customers",
                   "restocking the shelves", "day", 1)],
        "errand": ("pharmacy", "medicine shelf", "picking up a few things at {}"),
    },
    "bookshop": {
        "name": "{} Books", "rows": [(6, [("bookshop", 10), ("back office", 4)])],
        "kinds": {"bookshop": "shop", "back office": "office"},
        "objects": {"bookshop": ["bookshop counter", "bookshelf", "bookshelf", "armchair"],
                    "back office": ["desk", "filing cabinet"]},
        "posts": [("bookseller", "bookshop", "bookshop counter", "arranging new books",
                   "recommending books to customers", "day", 2)],
        "errand": ("bookshop", "bookshelf", "browsing the shelves at {}"),
    },
    "hardware": {
        "name": "{} Hardware", "rows": [(6, [("hardware store", 10), ("stockroom", 4)])],
        "kinds": {"hardware store": "shop", "stockroom": "storage"},
        "objects": {"hardware store": ["hardware counter", "tool shelf", "tool shelf"],
                    "stockroom": ["crate", "storage shelf"]},
        "posts": [("hardware clerk", "hardware store", "hardware counter", "cutting keys and mixing paint",
                   "helping customers find tools", "day", 2)],
        "errand": ("hardware store", "tool shelf", "buying screws and paint at {}"),
    },
    "office": {
        "name": "{} Associates", "rows": [(7, [("open office", 11), ("meeting room", 6)])],
        "kinds": {"open office": "office", "meeting room": "office"},
        "objects": {"open office": ["desk", "desk", "desk", "desk", "filing cabinet"],
                    "meeting room": ["meeting table", "whiteboard"]},
        "posts": [],  # filled from OFFICE_TRADES
    },
    "workshop": {
        "name": "{} Workshop", "rows": [(7, [("workshop", 11), ("tool store", 4)])],
        "kinds": {"workshop": "studio", "tool store": "storage"},
        "objects": {"workshop": ["workbench", "workbench", "lathe", "tool shelf"],
                    "tool store": ["crate", "storage shelf"]},
        "posts": [("carpenter", "workshop", "workbench", "cutting timber for a cabinet", "sanding and varnishing",
                   "day", 2),
                  ("bicycle mechanic", "workshop", "workbench", "repairing bicycles", "fitting new tyres", "day", 1)],
    },
    "clinic": {
        "name": "{} Clinic", "rows": [(6, [("waiting room", 9), ("consulting room", 6)])],
        "kinds": {"waiting room": "hall", "consulting room": "office"},
        "objects": {"waiting room": ["reception desk", "chairs", "chairs"],
                    "consulting room": ["desk", "examination table"]},
        "posts": [("doctor", "consulting room", "desk", "seeing patients", "writing up notes and seeing patients",
                   "day", 1),
                  ("nurse", "consulting room", "examination table", "taking blood samples", "dressing wounds",
                   "day", 1),
                  ("receptionist", "waiting room", "reception desk", "booking appointments",
                   "answering the phone", "day", 1)],
    },
    "library": {
        "name": "{} Library", "rows": [(7, [("reading room", 10), ("stacks", 6)])],
        "kinds": {"reading room": "library", "stacks": "library"},
        "objects": {"reading room": ["library counter", "reading desk", "reading desk", "reading desk"],
                    "stacks": ["bookshelf", "bookshelf", "bookshelf"]},
        "posts": [("librarian", "reading room", "library counter", "cataloguing new books",
                   "helping readers find books", "day", 2)],
        "outing": ("reading room", "reading desk", "reading at {}"),
    },
    "townhall": {
        "name": "{} Town Hall", "rows": [(7, [("council chamber", 10), ("town hall office", 6)])],
        "kinds": {"council chamber": "hall", "town hall office": "office"},
        "objects": {"council chamber": ["podium", "chairs", "chairs"],
                    "town hall office": ["desk", "desk", "filing cabinet"]},
        "posts": [("town clerk", "town hall office", "desk", "processing permits", "answering residents' letters",
                   "day", 2)],
    },
}
OFFICE_TRADES = [("accountant", "balancing clients' books", "preparing tax returns"),
                 ("architect", "drawing plans for a new house", "meeting a client about an extension"),
                 ("insurance agent", "handling claims", "calling clients about their policies"),
                 ("software developer", "writing code", "reviewing a colleague's code"),
                 ("solicitor", "drafting contracts", "advising a client"),
                 ("journalist", "writing an article for the local paper", "interviewing people by phone"),
                 ("graphic designer", "designing posters", "revising a logo for a client")]
OFFICE_NAMES = {"accountant": "{} Accountants", "architect": "{} Architects", "insurance agent": "{} Insurance",
                "software developer": "{} Software", "solicitor": "{} Solicitors", "journalist": "The {} Gazette",
                "graphic designer": "{} Design"}
REMOTE = [("freelance translator", "translating a manual", "translating letters"),
          ("novelist", "writing a chapter", "revising yesterday's pages"),
          ("illustrator", "drawing illustrations for a children's book", "inking drawings")]
# how often each workplace is chosen for the next posts (schools, parks come from the head count)
MIX = [("cafe", 3), ("diner", 2), ("pub", 2), ("bakery", 2), ("grocer", 3), ("pharmacy", 1), ("bookshop", 1),
       ("hardware", 1), ("office", 6), ("workshop", 2), ("clinic", 2), ("library", 1), ("townhall", 0)]
SCHOOL_ROWS = [(5, [("school hall", 11), ("staff room", 7)]), (5, [("classroom 1", 9), ("classroom 2", 9)])]
SCHOOL_KINDS = {"school hall": "hall", "staff room": "office", "classroom 1": "classroom", "classroom 2": "classroom"}
SCHOOL_OBJECTS = {"school hall": ["dining table", "dining table", "dining table"],
                  "staff room": ["desk", "coffee machine"],
                  "classroom 1": ["blackboard", "study desk", "study desk", "study desk", "study desk"],
                  "classroom 2": ["blackboard", "study desk", "study desk", "study desk", "study desk"]}
PUPILS_PER_SCHOOL = 60
PARK_SIZE = (22, 13)
ROW_H = 13  # the tallest building's footprint: every building fits a row of this height
SEGMENT_W = 60  # width of the building rows between two north-south streets
ROAD = 3


@dataclass
class Building:
    sector: str
    rows: list  # [(height, [(arena, width), ...])]; empty for a park
    kinds: dict[str, str]
    objects: dict[str, list[str]]
    kind: str  # "house", "park", "school" or a WORKPLACES key
    size: tuple[int, int] = (0, 0)  # footprint, walls included
    members: list = field(default_factory=list)  # the household of a house
    pos: tuple[int, int, str] = (0, 0, "N")  # x0, y0, the side of its front door
    street: str = ""

    def __post_init__(self):
        if self.rows:
            widths = {sum(w for _, w in cells) + len(cells) - 1 for _, cells in self.rows}
            assert len(widths) == 1, (self.sector, widths)
            self.size = (widths.pop() + 2, sum(h for h, _ in self.rows) + len(self.rows) + 1)

    @property
    def centre(self) -> tuple[float, float]:
        return self.pos[0] + self.size[0] / 2, self.pos[1] + self.size[1] / 2

    def address(self, arena: str) -> str:
        return f"{self.sector}:{arena}"


@dataclass
class SchoolSeat:
    sector: str
    place: str  # the classroom's address
    lunch: str  # the school hall's address


class Names:
    """Unique sector names from a pattern and the word list."""

    def __init__(self, rng: random.Random):
        self.rng, self.used = rng, set()

    def make(self, pattern: str) -> str:
        words = WORDS[:]
        self.rng.shuffle(words)
        for w in words:
            name = pattern.format(w)
            if name not in self.used:
                self.used.add(name)
                return name
        k = 2
        while pattern.format(f"{words[0]} {k}") in self.used:
            k += 1
        name = pattern.format(f"{words[0]} {k}")
        self.used.add(name)
        return name


def house(members: list) -> Building:
    """A house for a household: living room and kitchen in front, a bedroom each behind."""
    k = len(members)
    inner = max(9, 5 * k - 1)
    widths = [(inner - (k - 1)) // k + (1 if i < (inner - (k - 1)) % k else 0) for i in range(k)]
    firsts = [p.first for p in members]
    bedrooms = [f"{p.first}'s bedroom" if firsts.count(p.first) == 1 else f"{p.name}'s bedroom" for p in members]
    kitchen_w = 4 if inner < 12 else 5
    rows = [(5, [("living room", inner - kitchen_w - 1), ("kitchen", kitchen_w)]),
            (4, list(zip(bedrooms, widths)))]
    kinds = {"living room": "living", "kitchen": "kitchen", **{b: "bedroom" for b in bedrooms}}
    objects = {"living room": ["sofa", "television", "bookshelf"], "kitchen": ["stove", "refrigerator", "kitchen table"],
               **{b: ["bed", "desk"] for b in bedrooms}}
    return Building("", rows, kinds, objects, "house", members=members)


def park(name: str) -> Building:
    b = Building(name, [], {"park": "park"}, {"park": ["fountain", "bench", "bench", "bench", "flower bed"]}, "park")
    b.size = PARK_SIZE
    return b


def plan_buildings(households: list[list], rng: random.Random) -> list[Building]:
    """Every building of the town; each worker gets a post at a workplace (``job``), each
    child a classroom."""
    names = Names(rng)
    people = [p for h in households for p in h]
    workers = [p for p in people if p.role == "worker"]
    pupils = [p for p in people if p.role == "student"]
    buildings = [house(h) for h in households]
    posts: list[Job] = []
    kinds_present: set[str] = set()

    def workplace(kind: str) -> None:
        spec = WORKPLACES[kind]
        plist = list(spec["posts"])
        pattern = spec["name"]
        if kind == "office":
            occ, am, pm = OFFICE_TRADES[rng.randrange(len(OFFICE_TRADES))]
            plist = [(occ, "open office", "desk", am, pm, "day", 3), ("office manager", "open office", "filing cabinet",
                      "sorting the post and answering calls", "keeping the accounts", "day", 1)]
            pattern = OFFICE_NAMES[occ]
        b = Building(names.make(pattern), spec["rows"], spec["kinds"], spec["objects"], kind)
        buildings.append(b)
        kinds_present.add(kind)
        for occ, arena, obj, am, pm, shift, count in plist:
            posts.extend(Job(occ, b.sector, arena, obj, am, pm, shift) for _ in range(count))

    # the essentials first, then the mix, until there is a post for everyone who works
    for kind in ("grocer", "cafe", "library", "townhall"):
        workplace(kind)
    bag = [k for k, w in MIX for _ in range(w)]
    while len(posts) < len(workers):
        workplace(rng.choice(bag))
    n_schools = max(1, math.ceil(len(pupils) / PUPILS_PER_SCHOOL)) if pupils else 0
    schools = []
    for _ in range(n_schools):
        b = Building(names.make("{} School"), SCHOOL_ROWS, SCHOOL_KINDS, SCHOOL_OBJECTS, "school")
        buildings.append(b)
        schools.append(b)
        posts.append(Job("head teacher", b.sector, "staff room", "desk", "meeting parents",
                         "planning next term's timetable", "day"))
        for room in ("classroom 1", "classroom 2"):
            posts.append(Job("teacher", b.sector, room, "blackboard", "teaching a lesson", "marking homework", "day"))
    for i in range(max(1, round(len(people) / 60))):
        buildings.append(park(names.make(["{} Park", "{} Green", "{} Gardens"][i % 3])))
    # residents who work: the posts in a shuffled order; children: a classroom of a school
    rng.shuffle(posts)
    for p, job in zip(workers, posts):
        p.job = job
    assert len(posts) >= len(workers)  # the loop above made a post for everyone who works
    for i, p in enumerate(pupils):
        s = schools[i % len(schools)]
        p.job = SchoolSeat(s.sector, s.address(f"classroom {1 + (i // len(schools)) % 2}"), s.address("school hall"))
    return buildings


# ---------------------------------------------------------------------------------------
# Layout: blocks between east-west streets, segments between north-south streets
# ---------------------------------------------------------------------------------------
def pack(buildings: list[Building]) -> list[list[Building]]:
    """Rows of buildings, first fit in order, each row at most one segment wide."""
    rows: list[list[Building]] = [[]]
    used = 0
    for b in buildings:
        need = b.size[0] + (2 if rows[-1] else 0)
        if used + need > SEGMENT_W - 2:
            rows.append([])
            used, need = 0, b.size[0]
        rows[-1].append(b)
        used += need
    return rows


def layout(buildings: list[Building], rng: random.Random) -> Town:
    order = buildings[:]
    rng.shuffle(order)
    rows = pack(order)
    # nx segments side by side, two rows each per block: about 3 wide for 2 high
    nx = max(1, round(math.sqrt(0.4 * len(rows))))
    blocks = [rows[i:i + 2 * nx] for i in range(0, len(rows), 2 * nx)]
    pitch = ROAD + 1 + ROW_H + 2 + ROW_H + 1
    width = nx * (SEGMENT_W + ROAD) + ROAD + 2
    height = len(blocks) * pitch + ROAD + 2
    words = WORDS[:]
    rng.shuffle(words)
    streets = [f"{words[i % len(words)]} {ROADS[i % len(ROADS)]}" for i in range(len(blocks) + 1)]
    numbers: dict[tuple[str, str], int] = {}
    # the houses get their street address as their name (known only now)
    for j, block in enumerate(blocks):
        y_road = 1 + j * pitch
        for r, row in enumerate(block):
            seg, side = divmod(r, 2)
            x = 1 + seg * (SEGMENT_W + ROAD) + ROAD + 1
            for b in row:
                if side == 0:
                    street, y0, door = streets[j], y_road + ROAD + 1, "N"
                else:
                    street, door = streets[j + 1], "S"
                    y0 = y_road + pitch - 2 - b.size[1] + 1
                b.pos, b.street = (x, y0, door), street
                if b.kind == "house":
                    key = (street, door)
                    numbers[key] = numbers.get(key, -1 if door == "N" else 0) + 2
                    b.sector = f"{numbers[key]} {street}"
                x += b.size[0] + 2
    places = {b.sector: {"arenas": {a: {"kind": k, "objects": b.objects[a]} for a, k in b.kinds.items()}}
              for b in buildings}
    t = Town(places, width, height)
    for j in range(len(blocks) + 1):
        t.fill((1, 1 + j * pitch, width - 2, min(height - 2, 1 + j * pitch + ROAD - 1)), "road")
    for i in range(nx + 1):
        x = 1 + i * (SEGMENT_W + ROAD)
        t.fill((x, 1, min(width - 2, x + ROAD - 1), height - 2), "road")
    for b in buildings:
        place_building(t, b)
    t.walkways()
    placed = {(s, a) for s, a, *_ in t.objects}
    for sector, name, kind, rect in t.arenas:
        if (sector, name) not in placed:
            t.furnish(sector, name)
    t.spawns.append(("town square", 1 + (nx // 2) * (SEGMENT_W + ROAD) + 1, 1 + (len(blocks) // 2) * pitch + 1))
    t.decorate(seed=rng.randrange(1 << 30), tree_rate=0.08)
    for x in range(width):
        t.ground[0][x] = t.ground[height - 1][x] = "tree"
    for y in range(height):
        t.ground[y][0] = t.ground[y][width - 1] = "tree"
    return t


def place_building(t: Town, b: Building) -> None:
    x0, y0, side = b.pos
    if b.kind == "park":
        w, h = b.size
        rect = (x0, y0, x0 + w - 1, y0 + h - 1)
        t.sectors.append((b.sector, rect))
        t.add_arena(b.sector, "park", rect)
        cx, cy = x0 + w // 2, y0 + h // 2
        t.fill((x0, cy, x0 + w - 1, cy), "dirt")
        t.fill((cx, y0, cx, y0 + h - 1), "dirt")
        for y in range(cy - 2, cy + 3):
            for x in range(cx - 3, cx + 4):
                if (x - cx) ** 2 / 9 + (y - cy) ** 2 / 4 <= 1:
                    t.ground[y][x] = "plaza"
        t.put(b.sector, "park", "fountain", cx, cy)
        t.put(b.sector, "park", "bench", cx - 4, cy - 2)
        t.put(b.sector, "park", "bench", cx + 4, cy - 2)
        t.put(b.sector, "park", "bench", cx - 4, cy + 2)
        t.put(b.sector, "park", "flower bed", x0 + 2, y0 + 2)
        return
    rows = b.rows if side == "N" else b.rows[::-1]
    # x ranges of each cell, relative to the building's inner left edge
    spans = []
    for _, cells in rows:
        x, row = 0, []
        for name, w in cells:
            row.append((name, x, x + w - 1))
            x += w + 1
        spans.append(row)
    entrance_row = 0 if side == "N" else len(rows) - 1
    entrance = rows[entrance_row][1][0][0]
    doors = [(entrance, side, None)]
    row = spans[entrance_row]
    doors += [(row[i][0], row[i + 1][0], None) for i in range(len(row) - 1)]
    order = sorted(range(len(rows)), key=lambda i: abs(i - entrance_row))
    for i in order[1:]:
        nearer = spans[i - 1] if i > entrance_row else spans[i + 1]
        for name, a0, a1 in spans[i]:
            best = max(nearer, key=lambda c: min(a1, c[2]) - max(a0, c[1]))
            doors.append((name, best[0], None))
    t.building(b.sector, x0, y0, rows, doors)


# ---------------------------------------------------------------------------------------
# The whole town
# ---------------------------------------------------------------------------------------
@dataclass
class Generated:
    world_file: Path
    residents: int
    size: tuple[int, int]
    buildings: dict[str, int]  # kind -> count


def _jobs_near_home(households: list[list], by_sector: dict[str, Building], rng: random.Random) -> None:
    """Hand the posts out again now that the map is laid out: each worker in turn (a seeded
    order) takes one of the three free posts nearest home, so most people work nearby."""
    home_of = {p.name: b.centre for b in by_sector.values() if b.kind == "house" for p in b.members}
    workers = [p for h in households for p in h if p.role == "worker"]
    free = [p.job for p in workers]
    rng.shuffle(workers)
    for p in workers:
        hx, hy = home_of[p.name]
        ranked = sorted(range(len(free)), key=lambda i: (abs(by_sector[free[i].sector].centre[0] - hx)
                                                         + abs(by_sector[free[i].sector].centre[1] - hy), i))
        p.job = free.pop(ranked[rng.randrange(min(3, len(ranked)))])


def _nearest(spots: list[tuple[tuple[float, float], Spot]], at: tuple[float, float], rng: random.Random,
             among: int = 3) -> Spot:
    ranked = sorted(spots, key=lambda s: (abs(s[0][0] - at[0]) + abs(s[0][1] - at[1]), s[1].place))
    return ranked[rng.randrange(min(among, len(ranked)))][1]


def generate(residents: int, seed: int, out: str | Path, force: bool = False) -> Generated:
    """Write a town of ``residents`` people into the directory ``out`` (see the module doc)."""
    if not 1 <= residents <= MAX_RESIDENTS:
        raise SmallvilleError(f"--residents: expected a number from 1 to {MAX_RESIDENTS}, got {residents}")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise SmallvilleError(f"--out {out}: exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise SmallvilleError(f"--out {out}: the directory exists and is not empty (pass --force to overwrite)")
    rng = random.Random(seed)
    households = newfolk.make_households(residents, rng)
    buildings = plan_buildings(households, rng)
    town = layout(buildings, rng)
    by_sector = {b.sector: b for b in buildings}
    _jobs_near_home(households, by_sector, rng)

    def spots(key: str) -> list:
        found = []
        for b in buildings:
            spec = WORKPLACES.get(b.kind, {})
            if key in spec:
                arena, obj, act = spec[key]
                found.append((b.centre, Spot(b.address(arena), obj, act.format(b.sector))))
        return found

    meals, errands = spots("meal"), spots("errand")
    parks = [(b.centre, Spot(b.address("park"), "bench", f"taking a walk in {b.sector}"))
             for b in buildings if b.kind == "park"]
    outings = parks + spots("outing")
    homes: dict[str, Home] = {}
    house_of: dict[str, Building] = {}
    for b in buildings:
        if b.kind == "house":
            bedrooms = [a for a in b.kinds if b.kinds[a] == "bedroom"]  # in the order of the members
            for p, bedroom in zip(b.members, bedrooms):
                homes[p.name] = Home(b.sector, b.address(bedroom), b.address("kitchen"), b.address("living room"))
                house_of[p.name] = b
    people = [p for h in households for p in h]
    for p in people:
        if p.role == "remote":
            occ, am, pm = REMOTE[rng.randrange(len(REMOTE))]
            h = homes[p.name]
            p.job = Job(occ, h.sector, h.bedroom.split(":", 1)[1], "desk", am, pm, "day")
    # relationships beyond the household: co-workers, classmates, next-door neighbours
    by_place: dict[str, list] = {}
    for p in people:
        if p.job is not None and p.role != "remote":
            by_place.setdefault(p.job.sector if p.role != "student" else p.job.place, []).append(p)
    rows: dict[tuple, list[Building]] = {}
    for b in buildings:
        rows.setdefault((b.street, b.pos[1], b.pos[2]), []).append(b)
    neighbours: dict[str, list[Building]] = {}
    for row in rows.values():
        row.sort(key=lambda b: b.pos[0])
        for i, b in enumerate(row):
            neighbours[b.sector] = [row[j] for j in (i - 1, i + 1) if 0 <= j < len(row) and row[j].kind == "house"]

    _prepare(out, force)
    entries = []
    for p in people:
        home = homes[p.name]
        hb = house_of[p.name]
        friends: dict[str, str] = {}
        if p.job is not None and p.role != "remote":
            key = p.job.sector if p.role != "student" else p.job.place
            mates = [q for q in by_place.get(key, []) if q is not p and q.name not in p.family]
            what = "a classmate" if p.role == "student" else f"a colleague at {p.job.sector}"
            for q in sorted(mates, key=lambda q: q.name)[:3]:
                friends[q.name] = what
        for nb in neighbours.get(hb.sector, []):
            adults = [q for q in nb.members if q.role != "student" or p.role == "student"]
            if adults:
                q = adults[0]
                friends[q.name] = f"a neighbour who lives next door at {nb.sector}"
        anchor = by_sector[p.job.sector].centre if p.job is not None and p.role not in ("remote",) else hb.centre
        lunch = _nearest(meals, anchor, rng)
        if p.role == "retiree" and rng.random() < 0.5:
            lunch = Spot(home.kitchen, "kitchen table", "making a light lunch at home")
        errand = _nearest(errands, hb.centre, rng)
        outing = _nearest(outings if p.role != "student" else parks, hb.centre, rng)
        if p.role == "student":
            outing = Spot(outing.place, "bench", outing.activity.replace("taking a walk in", "playing with friends in"))
        wake, sleep, blocks = newfolk.routine(p, home, lunch, errand, outing, rng)
        favourites = sorted({lunch.place, errand.place, outing.place} - {home.kitchen})
        data = newfolk.persona(p, home, wake, sleep, blocks, favourites, friends, rng)
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=110)
        _write(out / "personas" / p.file_name, text)
        entries.append(f"personas/{p.file_name}")
    _write(out / "town.tmj", to_tmj(town))
    try:
        write_png(str(out / "tileset.png"), *tileset_pixels())
    except OSError as e:
        raise SmallvilleError(f"--out {out}: cannot write: {e}") from None
    kinds: dict[str, int] = {}
    for b in buildings:
        kinds[b.kind] = kinds.get(b.kind, 0) + 1
    world = (f"# A generated town: {residents} residents, seed {seed} (python -m smallville new-town).\n"
             f"# Keys are documented in README.md (\"World files\"); unknown keys are rejected.\n"
             + yaml.safe_dump({
                 "name": f"generated town of {residents} (seed {seed})",
                 "start": "2023-02-13 07:00", "end": "2023-02-14 23:00", "tick_seconds": 10,
                 "map": "town.tmj", "seed": seed, "llm": {"backend": "auto"},
                 "residents": [{"persona": e} for e in entries]}, sort_keys=False, width=110))
    _write(out / "world.yaml", world)
    return Generated(out / "world.yaml", len(people), (town.width, town.height), kinds)


def _prepare(out: Path, force: bool) -> None:
    """Make ``out/personas`` (emptied first with ``force``), or say why not."""
    try:
        if force and (out / "personas").is_dir():
            shutil.rmtree(out / "personas")
        (out / "personas").mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise SmallvilleError(f"--out {out}: cannot write there: {e.strerror or e}") from None


def _write(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as e:
        raise SmallvilleError(f"--out {path.parent}: cannot write {path.name}: {e.strerror or e}") from None
