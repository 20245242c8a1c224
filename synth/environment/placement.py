"""Placing several people on the ground without overlap."""

from __future__ import annotations

import numpy as np

from synth.core.errors import RecipeError


def sample_positions(count: int, radius_m: float, min_separation_m: float, *, rng: np.random.Generator,
                     max_tries: int = 2000) -> np.ndarray:
    """``count`` ground positions (count, 2) metres within a disc, pairwise >= ``min_separation_m`` apart.

    Rejection sampling, uniform over the disc area. Raises RecipeError when the disc
    cannot hold that many people at that separation.
    """
    out = np.zeros((0, 2))
    tries = 0
    while len(out) < count:
        tries += 1
        if tries > max_tries:
            raise RecipeError(
                f"people.placement: could not place {count} people {min_separation_m} m apart within "
                f"{radius_m} m of the centre; increase people.placement.area_radius_m or lower min_separation_m")
        r = radius_m * np.sqrt(rng.random())
        a = rng.uniform(0.0, 2.0 * np.pi)
        p = np.array([[r * np.cos(a), r * np.sin(a)]])
        if len(out) == 0 or np.min(np.linalg.norm(out - p, axis=1)) >= min_separation_m:
            out = np.concatenate([out, p])
    return out
