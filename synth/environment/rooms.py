"""Procedural rooms: a box interior (floor, four walls with door/window openings, ceiling) as meshes.

Room frame = world frame: interior x in [-width/2, width/2], y in [-depth/2, depth/2], floor top at
z = 0, ceiling underside at z = height. Walls are ``wall_thickness_m`` thick, outside the interior.
A wall with openings is cut into a grid of closed boxes along the openings' edges; the cells inside
an opening are left out, so the opening is a real hole (the world, or the HDRI, shows through).

Lights (``room_lights``): one or two square ceiling panels facing down, and one area light in each
window facing in (daylight), as ``AreaLightSpec``.
"""

from __future__ import annotations

import math
from itertools import pairwise

import numpy as np

from synth.environment.meshes import box_mesh, merge_meshes
from synth.environment.spec import AreaLightSpec, OpeningSpec, RoomSpec

SLAB_M = 0.1  # floor and ceiling slab thickness


def wall_frame(room: RoomSpec, wall: int) -> tuple[float, float]:
    """(length_m of the wall's interior side, its half-span including the corners it covers)."""
    if wall in (0, 2):
        return room.width_m, room.width_m / 2 + room.wall_thickness_m
    return room.depth_m, room.depth_m / 2


def _wall_box(room: RoomSpec, wall: int, u0: float, u1: float, z0: float, z1: float):
    """A box of wall ``wall`` spanning u in [u0, u1] along the wall (u from the wall's middle) and z in [z0, z1]."""
    t, hw, hd = room.wall_thickness_m, room.width_m / 2, room.depth_m / 2
    if wall == 0:
        return box_mesh(u0, u1, -hd - t, -hd, z0, z1)
    if wall == 2:
        return box_mesh(-u1, -u0, hd, hd + t, z0, z1)
    if wall == 1:
        return box_mesh(hw, hw + t, u0, u1, z0, z1)
    return box_mesh(-hw - t, -hw, -u1, -u0, z0, z1)


def wall_meshes(room: RoomSpec, wall: int) -> tuple[np.ndarray, np.ndarray]:
    """One wall with its openings cut out: a union of closed boxes."""
    _, half = wall_frame(room, wall)
    openings = [o for o in room.openings if o.wall == wall]
    us = sorted({-half, half, *[o.center_m - o.width_m / 2 for o in openings],
                 *[o.center_m + o.width_m / 2 for o in openings]})
    zs = sorted({0.0, room.height_m, *[o.bottom_m for o in openings], *[o.top_m for o in openings]})
    parts = []
    for u0, u1 in pairwise(us):
        for z0, z1 in pairwise(zs):
            if u1 - u0 < 1e-6 or z1 - z0 < 1e-6:
                continue
            um, zm = 0.5 * (u0 + u1), 0.5 * (z0 + z1)
            if any(abs(um - o.center_m) < o.width_m / 2 and o.bottom_m < zm < o.top_m for o in openings):
                continue
            parts.append(_wall_box(room, wall, u0, u1, z0, z1))
    return merge_meshes(parts)


def room_meshes(room: RoomSpec) -> list[tuple[str, np.ndarray, np.ndarray, object]]:
    """``(name, vertices (V, 3) float32 world m, faces (F, 3) int32, MaterialSpec)`` for floor, walls, ceiling."""
    t, hw, hd = room.wall_thickness_m, room.width_m / 2, room.depth_m / 2
    floor = box_mesh(-hw - t, hw + t, -hd - t, hd + t, -SLAB_M, 0.0)
    ceiling = box_mesh(-hw - t, hw + t, -hd - t, hd + t, room.height_m, room.height_m + SLAB_M)
    walls = merge_meshes([wall_meshes(room, w) for w in range(4)])
    out = []
    for name, (v, f), mat in (("floor", floor, room.floor), ("walls", walls, room.walls),
                              ("ceiling", ceiling, room.ceiling)):
        out.append((f"room_{name}", v.astype(np.float32), f.astype(np.int32), mat))
    return out


def opening_center_world(room: RoomSpec, o: OpeningSpec) -> tuple[np.ndarray, np.ndarray]:
    """(centre (3,) of the opening on the wall's inner face, inward unit normal (3,))."""
    hw, hd = room.width_m / 2, room.depth_m / 2
    z = 0.5 * (o.bottom_m + o.top_m)
    c, n = {0: ((o.center_m, -hd, z), (0, 1, 0)), 2: ((-o.center_m, hd, z), (0, -1, 0)),
            1: ((hw, o.center_m, z), (-1, 0, 0)), 3: ((-hw, -o.center_m, z), (1, 0, 0))}[o.wall]
    return np.array(c, dtype=np.float64), np.array(n, dtype=np.float64)


def room_lights(room: RoomSpec, ceiling_power_w: float, window_power_w: float,
                ceiling_color: tuple[float, float, float], window_color: tuple[float, float, float]
                ) -> tuple[AreaLightSpec, ...]:
    """Ceiling panels (one per ~12 m^2 of floor, at most 4) and a daylight panel in each window."""
    lights = []
    n = min(4, max(1, round(room.width_m * room.depth_m / 12.0)))
    nx = 2 if n >= 2 and room.width_m >= room.depth_m else 1
    ny = math.ceil(n / nx)
    for i in range(nx):
        for j in range(ny):
            x = (i + 0.5) / nx * room.width_m - room.width_m / 2
            y = (j + 0.5) / ny * room.depth_m - room.depth_m / 2
            z = room.height_m - 0.02
            lights.append(AreaLightSpec(position=(x, y, z), target=(x, y, 0.0), size_m=0.6,
                                        power_w=ceiling_power_w / (nx * ny), color=ceiling_color))
    for o in room.openings:
        if o.kind != "window":
            continue
        c, n_in = opening_center_world(room, o)
        pos = c - 0.5 * room.wall_thickness_m * n_in
        lights.append(AreaLightSpec(position=tuple(pos.tolist()), target=tuple((pos + n_in - [0, 0, 0.3]).tolist()),
                                    size_m=float(min(o.width_m, o.top_m - o.bottom_m)), power_w=window_power_w,
                                    color=window_color))
    return tuple(lights)


def point_inside_room(room: RoomSpec, xy: np.ndarray, margin_m: float = 0.0) -> np.ndarray:
    """(N, 2) points -> (N,) bool: inside the interior, at least ``margin_m`` from every wall."""
    p = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    return (np.abs(p[:, 0]) <= room.width_m / 2 - margin_m) & (np.abs(p[:, 1]) <= room.depth_m / 2 - margin_m)
