"""Transforms, rotations and seeding."""

from __future__ import annotations

import numpy as np

from synth.core.rng import scene_rng, scene_seed_int
from synth.core.transforms import (
    apply_T,
    invert_T,
    look_at_T_cam_from_world,
    make_T,
    matrix_to_rotvec,
    rotvec_to_matrix,
)
from synth.environment.placement import min_footprint_distance, sample_placements, transform_footprint


def test_rotvec_round_trip_including_near_pi():
    rng = np.random.default_rng(1)
    axes = rng.normal(size=(200, 3))
    axes /= np.linalg.norm(axes, axis=1, keepdims=True)
    angles = np.concatenate([rng.uniform(0, np.pi - 1e-3, 190), np.full(10, np.pi - 1e-6)])
    rv = axes * angles[:, None]
    R = rotvec_to_matrix(rv)
    assert np.allclose(R @ np.swapaxes(R, -1, -2), np.eye(3), atol=1e-12)
    assert np.allclose(rotvec_to_matrix(matrix_to_rotvec(R)), R, atol=1e-6)


def test_invert_and_apply():
    R = rotvec_to_matrix(np.array([0.3, -0.2, 1.0]))
    T = make_T(R, [1.0, 2.0, 3.0])
    X = np.random.default_rng(0).normal(size=(5, 3))
    assert np.allclose(apply_T(invert_T(T), apply_T(T, X)), X)


def test_look_at_is_opencv():
    T = look_at_T_cam_from_world([0, -5, 1], [0, 0, 1])
    # the target is straight ahead (+z), world up maps to image up (-y)
    assert np.allclose(apply_T(T, np.array([[0, 0, 1.0]])), [[0, 0, 5]])
    up = apply_T(T, np.array([[0, 0, 2.0]]))[0]
    assert up[1] < 0
    right = apply_T(T, np.array([[1.0, 0, 1]]))[0]
    assert right[0] > 0
    # straight down still works (overhead)
    T2 = look_at_T_cam_from_world([0, 0, 3], [0, 0, 0])
    assert np.allclose(apply_T(T2, np.zeros((1, 3))), [[0, 0, 3]])


def test_scene_seeds_independent_of_order():
    a = [scene_rng(7, i).random() for i in range(5)]
    b = [scene_rng(7, i).random() for i in reversed(range(5))][::-1]
    assert a == b
    assert len({scene_seed_int(7, i) for i in range(100)}) == 100


def test_placement_keeps_footprints_apart():
    # a 'person' whose footprint is a 0.5 m-long bar swinging over 3 frames
    t = np.linspace(0, 1, 3)[:, None, None]
    bar = np.stack([np.linspace(-0.25, 0.25, 11), np.zeros(11)], -1)[None] + t * [0.0, 0.3]
    fps = [bar] * 5
    placed = sample_placements(fps, 2.0, 0.2, rng=np.random.default_rng(3))
    worlds = [transform_footprint(bar, *p) for p in placed]
    for i in range(5):
        assert np.hypot(*placed[i][:2]) <= 2.0
        for j in range(i):
            assert min_footprint_distance(worlds[i], worlds[j]) >= 0.2
    import pytest
    from synth.core.errors import RecipeError

    with pytest.raises(RecipeError, match="area_radius_m"):
        sample_placements([bar] * 30, 0.5, 0.2, rng=np.random.default_rng(0), tries_per_person=50)
