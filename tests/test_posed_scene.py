"""build_posed_scene: the one place a drawn spec becomes meshes and cameras, with nothing random left to draw."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from synth.pipeline.posed_scene import build_posed_scene
from synth.recipe import load_recipe
from synth.recipe.sample import sample_scene

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("recipe_name", ["demo", "egocentric", "overhead_fisheye", "close_range"])
def test_posing_draws_nothing_and_is_repeatable(recipe_name, monkeypatch):
    """No unseeded generator is made while posing, and posing the same spec twice gives identical scenes."""
    spec = sample_scene(load_recipe(ROOT / "scenes" / f"{recipe_name}.yaml"), 1)
    real = np.random.default_rng
    calls = []

    def spy(seed=None):
        calls.append(seed)
        if seed is None:
            raise AssertionError("build_posed_scene drew from an unseeded generator")
        return real(seed)

    monkeypatch.setattr(np.random, "default_rng", spy)
    a = build_posed_scene(spec)
    b = build_posed_scene(spec)
    monkeypatch.undo()
    assert all(isinstance(s, (int, np.integer)) for s in calls), calls  # only seeds drawn by sample_scene
    for ta, tb in zip(a.camera_tracks, b.camera_tracks):
        np.testing.assert_array_equal(ta.T_cam_from_world, tb.T_cam_from_world)
        np.testing.assert_array_equal(ta.camera.K, tb.camera.K)
    ma, mb = a.surface_meshes(), b.surface_meshes()
    assert [m.name for m in ma] == [m.name for m in mb] and len(ma) >= len(spec.people)
    for x, y in zip(ma, mb):
        np.testing.assert_array_equal(x.vertex_colors, y.vertex_colors)
    for t in range(spec.frames):
        for x, y in zip(a.frame_vertices(t), b.frame_vertices(t)):
            np.testing.assert_array_equal(x, y)
    # every person's meshes carry its instance id; frame vertices line up with the meshes
    assert {m.instance_id for m in ma if m.vertices is None} == set(range(1, len(spec.people) + 1))
    for m, v in zip(ma, a.frame_vertices(0)):
        assert v is None if m.vertices is not None else v.shape == (m.n_vertices, 3)
