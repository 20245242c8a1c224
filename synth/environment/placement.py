"""Placing several people on the ground so that their bodies never overlap.

Each person brings a *footprint track*: the ground-plane (x, y) positions of (a subset of)
their mesh vertices at every frame, in their own motion frame (before placement). A
placement (x, y, yaw) is accepted when, at every frame, every footprint point of the new
person is at least ``clearance_m`` from every footprint point of the people already placed.
Disjoint footprints on the ground plane mean disjoint bodies in 3D (the test
``tests/test_placement.py`` checks meshes), including people who walk or wave their arms.
"""

from __future__ import annotations

import numpy as np

from synth.core.errors import RecipeError


def transform_footprint(track_xy: np.ndarray, x: float, y: float, yaw_rad: float) -> np.ndarray:
    """(T, N, 2) footprint in the motion frame -> world (T, N, 2) after rotating by yaw and moving to (x, y)."""
    c, s = np.cos(yaw_rad), np.sin(yaw_rad)
    R = np.array([[c, -s], [s, c]])
    return track_xy @ R.T + np.array([x, y])


def min_footprint_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Smallest distance (m) between two world footprint tracks (T, N, 2) and (T, M, 2), same frame by frame."""
    d2 = ((a[:, :, None, :] - b[:, None, :, :]) ** 2).sum(-1)
    return float(np.sqrt(d2.min()))


def sample_placements(footprints: list[np.ndarray], area_radius_m: float, clearance_m: float, *,
                      rng: np.random.Generator, tries_per_person: int = 400) -> list[tuple[float, float, float]]:
    """One (x, y, yaw) per person: position uniform in a disc of ``area_radius_m``, yaw uniform.

    footprints : per person, (T, N, 2) float metres in the motion frame
    Raises RecipeError when a person cannot be placed clear of the others.
    """
    placed: list[np.ndarray] = []
    out: list[tuple[float, float, float]] = []
    for i, fp in enumerate(footprints):
        for _ in range(tries_per_person):
            r = area_radius_m * np.sqrt(rng.random())
            a = rng.uniform(0.0, 2.0 * np.pi)
            x, y, yaw = r * np.cos(a), r * np.sin(a), float(rng.uniform(-np.pi, np.pi))
            world = transform_footprint(fp, x, y, yaw)
            if all(min_footprint_distance(world, other) >= clearance_m for other in placed):
                placed.append(world)
                out.append((float(x), float(y), yaw))
                break
        else:
            raise RecipeError(
                f"people.placement: could not place person {i + 1} of {len(footprints)} clear of the others "
                f"within {area_radius_m} m of the centre; increase people.placement.area_radius_m, lower "
                f"people.placement.min_separation_m or the people count")
    return out


# ----------------------------------------------------------------------------- props
# A prop occupies an oriented rectangle on the floor (its mesh's xy bounds). Props are placed after
# the people: a placement is accepted when the rectangle, grown by the clearance, holds no footprint
# point of any person at any frame, overlaps no other prop's grown rectangle, lies inside the room,
# keeps clear of the cameras, and (for tall props) does not stand across a camera's line of sight to
# the people's centre.

def rect_corners(x: float, y: float, yaw_rad: float, half_w: float, half_d: float) -> np.ndarray:
    """(4, 2) world corners of an oriented rectangle, counter-clockwise."""
    c, s = np.cos(yaw_rad), np.sin(yaw_rad)
    local = np.array([[-half_w, -half_d], [half_w, -half_d], [half_w, half_d], [-half_w, half_d]])
    return local @ np.array([[c, -s], [s, c]]).T + np.array([x, y])


def rects_overlap(a: np.ndarray, b: np.ndarray, gap_m: float = 0.0) -> bool:
    """Separating-axis test of two convex quads (4, 2): True when they are closer than ``gap_m``."""
    for poly in (a, b):
        for i in range(4):
            edge = poly[(i + 1) % 4] - poly[i]
            n = np.array([-edge[1], edge[0]]) / max(np.linalg.norm(edge), 1e-12)
            pa, pb = a @ n, b @ n
            if pa.max() + gap_m <= pb.min() or pb.max() + gap_m <= pa.min():
                return False
    return True


def points_in_rect(points_xy: np.ndarray, x: float, y: float, yaw_rad: float, half_w: float, half_d: float,
                   margin_m: float = 0.0) -> np.ndarray:
    """(..., 2) world points -> (...) bool: inside the oriented rectangle grown by ``margin_m``."""
    c, s = np.cos(yaw_rad), np.sin(yaw_rad)
    d = np.asarray(points_xy, dtype=np.float64) - np.array([x, y])
    u = d[..., 0] * c + d[..., 1] * s
    v = -d[..., 0] * s + d[..., 1] * c
    return (np.abs(u) <= half_w + margin_m) & (np.abs(v) <= half_d + margin_m)


def segment_rect_distance_ok(p0: np.ndarray, p1: np.ndarray, corners: np.ndarray, gap_m: float) -> bool:
    """True when the segment p0-p1 stays at least ``gap_m`` from the convex quad (sampled every 5 cm)."""
    n = max(2, int(np.linalg.norm(p1 - p0) / 0.05) + 1)
    pts = p0 + np.linspace(0.0, 1.0, n)[:, None] * (p1 - p0)
    center = corners.mean(axis=0)
    axis_u = corners[1] - corners[0]
    half_w = 0.5 * np.linalg.norm(axis_u)
    half_d = 0.5 * np.linalg.norm(corners[3] - corners[0])
    yaw = float(np.arctan2(axis_u[1], axis_u[0]))
    return not points_in_rect(pts, center[0], center[1], yaw, half_w, half_d, gap_m).any()


def sample_prop_placements(half_extents: list[tuple[float, float]], heights_m: list[float],
                           people_tracks_xy: list[np.ndarray], *, area_center_xy: np.ndarray, area_radius_m: float,
                           clearance_m: float, rng: np.random.Generator, inside=None,
                           cameras_xy: list[np.ndarray] = (), tall_m: float = 1.0,
                           tries_per_prop: int = 200) -> list[tuple[float, float, float] | None]:
    """One (x, y, yaw) per prop, or None for a prop that found no free place in ``tries_per_prop`` draws.

    half_extents : per prop, (half width, half depth) metres of its floor rectangle
    heights_m : per prop, its height (props taller than ``tall_m`` keep out of the camera sight lines)
    people_tracks_xy : per person, (T, N, 2) world footprint points over the clip
    area_center_xy, area_radius_m : prop centres are drawn uniformly in this disc
    inside : optional callable ((4, 2) corners) -> bool, e.g. "inside the room"
    cameras_xy : approximate camera ground positions (kept 0.5 m clear; sight lines to the centre kept free of
        tall props)
    """
    people = np.concatenate([t.reshape(-1, 2) for t in people_tracks_xy]) if people_tracks_xy else np.zeros((0, 2))
    placed: list[np.ndarray] = []
    out: list[tuple[float, float, float] | None] = []
    for (hw, hd), height in zip(half_extents, heights_m):
        result = None
        for _ in range(tries_per_prop):
            r = area_radius_m * np.sqrt(rng.random())
            a = rng.uniform(0.0, 2.0 * np.pi)
            x = float(area_center_xy[0] + r * np.cos(a))
            y = float(area_center_xy[1] + r * np.sin(a))
            yaw = float(rng.uniform(-np.pi, np.pi))
            corners = rect_corners(x, y, yaw, hw, hd)
            if inside is not None and not inside(corners):
                continue
            if len(people) and points_in_rect(people, x, y, yaw, hw, hd, clearance_m).any():
                continue
            if any(rects_overlap(corners, other, clearance_m) for other in placed):
                continue
            if any(points_in_rect(np.asarray(c), x, y, yaw, hw, hd, 0.5).any() for c in cameras_xy):
                continue
            if height > tall_m and any(not segment_rect_distance_ok(np.asarray(c, float), np.asarray(area_center_xy),
                                                                     corners, 0.3) for c in cameras_xy):
                continue
            result = (x, y, yaw)
            placed.append(corners)
            break
        out.append(result)
    return out
