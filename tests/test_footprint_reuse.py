"""Placement footprints pose each person once: the motion-frame and the world footprint are the numbers
``body.forward`` gives with those transforms (bit for bit)."""

from __future__ import annotations

import numpy as np

from synth.bodies.base import BodyParams
from synth.bodies.registry import get_body_model
from synth.core.transforms import make_T, rot_z
from synth.motion.sample import sample_motion
from synth.recipe import sample


def _forward_footprint(body, shape, rot, T):
    """The footprint as it was computed before: one forward with the transform."""
    n = len(rot)
    frames = np.unique(np.linspace(0, n - 1, min(n, sample.FOOTPRINT_FRAMES)).round().astype(int))
    v = body.forward(BodyParams(model=body.name, shape=shape, pose_rotvec=rot[frames],
                                T_world_from_root=T[frames])).vertices
    idx = np.linspace(0, v.shape[1] - 1, min(v.shape[1], sample.FOOTPRINT_POINTS)).round().astype(int)
    return v[:, idx, :2].astype(np.float64)


def test_footprints_equal_forward_and_reuse_the_pose():
    body = get_body_model("anny")
    shape = body.mean_shape(age_years=40, gender=0.2)
    rot, T_local = sample_motion(body, "walk", 30, 10.0, rng=np.random.default_rng(1), shape=shape)
    rot = np.asarray(rot, np.float32)
    T_local = np.asarray(T_local, np.float64)
    sample._FOOTPRINT_BODIES.clear()
    local = sample._footprint(body, shape, rot, T_local)
    assert len(sample._FOOTPRINT_BODIES) == 1
    T_world = np.einsum("ij,tjk->tik", make_T(rot_z(2.1), [1.3, -0.7, 0.0]), T_local)
    world = sample._footprint(body, shape, rot, T_world)
    assert len(sample._FOOTPRINT_BODIES) == 1                 # the world footprint reused the posed frames
    assert local.shape == (sample.FOOTPRINT_FRAMES, sample.FOOTPRINT_POINTS, 2)
    assert np.array_equal(local, _forward_footprint(body, shape, rot, T_local))
    assert np.array_equal(world, _forward_footprint(body, shape, rot, T_world))
    assert np.abs(world - local).max() > 0.5                   # a different place: not the same numbers twice
    # another pose is posed afresh
    sample._footprint(body, shape, rot[::-1].copy(), T_local)
    assert len(sample._FOOTPRINT_BODIES) == 2


def test_sampled_people_get_their_footprint_from_the_grounding_forward():
    """sample_scene grounds each person's clip with one forward that also poses their footprint frames: the
    footprint then needs no forward of its own, and its numbers are a separate forward's."""
    from pathlib import Path

    from synth.recipe import load_recipe

    recipe = load_recipe(Path(__file__).resolve().parents[1] / "scenes" / "demo.yaml")
    body = get_body_model("anny", **sample.body_options(recipe))
    sample._FOOTPRINT_BODIES.clear()
    people = sample._sample_people(recipe, np.random.default_rng(5))
    assert len(people) >= 2
    for p in people:
        frames = sample._footprint_frames(len(p.pose_rotvec))
        pose = np.ascontiguousarray(p.pose_rotvec[frames])
        hit = sample._FOOTPRINT_BODIES.get(sample._footprint_key(body, p.shape, pose))
        assert hit is not None and hit[0] is body
        eye = np.broadcast_to(np.eye(4), (len(frames), 4, 4)).copy()
        fresh = body.forward(BodyParams(model=body.name, shape=p.shape, pose_rotvec=pose, T_world_from_root=eye))
        assert np.array_equal(hit[1].numpy(), fresh.vertices)
        assert np.array_equal(sample._footprint(body, p.shape, p.pose_rotvec, p.T_world_from_root),
                              _forward_footprint(body, p.shape, p.pose_rotvec, p.T_world_from_root))
