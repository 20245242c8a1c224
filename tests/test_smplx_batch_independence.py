"""Shared body-model forwards only where a frame's numbers do not depend on its batch.

Sampling shares one forward between frame sets (a clip's grounding and the placement footprint,
``DrawnClip.finish(also_pose=)``) and reuses postures measured in a batch (``pose_seated``'s memo). That is
bit-identical to separate forwards only when ``BodyModel.forward_frames_independent``: Anny (True) takes the
shared paths; SMPL-X (``smplx``, False: batches of 1-2 and >= 3 give different bits) keeps each forward's old
batch, so its clips, footprints and seated postures are the numbers of the code before the sharing
(reference versions below). Synthetic full-size SMPLX_NEUTRAL.npz from ``test_bodies_smplx``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("smplx")

from synth.bodies.base import BodyParams, forward_frames_independent
from synth.bodies.registry import get_body_model
from synth.bodies.smplx_model import SmplxBody
from synth.core.errors import RecipeError
from synth.core.surfaces import MaterialSpec
from synth.environment.spec import PropSpec
from synth.motion import interactions
from synth.motion.clip import MotionClip
from synth.motion.grounding import finish_motion
from synth.motion.sample import DrawnClip, _cfg, draw_motion_clip, generate_procedural
from synth.motion.skeleton import BodySkeleton
from synth.recipe import sample as recipe_sample
from synth.recipe.interactions import prop_geometry

WOOD = MaterialSpec("wood", (0.4, 0.3, 0.2), 0.5)


@pytest.fixture(scope="module")
def body(smplx_dir):
    return get_body_model("smplx", model_dir=str(smplx_dir))


@pytest.fixture(scope="module")
def anny():
    return get_body_model("anny", topology="notoes_collapse5pc")


def _count_forwards(monkeypatch, body) -> list[int]:
    """Batch sizes of ``body.forward`` calls from now on."""
    sizes: list[int] = []
    real = type(body).forward

    def counted(params):
        sizes.append(len(params.pose_rotvec))
        return real(body, params)

    monkeypatch.setattr(body, "forward", counted)
    return sizes


def test_flags():
    assert SmplxBody.forward_frames_independent is False
    assert get_body_model("anny", topology="notoes_collapse5pc").forward_frames_independent is True
    assert forward_frames_independent(object()) is False   # a model that does not say is not shared


def test_smplx_forward_depends_on_the_batch(body):
    """Not vacuous: the same frame posed alone (or with one other) and in a batch of >= 3 differs in the bits."""
    rng = np.random.default_rng(0)
    shape = body.mean_shape()
    rv = rng.normal(0, 0.3, (4, len(body.joint_names), 3)).astype(np.float32)
    T = np.broadcast_to(np.eye(4), (4, 4, 4)).copy()

    def first(n):
        return body.forward(BodyParams(model=body.name, shape=shape, pose_rotvec=rv[:n],
                                       T_world_from_root=T[:n])).vertices[0]

    alone, big = first(1), first(4)
    assert not np.array_equal(alone, big)
    assert np.abs(alone - big).max() < 1e-5                     # rounding only


# ----------------------------------------------------------------------------- clip grounding + footprint
@pytest.mark.parametrize("source,n", [("walk", 2), ("static", 2), ("walk", 7)])
def test_smplx_clip_is_the_separately_grounded_clip(body, monkeypatch, source, n):
    """finish(also_pose=) on SMPL-X grounds the clip by its own forward (the former finish_motion) and poses no
    footprint; the grounding forward has the clip's frames only."""
    shape = body.mean_shape()
    frames = recipe_sample._footprint_frames(n)
    drawn = draw_motion_clip(body, source, n, 10.0, np.random.default_rng(3), shape=shape)
    sizes = _count_forwards(monkeypatch, body)
    clip, extra = drawn.finish(also_pose=np.ascontiguousarray(drawn.rotvec[frames]))
    counted = list(sizes)
    # the former code: draw and ground in one go (sample.py before DrawnClip)
    rng = np.random.default_rng(3)
    skel = BodySkeleton.from_body(body, shape)
    g = generate_procedural(skel, _cfg(source), n, 10.0, rng)
    rotvec, T = finish_motion(skel, g.local, g.R_root, g.p_root, g.grounding, center=True)
    ref = MotionClip.from_T(skel.joint_names, 10.0, rotvec, T, meta=clip.meta)
    assert np.array_equal(clip.rotvec, ref.rotvec)
    assert np.array_equal(clip.T_world_from_root, ref.T_world_from_root)
    assert extra is None and counted == [n]


