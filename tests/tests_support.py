"""Helpers shared by tests (not a test module)."""


def minimal_tiled_map() -> dict:
    """A valid 6×4 Tiled map: one sector with one arena, a bed and a spawn."""
    w, h, t = 6, 4, 16
    wall = [1] * w
    inner = [1] + [0] * (w - 2) + [1]
    collision = wall + inner + inner + wall

    def group(i, name, objects):
        return {"id": i, "name": name, "type": "objectgroup", "draworder": "topdown", "opacity": 1,
                "visible": True, "x": 0, "y": 0, "objects": objects}

    def rect(i, name, x, y, ww, hh, typ=""):
        return {"id": i, "name": name, "type": typ, "x": x * t, "y": y * t, "width": ww * t, "height": hh * t,
                "rotation": 0, "visible": True}

    return {
        "type": "map", "version": "1.10", "tiledversion": "1.10.2", "orientation": "orthogonal",
        "renderorder": "right-down", "infinite": False, "width": w, "height": h, "tilewidth": t, "tileheight": t,
        "nextlayerid": 7, "nextobjectid": 5,
        "tilesets": [{"firstgid": 1, "name": "t", "image": "t.png", "imagewidth": 32, "imageheight": 16,
                      "tilewidth": t, "tileheight": t, "tilecount": 2, "columns": 2, "margin": 0, "spacing": 0}],
        "layers": [
            {"id": 1, "name": "ground", "type": "tilelayer", "width": w, "height": h, "x": 0, "y": 0,
             "opacity": 1, "visible": True, "data": [2] * (w * h)},
            {"id": 2, "name": "collision", "type": "tilelayer", "width": w, "height": h, "x": 0, "y": 0,
             "opacity": 1, "visible": True, "data": collision},
            group(3, "sectors", [rect(1, "House", 0, 0, w, h)]),
            group(4, "arenas", [rect(2, "room", 1, 1, w - 2, h - 2, "bedroom")]),
            group(5, "objects", [rect(3, "bed", 1, 1, 1, 1)]),
            group(6, "spawns", [{"id": 4, "name": "door", "x": 3.5 * t, "y": 2.5 * t, "point": True,
                                 "width": 0, "height": 0, "rotation": 0, "visible": True}]),
        ],
    }
