"""Text for the viewer: pygame's bundled font (always present), rendered surfaces cached."""

from __future__ import annotations

import pygame

RGB = tuple[int, int, int]


class Text:
    def __init__(self) -> None:
        if not pygame.font.get_init():
            pygame.font.init()
        self._fonts: dict[tuple[int, bool], pygame.font.Font] = {}
        self._cache: dict[tuple[str, int, bool, RGB], pygame.Surface] = {}
        self._wraps: dict[tuple, list[str]] = {}

    def font(self, size: int, bold: bool = False) -> pygame.font.Font:
        key = (size, bold)
        f = self._fonts.get(key)
        if f is None:
            f = pygame.font.Font(None, size)  # pygame's bundled freesansbold: no system font needed
            f.set_bold(bold)
            self._fonts[key] = f
        return f

    def render(self, text: str, size: int, colour: RGB = (255, 255, 255), bold: bool = False) -> pygame.Surface:
        key = (text, size, bold, colour)
        s = self._cache.get(key)
        if s is None:
            if len(self._cache) > 4000:
                self._cache.clear()
            s = self.font(size, bold).render(text or " ", True, colour)
            self._cache[key] = s
        return s

    def width(self, text: str, size: int, bold: bool = False) -> int:
        return self.font(size, bold).size(text)[0]

    def box(self, text: str, size: int, colour: RGB, bg: tuple, pad: tuple[int, int] = (6, 2),
            radius: int = 8, bold: bool = False) -> pygame.Surface:
        """Text on a (translucent) rounded box: sector signs, arena names."""
        key = ("box", text, size, colour, bg, pad, radius, bold)
        s = self._cache.get(key)  # type: ignore[arg-type]
        if s is None:
            t = self.render(text, size, colour, bold)
            s = pygame.Surface((t.get_width() + 2 * pad[0], t.get_height() + 2 * pad[1]), pygame.SRCALPHA)
            pygame.draw.rect(s, bg, s.get_rect(), border_radius=min(radius, s.get_height() // 2))
            s.blit(t, pad)
            self._cache[key] = s  # type: ignore[index]
        return s

    def fit(self, text: str, size: int, max_width: int, bold: bool = False) -> str:
        """``text`` cut with an ellipsis so it fits ``max_width`` pixels."""
        if self.width(text, size, bold) <= max_width:
            return text
        lo, hi = 0, len(text)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.width(text[:mid].rstrip() + "…", size, bold) <= max_width:
                lo = mid
            else:
                hi = mid - 1
        return text[:lo].rstrip() + "…"

    def wrap(self, text: str, size: int, max_width: int, max_lines: int = 3, bold: bool = False) -> list[str]:
        key = (text, size, max_width, max_lines, bold)
        lines = self._wraps.get(key)
        if lines is None:
            if len(self._wraps) > 2000:
                self._wraps.clear()
            lines = self._wraps[key] = self._wrap(text, size, max_width, max_lines, bold)
        return lines

    def _wrap(self, text: str, size: int, max_width: int, max_lines: int, bold: bool) -> list[str]:
        words, lines, line = text.split(), [], ""
        for w in words:
            trial = f"{line} {w}".strip()
            if self.width(trial, size, bold) <= max_width or not line:
                line = trial
            else:
                lines.append(line)
                line = w
        if line:
            lines.append(line)
        if len(lines) > max_lines:
            lines = lines[:max_lines]
            lines[-1] = self.fit(lines[-1] + " …", size, max_width, bold)
        return [self.fit(l, size, max_width, bold) for l in lines]
