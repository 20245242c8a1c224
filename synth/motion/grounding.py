"""Putting a motion on the ground: lowest points per frame, ground offsets, and the finished clip arrays.

Shared by procedural motions (``synth.motion.sample``) and retargeted mocap (``synth.motion.retarget``).
"""

from __future__ import annotations

import numpy as np

from synth.bodies.base import BodyParams
from synth.core.errors import SynthError
from synth.motion.skeleton import BodySkeleton


def lowest_points(skel: BodySkeleton, rotvec: np.ndarray, T_world_from_root: np.ndarray,
                  batch: int = 256) -> np.ndarray:
    """(T,) lowest vertex height per frame of the posed body, metres."""
    body = skel.body
    out = []
    for s in range(0, rotvec.shape[0], batch):
        posed = body.forward(BodyParams(model=body.name, shape=skel.shape, pose_rotvec=rotvec[s:s + batch],
                                        T_world_from_root=T_world_from_root[s:s + batch]))
        out.append(np.asarray(posed.vertices)[..., 2].min(axis=1))
    return np.concatenate(out).astype(np.float64)


def ground_offsets(lowest: np.ndarray, mode: str, contact_m: float = 0.03) -> np.ndarray:
    """(T,) vertical shift putting the body on z = 0.

    per_frame: the lowest vertex of every frame at 0. contact: frames within ``contact_m`` of the clip's ground
    level are put exactly on it; frames in the air (jumps, flight phases of a run) keep their height above the
    interpolated ground correction. none: 0.
    """
    lowest = np.asarray(lowest, dtype=np.float64)
    if mode == "none":
        return np.zeros_like(lowest)
    if mode == "per_frame":
        return -lowest
    if mode != "contact":
        raise SynthError(f"ground_offsets: mode must be per_frame, contact or none, got {mode!r}")
    base = float(np.percentile(lowest, 5))
    grounded = lowest < base + contact_m
    if not np.any(grounded):
        return np.full_like(lowest, -base)
    idx = np.flatnonzero(grounded)
    return np.interp(np.arange(len(lowest)), idx, -lowest[idx])


def finish_motion(skel: BodySkeleton, local: np.ndarray, R_root: np.ndarray, p_root: np.ndarray, grounding: str,
                  center: bool = True, contact_m: float = 0.005) -> tuple[np.ndarray, np.ndarray]:
    """Rotation vectors (T, J, 3) float32 and T_world_from_root (T, 4, 4) float64, grounded and centred."""
    rotvec, T = unground_motion(skel, local, R_root, p_root, center=center)
    return ground_motion(skel, rotvec, T, grounding, contact_m=contact_m)


def unground_motion(skel: BodySkeleton, local: np.ndarray, R_root: np.ndarray, p_root: np.ndarray,
                    center: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """First half of :func:`finish_motion`: rotation vectors (T, J, 3) float32 and T_world_from_root (T, 4, 4),
    centred, not yet on the ground (no body-model forward)."""
    rotvec = skel.to_rotvec(local)
    p_root = np.array(p_root, dtype=np.float64)
    if center:
        p_root[:, :2] -= p_root[:, :2].mean(axis=0)
    return rotvec, skel.T_world_from_root(R_root, p_root)


def ground_motion(skel: BodySkeleton, rotvec: np.ndarray, T: np.ndarray, grounding: str, contact_m: float = 0.005,
                  lowest: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Second half of :func:`finish_motion`: ``T`` moved (in place) so the motion stands on z = 0. ``lowest``:
    the (T,) lowest vertex heights of these frames when already known (else one forward computes them)."""
    if grounding != "none":
        dz = ground_offsets(lowest_points(skel, rotvec, T) if lowest is None else lowest, grounding,
                            contact_m=contact_m)
        T[:, 2, 3] += dz
    return rotvec, T