def test_anny_clip_still_shares_the_grounding_forward(anny, monkeypatch):
    shape = anny.mean_shape()
    drawn = draw_motion_clip(anny, "walk", 5, 10.0, np.random.default_rng(3), shape=shape)
    frames = recipe_sample._footprint_frames(5)
    sizes = _count_forwards(monkeypatch, anny)
    _, extra = drawn.finish(also_pose=np.ascontiguousarray(drawn.rotvec[frames]))
    assert extra is not None and sizes == [5 + len(frames)]


def _people_recipe(smplx_dir, frames: int):
    from synth.recipe import parse_recipe

    return parse_recipe({
        "schema_version": 1, "scenes": 1, "frames_per_scene": frames, "image": {"width": 64, "height": 48},
        "people": {"body_model": "smplx", "smplx_model_dir": str(smplx_dir), "count": 2,
                   "motion": {"source": "walk"}},
    })


@pytest.mark.parametrize("frames", [2, 6])
def test_smplx_sampled_people_equal_separate_forwards(smplx_dir, monkeypatch, frames):
    """_sample_people with SMPL-X gives the people of the former code: each clip grounded alone, each footprint
    posed by a forward of its own (DrawnClip.finish with the footprint frames ignored)."""
    recipe = _people_recipe(smplx_dir, frames)
    body = get_body_model("smplx", **recipe_sample.body_options(recipe))
    recipe_sample._FOOTPRINT_BODIES.clear()
    people = recipe_sample._sample_people(recipe, np.random.default_rng(5))
    for p in people:   # the footprint kept for each person is a separate forward of its footprint frames
        fr = recipe_sample._footprint_frames(len(p.pose_rotvec))
        pose = np.ascontiguousarray(p.pose_rotvec[fr])
        hit = recipe_sample._FOOTPRINT_BODIES.get(recipe_sample._footprint_key(body, p.shape, pose))
        eye = np.broadcast_to(np.eye(4), (len(fr), 4, 4)).copy()
        fresh = body.forward(BodyParams(model=body.name, shape=p.shape, pose_rotvec=pose, T_world_from_root=eye))
        assert hit is not None and np.array_equal(hit[1].numpy(), fresh.vertices)
    recipe_sample._FOOTPRINT_BODIES.clear()
    real_finish = DrawnClip.finish
    monkeypatch.setattr(DrawnClip, "finish", lambda self, also_pose=None: real_finish(self))
    former = recipe_sample._sample_people(recipe, np.random.default_rng(5))
    assert len(people) == len(former) == 2
    for p, q in zip(people, former):
        assert p.body_model == "smplx"
        for k in p.shape:
            assert np.array_equal(p.shape[k], q.shape[k])
        assert np.array_equal(p.pose_rotvec, q.pose_rotvec)
        assert np.array_equal(p.T_world_from_root, q.T_world_from_root)
        assert p.motion_meta == q.motion_meta


