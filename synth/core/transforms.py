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


def matrix_to_rotvec(R: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) -> axis-angle (..., 3) radians."""
    R = np.asarray(R, dtype=np.float64)
    cos = np.clip((np.trace(R, axis1=-2, axis2=-1) - 1.0) / 2.0, -1.0, 1.0)
    theta = np.arccos(cos)
    w = np.stack([R[..., 2, 1] - R[..., 1, 2], R[..., 0, 2] - R[..., 2, 0], R[..., 1, 0] - R[..., 0, 1]], -1)
    sin = np.sin(theta)
    out = np.where(sin[..., None] > 1e-6, w / (2.0 * np.where(sin > 1e-6, sin, 1.0))[..., None] * theta[..., None], 0.5 * w)
    # near pi: use the symmetric part
    near_pi = theta > np.pi - 1e-4
    if np.any(near_pi):
        Rp = R[near_pi]
        B = (Rp + np.eye(3)) / 2.0
        axis = np.sqrt(np.clip(np.diagonal(B, axis1=-2, axis2=-1), 0, None))
        signs = np.sign(np.stack([B[..., 0, 1], B[..., 0, 2], B[..., 1, 2]], -1))
        axis[..., 1] *= np.where(signs[..., 0] == 0, 1, signs[..., 0])
        axis[..., 2] *= np.where(signs[..., 1] == 0, 1, signs[..., 1])
        axis /= np.linalg.norm(axis, axis=-1, keepdims=True)
        out[near_pi] = axis * theta[near_pi][..., None]
    return out


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
