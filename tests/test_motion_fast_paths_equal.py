"""The fast paths of scene sampling give the numbers of the code they replace, bit for bit.

* rotation helpers (``synth.core.rotations``) against their former stack-based versions (kept below);
* the gait's foot planner (``procedural._plan_feet``, foothold by foothold) against the frame-by-frame original
  (``procedural._plan_feet_reference``) on walks, runs, curves and a turn on the spot;
* the batched sitting postures (``interactions._sitting_many``) against ``_sitting`` one by one, and the seat
  support masks (``_support_split``, hand distances only where they matter) against the former version;
* the body model poses each frame of a batch on its own (what sharing one forward between the motion's
  grounding and the placement footprint, and measuring sitting postures once, rely on), and a clip grounded
  with the footprint frames in its forward is the clip grounded alone;
* a static pose's rotations made in one batch (``procedural.sample_static_pose``) against the joint-by-joint
  original (kept below);
* a skeleton is measured once per (body, shape).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from synth.bodies.base import BodyParams
from synth.bodies.registry import get_body_model
from synth.core import rotations as rot
from synth.core.tolerance import TOL
from synth.motion import procedural as proc
from synth.motion.interactions import _sitting, _sitting_many, _support_split
from synth.motion.sample import draw_motion_clip, sample_motion_clip
from synth.motion.skeleton import BodySkeleton


# ----------------------------------------------------------------------------- former rotation helpers
def quat_normalize_reference(q):
    q = np.asarray(q, dtype=np.float64)
    return q / np.linalg.norm(q, axis=-1, keepdims=True)


def quat_to_matrix_reference(q):
    q = quat_normalize_reference(q)
    w, x, y, z = np.moveaxis(q, -1, 0)
    return np.stack([
        np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], -1),
        np.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], -1),
        np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], -1),
    ], -2)


def matrix_to_quat_reference(R):
    R = np.asarray(R, dtype=np.float64)
    m00, m11, m22 = R[..., 0, 0], R[..., 1, 1], R[..., 2, 2]
    tr = m00 + m11 + m22
    r21, r12, r02, r20, r10, r01 = R[..., 2, 1], R[..., 1, 2], R[..., 0, 2], R[..., 2, 0], R[..., 1, 0], R[..., 0, 1]
    cands = np.stack([
        np.stack([1 + tr, r21 - r12, r02 - r20, r10 - r01], -1),
        np.stack([r21 - r12, 1 + m00 - m11 - m22, r01 + r10, r02 + r20], -1),
        np.stack([r02 - r20, r01 + r10, 1 - m00 + m11 - m22, r12 + r21], -1),
        np.stack([r10 - r01, r02 + r20, r12 + r21, 1 - m00 - m11 + m22], -1),
    ], -2)
    pick = np.argmax(np.stack([tr, m00, m11, m22], -1), axis=-1)
    q = np.take_along_axis(cands, pick[..., None, None], axis=-2)[..., 0, :]
    q = quat_normalize_reference(q)
    return np.where(q[..., :1] < 0, -q, q)


def quat_to_rotvec_reference(q):
    q = quat_normalize_reference(q)
    q = np.where(q[..., :1] < 0, -q, q)
    v = q[..., 1:]
    s = np.linalg.norm(v, axis=-1)
    angle = 2.0 * np.arctan2(s, q[..., 0])
    scale = np.where(s > TOL.zero, angle / np.where(s > TOL.zero, s, 1.0), 2.0)
    return v * scale[..., None]


def rotvec_to_quat_reference(rv):
    rv = np.asarray(rv, dtype=np.float64)
    angle = np.linalg.norm(rv, axis=-1)
    half = 0.5 * angle
    k = np.where(angle > TOL.zero, np.sin(half) / np.where(angle > TOL.zero, angle, 1.0), 0.5)
    return np.concatenate([np.cos(half)[..., None], rv * k[..., None]], axis=-1)


def axis_angle_matrix_reference(axis, angle):
    axis = np.asarray(axis, dtype=np.float64)
    axis = axis / np.linalg.norm(axis, axis=-1, keepdims=True)
    angle = np.asarray(angle, dtype=np.float64)
    return quat_to_matrix_reference(rotvec_to_quat_reference(axis * angle[..., None]))


def _same(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


def test_rotation_helpers_equal_their_former_versions():
    rng = np.random.default_rng(0)
    for shape in ((), (7,), (5, 3), (2, 3, 4)):
        q = rng.normal(size=shape + (4,))
        rv = rng.normal(size=shape + (3,)) * rng.uniform(0, 3, size=shape + (1,))
        R = rot.rotvec_to_matrix(rv)
        assert _same(rot.quat_normalize(q), quat_normalize_reference(q))
        assert _same(rot.quat_to_matrix(q), quat_to_matrix_reference(q))
        assert _same(rot.rotvec_to_quat(rv), rotvec_to_quat_reference(rv))
        assert _same(rot.quat_to_rotvec(q), quat_to_rotvec_reference(q))
        assert _same(rot.matrix_to_quat(R), matrix_to_quat_reference(R))
        axis, angle = rng.normal(size=shape + (3,)), rng.normal(size=shape)
        assert _same(rot.axis_angle_matrix(axis, angle), axis_angle_matrix_reference(axis, angle))
    # the corner cases: identity, tiny angles, half turns about each axis (each Shepperd branch), float32 input
    special = np.array([[0, 0, 0], [1e-12, 0, 0], [math.pi, 0, 0], [0, math.pi, 0], [0, 0, math.pi],
                        [2.0, -1.0, 0.5], [-3.0, 0.1, 0.1]])
    for rv in (special, special.astype(np.float32)):
        R = rot.rotvec_to_matrix(rv)
        assert _same(R, quat_to_matrix_reference(rotvec_to_quat_reference(rv)))
        assert _same(rot.matrix_to_quat(R), matrix_to_quat_reference(R))
        assert _same(rot.matrix_to_rotvec(R), quat_to_rotvec_reference(matrix_to_quat_reference(R)))
    # a matrix with every candidate branch chosen at least once
    R = rot.rotvec_to_matrix(rng.normal(size=(400, 3)) * 1.5)
    picks = np.argmax(np.stack([np.trace(R, axis1=-2, axis2=-1), R[:, 0, 0], R[:, 1, 1], R[:, 2, 2]], -1), -1)
    assert set(picks.tolist()) == {0, 1, 2, 3}
    assert _same(rot.matrix_to_quat(R), matrix_to_quat_reference(R))


# ----------------------------------------------------------------------------- motion
@pytest.fixture(scope="module")
def body():
    return get_body_model("anny")


@pytest.fixture(scope="module")
def skel(body):
    return BodySkeleton.from_body(body, dict(body.sample_shape(np.random.default_rng(3))))


def _gait_cases(skel):
    cases = []
    for speed, running, turn in ((1.3, False, 0.0), (0.6, False, 0.5), (3.5, True, 0.0), (2.5, True, -0.8)):
        cases.append((proc.gait_style(skel, speed, running=running), proc.straight_path(speed, turn),
                      np.arange(-1.0, 4.0, 1 / 120)))
    # turning on the spot: zero stride, the activity ramps up and down (feet that stay planted)
    style = proc.gait_style(skel, 0.9, running=False)
    style = proc.GaitStyle(**{**style.__dict__, "period_s": 1.1, "stride_m": 0.0, "speed_mps": 0.0})
    path = proc.Path(center=lambda tt: np.zeros((len(np.atleast_1d(tt)), 2)),
                     heading=lambda tt: 2.0 * proc.smoothstep((np.asarray(tt, float) - 0.6) / 2.0),
                     activity=lambda tt: proc._envelope(np.asarray(tt, float),
                                                        [(0.0, 0.0), (0.3, 0.0), (0.6, 1.0), (2.6, 1.0), (3.1, 0.0)]))
    cases.append((style, path, np.arange(0.0, 5.0, 1 / 120)))
    # a few frames at 10 fps (what a scene asks for)
    cases.append((proc.gait_style(skel, 1.1, running=False), proc.straight_path(1.1), np.array([3.217, 3.317])))
    return cases


def test_foot_planner_equals_the_frame_by_frame_original(skel):
    for style, path, t in _gait_cases(skel):
        fast = proc._plan_feet(skel, style, path, t)
        ref = proc._plan_feet_reference(skel, style, path, t)
        for side in ("L", "R"):
            for name in ("ankle", "rot", "toes_flat", "contact"):
                assert _same(getattr(fast[side], name), getattr(ref[side], name)), (side, name)
        if len(t) > 100:  # not a trivial case: the feet rest, roll (heel strike, heel-off) and swing
            for side in ("L", "R"):
                f = fast[side]
                assert f.contact.any() and not f.contact.all()
                assert (f.toes_flat[f.contact] == 1.0).any() and (f.toes_flat[f.contact] == 0.0).any()


def sample_static_pose_reference(skel, rng, scale=1.0):
    """``procedural.sample_static_pose`` as it was: one rotation at a time."""
    _rx, _ry, _rz = proc._rx, proc._ry, proc._rz
    n = 1
    d = np.radians
    deltas = {}

    def N(std_deg, mean_deg=0.0):
        return float(d(mean_deg + std_deg * scale * rng.normal()))

    def axis_rot(axis, angle):
        return rot.axis_angle_matrix(np.asarray(axis, float)[None], np.array([angle]))

    for j in skel.idxs("spine"):
        deltas[j] = _rx(N(4, 1), n) @ _ry(N(4), n) @ _rz(N(4), n)
    for j in skel.idxs("neck"):
        deltas[j] = _rx(N(6), n) @ _ry(N(4), n) @ _rz(N(6), n)
    head = skel.idx("head")
    deltas[head] = _rx(N(8), n) @ _ry(N(5), n) @ _rz(N(8), n)
    R0 = skel.rest_joints
    for side in ("L", "R"):
        sgn = 1.0 if side == "L" else -1.0
        cl, sh, el, wr = (skel.idx(f"{r}_{side}") for r in ("clavicle", "shoulder", "elbow", "wrist"))
        hp, kn, an = (skel.idx(f"{r}_{side}") for r in ("hip", "knee", "ankle"))
        deltas[cl] = _rx(N(4), n) @ _ry(N(4), n)
        arm = R0[el] - R0[sh]
        fore = R0[wr] - R0[el]
        deltas[sh] = _rx(-N(25, 10), n) @ _ry(-sgn * abs(N(20)), n) @ axis_rot(arm, N(20))
        deltas[el] = axis_rot(skel.hinge_rest(el), -(d(10) + abs(N(35)))) @ axis_rot(fore, N(20))
        deltas[wr] = _rx(N(15), n) @ _ry(N(15), n) @ _rz(N(10), n)
        thigh = R0[kn] - R0[hp]
        deltas[hp] = _rx(-N(6), n) @ _ry(-sgn * N(4), n) @ axis_rot(thigh, N(5))
        deltas[kn] = axis_rot(skel.hinge_rest(kn), abs(N(6)))
        deltas[an] = _rx(N(4), n) @ _ry(N(4), n)
    for j, name in enumerate(skel.joint_names):
        low = name.lower()
        if j not in deltas and any(k in low for k in ("finger", "thumb", "index", "middle", "ring", "pinky")):
            deltas[j] = _rx(N(8), n) @ _ry(N(8), n) @ _rz(N(8), n)
    local, _, _ = skel.compose(np.eye(3)[None], np.zeros((1, 3)), deltas, {})
    pose = skel.local_to_param(local[0])
    pose[0] = skel.rest_rotvec[0]
    return np.clip(pose, skel.limits[..., 0], skel.limits[..., 1])


def test_static_pose_equals_the_joint_by_joint_original(skel):
    for seed, scale in ((0, 1.0), (1, 0.3), (2, 2.5)):
        a, b = np.random.default_rng(seed), np.random.default_rng(seed)
        fast = proc.sample_static_pose(skel, a, scale=scale)
        assert _same(fast, sample_static_pose_reference(skel, b, scale=scale))
        assert a.normal() == b.normal()                 # the same number of draws
        assert np.abs(fast - skel.rest_rotvec).max() > 0.05


def test_batched_sitting_postures_equal_one_by_one(skel):
    R_yaw = rot.axis_angle_matrix(np.array([[0.0, 0.0, 1.0]]), np.array([0.7]))[0]
    knees = np.linspace(math.radians(20), math.pi / 2, 12)
    hips = np.concatenate([np.full(6, math.pi / 2), knees[6:]])
    many = _sitting_many(skel, knees, hips, R_yaw)
    one = np.concatenate([_sitting(skel, k, R_yaw, h) for k, h in zip(knees, hips)])
    assert _same(many, one)
    assert not np.allclose(many[0], many[-1])


def _support_split_reference(skel, joints, verts, forward, sloped=False):
    knee = 0.5 * (joints[skel.idx("knee_L")] + joints[skel.idx("knee_R")])
    hip = 0.5 * (joints[skel.idx("hip_L")] + joints[skel.idx("hip_R")])
    ankle = 0.5 * (joints[skel.idx("ankle_L")] + joints[skel.idx("ankle_R")])
    along = (verts - knee) @ forward
    hands = np.minimum(np.linalg.norm(verts - joints[skel.idx("wrist_L")], axis=1),
                       np.linalg.norm(verts - joints[skel.idx("wrist_R")], axis=1))
    seat = (along < -0.08) & (verts[:, 2] > knee[2] - 0.15) & (hands > 0.25)
    if sloped:
        seat &= (verts - hip) @ forward < 0.12
    feet = verts[:, 2] < ankle[2] + 0.02
    return seat, feet


def test_support_split_equals_the_former_version(body, skel):
    R_yaw = rot.axis_angle_matrix(np.array([[0.0, 0.0, 1.0]]), np.array([-0.4]))[0]
    forward = R_yaw @ np.array([0.0, -1.0, 0.0])
    knees = np.array([math.radians(25), math.radians(60), math.pi / 2, 1.2])
    hips = np.array([math.pi / 2, math.pi / 2, math.pi / 2, 1.2])
    local = _sitting_many(skel, knees, hips, R_yaw)
    T = skel.T_world_from_root(np.repeat(R_yaw[None], 4, 0), np.repeat(skel.root_rest[None], 4, 0))
    out = body.forward(BodyParams(model=body.name, shape=skel.shape, pose_rotvec=skel.to_rotvec(local),
                                  T_world_from_root=T))
    V, J = np.asarray(out.vertices, dtype=np.float64), np.asarray(out.joints)
    for t in range(4):
        sloped = hips[t] < math.pi / 2 - 1e-6
        seat, feet = _support_split(skel, J[t], V[t], forward, sloped=sloped)
        seat_ref, feet_ref = _support_split_reference(skel, J[t], V[t], forward, sloped=sloped)
        assert np.array_equal(seat, seat_ref) and np.array_equal(feet, feet_ref)
        assert 100 < seat.sum() < len(seat) // 2


def test_body_forward_poses_each_frame_of_a_batch_on_its_own(body):
    """Sharing one forward between several pose sets needs this: frame i's numbers do not depend on the others
    (what ``forward_frames_independent = True`` claims; SMPL-X: tests/test_smplx_batch_independence.py)."""
    assert body.forward_frames_independent is True
    rng = np.random.default_rng(7)
    shape = dict(body.sample_shape(rng))
    rv = sample_motion_clip(body, "walk", 9, 10.0, rng, shape=shape).rotvec
    clip = sample_motion_clip(body, "wave", 9, 10.0, np.random.default_rng(8), shape=shape)
    rv = np.concatenate([rv, clip.rotvec]).astype(np.float32)
    T = np.concatenate([clip.T_world_from_root, np.broadcast_to(np.eye(4), (9, 4, 4))])
    full = body.forward(BodyParams(model=body.name, shape=shape, pose_rotvec=rv, T_world_from_root=T))
    for sl in (slice(0, 1), slice(2, 5), slice(9, 18), slice(17, 18)):
        part = body.forward(BodyParams(model=body.name, shape=shape, pose_rotvec=rv[sl], T_world_from_root=T[sl]))
        for name in ("vertices", "joints", "keypoints"):
            assert _same(np.asarray(getattr(full, name))[sl], np.asarray(getattr(part, name))), (sl, name)


@pytest.mark.parametrize("source", ["walk", "static", "jump"])
def test_grounding_forward_shared_with_other_frames(body, source):
    shape = dict(body.sample_shape(np.random.default_rng(11)))
    alone = sample_motion_clip(body, source, 6, 10.0, np.random.default_rng(12), shape=shape)
    drawn = draw_motion_clip(body, source, 6, 10.0, np.random.default_rng(12), shape=shape)
    extra_pose = np.ascontiguousarray(drawn.rotvec[[0, 3, 5]] * np.float32(0.9))
    shared, vertices = drawn.finish(also_pose=extra_pose)
    assert _same(shared.rotvec, alone.rotvec)
    assert _same(shared.T_world_from_root, alone.T_world_from_root)
    assert shared.meta == alone.meta
    eye = np.broadcast_to(np.eye(4), (3, 4, 4)).copy()
    expected = body.forward(BodyParams(model=body.name, shape=shape, pose_rotvec=extra_pose,
                                       T_world_from_root=eye)).vertices
    assert _same(vertices, expected)


def test_skeleton_measured_once_per_body_and_shape(body):
    shape = dict(body.sample_shape(np.random.default_rng(21)))
    a = BodySkeleton.from_body(body, shape)
    b = BodySkeleton.from_body(body, {k: np.array(v) for k, v in shape.items()})
    assert a is b
    other = dict(shape, weight=np.asarray(shape["weight"], dtype=np.float32) * np.float32(0.9))
    c = BodySkeleton.from_body(body, other)
    assert c is not a and not np.array_equal(c.zero_joints, a.zero_joints)
    with pytest.raises(ValueError):
        a.rest_joints[0, 0] = 1.0            # shared: read-only
    fresh = BodySkeleton._measure(body, shape)
    for name in ("zero_joints", "rest_local", "rest_global", "rest_joints", "sole_offsets"):
        assert _same(getattr(a, name), getattr(fresh, name))
    assert a.ground_z == fresh.ground_z