# ----------------------------------------------------------------------------- seated postures
def _pose_seated_reference(body, shape, prop, place):
    """pose_seated before the measure memo (interactions.py at ec0d2a3^): every measure is a forward of its
    own batch (12 for a grid, 1 for a single posture); ``place`` stands in for _place_seated."""
    from synth.motion.interactions import (
        MAX_THIGH_SLOPE_DEG,
        _axis_rot,
        _sitting,
        _support_split,
    )

    seat = next(s for s in prop.surfaces if s["use"] == "sit")
    skel = BodySkeleton.from_body(body, shape)
    R_yaw = _axis_rot([0, 0, 1], prop.yaw_rad)[0]
    forward = R_yaw @ np.array([0.0, -1.0, 0.0])

    def measure_many(knees, hips):
        local = np.concatenate([_sitting(skel, k, R_yaw, h) for k, h in zip(knees, hips)])
        rotvec = skel.to_rotvec(local)
        T = skel.T_world_from_root(np.repeat(R_yaw[None], len(knees), 0),
                                   np.repeat(skel.root_rest[None], len(knees), 0))
        out = body.forward(BodyParams(model=body.name, shape=shape, pose_rotvec=rotvec, T_world_from_root=T))
        V, J = np.asarray(out.vertices, dtype=np.float64), np.asarray(out.joints)
        heights = []
        for t, h in enumerate(hips):
            sup, feet = _support_split(skel, J[t], V[t], forward, sloped=h < math.pi / 2 - 1e-6)
            heights.append(float(V[t][sup, 2].min() - V[t][feet, 2].min()))
        return rotvec, T, V, J, np.asarray(heights)

    def solve(lo, hi, sloped):
        for _ in range(2):
            grid = np.linspace(lo, hi, 12)
            h = measure_many(grid, grid if sloped else np.full_like(grid, math.pi / 2))[4]
            ok = h <= target
            if not ok.any():
                return None
            if ok.all():
                return hi if not sloped else lo
            if sloped:
                idx = int(np.argmax(ok))
                lo, hi = grid[idx - 1], grid[idx]
            else:
                idx = int(np.argmax(~ok))
                lo, hi = grid[idx - 1], grid[idx]
        return hi if sloped else lo

    def measure(knee, hip=math.pi / 2):
        rotvec, T, V, J, h = measure_many([knee], [hip])
        sup, _ = _support_split(skel, J[0], V[0], forward, sloped=hip < math.pi / 2 - 1e-6)
        return rotvec[0], T[0], V[0], sup, float(h[0])

    target = float(seat["z_m"])
    rotvec, T, v, sup, h = measure(math.pi / 2)
    knee = hip = math.pi / 2
    if h > target:
        knee = solve(math.radians(20.0), math.pi / 2, sloped=False)
        if knee is None:
            return None
        rotvec, T, v, sup, h = measure(knee)
    elif h < target:
        hip = knee = solve(math.pi / 2 - math.radians(MAX_THIGH_SLOPE_DEG), math.pi / 2, sloped=True)
        rotvec, T, v, sup, h = measure(knee, hip)
    return place(rotvec, T, v, sup, knee, hip)


def _recorded_place(monkeypatch):
    """_place_seated replaced by a recorder: the synthetic SMPL-X body (one blob per joint) fits no real seat,
    and what is compared is the posture pose_seated measures and hands to the placement."""
    def place(prop, seat, pv, pf, rotvec, T, v, sup, knee, hip, gap_m):
        return rotvec, T, v, sup, knee, hip

    monkeypatch.setattr(interactions, "_place_seated", place)
    return lambda rotvec, T, v, sup, knee, hip: (rotvec, T, v, sup, knee, hip)


SEAT_HEIGHTS = [0.30, 0.55, 0.75]   # lower than vertical shins (feet forward), one grid path each way


@pytest.mark.parametrize("seat_h", SEAT_HEIGHTS)
def test_smplx_seated_posture_equals_separate_forwards(body, monkeypatch, seat_h):
    ref_place = _recorded_place(monkeypatch)
    shape = body.mean_shape()
    prop = prop_geometry(PropSpec(prop_id=1, kind="bench", dimensions={"width_m": 1.4, "depth_m": 0.6,
                                                                       "seat_height_m": seat_h, "height_m": seat_h},
                                  x_m=0.7, y_m=-0.4, yaw_rad=2.2, material=WOOD))
    ref = _pose_seated_reference(body, shape, prop, ref_place)
    sizes = _count_forwards(monkeypatch, body)
    if ref is None:
        with pytest.raises(RecipeError):
            interactions.pose_seated(body, shape, prop)
        return
    got = interactions.pose_seated(body, shape, prop)
    for a, b in zip(got, ref):
        assert np.array_equal(a, b)
    assert sizes[0] == 1 and sizes[-1] == 1 and set(sizes[1:-1]) <= {12}   # the former batches


def test_anny_seated_posture_reuses_measures(anny, monkeypatch):
    """Anny keeps the memo: the final posture comes from a grid's forward (no batch of 1 at the end)."""
    _recorded_place(monkeypatch)
    shape = anny.mean_shape()
    prop = prop_geometry(PropSpec(prop_id=1, kind="bench", dimensions={"width_m": 1.4, "depth_m": 0.6,
                                                                       "seat_height_m": 0.30, "height_m": 0.30},
                                  x_m=0.7, y_m=-0.4, yaw_rad=2.2, material=WOOD))
    sizes = _count_forwards(monkeypatch, anny)
    interactions.pose_seated(anny, shape, prop)
    assert sizes[0] == 1 and sizes[1] == 11      # pi/2 measured first, not again in the grid
    assert len(sizes) >= 2 and all(1 < s < 12 for s in sizes[1:])   # the final posture: a grid's forward
