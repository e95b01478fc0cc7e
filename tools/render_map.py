#!/usr/bin/env python3
"""Render a Tiled map (.tmj, the layer convention of docs/MAPS.md) to a PNG for a quick look.

    SDL_VIDEODRIVER=dummy python tools/render_map.py worlds/town.tmj /tmp/town.png [--scale 16]

Draws the `ground` layer from the map's tileset, outlines the arenas (coloured by kind),
frames the game objects, marks the spawn points and writes each sector's name on it.
Needs pygame.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
import pygame  # noqa: E402

KIND_COLOURS = {
    "cafe": (255, 170, 40), "bar": (230, 120, 30), "kitchen": (250, 230, 90),
    "shop": (80, 200, 230), "storage": (150, 150, 150), "classroom": (120, 220, 120),
    "library": (150, 120, 240), "dining": (250, 200, 120), "office": (100, 160, 255),
    "bedroom": (255, 110, 160), "living": (255, 150, 90), "studio": (230, 120, 255),
    "hall": (255, 255, 255), "park": (200, 255, 120), "garden": (255, 210, 240),
}


def load_tileset(tmj_path: str, m: dict):
    out = {}
    for ts in m["tilesets"]:
        img = pygame.image.load(os.path.join(os.path.dirname(tmj_path), ts["image"]))
        tw, th, cols = ts["tilewidth"], ts["tileheight"], ts["columns"]
        for i in range(ts["tilecount"]):
            r = pygame.Rect((i % cols) * tw, (i // cols) * th, tw, th)
            out[ts["firstgid"] + i] = img.subsurface(r)
    return out


def render(tmj_path: str, out_path: str, scale: int = 16) -> None:
    pygame.display.init()
    pygame.font.init()
    with open(tmj_path, encoding="utf-8") as f:
        m = json.load(f)
    w, h, tw = m["width"], m["height"], m["tilewidth"]
    k = scale / tw
    screen = pygame.Surface((w * scale, h * scale))
    screen.fill((0, 0, 0))
    tiles = {gid: pygame.transform.smoothscale(s, (scale, scale))
             for gid, s in load_tileset(tmj_path, m).items()}
    layers = {layer["name"]: layer for layer in m["layers"]}
    data = layers["ground"]["data"]
    for y in range(h):
        for x in range(w):
            gid = data[y * w + x] & 0x1FFFFFFF
            if gid in tiles:
                screen.blit(tiles[gid], (x * scale, y * scale))

    def px(o):
        return pygame.Rect(round(o["x"] * k), round(o["y"] * k),
                           max(1, round(o["width"] * k)), max(1, round(o["height"] * k)))

    for o in layers.get("arenas", {}).get("objects", []):
        c = KIND_COLOURS.get(o.get("type", ""), (255, 255, 255))
        pygame.draw.rect(screen, c, px(o).inflate(-2, -2), 2)
    for o in layers.get("objects", {}).get("objects", []):
        pygame.draw.rect(screen, (255, 240, 0), px(o), 1)
    for o in layers.get("spawns", {}).get("objects", []):
        c = (round(o["x"] * k), round(o["y"] * k))
        pygame.draw.circle(screen, (0, 0, 0), c, max(3, scale // 3))
        pygame.draw.circle(screen, (0, 255, 255), c, max(2, scale // 3 - 2))

    font = pygame.font.Font(None, max(14, int(scale * 1.3)))
    small = pygame.font.Font(None, max(11, int(scale * 0.85)))
    # arena names, small, inside the rectangle
    for o in layers.get("arenas", {}).get("objects", []):
        r = px(o)
        label = small.render(o["name"], True, (255, 255, 255))
        if label.get_width() > r.width - 4:
            continue
        bg = pygame.Surface((label.get_width() + 4, label.get_height() + 2), pygame.SRCALPHA)
        bg.fill((0, 0, 0, 140))
        pos = (r.x + 3, r.bottom - label.get_height() - 4)
        screen.blit(bg, (pos[0] - 2, pos[1] - 1))
        screen.blit(label, pos)
    # sector names, above each sector (once per name)
    done = set()
    for o in layers.get("sectors", {}).get("objects", []):
        if o["name"] in done:
            continue
        done.add(o["name"])
        r = px(o)
        label = font.render(o["name"], True, (255, 255, 255))
        box = pygame.Rect(0, 0, label.get_width() + 8, label.get_height() + 4)
        box.midbottom = (r.centerx, r.top + box.height // 2)
        box.clamp_ip(screen.get_rect())
        pygame.draw.rect(screen, (20, 20, 30), box)
        pygame.draw.rect(screen, (255, 255, 255), box, 1)
        screen.blit(label, (box.x + 4, box.y + 2))
    pygame.image.save(screen, out_path)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Render a .tmj map to a PNG.")
    ap.add_argument("tmj", nargs="?", default=os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "worlds", "town.tmj"))
    ap.add_argument("out", nargs="?", default="/tmp/town.png")
    ap.add_argument("--scale", type=int, default=16, help="pixels per tile (default 16)")
    args = ap.parse_args(argv)
    render(args.tmj, args.out, args.scale)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
