"""The BVH segment-crossing query gives exactly the per-point kernel's counts and first distances
on a real posed Anny mesh (demo scene 0), for lines of sight to its keypoints and random segments."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from synth.core.errors import SynthError
from synth.core.mesh import segment_crossings
from synth.groundtruth.raycast import MeshBVH, segment_crossings_bvh
from synth.pipeline.posed_scene import build_posed_scene
from synth.recipe import load_recipe
from synth.recipe.sample import sample_scene

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def posed():
    recipe = load_recipe(ROOT / "scenes" / "demo.yaml")
    scene = build_posed_scene(sample_scene(recipe, 0))
    return scene


def _random_segments(rng: np.random.Generator, V: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = V.min(0), V.max(0)
    centre = (lo + hi) / 2
    d = rng.normal(size=(n, 3))
    origins = centre + d / np.linalg.norm(d, axis=1, keepdims=True) * rng.uniform(0.5, 5.0, size=(n, 1))
    ends = rng.uniform(lo - 0.1, hi + 0.1, size=(n, 3))
    # axis-aligned segments: zero direction components go through the slab test's special case
    ends[: n // 8] = origins[: n // 8] * np.array([1.0, 1.0, 0.0]) + ends[: n // 8] * np.array([0.0, 0.0, 1.0])
    return origins, ends


def test_bvh_crossings_equal_kernel_on_posed_anny(posed):
    rng = np.random.default_rng(14)
    person = posed.people[0]
    V, F = person.posed.vertices[0].astype(np.float64), person.faces
    bvh = MeshBVH(V, F)
    cam = posed.camera_tracks[0].at(0).center_world
    targets = np.concatenate([person.posed.keypoints[0], person.posed.joints[0]])
    c_ref, f_ref = segment_crossings(cam, targets, V, F)
    c_bvh, f_bvh = bvh.segment_crossings(cam, targets)
    assert np.array_equal(c_bvh, c_ref) and np.array_equal(f_bvh, f_ref)
    assert c_ref.max() >= 2 and (c_ref <= 1).any()   # the view has occluded and unoccluded points
    origins, ends = _random_segments(rng, V, 160)
    total = 0
    for o in origins[:6]:
        c_ref, f_ref = segment_crossings(o, ends, V, F)
        c_bvh, f_bvh = bvh.segment_crossings(o, ends)
        assert np.array_equal(c_bvh, c_ref), np.nonzero(c_bvh != c_ref)
        assert np.array_equal(f_bvh, f_ref)
        total += int(c_ref.sum())
    assert total > 20   # the random segments really cross the body


def test_refit_equals_fresh_build_and_drop_in(posed):
    person = posed.people[0]
    F = person.faces
    V0, V1 = (person.posed.vertices[t].astype(np.float64) for t in (0, 1))
    bvh = MeshBVH(V0, F).refit(V1)
    cam = posed.camera_tracks[0].at(1).center_world
    pts = person.posed.keypoints[1]
    ref = segment_crossings(cam, pts, V1, F)
    for got in (bvh.segment_crossings(cam, pts), segment_crossings_bvh(cam, pts, V1, F, leaf_size=3)):
        assert np.array_equal(got[0], ref[0]) and np.array_equal(got[1], ref[1])


def test_bad_input_is_one_clear_error():
    V = np.zeros((3, 3))
    with pytest.raises(SynthError, match="no faces"):
        MeshBVH(V, np.zeros((0, 3), dtype=int))
    bvh = MeshBVH(np.eye(3), np.array([[0, 1, 2]]))
    with pytest.raises(SynthError, match="origin must be"):
        bvh.segment_crossings(np.zeros(2), np.ones((1, 3)))
    with pytest.raises(SynthError, match="refit"):
        bvh.refit(np.zeros((2, 3)))
