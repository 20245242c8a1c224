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
