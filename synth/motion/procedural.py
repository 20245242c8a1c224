"""Procedural everyday actions, built on a body's own skeleton.

Every action is written in the canonical body frame (Z up, facing -Y, left +X)
as: a root trajectory, per-joint rotations *relative to the rest pose* (the
model's ``rest_pose()``, standing with arms down), and end-effector targets
solved with analytic two-bone IK. The feet are placed by a footstep planner and
held still while they carry weight (heel strike about the heel, flat foot,
heel-off about the ball of the foot), so grounded actions do not skate by
construction; the root advances exactly at the requested speed.

Leg length, stride and foot geometry come from the body itself, so a child and
an adult walking at the same speed take different strides. Stride length
follows Alexander's relation for human gait, ``S / L = 2.3 (v^2 / (g L))^0.3``
(R. McN. Alexander, "Walking and running", American Scientist 72, 1984), with
``L`` the hip height.

Each generator returns a :class:`GeneratedMotion` for frame times ``t`` (s).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from synth.core.errors import RecipeError
from synth.core.rotations import (
    axis_angle_matrix,
    frame_matrix,
    matrix_slerp,
    matrix_to_quat,
    quat_slerp,
    quat_to_matrix,
    rotation_between,
    rotvec_to_matrix,
)
from synth.core.tolerance import TOL
from synth.motion.skeleton import FORWARD, LEFT, UP, BodySkeleton, two_bone_ik

G_ACC = 9.81


@dataclass
class GeneratedMotion:
    """Output of a generator.

    local : (T, J, 3, 3) absolute local rotations (the model's pose input)
    R_root : (T, 3, 3) rotation of T_world_from_root
    p_root : (T, 3) metres, root joint world position
    grounding : how sample_motion should put it on the ground: 'per_frame' (lowest vertex at z=0 every
        frame), 'contact' (only frames touching the ground; flight keeps its height) or 'none'
    meta : description of what was generated (parameters actually used)
    """

    local: np.ndarray
    R_root: np.ndarray
    p_root: np.ndarray
    grounding: str = "per_frame"
    meta: dict[str, Any] = field(default_factory=dict)


# ----------------------------------------------------------------------------- small helpers
def _rot(axis: np.ndarray, angle: np.ndarray | float, n: int | None = None) -> np.ndarray:
    angle = np.asarray(angle, dtype=np.float64)
    if angle.ndim == 0 and n is not None:
        angle = np.full(n, float(angle))
    axis = np.broadcast_to(np.asarray(axis, dtype=np.float64), angle.shape + (3,))
    return axis_angle_matrix(axis, angle)


def _rx(a, n=None):
    return _rot(LEFT, a, n)


def _ry(a, n=None):
    return _rot(np.array([0.0, 1.0, 0.0]), a, n)


def _rz(a, n=None):
    return _rot(UP, a, n)


def smoothstep(x: np.ndarray | float) -> np.ndarray:
    """Quintic ease 0 -> 1 on [0, 1] (zero velocity and acceleration at both ends)."""
    x = np.clip(np.asarray(x, dtype=np.float64), 0.0, 1.0)
    return x * x * x * (x * (6.0 * x - 15.0) + 10.0)


def _envelope(t: np.ndarray, keys: list[tuple[float, float]]) -> np.ndarray:
    """Piecewise smoothstep through (time, value) keys; constant outside."""
    t = np.asarray(t, dtype=np.float64)
    out = np.full(t.shape, keys[0][1])
    for (t0, v0), (t1, v1) in zip(keys[:-1], keys[1:]):
        if t1 <= t0:
            continue
        s = smoothstep((t - t0) / (t1 - t0))
        out = np.where(t >= t0, v0 + (v1 - v0) * s, out)
    return out


def _smooth_noise(t: np.ndarray, rng: np.random.Generator, amplitude: float, min_period_s: float,
                  max_period_s: float, n: int = 4) -> np.ndarray:
    """Smooth random signal: a sum of ``n`` sines with random periods and phases, std ~ amplitude."""
    out = np.zeros_like(t, dtype=np.float64)
    for _ in range(n):
        period = rng.uniform(min_period_s, max_period_s)
        out += np.sin(2 * np.pi * t / period + rng.uniform(0, 2 * np.pi))
    return out * amplitude * math.sqrt(2.0 / n)


def _hinge(d_child_from: np.ndarray, d_child_to: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """Hinge axis of a bent limb, ``cross(first bone, second bone)``, falling back when nearly straight."""
    h = np.cross(d_child_from, d_child_to)
    n = np.linalg.norm(h, axis=-1, keepdims=True)
    fb = fallback - np.sum(fallback * d_child_from, -1, keepdims=True) * d_child_from / \
        np.sum(d_child_from * d_child_from, -1, keepdims=True)
    fb /= np.maximum(np.linalg.norm(fb, axis=-1, keepdims=True), TOL.degenerate)
    w = np.clip(n / 0.05, 0.0, 1.0)  # below ~3 degrees of bend use the fallback direction
    h = w * h / np.maximum(n, TOL.zero) + (1 - w) * fb
    return h / np.linalg.norm(h, axis=-1, keepdims=True)


def _chain_vector(skel: BodySkeleton, b: int, c: int, G_b: np.ndarray) -> np.ndarray:
    """(T, 3) vector from joint b to its descendant c when b has world rotation G_b (T, 3, 3) and the joints in
    between keep their rest local rotations."""
    chain = []
    j = c
    while j != b:
        chain.append(j)
        j = int(skel.parents[j])
    chain.reverse()  # children of b down to c
    v = np.zeros(G_b.shape[:-2] + (3,))
    G = G_b
    prev = b
    for j in chain:
        v = v + np.einsum("...ab,b->...a", G, skel.zero_joints[j] - skel.zero_joints[prev])
        G = G @ skel.rest_local[j]
        prev = j
    return v


def _has_hinge_axes(skel: BodySkeleton, b: int) -> bool:
    return not np.allclose(skel.frames[b], np.eye(3), atol=TOL.rounding)


def _hinge_limb(skel: BodySkeleton, a: int, b: int, c: int, d1: np.ndarray, d2: np.ndarray, pole: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
    """Exact hinge: world rotations of joints a and b so that bone a->b points along d1 and b->c along d2 (T, 3),
    with joint b rotating only about its own hinge axis (pose parameter X; Y, Z keep their rest values).

    Solves the hinge angle X matching the bend between d1 and d2, then rotates the whole rest limb (so the twist
    of bone a follows the bend plane). ``pole`` (T, 3) picks the bend plane when the limb is straight.
    """
    T = d1.shape[0]
    pb = int(skel.parents[b])
    G_pb = skel.rest_global[pb]                            # a's chain down to b's parent, at rest locals
    G_a_rest = skel.rest_global[a]
    d1r = skel.rest_joints[b] - skel.rest_joints[a]
    param0 = skel.rest_rotvec[b].astype(np.float64)
    lo, hi = skel.limits[b, 0]

    def d2_of(X: np.ndarray) -> np.ndarray:
        prm = np.broadcast_to(param0, (len(X), 3)).copy()
        prm[:, 0] = X
        L = skel.frames[b] @ rotvec_to_matrix(prm) @ skel.frames[b].T
        return _chain_vector(skel, b, c, G_pb @ L)

    def bend(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        cu = np.sum(u * v, -1) / (np.linalg.norm(u, axis=-1) * np.linalg.norm(v, axis=-1))
        return np.arccos(np.clip(cu, -1.0, 1.0))

    target = bend(d1, d2)
    X0 = np.full(T, param0[0])
    b0 = bend(np.broadcast_to(d1r, (T, 3)), d2_of(X0))
    b1 = bend(np.broadcast_to(d1r, (T, 3)), d2_of(X0 + 0.2))
    slope = (b1 - b0) / 0.2
    slope = np.where(np.abs(slope) < 0.2, 1.0, slope)
    X = X0 + (target - b0) / slope
    for _ in range(2):  # secant refinement
        bx = bend(np.broadcast_to(d1r, (T, 3)), d2_of(X))
        X = X + (target - bx) / slope
    X = np.clip(X, lo, hi)
    d2x = d2_of(X)
    # rotate the rest limb (d1r, d2x) onto (d1, d2); straight limbs take their bend plane from the pole
    def plane(u, v, p):
        un = u / np.linalg.norm(u, axis=-1, keepdims=True)
        w = v - np.sum(v * un, -1, keepdims=True) * un
        q = p - np.sum(p * un, -1, keepdims=True) * un
        nw = np.linalg.norm(w, axis=-1, keepdims=True)
        qn = q / np.maximum(np.linalg.norm(q, axis=-1, keepdims=True), TOL.degenerate)
        k = np.clip(nw / (0.05 * np.linalg.norm(v, axis=-1, keepdims=True)), 0.0, 1.0)
        return k * w / np.maximum(nw, TOL.zero) + (1 - k) * qn
    s_new = plane(d1, d2, pole)
    s_rest = plane(np.broadcast_to(d1r, (T, 3)), d2x, pole)
    A = frame_matrix(d1, s_new) @ np.swapaxes(frame_matrix(np.broadcast_to(d1r, (T, 3)), s_rest), -1, -2)
    prm = np.broadcast_to(param0, (T, 3)).copy()
    prm[:, 0] = X
    L = skel.frames[b] @ rotvec_to_matrix(prm) @ skel.frames[b].T
    return A @ G_a_rest, A @ G_pb @ L


def _limb_globals(skel: BodySkeleton, a: int, b: int, c: int, pa: np.ndarray, pb: np.ndarray, pc: np.ndarray,
                  sign: float, rest_axis: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """World rotations of the two bones a->b and b->c of a hinged limb placed at positions pa, pb, pc (T, 3).

    ``sign`` +1 for knees (cross(thigh, shin) is the rest lateral axis), -1 for elbows. ``rest_axis`` (T, 3) is the
    body's current lateral direction, used when the limb is straight. Models with explicit joint axes (Anny) get an
    exact hinge at b (see :func:`_hinge_limb`).
    """
    d1, d2 = pb - pa, pc - pb
    h = _hinge(sign * d1, d2, rest_axis) if sign > 0 else _hinge(d2, d1, rest_axis)
    if _has_hinge_axes(skel, b):
        # the bend plane contains d1 and the direction normal to both d1 and the hinge
        pole = np.cross(h, d1) * (1.0 if sign > 0 else -1.0)
        return _hinge_limb(skel, a, b, c, d1, d2, pole)
    R0 = skel.rest_joints
    d1r, d2r = R0[b] - R0[a], R0[c] - R0[b]
    h_rest = skel.hinge_rest(b)  # frame_matrix makes it normal to each bone
    A1 = frame_matrix(d1, h) @ frame_matrix(d1r, h_rest).T
    A2 = frame_matrix(d2, h) @ frame_matrix(d2r, h_rest).T
    return A1 @ skel.rest_global[a], A2 @ skel.rest_global[b]


def _limb_globals_dirs(skel: BodySkeleton, a: int, b: int, c: int, d1: np.ndarray, d2: np.ndarray,
                      hinge: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """World rotations of bones a->b and b->c pointing along d1, d2 (T, 3) with the given hinge axis (T, 3)."""
    if _has_hinge_axes(skel, b):
        return _hinge_limb(skel, a, b, c, d1, d2, np.cross(d1, hinge))
    R0 = skel.rest_joints
    d1r, d2r = R0[b] - R0[a], R0[c] - R0[b]
    h1 = h2 = skel.hinge_rest(b)
    A1 = frame_matrix(d1, hinge) @ frame_matrix(d1r, h1).T
    A2 = frame_matrix(d2, hinge) @ frame_matrix(d2r, h2).T
    return A1 @ skel.rest_global[a], A2 @ skel.rest_global[b]


@dataclass
class _Foot:
    ankle: np.ndarray   # (T, 3) world ankle joint target
    rot: np.ndarray     # (T, 3, 3) world rotation of the foot (applied to the rest foot)
    toes_flat: np.ndarray  # (T,) weight in [0, 1] with which the toes stay flat on the ground
    contact: np.ndarray | None = None  # (T,) bool: the foot carries weight (its target must be reached)


class _FootGeometry:
    """Rest-pose foot measurements of one side (model frame, ground at skel.ground_z)."""

    def __init__(self, skel: BodySkeleton, side: str):
        self.side = side
        a = skel.idx(f"ankle_{side}")
        self.ankle_rest = skel.rest_joints[a]
        self.h_ankle = float(self.ankle_rest[2] - skel.ground_z)
        heel_k, toe_k = (0, 1) if side == "L" else (2, 3)
        Ga = skel.rest_global[a]
        heel = self.ankle_rest + Ga @ skel.sole_offsets[heel_k]
        toe = self.ankle_rest + Ga @ skel.sole_offsets[toe_k]
        ball = skel.rest_joints[skel.idx(f"ball_{side}")].copy()
        # pivots relative to the ankle, in the rest (facing -Y) frame: the foot rolls about the heel's sole point
        # at heel strike and about the ball joint (where the flat toes hinge) at heel-off, so neither slides
        self.heel_rel = heel - self.ankle_rest
        self.ball_rel = ball - self.ankle_rest
        self.toe_rel = toe - self.ankle_rest
        self.rest_rot = skel.rest_global[a]


def _foot_pose(geo: _FootGeometry, ground_xy: np.ndarray, yaw: float, pitch: float, ground_z: float = 0.0
               ) -> tuple[np.ndarray, np.ndarray]:
    """Ankle world position and foot rotation (world, relative to rest) for a foot on the ground.

    ground_xy : (2,) position of the point under the ankle; yaw about +Z (0: toes towards -Y);
    pitch > 0 lifts the toes (rolling on the heel), < 0 lifts the heel (rolling on the ball).
    """
    Rz = _rz(yaw)
    lateral = Rz @ LEFT
    Rp = axis_angle_matrix(lateral, -pitch)
    ankle_flat = np.array([ground_xy[0], ground_xy[1], ground_z + geo.h_ankle])
    pivot_rel = geo.heel_rel if pitch > 0 else geo.ball_rel
    pivot = ankle_flat + Rz @ pivot_rel
    ankle = pivot + Rp @ (ankle_flat - pivot)
    return ankle, Rp @ Rz


def _foot_poses(geo: _FootGeometry, ground_xy: np.ndarray, yaw: float, pitch: np.ndarray, ground_z: float = 0.0
                ) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_foot_pose` for one place and yaw and many pitches (N,): ankles (N, 3), rotations (N, 3, 3), the
    same numbers as N calls (each matrix product is the same 3x3 product, batched)."""
    Rz = _rz(yaw)
    lateral = Rz @ LEFT
    Rp = axis_angle_matrix(lateral, -pitch)
    ankle_flat = np.array([ground_xy[0], ground_xy[1], ground_z + geo.h_ankle])
    pivot = np.where((pitch > 0)[:, None], ankle_flat + Rz @ geo.heel_rel, ankle_flat + Rz @ geo.ball_rel)
    ankle = pivot + (Rp @ (ankle_flat - pivot)[:, :, None])[:, :, 0]
    return ankle, Rp @ Rz


# ----------------------------------------------------------------------------- gait
@dataclass
class GaitStyle:
    """Parameters of one gait; see :func:`gait_style` for how they follow the speed."""

    speed_mps: float
    stride_m: float
    period_s: float
    duty: float            # stance fraction of the cycle, per foot
    foot_lateral_m: float  # ankle distance from the walking line
    toe_out_rad: float
    heel_strike_rad: float
    toe_off_rad: float
    heel_phase: float      # fraction of stance rolling on the heel
    toe_phase: float       # stance fraction where the heel starts to rise
    clearance_m: float     # swing lift of the ankle
    bob_m: float
    sway_m: float
    pelvis_yaw_rad: float
    pelvis_roll_rad: float
    lean_rad: float
    arm_swing_rad: float
    arm_abduction_rad: float
    elbow_base_rad: float
    elbow_swing_rad: float
    extra_crouch_m: float
    running: bool
    foothold_shift: float = 0.0   # foothold offset along the heading, in stance lengths (< 0: behind mid-stance)
    arm_offset_rad: float = math.radians(3)  # mean shoulder flexion


def stride_length_m(speed_mps: float, leg_length_m: float) -> float:
    """Alexander (1984): S / L = 2.3 (v^2 / (g L))^0.3."""
    fr = speed_mps ** 2 / (G_ACC * leg_length_m)
    return leg_length_m * 2.3 * fr ** 0.3


def gait_style(skel: BodySkeleton, speed_mps: float, running: bool) -> GaitStyle:
    L = skel.leg_length
    hip_half = 0.5 * abs(skel.rest_joints[skel.idx("hip_L"), 0] - skel.rest_joints[skel.idx("hip_R"), 0])
    v = float(speed_mps)
    # relative speed: scale the style amplitudes by the Froude-normalised speed, so children move alike
    vn = v / math.sqrt(G_ACC * L) / (1.3 / math.sqrt(G_ACC * 0.9))  # 1 at 1.3 m/s for a 0.9 m leg
    if not running:
        if v <= 0.05:
            raise RecipeError(f"motion.walk: speed_mps must be > 0.05, got {v}")
        S = stride_length_m(v, L)
        return GaitStyle(
            speed_mps=v, stride_m=S, period_s=S / v, duty=float(np.clip(0.62 - 0.04 * (vn - 1), 0.56, 0.68)),
            foot_lateral_m=0.55 * hip_half, toe_out_rad=math.radians(6),
            heel_strike_rad=math.radians(float(np.clip(12 + 6 * (vn - 1), 4, 20))),
            toe_off_rad=math.radians(float(np.clip(28 + 10 * (vn - 1), 12, 40))),
            heel_phase=0.14, toe_phase=0.58, clearance_m=float(np.clip(0.10 + 0.03 * (vn - 1), 0.06, 0.14)) * L,
            bob_m=float(np.clip(0.018 * vn, 0.006, 0.03)) * L / 0.9,
            sway_m=float(np.clip(0.022 - 0.008 * (vn - 1), 0.008, 0.03)) * L / 0.9,
            pelvis_yaw_rad=math.radians(float(np.clip(4.5 * vn, 1.5, 9))),
            pelvis_roll_rad=math.radians(float(np.clip(3.0 * vn, 1.0, 5))),
            lean_rad=math.radians(2 + 1.5 * vn),
            arm_swing_rad=math.radians(float(np.clip(15 * vn, 4, 32))),
            arm_abduction_rad=math.radians(5), elbow_base_rad=math.radians(14),
            elbow_swing_rad=math.radians(float(np.clip(16 * vn, 4, 30))), extra_crouch_m=0.008 * L / 0.9,
            running=False, foothold_shift=-0.04)
    if v <= 0.8:
        raise RecipeError(f"motion.run: speed_mps must be > 0.8, got {v}")
    S = stride_length_m(v, L)
    vr = v / math.sqrt(G_ACC * L) / (3.2 / math.sqrt(G_ACC * 0.9))  # 1 at 3.2 m/s for a 0.9 m leg
    return GaitStyle(
        speed_mps=v, stride_m=S, period_s=S / v, duty=float(np.clip(0.36 - 0.06 * (vr - 1), 0.28, 0.44)),
        foot_lateral_m=0.4 * hip_half, toe_out_rad=math.radians(4), heel_strike_rad=math.radians(6),
        toe_off_rad=math.radians(34), heel_phase=0.12, toe_phase=0.45,
        clearance_m=float(np.clip(0.22 + 0.05 * (vr - 1), 0.15, 0.3)) * L,
        bob_m=0.05 * L / 0.9, sway_m=0.008 * L / 0.9, pelvis_yaw_rad=math.radians(7), pelvis_roll_rad=math.radians(4),
        lean_rad=math.radians(float(np.clip(7 + 4 * (vr - 1), 4, 14))),
        arm_swing_rad=math.radians(float(np.clip(28 * vr, 15, 45))), arm_abduction_rad=math.radians(10),
        elbow_base_rad=math.radians(75), elbow_swing_rad=math.radians(20), extra_crouch_m=0.015 * L / 0.9,
        running=True, foothold_shift=-0.06, arm_offset_rad=math.radians(-8))


@dataclass
class Path:
    """Walking line: centre position (T, 2) and heading (T,) radians (0: facing -Y) as functions of time."""

    center: Callable[[np.ndarray], np.ndarray]
    heading: Callable[[np.ndarray], np.ndarray]
    activity: Callable[[np.ndarray], np.ndarray] = field(default=lambda t: np.ones_like(np.asarray(t, float)))


def straight_path(speed_mps: float, turn_rate_rad_s: float = 0.0) -> Path:
    """Constant speed along a straight line or, with a turn rate, along a circle; starts at the origin facing -Y."""
    if abs(turn_rate_rad_s) < TOL.degenerate:
        return Path(center=lambda t: np.stack([np.zeros_like(t), -speed_mps * np.asarray(t, float)], -1),
                    heading=lambda t: np.zeros_like(np.asarray(t, float)))
    r = speed_mps / turn_rate_rad_s

    def center(t):
        psi = turn_rate_rad_s * np.asarray(t, float)
        # d/dt center = v * (sin psi, -cos psi) (the heading direction Rz(psi) @ (0, -1, 0))
        return np.stack([r * (1 - np.cos(psi)), -r * np.sin(psi)], -1)

    return Path(center=center, heading=lambda t: turn_rate_rad_s * np.asarray(t, float))


def _heading_dir(psi: np.ndarray) -> np.ndarray:
    return np.stack([np.sin(psi), -np.cos(psi), np.zeros_like(psi)], -1)


def _left_dir(psi: np.ndarray) -> np.ndarray:
    return np.stack([np.cos(psi), np.sin(psi), np.zeros_like(psi)], -1)


def _plan_feet(skel: BodySkeleton, style: GaitStyle, path: Path, t: np.ndarray) -> dict[str, _Foot]:
    """Footholds and per-frame foot poses of both feet for frame times t (T,).

    Works foothold by foothold: what depends only on the foothold (its place and yaw, the swing activities, the
    swing's end poses) is computed once, and the frames on it are evaluated together with the same operations,
    in the same order, as :func:`_plan_feet_reference` applies frame by frame (bit-identical results:
    ``tests/test_motion_fast_paths_equal.py``).
    """
    t = np.asarray(t, dtype=np.float64)
    return {side: _plan_foot(skel, style, path, t, side, phase0, lat_sign)
            for side, phase0, lat_sign in (("L", 0.0, 1.0), ("R", 0.5, -1.0))}


class _Footholds:
    """Where one foot stands at its k-th foothold, and how much its swing from foothold k moves (cached)."""

    def __init__(self, style: GaitStyle, path: Path, phase0: float, lat_sign: float):
        self.style, self.path, self.phase0, self.lat_sign = style, path, phase0, lat_sign
        # the foot's ankle sits this far from the walking line in the rest pose
        self.lateral = lat_sign * style.foot_lateral_m
        self._holds: dict[int, tuple[np.ndarray, float]] = {}
        self._activities: dict[int, float] = {}

    def hold(self, k: int) -> tuple[np.ndarray, float]:
        """(ground xy (2,), yaw) of foothold k."""
        if k not in self._holds:
            style, path, phase0 = self.style, self.path, self.phase0
            P, beta = style.period_s, style.duty
            tm = np.array([(k + beta / 2 - phase0) * P])
            c = path.center(tm)[0]
            psi = float(path.heading(tm)[0])
            # how far the body travels during this stance (0 when turning on the spot)
            tr = path.center(np.array([(k - phase0) * P, (k + beta - phase0) * P]))
            stance_len = float(np.linalg.norm(tr[1] - tr[0]))
            xy = c + self.lateral * _left_dir(np.array(psi))[:2] + \
                style.foothold_shift * stance_len * _heading_dir(np.array(psi))[:2]
            self._holds[k] = (xy, psi + self.lat_sign * style.toe_out_rad)
        return self._holds[k]

    def swing_activity(self, k: int) -> float:
        """How much foot k's swing to k+1 moves (0: the foot stays put, e.g. before a turn starts)."""
        if k not in self._activities:
            P, beta = self.style.period_s, self.style.duty
            (a, ya), (b, yb) = self.hold(k), self.hold(k + 1)
            tm = np.array([(k + beta + (1 - beta) / 2 - self.phase0) * P])
            act = float(self.path.activity(tm)[0])
            self._activities[k] = float(np.clip(np.linalg.norm(b - a) / 0.08 + abs(yb - ya) / 0.25, 0.0, 1.0)) * act
        return self._activities[k]


def _plan_foot(skel: BodySkeleton, style: GaitStyle, path: Path, t: np.ndarray, side: str, phase0: float,
               lat_sign: float) -> _Foot:
    """One foot of :func:`_plan_feet`."""
    P, beta = style.period_s, style.duty
    geo = _FootGeometry(skel, side)
    holds = _Footholds(style, path, phase0, lat_sign)
    n = len(t)
    ankle = np.zeros((n, 3))
    rot = np.zeros((n, 3, 3))
    toes = np.zeros(n)
    contact = np.zeros(n, dtype=bool)
    ph = t / P + phase0
    ks = np.floor(ph)
    frac = ph - ks
    stance = frac < beta
    for k in np.unique(ks).astype(np.int64).tolist():
        on_k = ks == k
        for in_stance in (True, False):
            sel = np.flatnonzero(on_k & (stance if in_stance else ~stance))
            if sel.size == 0:
                continue
            fr = frac[sel]
            if in_stance:  # stance on foothold k
                s = fr / beta
                xy, yaw = holds.hold(k)
                k_in, k_out = holds.swing_activity(k - 1), holds.swing_activity(k)
                pitch = np.zeros(sel.size)
                heel = s < style.heel_phase
                toe = ~heel & (s > style.toe_phase)
                pitch[heel] = style.heel_strike_rad * k_in * (1 - smoothstep(s[heel] / style.heel_phase))
                pitch[toe] = -style.toe_off_rad * k_out * smoothstep((s[toe] - style.toe_phase) /
                                                                    (1 - style.toe_phase))
                ankle[sel], rot[sel] = _foot_poses(geo, xy, yaw, pitch)
                toes[sel] = np.where(pitch < 0, 1.0, 0.0)
                contact[sel] = True
            else:  # swing from foothold k to k + 1
                u = (fr - beta) / (1 - beta)
                act = holds.swing_activity(k)
                (xa, ya), (xb, yb) = holds.hold(k), holds.hold(k + 1)
                a0, r0 = _foot_pose(geo, xa, ya, -style.toe_off_rad * act)
                a1, r1 = _foot_pose(geo, xb, yb, style.heel_strike_rad * act)
                # the foot arrives over its next foothold a little before it comes down on it
                sh = smoothstep(u / 0.88)
                pos = a0 + (a1 - a0) * sh[:, None]
                pos[:, 2] = a0[2] + (a1[2] - a0[2]) * smoothstep(u)
                # lift: early peak (the foot rises behind the body, then swings through); scalar powers, as
                # NumPy's array power may round differently from its scalar one
                lift = [style.clearance_m * act * math.sin(math.pi * ui ** 0.65) ** 1.5 for ui in u]
                pos[:, 2] += lift
                ankle[sel] = pos
                rot[sel] = quat_to_matrix(quat_slerp(matrix_to_quat(r0), matrix_to_quat(r1),
                                                     smoothstep(np.minimum(1.0, u * 1.15))))
                toes[sel] = 1.0 - smoothstep(u / 0.25)
                contact[sel] = act < TOL.rounding  # a foot that does not step stays planted
    return _Foot(ankle=ankle, rot=rot, toes_flat=toes, contact=contact)


def _plan_feet_reference(skel: BodySkeleton, style: GaitStyle, path: Path, t: np.ndarray) -> dict[str, _Foot]:
    """Frame-by-frame original of :func:`_plan_feet` (the same numbers, bit for bit; kept for the equality test)."""
    P, beta = style.period_s, style.duty
    feet = {}
    for side, phase0, lat_sign in (("L", 0.0, 1.0), ("R", 0.5, -1.0)):
        geo = _FootGeometry(skel, side)
        # the foot's ankle sits this far from the walking line in the rest pose
        lateral = lat_sign * style.foot_lateral_m

        cache: dict[int, tuple[np.ndarray, float]] = {}

        def hold(k: int) -> tuple[np.ndarray, float]:
            if k not in cache:
                tm = np.array([(k + beta / 2 - phase0) * P])
                c = path.center(tm)[0]
                psi = float(path.heading(tm)[0])
                # how far the body travels during this stance (0 when turning on the spot)
                tr = path.center(np.array([(k - phase0) * P, (k + beta - phase0) * P]))
                stance_len = float(np.linalg.norm(tr[1] - tr[0]))
                xy = c + lateral * _left_dir(np.array(psi))[:2] + \
                    style.foothold_shift * stance_len * _heading_dir(np.array(psi))[:2]
                cache[k] = (xy, psi + lat_sign * style.toe_out_rad)
            return cache[k]

        def swing_activity(k: int) -> float:
            """How much foot k's swing to k+1 moves (0: the foot stays put, e.g. before a turn starts)."""
            (a, ya), (b, yb) = hold(k), hold(k + 1)
            tm = np.array([(k + beta + (1 - beta) / 2 - phase0) * P])
            act = float(path.activity(tm)[0])
            return float(np.clip(np.linalg.norm(b - a) / 0.08 + abs(yb - ya) / 0.25, 0.0, 1.0)) * act

        ankle = np.zeros((len(t), 3))
        rot = np.zeros((len(t), 3, 3))
        toes = np.zeros(len(t))
        contact = np.zeros(len(t), dtype=bool)
        for i, ti in enumerate(t):
            ph = ti / P + phase0
            k = math.floor(ph)
            fr = ph - k
            if fr < beta:  # stance on foothold k
                s = fr / beta
                xy, yaw = hold(k)
                k_in, k_out = swing_activity(k - 1), swing_activity(k)
                if s < style.heel_phase:
                    pitch = style.heel_strike_rad * k_in * (1 - smoothstep(s / style.heel_phase))
                elif s > style.toe_phase:
                    pitch = -style.toe_off_rad * k_out * smoothstep((s - style.toe_phase) / (1 - style.toe_phase))
                else:
                    pitch = 0.0
                ankle[i], rot[i] = _foot_pose(geo, xy, yaw, pitch)
                toes[i] = 1.0 if pitch < 0 else 0.0
                contact[i] = True
            else:  # swing from foothold k to k + 1
                u = (fr - beta) / (1 - beta)
                act = swing_activity(k)
                (xa, ya), (xb, yb) = hold(k), hold(k + 1)
                a0, r0 = _foot_pose(geo, xa, ya, -style.toe_off_rad * act)
                a1, r1 = _foot_pose(geo, xb, yb, style.heel_strike_rad * act)
                # the foot arrives over its next foothold a little before it comes down on it
                sh = smoothstep(u / 0.88)
                pos = a0 + (a1 - a0) * sh
                pos[2] = a0[2] + (a1[2] - a0[2]) * smoothstep(u)
                # lift: early peak (the foot rises behind the body, then swings through)
                lift = style.clearance_m * act * math.sin(math.pi * u ** 0.65) ** 1.5
                pos[2] += lift
                ankle[i] = pos
                rot[i] = matrix_slerp(r0, r1, smoothstep(min(1.0, u * 1.15)))
                toes[i] = 1.0 - smoothstep(u / 0.25)
                contact[i] = act < TOL.rounding  # a foot that does not step stays planted
        feet[side] = _Foot(ankle=ankle, rot=rot, toes_flat=toes, contact=contact)
    return feet


def _arm_deltas(skel: BodySkeleton, side: str, flex: np.ndarray, abduction: np.ndarray, elbow: np.ndarray
                ) -> dict[int, np.ndarray]:
    """Shoulder flexion (> 0: arm forward), abduction (> 0: arm out) and elbow flexion (> 0), rest-pose axes."""
    sgn = 1.0 if side == "L" else -1.0
    n = len(flex)
    # arm forward = rotation about -X; out to the side = about -Y for the left arm, +Y for the right
    shoulder = _ry(-sgn * abduction, n) @ _rx(-flex, n)
    e = skel.idx(f"elbow_{side}")
    return {skel.idx(f"shoulder_{side}"): shoulder, e: _rot(skel.hinge_rest(e), -np.asarray(elbow, float), n)}


def _neck_head_deltas(skel: BodySkeleton, n: int, pitch=0.0, yaw=0.0, roll=0.0) -> dict[int, np.ndarray]:
    """Spread a head rotation relative to the chest (pitch > 0 nods forward, yaw > 0 turns left, roll > 0 tilts
    towards the right shoulder) evenly over the neck joints and the head."""
    idx = skel.idxs("neck") + [skel.idx("head")]
    f = 1.0 / len(idx)
    pitch, yaw, roll = (np.broadcast_to(np.asarray(v, dtype=np.float64), (n,)) for v in (pitch, yaw, roll))
    R = _rz(yaw * f) @ _rx(pitch * f) @ _ry(roll * f)
    return {j: R for j in idx}


def _spread(skel: BodySkeleton, chain: str, R_total: Callable[[float], np.ndarray]) -> dict[int, np.ndarray]:
    idx = skel.idxs(chain)
    return {j: R_total(1.0 / len(idx)) for j in idx}


def _ankle_parent_global(skel: BodySkeleton, knee: int, ankle: int, G_knee: np.ndarray) -> np.ndarray:
    """World rotation of the ankle's parent given the knee's (twist bones in between at rest)."""
    chain = []
    j = int(skel.parents[ankle])
    while j != knee:
        chain.append(j)
        j = int(skel.parents[j])
    G = G_knee
    for j in reversed(chain):
        G = G @ skel.rest_local[j]
    return G


def _leg_globals(skel: BodySkeleton, P_hips: dict[str, np.ndarray], feet: dict[str, _Foot], heading: np.ndarray
                 ) -> dict[int, np.ndarray]:
    """Leg IK: world rotations of thighs, shins, feet (and flat toes) reaching the planned ankle targets.

    The knee never straightens past the model's zero-pose bend (its joint limit), and where a flat foot would need
    more ankle dorsiflexion than the model's limit allows the heel comes up (the foot rolls about the ball), as it
    does in real gait.
    """
    out: dict[int, np.ndarray] = {}
    for side in ("L", "R"):
        h, k, a = skel.idx(f"hip_{side}"), skel.idx(f"knee_{side}"), skel.idx(f"ankle_{side}")
        l1 = skel.segment_length(f"hip_{side}", f"knee_{side}")
        l2 = skel.segment_length(f"knee_{side}", f"ankle_{side}")
        d0 = float(np.linalg.norm(skel.zero_joints[a] - skel.zero_joints[h]))
        ext = min(0.9995, d0 / (l1 + l2) - 1e-4)
        foot = feet[side]
        geo = _FootGeometry(skel, side)
        ankle_t, rot = foot.ankle.copy(), foot.rot.copy()
        sgn = 1.0 if side == "L" else -1.0
        lower = skel.limits[a, 0, 0]
        for it in range(4):
            fwd = np.einsum("tab,b->ta", rot, FORWARD)
            fwd[:, 2] = 0.0
            fwd /= np.maximum(np.linalg.norm(fwd, axis=-1, keepdims=True), TOL.degenerate)
            knee, ankle = two_bone_ik(P_hips[side], ankle_t, l1, l2, pole=fwd + 0.1 * sgn * _left_dir(heading),
                                      max_extension=ext)
            G_thigh, G_shin = _limb_globals(skel, h, k, a, P_hips[side], knee, ankle, +1.0, _left_dir(heading))
            G_foot = rot @ skel.rest_global[a]
            if it == 3 or not np.isfinite(lower) or lower <= -np.pi:
                break
            Gp = _ankle_parent_global(skel, k, a, G_shin)
            param = skel.local_to_param((np.swapaxes(Gp, -1, -2) @ G_foot)[:, None].repeat(skel.n_joints, 1))[:, a]
            excess = lower - param[:, 0]
            grounded = foot.contact if foot.contact is not None else np.ones(len(excess), bool)
            fix = excess > 1e-3
            if not np.any(fix):
                break
            # on the ground, raise the heel by the excess (rotate the foot about the ball joint); in the air,
            # point the foot down about the ankle
            lat = np.einsum("tab,b->ta", rot[fix], LEFT)
            Rp = axis_angle_matrix(lat, excess[fix] + 0.01)
            ball = ankle_t[fix] + np.einsum("tab,b->ta", rot[fix], geo.ball_rel)
            on = grounded[fix]
            moved = ball + np.einsum("tab,tb->ta", Rp, ankle_t[fix] - ball)
            ankle_t[fix] = np.where(on[:, None], moved, ankle_t[fix])
            rot[fix] = Rp @ rot[fix]
            tf = foot.toes_flat[fix]
            foot.toes_flat[fix] = np.where(on, 1.0, tf)
        out[h] = G_thigh
        out[k] = G_shin
        out[a] = G_foot
        w = foot.toes_flat
        if np.any(w > 0):
            for tj in skel.idxs(f"toes_{side}"):
                if skel.parents[tj] != a:
                    continue
                yaw_only = _rz(np.arctan2(fwd[:, 0], -fwd[:, 1]))
                flat = yaw_only @ skel.rest_global[tj]
                follow = out[a] @ skel.rest_local[tj]
                out[tj] = matrix_slerp(follow, flat, w)
    return out


def _required_drop(skel: BodySkeleton, P_hips: dict[str, np.ndarray], feet: dict[str, _Foot], margin: float
                   ) -> np.ndarray:
    """(T,) how much the pelvis must come down so both legs reach their ankle targets."""
    need = np.zeros(len(next(iter(feet.values())).ankle))
    for side in ("L", "R"):
        l = skel.segment_length(f"hip_{side}", f"knee_{side}") + skel.segment_length(f"knee_{side}", f"ankle_{side}")
        dmax = l * margin
        v = P_hips[side] - feet[side].ankle
        horiz2 = np.sum(v[:, :2] ** 2, -1)
        vert_ok = np.sqrt(np.maximum(dmax ** 2 - horiz2, 0.0))
        contact = feet[side].contact
        req = v[:, 2] - vert_ok
        need = np.maximum(need, req if contact is None else np.where(contact, req, 0.0))
    return np.maximum(need, 0.0)


def _gait_root(skel: BodySkeleton, style: GaitStyle, path: Path, t: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Pelvis trajectory before the height correction: R_root (T, 3, 3), p_root (T, 3), yaw (T,), roll (T,)."""
    n = len(t)
    P, beta = style.period_s, style.duty
    phL = 2 * np.pi * (t / P)                       # left foot's gait phase (0 = left heel strike)
    mid = 2 * np.pi * (beta / 2)                    # left mid-stance
    act = path.activity(t)
    psi = path.heading(t)
    # pelvis: lateral sway over the stance foot, rotations; a run adds a dip at each mid-stance (the walk's
    # vaulting rise and fall comes from the legs themselves, see _gait_height)
    sway = style.sway_m * act * np.cos(phL - mid)
    bob = -style.bob_m * act * np.cos(2 * (phL - mid)) if style.running else np.zeros(n)
    yaw = -style.pelvis_yaw_rad * act * np.cos(phL)
    roll = -style.pelvis_roll_rad * act * np.cos(phL - mid)
    # some of the trunk's forward lean is an anterior tilt of the pelvis (more when running)
    tilt = (0.45 if style.running else 0.25) * style.lean_rad
    R_root = _rz(psi) @ _rz(yaw) @ _ry(roll) @ _rx(tilt, n)
    p_root = np.concatenate([path.center(t), np.zeros((n, 1))], -1) + sway[:, None] * _left_dir(psi)
    p_root[:, 2] = skel.root_rest[2] - skel.ground_z + bob
    return R_root, p_root, yaw, roll


def _hips_from_root(skel: BodySkeleton, R_root: np.ndarray, p_root: np.ndarray) -> dict[str, np.ndarray]:
    """Hip joint positions (T, 3) for a root pose, the pelvis bones at rest (true for every generator here)."""
    return {s: p_root + np.einsum("tab,b->ta", R_root, skel.rest_joints[skel.idx(f"hip_{s}")] - skel.rest_joints[0])
            for s in ("L", "R")}


def _gait_height(skel: BodySkeleton, style: GaitStyle, path: Path, t: np.ndarray) -> np.ndarray:
    """(T,) how far the pelvis comes down at frame times t so the stance legs reach their feet.

    Evaluated on a dense 120 Hz grid around the frames and smoothed into an upper envelope, so the pelvis rises
    over each stance leg and sinks in double support (the inverted-pendulum bob of walking) whatever the frame
    rate; the result does not depend on which frames are asked for.
    """
    P = style.period_s
    dt = 1.0 / 120.0
    td = np.arange(t.min() - P, t.max() + P + dt, dt)
    R_root, p_root, _, _ = _gait_root(skel, style, path, td)
    feet = _plan_feet(skel, style, path, td)
    drop = _required_drop(skel, _hips_from_root(skel, R_root, p_root), feet, margin=0.985)
    # upper envelope: a running max (the pelvis starts to sink before a heel strike) then a Gaussian blur
    w = max(1, int(round((0.02 if style.running else 0.06) * P / dt)))
    padded = np.pad(drop, w, mode="edge")
    runmax = np.max(np.lib.stride_tricks.sliding_window_view(padded, 2 * w + 1), axis=-1)
    sigma = max(1, int(round(0.04 * P / dt)))
    k = np.exp(-0.5 * (np.arange(-3 * sigma, 3 * sigma + 1) / sigma) ** 2)
    k /= k.sum()
    smooth = np.convolve(np.pad(runmax, 3 * sigma, mode="edge"), k, mode="valid")
    env = smooth + max(0.0, float(np.max(drop - smooth)))
    return np.interp(t, td, env) + style.extra_crouch_m


def generate_gait(skel: BodySkeleton, t: np.ndarray, style: GaitStyle, path: Path) -> GeneratedMotion:
    """Walk or run along ``path`` at ``style`` for frame times ``t`` (T,) seconds."""
    t = np.asarray(t, dtype=np.float64)
    n = len(t)
    P = style.period_s
    phL = 2 * np.pi * (t / P)
    act = path.activity(t)
    psi = path.heading(t)
    R_root, p_root, yaw, roll = _gait_root(skel, style, path, t)
    p_root[:, 2] -= _gait_height(skel, style, path, t)

    # trunk: counter-rotation against the pelvis, lean, keep shoulders level; head looks along the path
    deltas: dict[int, np.ndarray] = {}
    spine = skel.idxs("spine")
    tilt = (0.45 if style.running else 0.25) * style.lean_rad
    for j in spine:
        f = 1.0 / len(spine)
        deltas[j] = _rx((style.lean_rad - tilt) * f, n) @ _rz(-1.35 * yaw * f) @ _ry(-0.8 * roll * f)
    # arms swing against the legs; elbows bend more on the forward swing
    for side, ph in (("L", phL), ("R", phL + np.pi)):
        flex = -style.arm_swing_rad * act * np.cos(ph) + style.arm_offset_rad
        elbow = style.elbow_base_rad + style.elbow_swing_rad * act * 0.5 * (1 - np.cos(ph))
        deltas.update(_arm_deltas(skel, side, flex, np.full(n, style.arm_abduction_rad), elbow))
    # the head keeps looking along the path: undo most of the trunk's lean and rotation
    deltas.update(_neck_head_deltas(skel, n, pitch=-0.75 * style.lean_rad, yaw=0.35 * yaw, roll=-0.2 * roll))
    globals_: dict[int, np.ndarray] = {}
    feet = _plan_feet(skel, style, path, t)
    globals_.update(_leg_globals(skel, _hips_from_root(skel, R_root, p_root), feet, psi))
    local, _, _ = skel.compose(R_root, p_root, deltas, globals_)
    meta = {"speed_mps": style.speed_mps, "stride_m": style.stride_m, "period_s": style.period_s,
            "duty": style.duty, "leg_length_m": skel.leg_length}
    return GeneratedMotion(local=local, R_root=R_root, p_root=p_root,
                           grounding="contact" if style.running else "per_frame", meta=meta)


# ----------------------------------------------------------------------------- standing actions
def _standing_feet(skel: BodySkeleton, n: int, width_scale: float = 1.0, toe_out_rad: float = math.radians(7)
                   ) -> dict[str, _Foot]:
    feet = {}
    for side, sgn in (("L", 1.0), ("R", -1.0)):
        geo = _FootGeometry(skel, side)
        xy = np.array([geo.ankle_rest[0] * width_scale, geo.ankle_rest[1]])
        ankle, rot = _foot_pose(geo, xy, sgn * toe_out_rad, 0.0)
        feet[side] = _Foot(ankle=np.repeat(ankle[None], n, 0), rot=np.repeat(rot[None], n, 0), toes_flat=np.zeros(n))
    return feet


def _standing(skel: BodySkeleton, t: np.ndarray, R_root: np.ndarray, root_offset: np.ndarray,
              deltas: dict[int, np.ndarray], globals_: dict[int, np.ndarray], feet: dict[str, _Foot] | None = None
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Feet planted, pelvis placed at rest height + root_offset (T, 3); legs by IK. Returns local, p_root, drop."""
    n = len(t)
    feet = feet or _standing_feet(skel, n)
    H_root = skel.root_rest[2] - skel.ground_z
    p_root = np.array([skel.root_rest[0], skel.root_rest[1], H_root])[None] + root_offset
    _, G, Pj = skel.compose(R_root, p_root, deltas, globals_)
    P_hips = {s: Pj[:, skel.idx(f"hip_{s}")] for s in ("L", "R")}
    drop = _required_drop(skel, P_hips, feet, margin=0.992)
    p_root = p_root - drop[:, None] * UP
    for s in P_hips:
        P_hips[s] = P_hips[s] - drop[:, None] * UP
    g = dict(globals_)
    g.update(_leg_globals(skel, P_hips, feet, np.zeros(n)))
    local, _, _ = skel.compose(R_root, p_root, deltas, g)
    return local, p_root, drop


def generate_idle(skel: BodySkeleton, t: np.ndarray, rng: np.random.Generator) -> GeneratedMotion:
    """Standing: slow weight shifts, breathing, small head and arm movements; feet planted."""
    t = np.asarray(t, dtype=np.float64)
    n = len(t)
    L = skel.leg_length
    sway_x = _smooth_noise(t, rng, 0.012 * L / 0.9, 4.0, 9.0)
    sway_y = _smooth_noise(t, rng, 0.006 * L / 0.9, 5.0, 11.0)
    breath_hz = rng.uniform(0.22, 0.3)
    breath = np.sin(2 * np.pi * breath_hz * t + rng.uniform(0, 2 * np.pi))
    yaw = _smooth_noise(t, rng, math.radians(2.0), 5.0, 10.0)
    roll = -sway_x / (0.1 * L / 0.9) * math.radians(2.0)  # pelvis drops a little on the unloaded side
    R_root = _rz(yaw) @ _ry(roll)
    offset = np.stack([sway_x, sway_y, -0.006 * L / 0.9 + 0.003 * np.abs(sway_x) / max(TOL.rounding, 0.012)], -1)
    deltas: dict[int, np.ndarray] = {}
    spine = skel.idxs("spine")
    for j in spine:
        f = 1.0 / len(spine)
        deltas[j] = _rx((math.radians(1.2) * breath + math.radians(1.0)) * f, n) @ _ry(-roll * 0.9 * f) @ \
            _rz(-yaw * 0.6 * f)
    head_yaw = _smooth_noise(t, rng, math.radians(7), 3.0, 8.0)
    head_pitch = _smooth_noise(t, rng, math.radians(3), 3.0, 7.0)
    deltas.update(_neck_head_deltas(skel, n, pitch=head_pitch, yaw=head_yaw + 0.6 * yaw, roll=0.1 * roll))
    globals_: dict[int, np.ndarray] = {}
    for side in ("L", "R"):
        flex = _smooth_noise(t, rng, math.radians(2.5), 3.0, 7.0) + math.radians(2)
        abd = np.full(n, math.radians(4)) + _smooth_noise(t, rng, math.radians(1.5), 3.0, 7.0)
        elbow = math.radians(10) + _smooth_noise(t, rng, math.radians(3), 3.0, 7.0)
        deltas.update(_arm_deltas(skel, side, flex, abd, elbow))
    local, p_root, _ = _standing(skel, t, R_root, offset, deltas, globals_)
    return GeneratedMotion(local=local, R_root=R_root, p_root=p_root, grounding="per_frame",
                           meta={"breath_hz": breath_hz})


def generate_wave(skel: BodySkeleton, t: np.ndarray, rng: np.random.Generator, side: str | None = None,
                  wave_hz: float | None = None, palm_twist_deg: float = 0.0) -> GeneratedMotion:
    """Raise one hand beside the head and wave it from the elbow, then lower it (3.6 s, loops)."""
    t = np.asarray(t, dtype=np.float64)
    n = len(t)
    side = side or ("R" if rng.random() < 0.7 else "L")
    sgn = 1.0 if side == "L" else -1.0
    wave_hz = wave_hz or rng.uniform(1.6, 2.4)
    dur = 3.6
    tc = np.mod(t, dur)
    up = _envelope(tc, [(0.0, 0.0), (0.25, 0.0), (0.95, 1.0), (2.75, 1.0), (3.4, 0.0)])
    waving = _envelope(tc, [(0.0, 0.0), (0.85, 0.0), (1.05, 1.0), (2.6, 1.0), (2.85, 0.0)])
    s_i, e_i, w_i = skel.idx(f"shoulder_{side}"), skel.idx(f"elbow_{side}"), skel.idx(f"wrist_{side}")
    # small trunk lean away from the waving arm, head turned a little towards the viewer
    deltas: dict[int, np.ndarray] = {}
    spine = skel.idxs("spine")
    for j in spine:
        deltas[j] = _ry(sgn * math.radians(3) * up / len(spine))
    other = "R" if side == "L" else "L"
    deltas.update(_arm_deltas(skel, other, np.full(n, math.radians(2)), np.full(n, math.radians(4)),
                              np.full(n, math.radians(10))))
    R_root = np.broadcast_to(np.eye(3), (n, 3, 3)).copy()
    # the arm, parametrised: abduction of the upper arm in the (slightly forward) frontal plane, a humeral
    # rotation that turns the elbow's hinge from lateral (forearm bends forward) to front-back (forearm bends
    # up), and the elbow angle, which oscillates for the wave itself
    R0 = skel.rest_joints
    d_u_rest = R0[e_i] - R0[s_i]
    d_u_rest /= np.linalg.norm(d_u_rest)
    d_f_rest = R0[w_i] - R0[e_i]
    d_f_rest /= np.linalg.norm(d_f_rest)
    abd = math.radians(112) * smoothstep(up)
    d_u = np.einsum("tab,b->ta", _ry(-sgn * abd) @ _rx(-math.radians(12) * up), d_u_rest)
    h_lat = np.einsum("tab,b->ta", _ry(-sgn * abd) @ _rx(-math.radians(12) * up), skel.hinge_rest(e_i))
    h_up = np.broadcast_to(sgn * np.array([0.0, 1.0, 0.0]), (n, 3))
    w = smoothstep(up)[:, None]
    h = (1 - w) * h_lat + w * h_up
    h -= np.sum(h * d_u, -1, keepdims=True) * d_u
    h /= np.linalg.norm(h, axis=-1, keepdims=True)
    rest_flex = math.acos(float(np.clip(np.dot(d_u_rest, d_f_rest), -1, 1)))
    flex = rest_flex + (math.radians(72) - rest_flex) * smoothstep(up) + \
        waving * math.radians(22) * np.sin(2 * np.pi * wave_hz * t)
    d_f = np.einsum("tab,tb->ta", axis_angle_matrix(h, -flex), d_u)
    Gu, Gf = _limb_globals_dirs(skel, s_i, e_i, w_i, d_u, d_f, h)
    globals_ = {s_i: Gu, e_i: Gf}
    # optional extra forearm pronation (on the forearm twist bone when there is one); the humeral rotation
    # above already turns the palm forward
    twist = axis_angle_matrix(d_f, -sgn * math.radians(palm_twist_deg) * up)
    tw = skel.idx(f"forearm_twist_{side}")
    if tw == e_i:
        globals_[e_i] = twist @ Gf
    else:
        globals_[tw] = twist @ Gf @ skel.rest_local[tw]
    deltas.update(_neck_head_deltas(skel, n, yaw=-sgn * math.radians(5) * up))
    local, p_root, _ = _standing(skel, t, R_root, np.zeros((n, 3)), deltas, globals_)
    return GeneratedMotion(local=local, R_root=R_root, p_root=p_root, grounding="per_frame",
                           meta={"side": side, "wave_hz": wave_hz, "cycle_s": dur})


def generate_squat(skel: BodySkeleton, t: np.ndarray, rng: np.random.Generator, depth: float | None = None
                   ) -> GeneratedMotion:
    """Squat down (heels on the ground, arms forward for balance), hold, stand up (4.2 s, loops)."""
    t = np.asarray(t, dtype=np.float64)
    n = len(t)
    depth = float(depth if depth is not None else rng.uniform(0.5, 0.95))
    if not 0.0 < depth <= 1.0:
        raise RecipeError(f"motion.squat: depth must be in (0, 1], got {depth}")
    L = skel.leg_length
    dur = 4.2
    tc = np.mod(t, dur)
    k = _envelope(tc, [(0.0, 0.0), (0.4, 0.0), (1.7, 1.0), (2.3, 1.0), (3.7, 0.0)])
    drop = depth * 0.42 * L * k
    back = depth * 0.16 * L * k
    lean = math.radians(38) * depth * k
    R_root = _rx(0.35 * lean)  # pelvis tilts forward with the trunk
    deltas: dict[int, np.ndarray] = {}
    spine = skel.idxs("spine")
    for j in spine:
        deltas[j] = _rx(0.65 * lean / len(spine))
    for side in ("L", "R"):
        deltas.update(_arm_deltas(skel, side, math.radians(75) * depth * k, np.full(n, math.radians(4)),
                                  math.radians(10) + math.radians(15) * depth * k))
    deltas.update(_neck_head_deltas(skel, n, pitch=-0.75 * lean + math.radians(8) * depth * k))
    globals_: dict[int, np.ndarray] = {}
    feet = _standing_feet(skel, n, width_scale=1.25, toe_out_rad=math.radians(14))
    offset = np.stack([np.zeros(n), back, -drop], -1)
    local, p_root, _ = _standing(skel, t, R_root, offset, deltas, globals_, feet=feet)
    return GeneratedMotion(local=local, R_root=R_root, p_root=p_root, grounding="per_frame",
                           meta={"depth": depth, "cycle_s": dur})


def generate_reach(skel: BodySkeleton, t: np.ndarray, rng: np.random.Generator, side: str | None = None,
                   target: np.ndarray | None = None) -> GeneratedMotion:
    """Reach one hand to a point (in front, up or down, to the side), hold, return (3.2 s, loops).

    target : (3,) metres in the body frame (origin on the ground between the feet), drawn when None.
    """
    t = np.asarray(t, dtype=np.float64)
    n = len(t)
    side = side or ("R" if rng.random() < 0.6 else "L")
    sgn = 1.0 if side == "L" else -1.0
    s_i, e_i, w_i = skel.idx(f"shoulder_{side}"), skel.idx(f"elbow_{side}"), skel.idx(f"wrist_{side}")
    l1 = skel.segment_length(f"shoulder_{side}", f"elbow_{side}")
    l2 = skel.segment_length(f"elbow_{side}", f"wrist_{side}")
    shoulder_rest = skel.rest_joints[s_i] - np.array([0, 0, skel.ground_z])
    if target is None:
        arm = l1 + l2
        ang_side = math.radians(rng.uniform(-5, 60))       # 0 straight ahead, > 0 towards the reaching side
        ang_up = math.radians(rng.uniform(-45, 60))
        dist = arm * rng.uniform(0.85, 1.05)
        dirv = np.array([sgn * math.sin(ang_side) * math.cos(ang_up), -math.cos(ang_side) * math.cos(ang_up),
                         math.sin(ang_up)])
        target = shoulder_rest + dist * dirv
    target = np.asarray(target, dtype=np.float64)
    dur = 3.2
    tc = np.mod(t, dur)
    k = _envelope(tc, [(0.0, 0.0), (0.3, 0.0), (1.3, 1.0), (1.9, 1.0), (2.9, 0.0)])
    # lean the trunk towards a far or low target
    excess = max(0.0, np.linalg.norm(target - shoulder_rest) - 0.92 * (l1 + l2))
    low = max(0.0, shoulder_rest[2] - 0.35 - target[2])
    lean = min(math.radians(35), math.atan2(excess + 0.6 * low, 0.5)) * k
    twist = sgn * math.radians(10) * k * math.copysign(1.0, target[0] * sgn + TOL.degenerate)
    deltas: dict[int, np.ndarray] = {}
    spine = skel.idxs("spine")
    for j in spine:
        deltas[j] = _rx(lean / len(spine)) @ _rz(twist / len(spine))
    other = "R" if side == "L" else "L"
    deltas.update(_arm_deltas(skel, other, np.full(n, math.radians(3)), np.full(n, math.radians(5)),
                              np.full(n, math.radians(12))))
    R_root = np.broadcast_to(np.eye(3), (n, 3, 3)).copy()
    root0 = np.array([skel.root_rest[0], skel.root_rest[1], skel.root_rest[2] - skel.ground_z])
    _, G, Pj = skel.compose(R_root, np.repeat(root0[None], n, 0), deltas, {})
    S = Pj[:, s_i]
    # move the hand on an arc around the shoulder (direction slerp, distance lerp), not through the body
    r0 = Pj[:, w_i] - S
    r1 = target[None] - S
    n0, n1 = np.linalg.norm(r0, axis=-1, keepdims=True), np.linalg.norm(r1, axis=-1, keepdims=True)
    Rdir = rotation_between(r0 / n0, r1 / n1)
    wrist_t = S + np.einsum("tab,tb->ta", matrix_slerp(np.broadcast_to(np.eye(3), Rdir.shape), Rdir, k), r0 / n0) * \
        ((1 - k[:, None]) * n0 + k[:, None] * n1)
    pole = np.array([sgn * 0.7, 0.5, -0.6])  # elbow out, back and down
    elbow_p, wrist_p = two_bone_ik(S, wrist_t, l1, l2, pole=np.broadcast_to(pole, (n, 3)))
    Gu, Gf = _limb_globals(skel, s_i, e_i, w_i, S, elbow_p, wrist_p, -1.0, np.broadcast_to(LEFT, (n, 3)))
    look = target - shoulder_rest
    head_yaw = math.atan2(look[0], -look[1]) * 0.5 * k - twist
    head_pitch = -math.atan2(look[2], np.linalg.norm(look[:2])) * 0.4 * k - 0.6 * lean
    deltas.update(_neck_head_deltas(skel, n, pitch=head_pitch, yaw=head_yaw))
    globals_ = {s_i: Gu, e_i: Gf}
    local, p_root, _ = _standing(skel, t, R_root, np.zeros((n, 3)), deltas, globals_)
    return GeneratedMotion(local=local, R_root=R_root, p_root=p_root, grounding="per_frame",
                           meta={"side": side, "target_m": target.tolist(), "cycle_s": dur})


def generate_jump(skel: BodySkeleton, t: np.ndarray, rng: np.random.Generator, height_m: float | None = None
                  ) -> GeneratedMotion:
    """Countermovement jump in place: crouch with arms back, take off, fly, land, recover (loops)."""
    t = np.asarray(t, dtype=np.float64)
    n = len(t)
    L = skel.leg_length
    h = float(height_m if height_m is not None else rng.uniform(0.12, 0.35) * L / 0.9)
    if not 0.02 <= h <= 1.0:
        raise RecipeError(f"motion.jump: height_m must be in [0.02, 1.0], got {h}")
    t_flight = 2 * math.sqrt(2 * h / G_ACC)
    v0 = math.sqrt(2 * G_ACC * h)
    # timeline (s)
    t_crouch0, t_crouch1 = 0.4, 0.85
    t_push1 = t_crouch1 + 0.22
    t_land = t_push1 + t_flight
    t_absorb = t_land + 0.22
    t_rec = t_absorb + 0.6
    dur = t_rec + 0.3
    tc = np.mod(t, dur)
    crouch_depth = 0.22 * L
    # pelvis vertical offset relative to standing: crouch, extend (heels up), ballistic flight, absorb
    z = np.zeros(n)
    heel = np.zeros(n)  # heel raise (rad of pitch) while pushing off / landing on the toes
    for i, ti in enumerate(tc):
        if ti < t_crouch0:
            z[i] = 0.0
        elif ti < t_crouch1:
            z[i] = -crouch_depth * smoothstep((ti - t_crouch0) / (t_crouch1 - t_crouch0))
        elif ti < t_push1:
            s = (ti - t_crouch1) / (t_push1 - t_crouch1)
            z[i] = -crouch_depth + (crouch_depth + 0.05 * L) * (1 - (1 - s) ** 2)
            heel[i] = math.radians(35) * smoothstep((s - 0.4) / 0.6)
        elif ti < t_land:
            tf = ti - t_push1
            z[i] = 0.05 * L + v0 * tf - 0.5 * G_ACC * tf * tf
            heel[i] = math.radians(35)
        elif ti < t_absorb:
            s = (ti - t_land) / (t_absorb - t_land)
            z[i] = 0.05 * L - (0.05 * L + 0.7 * crouch_depth) * smoothstep(s)
            heel[i] = math.radians(35) * (1 - smoothstep(s / 0.5))
        elif ti < t_rec:
            s = (ti - t_absorb) / (t_rec - t_absorb)
            z[i] = -0.7 * crouch_depth * (1 - smoothstep(s))
        else:
            z[i] = 0.0
    airborne = (tc >= t_push1) & (tc < t_land)
    k_crouch = np.clip(-z / crouch_depth, 0, 1)
    # arms: back during the crouch, swing up through take-off, forward on landing
    arm = _envelope(tc, [(0.0, 0.0), (t_crouch0, 0.0), (t_crouch1, -45.0), (t_push1 + 0.1, 120.0),
                         (t_land, 40.0), (t_absorb, 50.0), (t_rec, 0.0)])
    lean = math.radians(30) * k_crouch
    R_root = _rx(0.4 * lean)
    deltas: dict[int, np.ndarray] = {}
    spine = skel.idxs("spine")
    for j in spine:
        deltas[j] = _rx(0.6 * lean / len(spine))
    for side in ("L", "R"):
        deltas.update(_arm_deltas(skel, side, np.radians(arm), np.full(n, math.radians(8)),
                                  np.full(n, math.radians(20))))
    deltas.update(_neck_head_deltas(skel, n, pitch=-0.7 * lean))
    globals_: dict[int, np.ndarray] = {}
    feet = _standing_feet(skel, n, width_scale=1.1)
    # heel raise: rotate the feet about the ball; in flight the feet hang below the hips (toes pointed)
    for side in ("L", "R"):
        geo = _FootGeometry(skel, side)
        f = feet[side]
        sgn = 1.0 if side == "L" else -1.0
        for i in range(n):
            if heel[i] > 0:
                xy = f.ankle[i, :2]
                f.ankle[i], f.rot[i] = _foot_pose(geo, xy, sgn * math.radians(7), -heel[i])
                f.toes_flat[i] = 1.0 if not airborne[i] else 0.0
    offset = np.stack([np.zeros(n), 0.12 * L * k_crouch, z], -1)
    H_root = skel.root_rest[2] - skel.ground_z
    p_root = np.array([skel.root_rest[0], skel.root_rest[1], H_root])[None] + offset
    _, G, Pj = skel.compose(R_root, p_root, deltas, globals_)
    P_hips = {s: Pj[:, skel.idx(f"hip_{s}")] for s in ("L", "R")}
    # airborne frames: ankles follow the hips (legs nearly straight, feet pointed)
    for side in ("L", "R"):
        f = feet[side]
        l = skel.segment_length(f"hip_{side}", f"knee_{side}") + skel.segment_length(f"knee_{side}", f"ankle_{side}")
        ground_rel = f.ankle - P_hips[side]
        dist = np.linalg.norm(ground_rel, axis=-1)
        too_far = dist > 0.97 * l
        scale = np.where(too_far, 0.97 * l / np.maximum(dist, TOL.degenerate), 1.0)
        f.ankle[:] = P_hips[side] + ground_rel * scale[:, None]
        f.toes_flat[too_far] = 0.0
    # on the ground the legs must still reach (the crouch and toe pivots are designed within reach)
    drop = _required_drop(skel, P_hips, feet, margin=0.995)
    p_root = p_root - drop[:, None] * UP
    for s in P_hips:
        P_hips[s] = P_hips[s] - drop[:, None] * UP
    globals_.update(_leg_globals(skel, P_hips, feet, np.zeros(n)))
    local, _, _ = skel.compose(R_root, p_root, deltas, globals_)
    return GeneratedMotion(local=local, R_root=R_root, p_root=p_root, grounding="contact",
                           meta={"height_m": h, "flight_s": t_flight, "cycle_s": dur})


def generate_turn(skel: BodySkeleton, t: np.ndarray, rng: np.random.Generator, angle_rad: float | None = None
                  ) -> GeneratedMotion:
    """Turn on the spot by ``angle_rad`` (drawn in +-[60, 180] deg when None) with small steps, then stand."""
    t = np.asarray(t, dtype=np.float64)
    angle = float(angle_rad if angle_rad is not None else
                  math.radians(rng.uniform(60, 180)) * (1 if rng.random() < 0.5 else -1))
    style = gait_style(skel, 0.9, running=False)
    # a slow, short-stepped gait: ~0.55 s per step, each step turns at most ~45 degrees
    P = 1.1
    n_steps = max(2, int(math.ceil(abs(angle) / math.radians(45))))
    t_turn = n_steps * P / 2
    t0 = 0.6
    style = GaitStyle(**{**style.__dict__, "period_s": P, "stride_m": 0.0, "speed_mps": 0.0, "duty": 0.62,
                         "clearance_m": 0.06 * skel.leg_length, "heel_strike_rad": math.radians(4),
                         "toe_off_rad": math.radians(12), "bob_m": 0.004, "pelvis_yaw_rad": 0.0,
                         "arm_swing_rad": math.radians(5), "elbow_swing_rad": math.radians(5),
                         "lean_rad": math.radians(1)})
    dur = t0 + t_turn + 1.2
    T0 = np.mod(t, dur)

    def heading(tt):
        return angle * smoothstep((np.asarray(tt, float) - t0) / t_turn)

    def activity(tt):
        tt = np.asarray(tt, float)
        return _envelope(tt, [(0.0, 0.0), (t0 - 0.3, 0.0), (t0, 1.0), (t0 + t_turn, 1.0), (t0 + t_turn + 0.5, 0.0)])

    path = Path(center=lambda tt: np.zeros((len(np.atleast_1d(tt)), 2)), heading=heading, activity=activity)
    g = generate_gait(skel, T0, style, path)
    g.meta = {"angle_rad": angle, "cycle_s": dur}
    return g


# ----------------------------------------------------------------------------- static poses
def sample_static_pose(skel: BodySkeleton, rng: np.random.Generator, scale: float = 1.0) -> np.ndarray:
    """One random standing pose (J, 3) radians, within the joint limits: the rest pose plus anatomical offsets.

    Offsets are drawn per anatomical axis in the rest pose's frame (flexion, abduction, twist about the bone),
    with standard deviations (times ``scale``) of: spine 4 deg per joint, neck 6, head 8, clavicle 4,
    shoulder flexion 25 (mean +10, forward) / abduction |20| (outwards) / twist 20, elbow flexion
    10 + |35| (never hyperextended) / pronation 20, wrist 15, hip 6 / 4 / 5, knee flexion |6|, ankle 4,
    finger joints 8. Twist bones and other joints keep their rest rotation. The result is clipped to
    ``joint_limits()``; the root keeps its rest rotation.
    """
    d = np.radians
    # every joint's offset is a product of rotations about given axes; the angles are drawn in the order the
    # products are written, then all the rotations are made in one batch and multiplied per joint
    axes: list[np.ndarray] = []
    angles: list[float] = []
    chains: dict[int, list[int]] = {}
    X, Y, Z = LEFT, np.array([0.0, 1.0, 0.0]), UP

    def N(std_deg: float, mean_deg: float = 0.0) -> float:
        return float(d(mean_deg + std_deg * scale * rng.normal()))

    def rot(axis: np.ndarray, angle: float) -> int:
        axes.append(np.asarray(axis, dtype=np.float64))
        angles.append(angle)
        return len(angles) - 1

    for j in skel.idxs("spine"):
        chains[j] = [rot(X, N(4, 1)), rot(Y, N(4)), rot(Z, N(4))]
    for j in skel.idxs("neck"):
        chains[j] = [rot(X, N(6)), rot(Y, N(4)), rot(Z, N(6))]
    head = skel.idx("head")
    chains[head] = [rot(X, N(8)), rot(Y, N(5)), rot(Z, N(8))]
    R0 = skel.rest_joints
    for side in ("L", "R"):
        sgn = 1.0 if side == "L" else -1.0
        cl, sh, el, wr = (skel.idx(f"{r}_{side}") for r in ("clavicle", "shoulder", "elbow", "wrist"))
        hp, kn, an = (skel.idx(f"{r}_{side}") for r in ("hip", "knee", "ankle"))
        chains[cl] = [rot(X, N(4)), rot(Y, N(4))]
        arm = R0[el] - R0[sh]
        fore = R0[wr] - R0[el]
        chains[sh] = [rot(X, -N(25, 10)), rot(Y, -sgn * abs(N(20))), rot(arm, N(20))]
        chains[el] = [rot(skel.hinge_rest(el), -(d(10) + abs(N(35)))), rot(fore, N(20))]
        chains[wr] = [rot(X, N(15)), rot(Y, N(15)), rot(Z, N(10))]
        thigh = R0[kn] - R0[hp]
        chains[hp] = [rot(X, -N(6)), rot(Y, -sgn * N(4)), rot(thigh, N(5))]
        chains[kn] = [rot(skel.hinge_rest(kn), abs(N(6)))]
        chains[an] = [rot(X, N(4)), rot(Y, N(4))]
    for j, name in enumerate(skel.joint_names):
        low = name.lower()
        if j not in chains and any(k in low for k in ("finger", "thumb", "index", "middle", "ring", "pinky")):
            chains[j] = [rot(X, N(8)), rot(Y, N(8)), rot(Z, N(8))]
    R = axis_angle_matrix(np.stack(axes), np.asarray(angles, dtype=np.float64))
    deltas: dict[int, np.ndarray] = {}
    for j, terms in chains.items():
        M = R[terms[0]][None]
        for k in terms[1:]:
            M = M @ R[k][None]
        deltas[j] = M
    local, _, _ = skel.compose(np.eye(3)[None], np.zeros((1, 3)), deltas, {})
    pose = skel.local_to_param(local[0])
    pose[0] = skel.rest_rotvec[0]
    return np.clip(pose, skel.limits[..., 0], skel.limits[..., 1])


# ----------------------------------------------------------------------------- wide static poses
#: Kinds of body posture drawn by :func:`generate_pose` and their probabilities.
POSE_KINDS = ("stand", "squat", "lunge", "bend", "kneel")
POSE_KIND_WEIGHTS = (0.35, 0.2, 0.2, 0.15, 0.1)


def generate_pose(skel: BodySkeleton, n: int, rng: np.random.Generator, spread: float = 1.0,
                  kind: str | None = None) -> GeneratedMotion:
    """One held pose from a wide prior (every frame identical): arms anywhere from down to overhead, crossed in
    front or reaching back, elbows straight to fully bent; the trunk leaning, bending, turning; and one of the
    postures of ``POSE_KINDS``: standing with the feet apart, a squat (pelvis dropped up to 0.5 leg lengths), a
    lunge (one foot forward, the other back), bending forward at the hips, or a deep kneeling-like crouch with
    one foot back. The feet are planted on the ground by leg IK (as ``squat``); every joint is clipped to
    ``joint_limits()`` afterwards, and sampling puts the lowest vertex on the ground.

    spread : in [0, 1], scales every range (0: the rest pose standing; 1: the full prior).
    """
    if kind is None:
        kind = str(rng.choice(POSE_KINDS, p=np.asarray(POSE_KIND_WEIGHTS)))
    if kind not in POSE_KINDS:
        raise RecipeError(f"motion.kind: expected one of {list(POSE_KINDS)}, got {kind!r}")
    d, s = math.radians, float(spread)
    L = skel.leg_length

    def U(lo: float, hi: float) -> float:
        return s * float(rng.uniform(lo, hi))

    lean = U(-8, 15)           # trunk forward (deg)
    drop = back = 0.0          # pelvis drop / backward shift (leg lengths)
    width = 1.0 + U(-0.1, 0.8)
    fwd = {"L": 0.0, "R": 0.0}  # foot forward of its rest place (leg lengths)
    front = "L" if rng.random() < 0.5 else "R"
    rear = "R" if front == "L" else "L"
    if kind == "squat":
        drop, back, lean = U(0.15, 0.5), U(0.05, 0.2), U(10, 45)
        width = 1.0 + U(0.1, 0.8)
    elif kind == "lunge":
        fwd[front], fwd[rear] = U(0.25, 0.55), -U(0.2, 0.45)
        drop, lean = U(0.05, 0.3), U(-5, 20)
    elif kind == "bend":
        drop, back, lean = U(0.0, 0.1), U(0.05, 0.2), U(40, 95)
    elif kind == "kneel":
        fwd[front], fwd[rear] = U(0.1, 0.35), -U(0.35, 0.6)
        drop, lean = U(0.4, 0.6), U(0, 25)
    R_root = _rx(d(0.4 * lean), 1) @ _ry(d(U(-8, 8)), 1)
    deltas: dict[int, np.ndarray] = {}
    spine = skel.idxs("spine")
    twist, side_bend = U(-35, 35), U(-15, 15)
    for j in spine:
        f = 1.0 / len(spine)
        deltas[j] = _rz(d(twist * f), 1) @ _rx(d(0.6 * lean * f), 1) @ _ry(d(side_bend * f), 1)
    deltas.update(_neck_head_deltas(skel, 1, pitch=d(U(-30, 30) - 0.5 * lean), yaw=d(U(-50, 50)),
                                    roll=d(U(-15, 15))))
    R0 = skel.rest_joints
    for side in ("L", "R"):
        sgn = 1.0 if side == "L" else -1.0
        sh, el, wr = (skel.idx(f"{r}_{side}") for r in ("shoulder", "elbow", "wrist"))
        flex = U(-45, 175)                                      # arm back ... overhead, in front
        abd = U(-15, 60) if flex > 110 else U(-25, 150)          # across the chest ... out / up at the side
        arm = (R0[el] - R0[sh]) / np.linalg.norm(R0[el] - R0[sh])
        deltas[sh] = _ry(-sgn * d(abd), 1) @ _rx(-d(flex), 1) @ axis_angle_matrix(arm[None], np.array([d(U(-50, 50))]))
        deltas[el] = _rot(skel.hinge_rest(el), -d(U(0, 145)), 1)
        deltas[wr] = _rx(d(U(-35, 35)), 1) @ _ry(d(U(-25, 25)), 1) @ _rz(d(U(-20, 20)), 1)
        deltas[skel.idx(f"clavicle_{side}")] = _rx(d(U(-8, 8)), 1) @ _ry(-sgn * d(U(-5, 15)), 1)
    feet = {}
    for side, sgn in (("L", 1.0), ("R", -1.0)):
        geo = _FootGeometry(skel, side)
        xy = np.array([geo.ankle_rest[0] * width, geo.ankle_rest[1] - fwd[side] * L])
        ankle, rot = _foot_pose(geo, xy, sgn * d(U(0, 25)), 0.0)
        feet[side] = _Foot(ankle=ankle[None], rot=rot[None], toes_flat=np.zeros(1))
    offset = np.array([[0.0, back * L, -drop * L]])
    local, p_root, _ = _standing(skel, np.zeros(1), R_root, offset, deltas, {}, feet=feet)
    param = skel.local_to_param(local[0])
    param[1:] = np.clip(param[1:], skel.limits[1:, :, 0], skel.limits[1:, :, 1])
    local = skel.param_to_local(param)
    return GeneratedMotion(local=np.broadcast_to(local, (n,) + local.shape).copy(),
                           R_root=np.broadcast_to(R_root[0], (n, 3, 3)).copy(),
                           p_root=np.broadcast_to(p_root[0], (n, 3)).copy(), grounding="per_frame",
                           meta={"kind": kind, "spread": s})
