"""The ``pose`` motion source: a held pose from a wide prior (arms raised / crossed, squats, lunges, bending,
kneeling-like crouches), within the joint limits, on the ground, deterministic. Anny 615-vertex topology."""

from __future__ import annotations

import numpy as np
import pytest

from synth.core.errors import RecipeError
from synth.motion import sample_motion, sample_motion_clip
from synth.motion.procedural import POSE_KINDS
from synth.motion.quality import compute_joint_limit_violations


@pytest.fixture(scope="module")
def body():
    from synth.bodies.registry import get_body_model

    return get_body_model("anny", topology="notoes_collapse5pc")


def _joints(body, rv, T):
    from synth.bodies.base import BodyParams

    return body.forward(BodyParams(model=body.name, shape=body.mean_shape(), pose_rotvec=rv, T_world_from_root=T))


@pytest.mark.parametrize("kind", POSE_KINDS)
def test_pose_kinds_within_limits_held_and_grounded(body, kind):
    limits = body.joint_limits()
    names = list(body.joint_names)
    for seed in range(3):
        rv, T = sample_motion(body, {"source": "pose", "kind": kind}, 3, 10.0, rng=np.random.default_rng(seed))
        assert rv.shape == (3, len(names), 3) and np.isfinite(rv).all() and np.isfinite(T).all()
        assert np.allclose(rv[0], rv[2]) and np.allclose(T[0], T[2])            # held
        assert compute_joint_limit_violations(rv, limits)["n_violations"] == 0
        posed = _joints(body, rv[:1], T[:1])
        z = np.asarray(posed.vertices)[0, :, 2]
        assert abs(float(z.min())) < 1e-4                                      # lowest vertex on the ground


def test_pose_is_wider_than_static(body):
    """Across seeds the wrists go higher than the head sometimes (arms raised) and the pelvis drops (squats,
    crouches): the static source does neither."""
    from synth.motion.skeleton import BodySkeleton

    skel = BodySkeleton.from_body(body)
    wl, wr, head, root = (skel.idx(n) for n in ("wrist_L", "wrist_R", "head", "root"))
    raised, pelvis = 0, []
    for seed in range(24):
        rv, T = sample_motion(body, "pose", 1, 10.0, rng=np.random.default_rng(seed))
        J = np.asarray(_joints(body, rv, T).joints)[0]
        raised += int(max(J[wl, 2], J[wr, 2]) > J[head, 2])
        pelvis.append(J[root, 2])
    rv, T = sample_motion(body, "static", 1, 10.0, rng=np.random.default_rng(0))
    standing_pelvis = float(np.asarray(_joints(body, rv, T).joints)[0, root, 2])
    assert raised >= 3
    assert min(pelvis) < 0.8 * standing_pelvis


def test_pose_feet_planted(body):
    """Standing and squatting keep both soles on the ground (the IK plants them); the higher ankle is at most
    2 cm above the lower one."""
    from synth.motion.skeleton import BodySkeleton

    skel = BodySkeleton.from_body(body)
    al, ar = skel.idx("ankle_L"), skel.idx("ankle_R")
    for kind in ("stand", "squat"):
        for seed in range(3):
            rv, T = sample_motion(body, {"source": "pose", "kind": kind}, 1, 10.0, rng=np.random.default_rng(seed))
            J = np.asarray(_joints(body, rv, T).joints)[0]
            assert abs(J[al, 2] - J[ar, 2]) < 0.02, (kind, seed, J[al, 2], J[ar, 2])


def test_pose_deterministic_and_meta(body):
    a = sample_motion_clip(body, "pose", 2, 10.0, np.random.default_rng(5))
    b = sample_motion_clip(body, "pose", 2, 10.0, np.random.default_rng(5))
    c = sample_motion_clip(body, "pose", 2, 10.0, np.random.default_rng(6))
    assert np.array_equal(a.rotvec, b.rotvec) and np.array_equal(a.T_world_from_root, b.T_world_from_root)
    assert not np.allclose(a.rotvec, c.rotvec)
    assert a.meta["source"] == "pose" and a.meta["kind"] in POSE_KINDS


def test_pose_bad_kind_and_spread(body):
    with pytest.raises(RecipeError, match="motion.kind"):
        sample_motion(body, {"source": "pose", "kind": "handstand"}, 1, 10.0, rng=np.random.default_rng(0))
    with pytest.raises(RecipeError, match="motion.spread"):
        sample_motion(body, {"source": "pose", "spread": 2}, 1, 10.0, rng=np.random.default_rng(0))


def test_held_poses_stand_on_a_box_whole(body):
    """``pose`` is a planted motion: a held pose (crouch, lunge, reach...) is moved onto a box top whole, its lowest
    point 1 mm above the top, no vertex inside the box; a pose whose footprint does not fit is refused."""
    from synth.environment.props import prop_world_mesh
    from synth.environment.spec import PropSpec
    from synth.core.mesh import points_inside_mesh
    from synth.core.surfaces import MaterialSpec
    from synth.motion.interactions import PLANTED_MOTIONS, pose_standing_on
    from synth.recipe.interactions import prop_geometry

    assert "pose" in PLANTED_MOTIONS
    wood = MaterialSpec("wood", (0.4, 0.3, 0.2), 0.5)
    big = PropSpec(1, "box", {"width_m": 1.4, "depth_m": 1.2, "height_m": 0.4}, 0.5, -0.3, 0.7, wood)
    small = PropSpec(1, "box", {"width_m": 0.2, "depth_m": 0.2, "height_m": 0.4}, 0.5, -0.3, 0.7, wood)
    kinds, stood = set(), 0
    for seed in range(8):
        clip = sample_motion_clip(body, "pose", 2, 10.0, np.random.default_rng(seed))
        T = np.asarray(clip.T_world_from_root)
        s = pose_standing_on(body, body.mean_shape(), clip.rotvec, T, prop_geometry(big))
        V = s.vertices.reshape(-1, 3).astype(np.float64)
        assert s.surface_z_m == pytest.approx(0.4) and V[:, 2].min() == pytest.approx(0.401, abs=1e-5)
        assert not points_inside_mesh(V, *prop_world_mesh(big)).any()
        # held: both frames the same shape on the box
        assert np.abs(s.vertices[0] - s.vertices[1]).max() < 1e-5
        kinds.add(clip.meta["kind"])
        stood += 1
        with pytest.raises(RecipeError, match="no top of the box holds"):
            pose_standing_on(body, body.mean_shape(), clip.rotvec, T, prop_geometry(small))
    assert stood == 8 and len(kinds) >= 3
