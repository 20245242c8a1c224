"""Rotation conversions (numpy, float64): quaternions, rotation vectors, matrices, slerp, Euler angles, alignment.

Quaternions are (..., 4) arrays ordered (w, x, y, z) and are unit length. Rotation
vectors (axis-angle) are (..., 3) radians; matrices are (..., 3, 3) and act on
column vectors (``x' = R @ x``). Everything here is batched over leading axes.
"""

from __future__ import annotations

import numpy as np

from synth.core.tolerance import TOL


def _norm(v: np.ndarray, keepdims: bool = False) -> np.ndarray:
    """Euclidean norm over the last axis of a float64 array: ``np.linalg.norm(v, axis=-1)``'s very operations
    (square, add.reduce, sqrt) without its argument handling (these helpers are called per joint and frame)."""
    return np.sqrt(np.add.reduce(v * v, axis=-1, keepdims=keepdims))


def quat_normalize(q: np.ndarray) -> np.ndarray:
    """(..., 4) -> unit quaternions (w, x, y, z)."""
    q = np.asarray(q, dtype=np.float64)
    return q / _norm(q, keepdims=True)


def quat_mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamilton product ``a * b`` of (..., 4) quaternions (rotation ``b`` first, then ``a``)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    aw, ax, ay, az = np.moveaxis(a, -1, 0)
    bw, bx, by, bz = np.moveaxis(b, -1, 0)
    return np.stack([
        aw * bw - ax * bx - ay * by - az * bz,
        aw * bx + ax * bw + ay * bz - az * by,
        aw * by - ax * bz + ay * bw + az * bx,
        aw * bz + ax * by - ay * bx + az * bw,
    ], axis=-1)


def quat_conj(q: np.ndarray) -> np.ndarray:
    """Inverse of unit quaternions (..., 4)."""
    q = np.asarray(q, dtype=np.float64)
    return q * np.array([1.0, -1.0, -1.0, -1.0])


def quat_to_matrix(q: np.ndarray) -> np.ndarray:
    """(..., 4) unit quaternions (w, x, y, z) -> (..., 3, 3) rotation matrices."""
    q = quat_normalize(q)
    w, x, y, z = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    R = np.empty(q.shape[:-1] + (3, 3))
    R[..., 0, 0] = 1 - 2 * (y * y + z * z)
    R[..., 0, 1] = 2 * (x * y - w * z)
    R[..., 0, 2] = 2 * (x * z + w * y)
    R[..., 1, 0] = 2 * (x * y + w * z)
    R[..., 1, 1] = 1 - 2 * (x * x + z * z)
    R[..., 1, 2] = 2 * (y * z - w * x)
    R[..., 2, 0] = 2 * (x * z - w * y)
    R[..., 2, 1] = 2 * (y * z + w * x)
    R[..., 2, 2] = 1 - 2 * (x * x + y * y)
    return R


def matrix_to_quat(R: np.ndarray) -> np.ndarray:
    """(..., 3, 3) rotation matrices -> (..., 4) unit quaternions with w >= 0 (Shepperd's method)."""
    R = np.asarray(R, dtype=np.float64)
    m00, m11, m22 = R[..., 0, 0], R[..., 1, 1], R[..., 2, 2]
    tr = m00 + m11 + m22
    r21, r12, r02, r20, r10, r01 = R[..., 2, 1], R[..., 1, 2], R[..., 0, 2], R[..., 2, 0], R[..., 1, 0], R[..., 0, 1]
    cands = np.empty(R.shape[:-2] + (4, 4))  # (..., 4 candidates, 4)
    cands[..., 0, 0] = 1 + tr
    cands[..., 0, 1] = cands[..., 1, 0] = r21 - r12
    cands[..., 0, 2] = cands[..., 2, 0] = r02 - r20
    cands[..., 0, 3] = cands[..., 3, 0] = r10 - r01
    cands[..., 1, 1] = 1 + m00 - m11 - m22
    cands[..., 1, 2] = cands[..., 2, 1] = r01 + r10
    cands[..., 1, 3] = cands[..., 3, 1] = r02 + r20
    cands[..., 2, 2] = 1 - m00 + m11 - m22
    cands[..., 2, 3] = cands[..., 3, 2] = r12 + r21
    cands[..., 3, 3] = 1 - m00 - m11 + m22
    diag = np.empty(R.shape[:-2] + (4,))
    diag[..., 0], diag[..., 1], diag[..., 2], diag[..., 3] = tr, m00, m11, m22
    pick = np.argmax(diag, axis=-1)
    q = np.take_along_axis(cands, pick[..., None, None], axis=-2)[..., 0, :]
    q = quat_normalize(q)
    return np.where(q[..., :1] < 0, -q, q)


