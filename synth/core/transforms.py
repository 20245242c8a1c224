"""Rigid transforms and rotations (numpy, float64).

Names follow ``T_<to>_from_<from>``: ``X_cam = T_cam_from_world @ X_world``.
World is Z-up, metres. Cameras follow OpenCV: x right, y down, z forward.
"""

from __future__ import annotations

import numpy as np

# Rotation conversions live in synth.core.rotations (one implementation); re-exported for the transform helpers' users.
from synth.core.rotations import (  # noqa: F401
    matrix_to_quat,
    matrix_to_rotvec,
    quat_to_rotvec,
    rotvec_to_matrix,
)
from synth.core.tolerance import TOL


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
    if np.linalg.norm(x) < TOL.rounding:
        x = np.cross(z, np.array([0.0, 1.0, 0.0]))
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    R_world_from_cam = np.stack([x, y, z], axis=1)
    return invert_T(make_T(R_world_from_cam, eye))


# Blender cameras look down their local -Z with +Y up; OpenCV looks down +Z with +Y down.
T_BLENDERCAM_FROM_CVCAM = np.diag([1.0, -1.0, -1.0, 1.0])
