"""Where body-worn cameras sit: mounts in the rest body's frame and the per-frame frame of a body part.

A camera worn on the body follows a body *part frame*: the rigid motion of the skin patch around a few
keypoints (a Kabsch fit of the posed patch to the rest-pose patch), which works the same for every body
model. In the rest pose the part frame is the world frame of a body standing at the origin facing -Y with
Z up, so mounts are written in those terms. Pure numpy on arrays (keypoints, vertices), no body model.
"""

from __future__ import annotations

import numpy as np

from synth.core.errors import CameraError
from synth.core.transforms import make_T

# Body-worn mounts, in the rest body's frame (faces -Y, Z up), relative to the part frame origin:
# (keypoints whose mean is the part centre, camera position offset (m), looking direction, image-up direction)
MOUNTS: dict[str, tuple[tuple[str, ...], tuple[float, float, float], tuple[float, float, float],
                        tuple[float, float, float]]] = {
    # a cap/glasses rig: in front of the forehead, looking down at the wearer's body and hands
    "head": (("left_ear", "right_ear"), (0.0, -0.16, 0.06), (0.0, -0.55, -1.0), (0.0, -1.0, 0.0)),
    # a chest-strap action camera looking ahead and slightly down
    "chest": (("left_shoulder", "right_shoulder", "left_hip", "right_hip", "left_shoulder", "right_shoulder"),
              (0.0, -0.14, 0.0), (0.0, -1.0, -0.25), (0.0, 0.0, 1.0)),
    # wrist cameras on the outside of the wrist, looking back up at the wearer
    "left_wrist": (("left_wrist",), (0.07, 0.0, 0.03), (-0.7, -0.3, 0.65), (0.0, 0.0, 1.0)),
    "right_wrist": (("right_wrist",), (-0.07, 0.0, 0.03), (0.7, -0.3, 0.65), (0.0, 0.0, 1.0)),
    # thigh cameras on the front of the thigh looking ahead
    "left_thigh": (("left_hip", "left_knee"), (0.02, -0.12, 0.0), (0.0, -1.0, 0.1), (0.0, 0.0, 1.0)),
    "right_thigh": (("right_hip", "right_knee"), (-0.02, -0.12, 0.0), (0.0, -1.0, 0.1), (0.0, 0.0, 1.0)),
}
PATCH_RADIUS_M = 0.08


def kabsch(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Rotation R (3, 3) minimising |R (A - mean A) - (B - mean B)| for point sets A, B (N, 3)."""
    a = A - A.mean(axis=0)
    b = B - B.mean(axis=0)
    U, _, Vt = np.linalg.svd(a.T @ b)
    d = np.sign(np.linalg.det(Vt.T @ U.T))
    return Vt.T @ np.diag([1.0, 1.0, d]) @ U.T


def compute_part_frames(rest_keypoints: np.ndarray, rest_vertices: np.ndarray, posed_vertices: np.ndarray,
                        keypoint_names: list[str], part: str) -> np.ndarray:
    """``T_world_from_part`` (T, 4, 4): the rigid motion of the skin patch around body part ``part``.

    rest_keypoints : (K, 3), rest_vertices : (V, 3): the person in the rest pose at the origin (identity root).
    posed_vertices : (T, V, 3) world metres, the person as rendered.
    The frame's rotation maps rest-body directions (facing -Y, Z up) to the world; its origin is the patch centre.
    """
    if part not in MOUNTS:
        raise CameraError(f"compute_part_frames: part {part!r} unknown; expected one of {sorted(MOUNTS)}")
    names, _, _, _ = MOUNTS[part]
    idx = [keypoint_names.index(n) for n in names]
    centre_rest = np.asarray(rest_keypoints)[idx].mean(axis=0).astype(np.float64)
    rest_v = np.asarray(rest_vertices)
    d = np.linalg.norm(rest_v - centre_rest, axis=1)
    patch = np.nonzero(d <= max(PATCH_RADIUS_M, np.sort(d)[min(12, len(d) - 1)]))[0]
    A = rest_v[patch].astype(np.float64)
    out = []
    for t in range(posed_vertices.shape[0]):
        B = np.asarray(posed_vertices[t])[patch].astype(np.float64)
        R = kabsch(A, B)
        origin = B.mean(axis=0) + R @ (centre_rest - A.mean(axis=0))
        out.append(make_T(R, origin))
    return np.stack(out)