def quat_to_rotvec(q: np.ndarray) -> np.ndarray:
    """(..., 4) unit quaternions -> (..., 3) rotation vectors with angle in [0, pi]."""
    q = quat_normalize(q)
    q = np.where(q[..., :1] < 0, -q, q)
    v = q[..., 1:]
    s = _norm(v)
    angle = 2.0 * np.arctan2(s, q[..., 0])
    scale = np.where(s > TOL.zero, angle / np.where(s > TOL.zero, s, 1.0), 2.0)  # small angle: 2 * v
    return v * scale[..., None]


def rotvec_to_quat(rv: np.ndarray) -> np.ndarray:
    """(..., 3) rotation vectors (radians) -> (..., 4) unit quaternions."""
    rv = np.asarray(rv, dtype=np.float64)
    angle = _norm(rv)
    half = 0.5 * angle
    k = np.where(angle > TOL.zero, np.sin(half) / np.where(angle > TOL.zero, angle, 1.0), 0.5)
    return np.concatenate([np.cos(half)[..., None], rv * k[..., None]], axis=-1)


def rotvec_to_matrix(rv: np.ndarray) -> np.ndarray:
    """(..., 3) rotation vectors -> (..., 3, 3) matrices."""
    return quat_to_matrix(rotvec_to_quat(rv))


def matrix_to_rotvec(R: np.ndarray) -> np.ndarray:
    """(..., 3, 3) matrices -> (..., 3) rotation vectors (stable near pi)."""
    return quat_to_rotvec(matrix_to_quat(R))


def quat_slerp(q0: np.ndarray, q1: np.ndarray, t: np.ndarray | float) -> np.ndarray:
    """Spherical interpolation between (..., 4) quaternions; ``t`` broadcasts against the leading axes."""
    q0 = quat_normalize(q0)
    q1 = quat_normalize(q1)
    t = np.asarray(t, dtype=np.float64)
    dot = np.sum(q0 * q1, axis=-1)
    q1 = np.where(dot[..., None] < 0, -q1, q1)
    dot = np.abs(dot)
    theta = np.arccos(np.clip(dot, -1.0, 1.0))
    sin = np.sin(theta)
    small = sin < TOL.rounding
    safe = np.where(small, 1.0, sin)
    w0 = np.where(small, 1.0 - t, np.sin((1.0 - t) * theta) / safe)
    w1 = np.where(small, t, np.sin(t * theta) / safe)
    return quat_normalize(w0[..., None] * q0 + w1[..., None] * q1)


def matrix_slerp(R0: np.ndarray, R1: np.ndarray, t: np.ndarray | float) -> np.ndarray:
    """Spherical interpolation between rotation matrices (..., 3, 3)."""
    return quat_to_matrix(quat_slerp(matrix_to_quat(R0), matrix_to_quat(R1), t))


def axis_angle_matrix(axis: np.ndarray, angle: np.ndarray | float) -> np.ndarray:
    """Rotation about ``axis`` (..., 3) (normalised here) by ``angle`` (...) radians -> (..., 3, 3)."""
    axis = np.asarray(axis, dtype=np.float64)
    axis = axis / _norm(axis, keepdims=True)
    angle = np.asarray(angle, dtype=np.float64)
    return rotvec_to_matrix(axis * angle[..., None])


