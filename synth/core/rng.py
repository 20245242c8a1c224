"""Deterministic randomness: scene ``i`` of a job always gets the same stream."""

from __future__ import annotations

import numpy as np


def scene_seed_sequence(job_seed: int, scene_index: int) -> np.random.SeedSequence:
    """``SeedSequence([job_seed, scene_index])``: the only source of a scene's randomness."""
    return np.random.SeedSequence([int(job_seed), int(scene_index)])


def scene_rng(job_seed: int, scene_index: int) -> np.random.Generator:
    """Generator for scene ``scene_index`` of a job seeded ``job_seed``."""
    return np.random.default_rng(scene_seed_sequence(job_seed, scene_index))


def scene_seed_int(job_seed: int, scene_index: int) -> int:
    """A 32-bit integer derived from the scene's seed sequence (e.g. for Cycles' noise seed)."""
    return int(scene_seed_sequence(job_seed, scene_index).generate_state(1, dtype=np.uint32)[0])
