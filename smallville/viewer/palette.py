"""Colours and short names: stable across runs (blake2b of the name, never ``hash()``)."""

from __future__ import annotations

import colorsys
import hashlib

RGB = tuple[int, int, int]

# arena kind -> tint (light, so people drawn in saturated colours stand out)
KIND_COLOURS: dict[str, RGB] = {
    "bedroom": (236, 128, 160), "living": (240, 160, 100), "kitchen": (245, 215, 90),
    "dining": (240, 190, 120), "cafe": (240, 150, 50), "bar": (215, 110, 50),
    "shop": (90, 190, 225), "storage": (150, 150, 150), "classroom": (120, 200, 110),
    "library": (140, 120, 230), "office": (100, 150, 240), "studio": (210, 120, 240),
    "hall": (235, 235, 235), "park": (150, 220, 100), "garden": (240, 180, 220),
    "bathroom": (120, 210, 220), "room": (200, 190, 170),
}

WALL: RGB = (74, 62, 56)
FLOOR: RGB = (214, 206, 190)  # walkable tile in no arena: streets and paths
VOID: RGB = (40, 44, 52)
BACKGROUND: RGB = (28, 31, 38)


def digest(text: str) -> bytes:
    """8 bytes of blake2b: the same for a text in every run and process."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest()


def agent_colour(name: str) -> RGB:
    """A saturated colour for a resident, the same in every run and on every machine."""
    d = digest(name)
    hue = int.from_bytes(d[:2], "big") / 65536.0
    sat = 0.62 + 0.30 * d[2] / 255.0
    val = 0.78 + 0.20 * d[3] / 255.0
    r, g, b = colorsys.hsv_to_rgb(hue, sat, val)
    return int(r * 255), int(g * 255), int(b * 255)


def agent_accent(name: str) -> RGB:
    """A second colour (the sprite's ring), far in hue from the first: two colours tell 25 people apart."""
    d = digest(name)
    first = int.from_bytes(d[:2], "big") / 65536.0
    hue = int.from_bytes(d[4:6], "big") / 65536.0
    if min(abs(hue - first), 1 - abs(hue - first)) < 0.2:
        hue = (hue + 0.5) % 1.0
    val = 0.55 + 0.45 * d[6] / 255.0
    r, g, b = colorsys.hsv_to_rgb(hue, 0.55 + 0.4 * d[7] / 255.0, val)
    return int(r * 255), int(g * 255), int(b * 255)


def kind_colour(kind: str) -> RGB:
    """The tint of an arena kind; unknown kinds get a stable pastel."""
    k = (kind or "room").lower()
    if k in KIND_COLOURS:
        return KIND_COLOURS[k]
    d = digest("kind:" + k)
    r, g, b = colorsys.hsv_to_rgb(d[0] / 255.0, 0.35, 0.9)
    return int(r * 255), int(g * 255), int(b * 255)


def initials(name: str) -> str:
    parts = [p for p in name.replace("-", " ").split() if p]
    if not parts:
        return "?"
    if len(parts) == 1:
        return parts[0][:2].upper()
    return (parts[0][0] + parts[-1][0]).upper()


def first_name(name: str) -> str:
    return name.split()[0] if name.split() else name


def luminance(c: RGB) -> float:
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]


def text_on(c: RGB) -> RGB:
    """Black or white, whichever reads better on ``c``."""
    return (20, 20, 24) if luminance(c) > 150 else (255, 255, 255)


def shade(c: RGB, f: float) -> RGB:
    """Darker (f < 1) or lighter (f > 1) version of a colour."""
    if f <= 1:
        return tuple(int(v * f) for v in c)  # type: ignore[return-value]
    return tuple(int(v + (255 - v) * (f - 1)) for v in c)  # type: ignore[return-value]