def rotation_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Smallest rotation (..., 3, 3) turning direction ``a`` (..., 3) onto direction ``b`` (..., 3)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    a = a / np.linalg.norm(a, axis=-1, keepdims=True)
    b = b / np.linalg.norm(b, axis=-1, keepdims=True)
    a, b = np.broadcast_arrays(a, b)
    cross = np.cross(a, b)
    dot = np.sum(a * b, axis=-1)
    q = np.concatenate([(1.0 + dot)[..., None], cross], axis=-1)
    # opposite vectors: rotate by pi about any axis perpendicular to a
    opposite = (1.0 + dot) < TOL.degenerate
    if np.any(opposite):
        helper = np.where(np.abs(a[..., :1]) < 0.9, np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0]))
        perp = np.cross(a, helper)
        perp /= np.linalg.norm(perp, axis=-1, keepdims=True)
        q = np.where(opposite[..., None], np.concatenate([np.zeros_like(dot)[..., None], perp], -1), q)
    return quat_to_matrix(quat_normalize(q))


def frame_matrix(primary: np.ndarray, secondary: np.ndarray) -> np.ndarray:
    """Orthonormal frame (..., 3, 3) whose columns are (primary, secondary', primary x secondary').

    ``secondary'`` is ``secondary`` made orthogonal to ``primary``. Used to build the
    rotation that carries one (direction, hinge axis) pair onto another:
    ``frame_matrix(d1, a1) @ frame_matrix(d0, a0).T``.
    """
    p = np.asarray(primary, dtype=np.float64)
    p = p / np.linalg.norm(p, axis=-1, keepdims=True)
    s = np.asarray(secondary, dtype=np.float64)
    s = s - np.sum(s * p, axis=-1, keepdims=True) * p
    s = s / np.linalg.norm(s, axis=-1, keepdims=True)
    return np.stack([p, s, np.cross(p, s)], axis=-1)


_AXIS = {"X": 0, "Y": 1, "Z": 2}


def euler_to_matrix(angles_rad: np.ndarray, order: str) -> np.ndarray:
    """Intrinsic Euler angles (..., 3) in ``order`` (e.g. "ZXY", as BVH channels list them) -> (..., 3, 3).

    BVH semantics: ``R = R_order[0](a0) @ R_order[1](a1) @ R_order[2](a2)``.
    """
    angles_rad = np.asarray(angles_rad, dtype=np.float64)
    R = np.broadcast_to(np.eye(3), angles_rad.shape[:-1] + (3, 3)).copy()
    for i, ax in enumerate(order.upper()):
        axis = np.zeros(3)
        axis[_AXIS[ax]] = 1.0
        R = R @ axis_angle_matrix(np.broadcast_to(axis, angles_rad.shape[:-1] + (3,)), angles_rad[..., i])
    return R


def matrix_to_euler(R: np.ndarray, order: str) -> np.ndarray:
    """Inverse of :func:`euler_to_matrix` for the six Tait-Bryan orders (..., 3, 3) -> (..., 3) radians."""
    R = np.asarray(R, dtype=np.float64)
    order = order.upper()
    i, j, k = (_AXIS[c] for c in order)
    if len({i, j, k}) != 3:
        raise ValueError(f"matrix_to_euler: expected a Tait-Bryan order like 'ZXY', got {order!r}")
    # parity: +1 for cyclic (XYZ, YZX, ZXY), -1 otherwise
    sign = 1.0 if (j - i) % 3 == 1 else -1.0
    # R = Ri(a) Rj(b) Rk(c): R[i, k] = sign * sin(b)
    b = np.arcsin(np.clip(sign * R[..., i, k], -1.0, 1.0))
    a = np.arctan2(-sign * R[..., j, k], R[..., k, k])
    c = np.arctan2(-sign * R[..., i, j], R[..., i, i])
    gimbal = np.abs(np.cos(b)) < TOL.degenerate
    if np.any(gimbal):
        # put everything in a, c = 0
        a_g = np.arctan2(sign * R[..., k, j], R[..., j, j])
        a = np.where(gimbal, a_g, a)
        c = np.where(gimbal, 0.0, c)
    return np.stack([a, b, c], axis=-1)
