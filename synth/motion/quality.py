"""Motion quality metrics: foot skate and joint-limit violations.

Foot skate (the usual definition in motion synthesis, e.g. Holden et al. 2016,
Zhang et al. 2018): a foot point is *in contact* in a frame when its height is
below ``height_m`` (2 cm) and its horizontal speed is below ``max_contact_speed_mps``
(1 m/s: a swinging foot that brushes past the floor at 2-5 m/s is not standing on
it, and counting it would drown the real sliding). Skate is the horizontal speed
of the point over its contact frames: a planted foot has 0. Speeds are central
differences; reported in m/s and mm/frame.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from synth.core.errors import SynthError


def compute_foot_skate(points_m: np.ndarray, fps: float, height_m: float = 0.02,
                       max_contact_speed_mps: float = 1.0) -> dict[str, Any]:
    """Foot skate of foot points over a clip.

    points_m : (T, P, 3) float, metres, world frame, ground at z = 0 (e.g. heel and toe of both feet)
    fps : frames per second
    Returns a dict: ``skate_mps`` (mean horizontal speed over contact samples), ``skate_p95_mps``,
    ``skate_mm_per_frame``, ``contact_fraction`` (contact samples / all samples), ``n_contact``, and
    ``skate_ratio`` (fraction of contact samples sliding faster than 2.5 cm/s).
    """
    X = np.asarray(points_m, dtype=np.float64)
    if X.ndim != 3 or X.shape[-1] != 3:
        raise SynthError(f"compute_foot_skate: points_m must be (T, P, 3), got {X.shape}")
    if X.shape[0] < 3:
        raise SynthError(f"compute_foot_skate: need at least 3 frames, got {X.shape[0]}")
    vel = np.gradient(X[..., :2], axis=0) * fps          # (T, P, 2) m/s, central differences
    speed = np.linalg.norm(vel, axis=-1)
    contact = (X[..., 2] < height_m) & (speed < max_contact_speed_mps)
    n = int(contact.sum())
    s = speed[contact]
    return {
        "skate_mps": float(s.mean()) if n else 0.0,
        "skate_p95_mps": float(np.percentile(s, 95)) if n else 0.0,
        "skate_mm_per_frame": float(s.mean() / fps * 1000.0) if n else 0.0,
        "skate_ratio": float((s > 0.025).mean()) if n else 0.0,
        "contact_fraction": float(n / contact.size),
        "n_contact": n,
    }


def compute_joint_limit_violations(pose_rotvec: np.ndarray, limits: np.ndarray, tol_rad: float = 1e-4
                                   ) -> dict[str, Any]:
    """Fraction of joint-angle samples (frame x joint x rotation-vector axis) outside the limits.

    pose_rotvec : (T, J, 3) radians; limits : (J, 3, 2) radians (lower, upper)
    Returns ``fraction``, ``n_violations``, ``max_excess_rad`` and ``worst_joints`` (index -> count, top 5).
    """
    rv = np.asarray(pose_rotvec, dtype=np.float64)
    lim = np.asarray(limits, dtype=np.float64)
    if rv.ndim != 3 or lim.shape != (rv.shape[1], 3, 2):
        raise SynthError(f"compute_joint_limit_violations: expected (T, J, 3) poses and (J, 3, 2) limits, got "
                         f"{rv.shape} and {lim.shape}")
    below = lim[None, ..., 0] - rv
    above = rv - lim[None, ..., 1]
    excess = np.maximum(below, above)
    bad = excess > tol_rad
    per_joint = bad.sum(axis=(0, 2))
    worst = {int(j): int(per_joint[j]) for j in np.argsort(-per_joint)[:5] if per_joint[j] > 0}
    return {"fraction": float(bad.mean()), "n_violations": int(bad.sum()),
            "max_excess_rad": float(max(0.0, excess.max())), "worst_joints": worst}
