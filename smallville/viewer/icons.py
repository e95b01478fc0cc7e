"""Action icons: a colour-emoji font when one renders here, else small drawn glyphs.

Fonts are never assumed: the emoji font is looked up (``SMALLVILLE_EMOJI_FONT`` names a file,
or ``none`` to always draw glyphs), then each emoji is rendered once and kept only if the
result really has colour in it. Everything else gets a glyph drawn with pygame primitives.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import pygame

EMOJI_FONT_ENV = "SMALLVILLE_EMOJI_FONT"
FONT_NAMES = ["notocoloremoji", "applecoloremoji", "segoeuiemoji", "twemoji", "twittercoloremoji", "joypixels"]
FONT_PATHS = [
    "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf",
    "/usr/share/fonts/noto/NotoColorEmoji.ttf",
    "/usr/share/fonts/google-noto-emoji/NotoColorEmoji.ttf",
    "/System/Library/Fonts/Apple Color Emoji.ttc",
    "C:/Windows/Fonts/seguiemj.ttf",
]
CANVAS = 32  # glyphs are drawn on a 32×32 canvas, then scaled

Draw = Callable[[pygame.Surface], None]


def find_emoji_font() -> str | None:
    env = os.environ.get(EMOJI_FONT_ENV)
    if env is not None:
        return None if env.strip().lower() in ("", "none", "0", "off") else env
    for p in FONT_PATHS:
        if Path(p).exists():
            return p
    try:
        found = pygame.font.match_font(FONT_NAMES)
    except (OSError, ValueError, TypeError):
        found = None
    return found or None


def normalise(emoji: str) -> str:
    """The first pictograph of an emoji (no variation selectors, no ZWJ sequence tail)."""
    e = emoji.replace("\ufe0f", "").replace("\ufe0e", "")
    return e.split("\u200d")[0][:1] if e else ""


def _is_colourful(surf: pygame.Surface) -> bool:
    w, h = surf.get_size()
    if w == 0 or h == 0:
        return False
    step = max(1, min(w, h) // 24)
    hits = 0
    for y in range(0, h, step):
        for x in range(0, w, step):
            r, g, b, a = surf.get_at((x, y))
            if a > 128 and max(r, g, b) - min(r, g, b) > 60:
                hits += 1
                if hits >= 4:
                    return True
    return False


class Icons:
    """Icon surfaces by (emoji, pixel size), cached."""

    def __init__(self, font_path: str | None | bool = True):
        if font_path is True:
            font_path = find_emoji_font()
        self.font_path: str | None = font_path or None
        self._font: pygame.font.Font | None = None
        if self.font_path:
            try:
                self._font = pygame.font.Font(self.font_path, 109)  # bitmap emoji fonts have one size
            except (OSError, pygame.error, FileNotFoundError):
                self._font = None
        self._emoji: dict[str, pygame.Surface | None] = {}
        self._cache: dict[tuple[str, int], pygame.Surface] = {}
        probe = self._emoji_surface("😀") if self._font is not None else None
        self.emoji_font = probe is not None  # a colour-emoji font renders here

    def _emoji_surface(self, e: str) -> pygame.Surface | None:
        if e not in self._emoji:
            surf = None
            if self._font is not None and e:
                try:
                    s = self._font.render(e, True, (0, 0, 0))
                    surf = s if _is_colourful(s) else None
                except pygame.error:
                    surf = None
            self._emoji[e] = surf
        return self._emoji[e]

    def icon(self, emoji: str, size: int) -> pygame.Surface:
        key = (emoji, size)
        if key in self._cache:
            return self._cache[key]
        e = normalise(emoji)
        src = self._emoji_surface(e) if self.emoji_font else None
        if src is None:
            src = pygame.Surface((CANVAS, CANVAS), pygame.SRCALPHA)
            GLYPHS.get(e, _default)(src)
        out = pygame.transform.smoothscale(src, _fit(src.get_size(), size))
        if len(self._cache) > 512:
            self._cache.clear()
        self._cache[key] = out
        return out

    def has_glyph(self, emoji: str) -> bool:
        return normalise(emoji) in GLYPHS


def _fit(wh: tuple[int, int], size: int) -> tuple[int, int]:
    w, h = wh
    k = size / max(w, h)
    return max(1, round(w * k)), max(1, round(h * k))


# ---------------------------------------------------------------- drawn glyphs (32×32)
WHITE, DARK = (250, 250, 250), (40, 36, 40)


def _sleep(s):
    for (x, y, n) in ((4, 16, 10), (15, 8, 8), (23, 2, 6)):
        pygame.draw.lines(s, (150, 190, 255), False, [(x, y), (x + n, y), (x, y + n), (x + n, y + n)], 3)


def _coffee(s):
    pygame.draw.rect(s, WHITE, (5, 12, 17, 15), border_radius=3)
    pygame.draw.rect(s, (110, 70, 40), (7, 13, 13, 4))
    pygame.draw.circle(s, WHITE, (24, 19), 5, 3)
    for x in (9, 15):
        pygame.draw.lines(s, (200, 200, 200), False, [(x, 9), (x + 2, 6), (x, 3)], 2)


def _meal(s):
    pygame.draw.circle(s, WHITE, (16, 17), 11)
    pygame.draw.circle(s, (200, 200, 210), (16, 17), 7, 2)
    pygame.draw.line(s, (190, 190, 200), (3, 4), (3, 29), 2)
    pygame.draw.line(s, (190, 190, 200), (29, 4), (29, 29), 2)


def _cook(s):
    pygame.draw.line(s, DARK, (20, 20), (31, 28), 4)
    pygame.draw.circle(s, (60, 60, 64), (13, 15), 12)
    pygame.draw.circle(s, WHITE, (13, 15), 7)
    pygame.draw.circle(s, (250, 190, 30), (13, 15), 3)


def _books(s):
    for i, c in enumerate(((220, 70, 60), (60, 130, 220), (70, 180, 90))):
        pygame.draw.rect(s, c, (4 + i, 22 - i * 8, 24 - 2 * i, 7), border_radius=1)
        pygame.draw.line(s, WHITE, (6 + i, 25 - i * 8), (25 - i, 25 - i * 8), 1)


def _teach(s):
    pygame.draw.rect(s, (120, 80, 40), (2, 4, 28, 20))
    pygame.draw.rect(s, (40, 110, 70), (4, 6, 24, 16))
    pygame.draw.line(s, WHITE, (7, 11), (20, 11), 2)
    pygame.draw.line(s, WHITE, (7, 16), (16, 16), 2)
    pygame.draw.line(s, (120, 80, 40), (16, 24), (10, 31), 2)
    pygame.draw.line(s, (120, 80, 40), (16, 24), (22, 31), 2)


def _write(s):
    pygame.draw.line(s, (250, 200, 40), (25, 4), (9, 22), 6)
    pygame.draw.polygon(s, (240, 210, 170), [(6, 21), (10, 25), (3, 29)])
    pygame.draw.line(s, (240, 120, 140), (25, 4), (28, 1), 6)
    pygame.draw.line(s, WHITE, (4, 30), (28, 30), 2)


def _paint(s):
    pygame.draw.ellipse(s, (225, 190, 140), (2, 5, 28, 22))
    pygame.draw.circle(s, (0, 0, 0, 0), (20, 21), 4)
    for (x, y), c in zip(((9, 11), (16, 9), (23, 12), (9, 19)),
                         ((230, 60, 60), (60, 120, 230), (60, 190, 80), (250, 200, 40))):
        pygame.draw.circle(s, c, (x, y), 3)


def _music(s):
    pygame.draw.ellipse(s, (170, 120, 255), (4, 21, 11, 8))
    pygame.draw.ellipse(s, (170, 120, 255), (18, 17, 11, 8))
    pygame.draw.line(s, (170, 120, 255), (14, 24), (14, 5), 3)
    pygame.draw.line(s, (170, 120, 255), (28, 20), (28, 3), 3)
    pygame.draw.line(s, (170, 120, 255), (14, 5), (28, 3), 4)


def _camera(s):
    pygame.draw.rect(s, (70, 70, 80), (3, 9, 26, 18), border_radius=3)
    pygame.draw.rect(s, (70, 70, 80), (10, 5, 10, 5))
    pygame.draw.circle(s, WHITE, (16, 18), 7)
    pygame.draw.circle(s, (60, 120, 200), (16, 18), 4)


def _walk(s):
    c = (120, 220, 160)
    pygame.draw.circle(s, c, (17, 5), 4)
    pygame.draw.line(s, c, (16, 10), (14, 20), 4)
    pygame.draw.lines(s, c, False, [(14, 20), (9, 30)], 3)
    pygame.draw.lines(s, c, False, [(14, 20), (20, 25), (22, 31)], 3)
    pygame.draw.lines(s, c, False, [(9, 15), (15, 12), (22, 17)], 3)


def _shop(s):
    c = (90, 200, 240)
    pygame.draw.lines(s, c, False, [(1, 5), (7, 5), (10, 21), (26, 21), (29, 9), (8, 9)], 3)
    pygame.draw.circle(s, c, (12, 27), 3)
    pygame.draw.circle(s, c, (24, 27), 3)


def _beer(s):
    pygame.draw.rect(s, (245, 180, 40), (6, 9, 16, 20), border_radius=2)
    pygame.draw.rect(s, WHITE, (5, 4, 18, 7), border_radius=3)
    pygame.draw.circle(s, (245, 180, 40), (25, 18), 5, 3)


def _computer(s):
    pygame.draw.rect(s, (180, 185, 195), (5, 5, 22, 16), border_radius=2)
    pygame.draw.rect(s, (50, 120, 210), (7, 7, 18, 12))
    pygame.draw.rect(s, (180, 185, 195), (1, 22, 30, 5), border_radius=2)


def _flower(s):
    pygame.draw.line(s, (70, 170, 70), (16, 14), (16, 31), 3)
    pygame.draw.ellipse(s, (70, 170, 70), (17, 20, 10, 5))
    for dx in (-5, 0, 5):
        pygame.draw.ellipse(s, (240, 80, 120), (11 + dx, 3, 10, 14))


def _shower(s):
    for x, y in ((8, 8), (20, 6), (14, 18), (24, 20), (6, 22)):
        pygame.draw.circle(s, (100, 180, 255), (x, y + 3), 4)
        pygame.draw.polygon(s, (100, 180, 255), [(x - 3, y + 2), (x + 3, y + 2), (x, y - 4)])


def _tv(s):
    pygame.draw.rect(s, (70, 70, 80), (2, 9, 28, 20), border_radius=3)
    pygame.draw.rect(s, (120, 200, 250), (5, 12, 22, 14))
    pygame.draw.lines(s, (70, 70, 80), False, [(10, 2), (16, 9), (22, 2)], 2)


def _work(s):
    pygame.draw.rect(s, (150, 100, 60), (3, 10, 26, 18), border_radius=3)
    pygame.draw.rect(s, (150, 100, 60), (11, 5, 10, 7), 3, border_radius=2)
    pygame.draw.line(s, (100, 65, 40), (3, 18), (29, 18), 2)


def _sofa(s):
    c = (200, 110, 90)
    pygame.draw.rect(s, c, (5, 9, 22, 11), border_radius=3)
    pygame.draw.rect(s, c, (1, 14, 30, 10), border_radius=3)
    pygame.draw.line(s, (120, 70, 50), (4, 24), (4, 28), 3)
    pygame.draw.line(s, (120, 70, 50), (27, 24), (27, 28), 3)


def _chat(s):
    pygame.draw.rect(s, WHITE, (2, 4, 28, 18), border_radius=7)
    pygame.draw.polygon(s, WHITE, [(8, 20), (16, 20), (6, 29)])
    for x in (10, 16, 22):
        pygame.draw.circle(s, DARK, (x, 13), 2)


def _smile(s):
    pygame.draw.circle(s, (250, 205, 60), (16, 16), 14)
    pygame.draw.circle(s, DARK, (11, 12), 2)
    pygame.draw.circle(s, DARK, (21, 12), 2)
    pygame.draw.arc(s, DARK, (8, 8, 16, 16), 3.6, 5.8, 2)


def _default(s):
    pygame.draw.circle(s, (200, 200, 210), (16, 16), 12)
    pygame.draw.circle(s, DARK, (16, 16), 4)


GLYPHS: dict[str, Draw] = {
    "😴": _sleep, "💤": _sleep, "☕": _coffee, "🍽": _meal, "🥪": _meal, "🍴": _meal, "🍳": _cook,
    "📚": _books, "📖": _books, "🧑": _teach, "✍": _write, "📝": _write, "🎨": _paint, "🎵": _music,
    "🎶": _music, "🎹": _music, "📷": _camera, "🚶": _walk, "🏃": _walk, "🛒": _shop, "🍺": _beer,
    "🍷": _beer, "💻": _computer, "🌷": _flower, "🌱": _flower, "🚿": _shower, "🛁": _shower,
    "📺": _tv, "💼": _work, "🛋": _sofa, "💬": _chat, "🗣": _chat, "🙂": _smile, "😀": _smile,
}
