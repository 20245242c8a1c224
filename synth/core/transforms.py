"""Rigid transforms and rotations (numpy, float64).

Names follow ``T_<to>_from_<from>``: ``X_cam = T_cam_from_world @ X_world``.
World is Z-up, metres. Cameras follow OpenCV: x right, y down, z forward.
"""

from __future__ import annotations

import numpy as np


def make_T(R: np.ndarray, t: np.ndarray) -> np.ndarray:
    """4x4 transform from rotation ``R`` (3, 3) and translation ``t`` (3,)."""
    T = np.eye(4)
    T[:3, :3] = R
    T[:3, 3] = np.asarray(t, dtype=np.float64).reshape(3)
    return T


def invert_T(T: np.ndarray) -> np.ndarray:
    """Inverse of a rigid 4x4 transform."""
    R = T[:3, :3]
    t = T[:3, 3]
    return make_T(R.T, -R.T @ t)


def apply_T(T: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Apply 4x4 ``T`` to points ``X`` (..., 3); returns (..., 3) float64."""
    X = np.asarray(X, dtype=np.float64)
    return X @ T[:3, :3].T + T[:3, 3]


def rotvec_to_matrix(rotvec: np.ndarray) -> np.ndarray:
    """Axis-angle (..., 3) radians -> rotation matrices (..., 3, 3) (Rodrigues)."""
    rv = np.asarray(rotvec, dtype=np.float64)
    theta = np.linalg.norm(rv, axis=-1, keepdims=True)
    safe = np.where(theta < 1e-12, 1.0, theta)
    k = rv / safe
    kx, ky, kz = k[..., 0], k[..., 1], k[..., 2]
    zero = np.zeros_like(kx)
    Kx = np.stack([
        np.stack([zero, -kz, ky], -1),
        np.stack([kz, zero, -kx], -1),
        np.stack([-ky, kx, zero], -1),
    ], -2)
    th = theta[..., None]
    eye = np.broadcast_to(np.eye(3), Kx.shape)
    R = eye + np.sin(th) * Kx + (1.0 - np.cos(th)) * (Kx @ Kx)
    return np.where(theta[..., None] < 1e-12, eye, R)


def matrix_to_quat(R: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) -> unit quaternions (..., 4) as (w, x, y, z), w >= 0 (Shepperd)."""
    R = np.asarray(R, dtype=np.float64)
    m00, m11, m22 = R[..., 0, 0], R[..., 1, 1], R[..., 2, 2]
    tr = m00 + m11 + m22
    cand = np.stack([
        np.stack([1 + tr, R[..., 2, 1] - R[..., 1, 2], R[..., 0, 2] - R[..., 2, 0], R[..., 1, 0] - R[..., 0, 1]], -1),
        np.stack([R[..., 2, 1] - R[..., 1, 2], 1 + m00 - m11 - m22, R[..., 0, 1] + R[..., 1, 0], R[..., 0, 2] + R[..., 2, 0]], -1),
        np.stack([R[..., 0, 2] - R[..., 2, 0], R[..., 0, 1] + R[..., 1, 0], 1 - m00 + m11 - m22, R[..., 1, 2] + R[..., 2, 1]], -1),
        np.stack([R[..., 1, 0] - R[..., 0, 1], R[..., 0, 2] + R[..., 2, 0], R[..., 1, 2] + R[..., 2, 1], 1 - m00 - m11 + m22], -1),
    ], -2)  # (..., 4 candidates, 4)
    diag = np.stack([1 + tr, 1 + m00 - m11 - m22, 1 - m00 + m11 - m22, 1 - m00 - m11 + m22], -1)
    best = np.argmax(diag, axis=-1)
    q = np.take_along_axis(cand, best[..., None, None].repeat(4, -1), axis=-2)[..., 0, :]
    q = q / np.linalg.norm(q, axis=-1, keepdims=True)
    return np.where(q[..., :1] < 0, -q, q)


def quat_to_rotvec(q: np.ndarray) -> np.ndarray:
    """Unit quaternions (..., 4) (w, x, y, z) -> axis-angle (..., 3) radians, angle in [0, pi]."""
    q = np.asarray(q, dtype=np.float64)
    q = np.where(q[..., :1] < 0, -q, q)
    w = np.clip(q[..., 0], -1.0, 1.0)
    v = q[..., 1:]
    s = np.linalg.norm(v, axis=-1)
    angle = 2.0 * np.arctan2(s, w)
    scale = np.where(s > 1e-12, angle / np.where(s > 1e-12, s, 1.0), 2.0)
    return v * scale[..., None]


def matrix_to_rotvec(R: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) -> axis-angle (..., 3) radians."""
    return quat_to_rotvec(matrix_to_quat(R))


def rot_z(angle_rad: float) -> np.ndarray:
    c, s = np.cos(angle_rad), np.sin(angle_rad)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def look_at_T_cam_from_world(eye: np.ndarray, target: np.ndarray, up: np.ndarray = (0.0, 0.0, 1.0)) -> np.ndarray:
    """OpenCV camera at ``eye`` (3,) m looking at ``target`` (3,) m; world ``up`` maps to image -y.

    Returns ``T_cam_from_world`` (4, 4). If the view direction is parallel to
    ``up`` (e.g. an overhead camera looking straight down), world +Y is used
    as the image-up hint instead.
    """
    eye = np.asarray(eye, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    up = np.asarray(up, dtype=np.float64)
    z = target - eye
    z /= np.linalg.norm(z)
    x = np.cross(z, up)
    if np.linalg.norm(x) < 1e-6:
        x = np.cross(z, np.array([0.0, 1.0, 0.0]))
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    R_world_from_cam = np.stack([x, y, z], axis=1)
    return invert_T(make_T(R_world_from_cam, eye))


# Blender cameras look down their local -Z with +Y up; OpenCV looks down +Z with +Y down.
T_BLENDERCAM_FROM_CVCAM = np.diag([1.0, -1.0, -1.0, 1.0])
