"""Constructed Anny poses for the contact tests: rotate joints about world axes, starting from the rest pose."""

from __future__ import annotations

import numpy as np

from synth.bodies.base import BodyParams
from synth.core.transforms import make_T, rot_z
from synth.core.rotations import rotvec_to_matrix
from synth.motion.skeleton import BodySkeleton

X = np.array([1.0, 0.0, 0.0])   # the body's left
Y = np.array([0.0, 1.0, 0.0])   # the body's back
Z = np.array([0.0, 0.0, 1.0])   # up


def pose_rotvec(skel: BodySkeleton, turns: list[tuple[str, np.ndarray, float]]) -> np.ndarray:
    """(J, 3) pose parameters: the rest pose with each (joint, world axis, angle rad) applied in order, turning
    the joint's subtree about that joint by a rotation about the world axis (parents as already posed)."""
    local = skel.rest_local.copy()
    for joint, axis, angle in turns:
        j = skel.joint_names.index(joint)
        G, _ = skel.fk(local[None], np.eye(3)[None], skel.zero_joints[0][None])
        Gp = G[0, skel.parents[j]]
        R = rotvec_to_matrix(np.asarray(axis, dtype=np.float64) * angle)
        local[j] = Gp.T @ R @ Gp @ local[j]
    return skel.local_to_param(local).astype(np.float32)


def posed_vertices(body, rotvec: np.ndarray, x=0.0, y=0.0, z=0.0, yaw=0.0) -> tuple[np.ndarray, np.ndarray]:
    """World vertices (V, 3) and joints (J, 3) of the mean-shape body in pose ``rotvec``, turned by ``yaw`` about
    Z and moved by (x, y, z)."""
    p = body.default_params(frames=1)
    T = make_T(rot_z(yaw), [x, y, z])[None]
    out = body.forward(BodyParams(body.name, p.shape, rotvec[None], T))
    return out.vertices[0].astype(np.float64), out.joints[0].astype(np.float64)


def box_mesh(lo, hi) -> tuple[np.ndarray, np.ndarray]:
    """Closed axis-aligned box (8 vertices, 12 outward triangles) between corners lo and hi (metres)."""
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    v = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
    f = np.array([[0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1],
                  [2, 3, 7], [2, 7, 6], [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3]])
    return v, f


def seated_on_box(body, skel: BodySkeleton, segments: np.ndarray) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """A mean-shape body seated on a box, feet on the floor z = 0.

    Hips and knees bent 80 degrees (thighs sloping a little down to the knees, so that they rest on the seat too);
    the box top 2 mm under the lowest buttock / pelvis / thigh point, its front 4 cm behind the shins.
    segments : (V,) segment index per vertex (``synth.bodies.parts.SEGMENT_INDEX``).
    Returns (body vertices (V, 3) metres, (box vertices, box faces)).
    """
    from synth.bodies.parts import SEGMENT_INDEX

    hip = np.radians(80)
    rv = pose_rotvec(skel, [("upperleg01.L", X, -hip), ("upperleg01.R", X, -hip),
                            ("lowerleg01.L", X, hip), ("lowerleg01.R", X, hip)])
    v, _ = posed_vertices(body, rv)
    v[:, 2] -= v[:, 2].min()
    seat_parts = np.isin(segments, [SEGMENT_INDEX[n] for n in ("buttocks", "pelvis", "left_thigh", "right_thigh")])
    seat_top = v[seat_parts, 2].min() - 0.002
    shin_back = v[np.isin(segments, [SEGMENT_INDEX["left_shin"], SEGMENT_INDEX["right_shin"]]), 1].max()
    return v, box_mesh([-0.15, shin_back + 0.04, 0.0], [0.15, v[:, 1].max() + 0.05, seat_top])
