"""``MotionClip``: per-frame poses of one body, by joint name, at a frame rate."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from synth.bodies.base import BodyParams
from synth.core.errors import SynthError
from synth.core.rotations import (
    matrix_to_rotvec,
    quat_slerp,
    quat_to_rotvec,
    rotvec_to_matrix,
    rotvec_to_quat,
)
from synth.core.tolerance import TOL


@dataclass
class MotionClip:
    """A motion for one body model, frame by frame.

    joint_names : list[str], len J, the body model's joint names (``BodyModel.joint_names`` order)
    fps : float, frames per second
    rotvec : (T, J, 3) float32 radians. Joint ``j``'s *absolute* local rotation (axis-angle, relative to its
        parent) exactly as the body model takes it in ``BodyParams.pose_rotvec``: all zeros is the model's zero
        pose (Anny: MakeHuman A-pose; SMPL-X: T-pose), the model's ``rest_pose()`` is the natural standing pose.
        Local frames are world-aligned in the zero pose. It is *not* an offset from ``rest_pose()``.
    root_translation_m : (T, 3) float64 metres, the translation of ``T_world_from_root`` (world Z up)
    root_rotvec : (T, 3) float64 radians, the rotation of ``T_world_from_root`` (the body's global orientation;
        the root joint's own entry in ``rotvec`` keeps its rest value)
    meta : what produced the clip (source, parameters), JSON-friendly
    """

    joint_names: list[str]
    fps: float
    rotvec: np.ndarray
    root_translation_m: np.ndarray
    root_rotvec: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.rotvec = np.asarray(self.rotvec, dtype=np.float32)
        self.root_translation_m = np.asarray(self.root_translation_m, dtype=np.float64)
        self.root_rotvec = np.asarray(self.root_rotvec, dtype=np.float64)
        T = self.rotvec.shape[0]
        if self.rotvec.ndim != 3 or self.rotvec.shape[1:] != (len(self.joint_names), 3):
            raise SynthError(f"MotionClip: rotvec must be (T, {len(self.joint_names)}, 3), got {self.rotvec.shape}")
        if self.root_translation_m.shape != (T, 3) or self.root_rotvec.shape != (T, 3):
            raise SynthError(f"MotionClip: root_translation_m and root_rotvec must be ({T}, 3), got "
                             f"{self.root_translation_m.shape} and {self.root_rotvec.shape}")
        if not (np.isfinite(self.fps) and self.fps > 0):
            raise SynthError(f"MotionClip: fps must be > 0, got {self.fps}")

    @property
    def n_frames(self) -> int:
        return int(self.rotvec.shape[0])

    @property
    def duration_s(self) -> float:
        """Time from the first to the last frame."""
        return (self.n_frames - 1) / self.fps

    @property
    def T_world_from_root(self) -> np.ndarray:
        """(T, 4, 4) float64."""
        T = np.broadcast_to(np.eye(4), (self.n_frames, 4, 4)).copy()
        T[:, :3, :3] = rotvec_to_matrix(self.root_rotvec)
        T[:, :3, 3] = self.root_translation_m
        return T

    @classmethod
    def from_T(cls, joint_names: list[str], fps: float, rotvec: np.ndarray, T_world_from_root: np.ndarray,
               meta: dict[str, Any] | None = None) -> "MotionClip":
        T_world_from_root = np.asarray(T_world_from_root, dtype=np.float64)
        return cls(joint_names=list(joint_names), fps=float(fps), rotvec=rotvec,
                   root_translation_m=T_world_from_root[:, :3, 3].copy(),
                   root_rotvec=matrix_to_rotvec(T_world_from_root[:, :3, :3]), meta=dict(meta or {}))

    # ------------------------------------------------------------------ time
    def sample_times(self, times_s: np.ndarray) -> "MotionClip":
        """The clip at arbitrary times (s, from the first frame), clamped to the clip: slerp / linear."""
        times_s = np.asarray(times_s, dtype=np.float64)
        x = np.clip(times_s * self.fps, 0.0, self.n_frames - 1)
        i0 = np.floor(x).astype(np.int64)
        i0 = np.minimum(i0, max(self.n_frames - 2, 0))
        i1 = np.minimum(i0 + 1, self.n_frames - 1)
        w = x - i0
        w = np.where(i1 == i0, 0.0, w)
        # exact at the frames themselves (no slerp round-off)
        exact = np.isclose(w, 0.0, atol=TOL.degenerate)
        q = rotvec_to_quat(self.rotvec.astype(np.float64))
        rv = quat_to_rotvec(quat_slerp(q[i0], q[i1], w[:, None]))
        rv = np.where(exact[:, None, None], self.rotvec[i0], rv)
        qr = rotvec_to_quat(self.root_rotvec)
        rr = quat_to_rotvec(quat_slerp(qr[i0], qr[i1], w))
        rr = np.where(exact[:, None], self.root_rotvec[i0], rr)
        tr = (1 - w)[:, None] * self.root_translation_m[i0] + w[:, None] * self.root_translation_m[i1]
        return MotionClip(self.joint_names, self.fps, rv, tr, rr, dict(self.meta))

    def resample(self, fps: float) -> "MotionClip":
        """Same motion at ``fps``: frames at k / fps over the clip's duration (slerp rotations, lerp translation).

        The new clip has ``floor(duration * fps + TOL.rounding) + 1`` frames; where old and new frame times coincide the
        poses are identical.
        """
        fps = float(fps)
        if not (np.isfinite(fps) and fps > 0):
            raise SynthError(f"MotionClip.resample: fps must be > 0, got {fps}")
        n = int(np.floor(self.duration_s * fps + TOL.rounding)) + 1
        out = self.sample_times(np.arange(n) / fps)
        out.fps = fps
        return out

    def fit_frames(self, n_frames: int, start_frame: int = 0, mode: str = "loop") -> "MotionClip":
        """Exactly ``n_frames`` frames starting at ``start_frame``: 'loop' wraps around, 'clamp' holds the last.

        Looping a clip whose end differs from its start is continuous in pose but makes the root jump back; for a
        moving clip the root translation of each repeat continues from where the previous one ended.
        """
        if n_frames < 1:
            raise SynthError(f"MotionClip.fit_frames: n_frames must be >= 1, got {n_frames}")
        if mode not in ("loop", "clamp"):
            raise SynthError(f"MotionClip.fit_frames: mode must be 'loop' or 'clamp', got {mode!r}")
        T = self.n_frames
        k = start_frame + np.arange(n_frames)
        if mode == "clamp":
            idx = np.clip(k, 0, T - 1)
            tr = self.root_translation_m[idx]
        else:
            # a closed loop (meta['loop_closed']) has its last frame equal to the first one, one lap later
            closed = bool(self.meta.get("loop_closed", False)) and T > 2
            period = T - 1 if closed else T
            idx = np.mod(k, period)
            laps = k // period
            R = rotvec_to_matrix(self.root_rotvec)
            tr = self.root_translation_m[idx].copy()
            rr = self.root_rotvec[idx].copy()
            if T > 1 and np.any(laps > 0):
                # one lap moves the body by D: yaw + horizontal shift from frame 0 to frame `period`
                psi = _heading(R)
                p = self.root_translation_m
                if closed:
                    psi_T, p_T = psi[-1], p[-1].copy()
                else:
                    psi_T = psi[-1] + _wrap(psi[-1] - psi[-2])
                    p_T = p[-1] + (p[-1] - p[-2])
                dpsi = _wrap(psi_T - psi[0])
                Dz = _rz(dpsi)
                shift = p_T - Dz @ p[0]
                shift[2] = 0.0
                for m in np.unique(laps[laps > 0]):
                    sel = laps == m
                    Rm, tm = np.eye(3), np.zeros(3)
                    for _ in range(int(m)):
                        Rm, tm = Dz @ Rm, Dz @ tm + shift
                    tr[sel] = tr[sel] @ Rm.T + tm
                    rr[sel] = matrix_to_rotvec(Rm[None] @ R[idx[sel]])
            return MotionClip(self.joint_names, self.fps, self.rotvec[idx], tr, rr, dict(self.meta))
        return MotionClip(self.joint_names, self.fps, self.rotvec[idx], tr, self.root_rotvec[idx], dict(self.meta))

    # ------------------------------------------------------------------ output
    def to_body_params(self, model: str, shape: dict[str, np.ndarray],
                       extra: dict[str, np.ndarray] | None = None) -> BodyParams:
        """``BodyParams`` for the body model named ``model`` with ``shape``."""
        return BodyParams(model=model, shape=dict(shape), pose_rotvec=self.rotvec.astype(np.float32),
                          T_world_from_root=self.T_world_from_root, extra=dict(extra or {}))


def _wrap(a):
    return (np.asarray(a) + np.pi) % (2 * np.pi) - np.pi


def _heading(R: np.ndarray) -> np.ndarray:
    """(T, 3, 3) -> (T,) yaw about +Z of the body's forward axis (0: facing -Y)."""
    f = R @ np.array([0.0, -1.0, 0.0])
    return np.arctan2(f[..., 0], -f[..., 1])


def _rz(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
