"""Camera rigs: per-frame camera poses (and intrinsics) for the common capture set-ups.

Every rig returns a :class:`CameraTrack`: one camera model (intrinsics, lens, image size)
and a (T, 4, 4) stack of ``T_cam_from_world`` poses, plus ``meta`` with the drawn
parameters (for labels / analysis). ``track.at(t)`` is the ``CameraModel`` of frame t.

Rigs (pure numpy; randomness only through the ``rng`` keyword):

* :func:`sample_orbit_pinhole` - a pinhole camera around a subject: distance, azimuth,
  elevation, look-at jitter, field of view (or focal length); optionally moving: orbit
  angular speed, dolly speed and hand-held shake (smooth noise).
* :func:`sample_close_range` - wide lenses close to the subject (0.3-1.5 m); records the
  focal length (mm and px) and the subject distance.
* :func:`sample_overhead_fisheye` - a ceiling fisheye looking straight down.
* :func:`head_mounted_fisheye`, :func:`body_worn` - cameras attached to a bone: given per-frame
  bone transforms ``T_world_from_bone`` (T, 4, 4) and a mount offset ``T_bone_from_cam``,
  ``T_world_from_cam[t] = T_world_from_bone[t] @ T_bone_from_cam``. With the wearer's per-frame
  mesh they push the mount outward until the camera centre is outside the body
  (:func:`push_mount_outside_mesh`).

Parameter ranges: wherever a parameter is documented as a *range*, pass a number (fixed) or a
``(lo, hi)`` pair (drawn uniformly per track).

Draws and evaluation are separate: each ``sample_*`` rig draws its values, then calls the deterministic
``*_track`` function (:func:`orbit_track`, :func:`close_range_track`, :func:`overhead_track`,
:func:`bone_track`) with them and a :class:`RigJitter` (every random draw of the rig). The pipeline
draws a recipe camera's ``RigJitter`` in ``sample_scene`` (:func:`sample_rig_jitter`) and only evaluates
the ``*_track`` functions, so nothing random happens after sampling.

Inside test. A point is inside the wearer's mesh when the mesh's generalised winding number
at the point (Jacobson et al. 2013: the sum of the signed solid angles of all triangles over
4 pi) has magnitude > 0.5. It is exact (0 or +-1) for closed meshes and degrades gracefully for
meshes with small holes (eyes, mouth, cut-off neck), and does not care about face orientation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from synth.cameras.base import CameraModel, intrinsics_matrix
from synth.cameras.fisheye import (
    FisheyeEquidistantCamera,
    FisheyeEquisolidCamera,
    FisheyeKBCamera,
)
from synth.cameras.pinhole import PinholeCamera
from synth.core.errors import CameraError
from synth.core.mesh import point_mesh_distance, points_inside_mesh, ray_mesh_hits
from synth.core.tolerance import TOL
from synth.core.transforms import (
    invert_T,
    look_at_T_cam_from_world,
    make_T,
    rotvec_to_matrix,
)

Range = float | tuple[float, float]


# ---------------------------------------------------------------------------------------------
# the track


@dataclass(frozen=True)
class CameraTrack:
    """One camera over T frames.

    camera : CameraModel
        intrinsics, lens and image size (its own pose is frame 0's).
    T_cam_from_world : (T, 4, 4) float64, metres
    meta : dict
        the rig's drawn parameters (plain numbers / lists / arrays).
    """

    camera: CameraModel
    T_cam_from_world: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        T = np.asarray(self.T_cam_from_world, dtype=np.float64)
        if T.ndim != 3 or T.shape[1:] != (4, 4) or T.shape[0] < 1:
            raise CameraError(f"CameraTrack: T_cam_from_world must have shape (T, 4, 4) with T >= 1, got {T.shape}")
        if not np.all(np.isfinite(T)):
            raise CameraError("CameraTrack: T_cam_from_world contains non-finite values")
        object.__setattr__(self, "T_cam_from_world", T)

    @property
    def n_frames(self) -> int:
        return int(self.T_cam_from_world.shape[0])

    def __len__(self) -> int:
        return self.n_frames

    def at(self, frame: int) -> CameraModel:
        """The camera model of ``frame`` (0-based; negative indices count from the end)."""
        if not -self.n_frames <= frame < self.n_frames:
            raise CameraError(f"CameraTrack.at: frame {frame} out of range for a track of {self.n_frames} frames")
        return self.camera.with_pose(self.T_cam_from_world[frame])

    @property
    def centers_world(self) -> np.ndarray:
        """(T, 3) camera centres in world coordinates, metres."""
        R = self.T_cam_from_world[:, :3, :3]
        t = self.T_cam_from_world[:, :3, 3]
        return -np.einsum("tji,tj->ti", R, t)

    def project(self, X_world: np.ndarray) -> np.ndarray:
        """(T, N, 3) world points per frame (or (N, 3) for all frames) -> (T, N, 2) pixels (NaN if not imaged)."""
        X = np.asarray(X_world, dtype=np.float64)
        if X.ndim == 2:
            X = np.broadcast_to(X, (self.n_frames, *X.shape))
        if X.shape[0] != self.n_frames:
            raise CameraError(f"CameraTrack.project: got points for {X.shape[0]} frames, the track has {self.n_frames}")
        return np.stack([self.at(t).project(X[t]) for t in range(self.n_frames)])

    def to_record(self) -> dict[str, Any]:
        """Camera record (see ``CameraModel.to_record``) with the (T, 4, 4) pose stack and meta."""
        rec = self.camera.to_record()
        rec["T_cam_from_world"] = self.T_cam_from_world.copy()
        rec["meta"] = dict(self.meta)
        return rec


# ---------------------------------------------------------------------------------------------
# helpers


def _draw(rng: np.random.Generator, spec: Range, name: str) -> float:
    """A number, or uniform in a (lo, hi) pair."""
    if np.isscalar(spec):
        return float(spec)
    lo, hi = (float(v) for v in spec)  # type: ignore[union-attr]
    if hi < lo:
        raise CameraError(f"{name}: range ({lo}, {hi}) has hi < lo; expected (lo, hi) with lo <= hi")
    return float(rng.uniform(lo, hi)) if hi > lo else lo


def _check_frames(n_frames: int, fps: float) -> None:
    if int(n_frames) < 1:
        raise CameraError(f"n_frames must be >= 1, got {n_frames}")
    if not fps > 0:
        raise CameraError(f"fps must be > 0, got {fps}")


@dataclass(frozen=True)
class NoiseWaves:
    """The drawn sinusoids of one smooth-noise signal: (n_waves, dims) frequencies (Hz), phases (rad), weights."""

    frequency_hz: np.ndarray
    phase_rad: np.ndarray
    weight: np.ndarray


def sample_noise_waves(rng: np.random.Generator, frequency_hz: float, dims: int = 3, n_waves: int = 4) -> NoiseWaves:
    """Draw ``n_waves`` sinusoids per dimension: frequencies in [0.5, 1.5] x ``frequency_hz``, random phases and
    weights in [0.5, 1]."""
    freq = frequency_hz * rng.uniform(0.5, 1.5, (n_waves, dims))
    phase = rng.uniform(0.0, 2.0 * np.pi, (n_waves, dims))
    weight = rng.uniform(0.5, 1.0, (n_waves, dims))
    return NoiseWaves(freq, phase, weight)


def evaluate_smooth_noise(waves: NoiseWaves | None, n_frames: int, fps: float, amplitude: float) -> np.ndarray:
    """(T, dims) zero-mean smooth noise of RMS ``amplitude`` from drawn ``waves`` (zeros when amplitude is 0)."""
    if amplitude == 0.0 or waves is None:
        dims = 3 if waves is None else waves.weight.shape[1]
        return np.zeros((n_frames, dims))
    t = np.arange(n_frames) / fps
    x = (waves.weight[None] * np.sin(2.0 * np.pi * waves.frequency_hz[None] * t[:, None, None]
                                     + waves.phase_rad[None])).sum(1)
    rms = np.sqrt((waves.weight ** 2).sum(0) / 2.0)  # RMS of a sum of independent sinusoids
    return amplitude * x / rms[None]


def sample_smooth_noise(n_frames: int, fps: float, *, rng: np.random.Generator, amplitude: float,
                        frequency_hz: float, dims: int = 3, n_waves: int = 4) -> np.ndarray:
    """Smooth zero-mean noise (T, dims): a sum of ``n_waves`` sinusoids per dimension with random
    frequencies in [0.5, 1.5] x ``frequency_hz`` and random phases, scaled to RMS ``amplitude``.

    Differentiable and band-limited (no frame-to-frame jitter), like a hand-held camera's sway.
    Draws nothing when ``amplitude`` is 0.
    """
    if amplitude == 0.0:
        return np.zeros((n_frames, dims))
    return evaluate_smooth_noise(sample_noise_waves(rng, frequency_hz, dims, n_waves), n_frames, fps, amplitude)


@dataclass(frozen=True)
class RigJitter:
    """Every random draw of a rig, made once per track; the ``*_track`` functions are deterministic given it.

    look_at_offset_m : (3,) world metres added to the look-at point (orbit, close-range).
    shake_rotation, shake_translation : drawn smooth-noise waves of hand-held shake (orbit), None = no shake.
    yaw_rad : rotation about world Z of an overhead camera.
    xy_offset_m : (2,) world metres added to an overhead camera's position.
    mount_rotvec_rad, mount_offset_m : (3,) each, the mount's rotation / translation error in the bone frame
        (body-worn and head-mounted cameras).
    """

    look_at_offset_m: np.ndarray = field(default_factory=lambda: np.zeros(3))
    shake_rotation: NoiseWaves | None = None
    shake_translation: NoiseWaves | None = None
    yaw_rad: float = 0.0
    xy_offset_m: np.ndarray = field(default_factory=lambda: np.zeros(2))
    mount_rotvec_rad: np.ndarray = field(default_factory=lambda: np.zeros(3))
    mount_offset_m: np.ndarray = field(default_factory=lambda: np.zeros(3))


#: How much the rigs of a recipe jitter, where the recipe has no field for it.
CLOSE_RANGE_MAX_LOOK_AT_JITTER_M = 0.05
OVERHEAD_XY_JITTER_M = 0.2
MOUNT_JITTER_M = 0.01
MOUNT_JITTER_RAD = float(np.radians(3.0))
SHAKE_FREQUENCY_HZ = 1.0


def sample_orbit_jitter(rng: np.random.Generator, *, look_at_jitter_m: float, shake_rotation_rad: float,
                        shake_translation_m: float, shake_frequency_hz: float = SHAKE_FREQUENCY_HZ) -> RigJitter:
    """An orbit rig's draws: a Gaussian look-at offset (std ``look_at_jitter_m``), then the shake waves."""
    offset = rng.normal(0.0, look_at_jitter_m, 3) if look_at_jitter_m > 0 else np.zeros(3)
    rot = sample_noise_waves(rng, shake_frequency_hz) if shake_rotation_rad != 0.0 else None
    trans = sample_noise_waves(rng, shake_frequency_hz) if shake_translation_m != 0.0 else None
    return RigJitter(look_at_offset_m=offset, shake_rotation=rot, shake_translation=trans)


def sample_close_range_jitter(rng: np.random.Generator, *, look_at_jitter_m: float) -> RigJitter:
    """A close-range rig's draw: a Gaussian look-at offset."""
    offset = rng.normal(0.0, look_at_jitter_m, 3) if look_at_jitter_m > 0 else np.zeros(3)
    return RigJitter(look_at_offset_m=offset)


def sample_overhead_jitter(rng: np.random.Generator, *, yaw_rad: Range = (-np.pi, np.pi),
                           xy_jitter_m: float = OVERHEAD_XY_JITTER_M) -> RigJitter:
    """An overhead rig's draws: its yaw (range), then a Gaussian (x, y) offset (std ``xy_jitter_m``)."""
    yaw = _draw(rng, yaw_rad, "yaw_rad")
    xy = rng.normal(0, xy_jitter_m, 2) if xy_jitter_m > 0 else np.zeros(2)
    return RigJitter(yaw_rad=yaw, xy_offset_m=xy)


def sample_mount_jitter(rng: np.random.Generator, *, mount_jitter_m: float = MOUNT_JITTER_M,
                        mount_jitter_rad: float = MOUNT_JITTER_RAD) -> RigJitter:
    """A bone mount's draws: a Gaussian rotation error (std ``mount_jitter_rad``), then a translation error."""
    rot = rng.normal(0.0, mount_jitter_rad, 3) if mount_jitter_rad > 0 else np.zeros(3)
    off = rng.normal(0.0, mount_jitter_m, 3) if mount_jitter_m > 0 else np.zeros(3)
    return RigJitter(mount_rotvec_rad=rot, mount_offset_m=off)


def sample_rig_jitter(rig: str, rng: np.random.Generator, *, look_at_jitter_m: float = 0.0,
                      shake_m: float = 0.0) -> RigJitter:
    """The draws of recipe rig ``rig`` (orbit, close_range, overhead, head_mounted, body_worn), in one place."""
    if rig == "orbit":
        return sample_orbit_jitter(rng, look_at_jitter_m=look_at_jitter_m, shake_rotation_rad=0.5 * shake_m,
                                   shake_translation_m=shake_m)
    if rig == "close_range":
        return sample_close_range_jitter(rng, look_at_jitter_m=min(look_at_jitter_m, CLOSE_RANGE_MAX_LOOK_AT_JITTER_M))
    if rig == "overhead":
        return sample_overhead_jitter(rng)
    if rig in ("head_mounted", "body_worn"):
        return sample_mount_jitter(rng)
    raise CameraError(f"sample_rig_jitter: rig {rig!r} unknown; expected orbit, close_range, overhead, "
                      "head_mounted or body_worn")


def _pinhole(width: int, height: int, f_px: float, dist=None) -> PinholeCamera:
    return PinholeCamera(K=intrinsics_matrix(f_px, f_px, (width - 1) / 2.0, (height - 1) / 2.0),
                         T_cam_from_world=np.eye(4), width=int(width), height=int(height),
                         dist=np.zeros(5) if dist is None else dist)


def _orbit_eye(target: np.ndarray, distance: np.ndarray, azimuth: np.ndarray, elevation: np.ndarray) -> np.ndarray:
    """(T, 3) eye positions at ``distance`` from ``target`` (3,) seen from azimuth/elevation (radians)."""
    ce = np.cos(elevation)
    return target + distance[:, None] * np.stack([ce * np.cos(azimuth), ce * np.sin(azimuth), np.sin(elevation)], -1)


# ---------------------------------------------------------------------------------------------
# third-person rigs


def sample_orbit_pinhole(*, rng: np.random.Generator, target: np.ndarray, width: int, height: int,
                         n_frames: int = 1, fps: float = 30.0,
                         distance_m: Range = (2.5, 5.0), azimuth_rad: Range = (-np.pi, np.pi),
                         elevation_rad: Range = (-0.05, 0.35), look_at_jitter_m: float = 0.1,
                         fov_rad: Range | None = (np.radians(35.0), np.radians(65.0)),
                         focal_length_px: Range | None = None,
                         orbit_speed_rad_s: Range = 0.0, dolly_speed_m_s: Range = 0.0,
                         min_distance_m: float = 0.5,
                         shake_rotation_rad: float = 0.0, shake_translation_m: float = 0.0,
                         shake_frequency_hz: float = 1.0) -> CameraTrack:
    """A pinhole camera orbiting (or standing around) a subject.

    target : (3,) float, world metres - the point looked at (e.g. the subject's pelvis).
    distance_m, azimuth_rad, elevation_rad : ranges; camera position relative to the target
        (azimuth about world +Z from +X, elevation above the horizontal).
    look_at_jitter_m : std of a Gaussian offset of the look-at point (drawn once per track).
    fov_rad : range of the horizontal field of view; or give ``focal_length_px`` (range) instead.
    orbit_speed_rad_s, dolly_speed_m_s : ranges; the azimuth and distance change linearly in time
        (distance clamped to >= ``min_distance_m``).
    shake_rotation_rad, shake_translation_m : RMS of hand-held shake (smooth noise at about
        ``shake_frequency_hz``) applied in the camera frame.
    """
    _check_frames(n_frames, fps)
    if (fov_rad is None) == (focal_length_px is None):
        raise CameraError("sample_orbit_pinhole: give exactly one of fov_rad or focal_length_px")
    target = np.asarray(target, dtype=np.float64).reshape(3)
    if focal_length_px is not None:
        f = _draw(rng, focal_length_px, "focal_length_px")
        if f <= 0:
            raise CameraError(f"sample_orbit_pinhole: focal_length_px must be > 0, got {f}")
        fov = 2.0 * np.arctan(0.5 * width / f)
    else:
        fov = _draw(rng, fov_rad, "fov_rad")  # type: ignore[arg-type]
        if not 0.0 < fov < np.pi:
            raise CameraError(f"sample_orbit_pinhole: fov_rad must be in (0, pi), got {fov}")
        f = 0.5 * width / np.tan(0.5 * fov)
    d0 = _draw(rng, distance_m, "distance_m")
    az0 = _draw(rng, azimuth_rad, "azimuth_rad")
    el = _draw(rng, elevation_rad, "elevation_rad")
    if not -0.5 * np.pi < el < 0.5 * np.pi:
        raise CameraError(f"sample_orbit_pinhole: elevation_rad must be in (-pi/2, pi/2), got {el}")
    omega = _draw(rng, orbit_speed_rad_s, "orbit_speed_rad_s")
    v_dolly = _draw(rng, dolly_speed_m_s, "dolly_speed_m_s")
    jitter = sample_orbit_jitter(rng, look_at_jitter_m=look_at_jitter_m, shake_rotation_rad=shake_rotation_rad,
                                 shake_translation_m=shake_translation_m, shake_frequency_hz=shake_frequency_hz)
    return orbit_track(lens=_pinhole(width, height, f), target=target, n_frames=n_frames, fps=fps, distance_m=d0,
                       azimuth_rad=az0, elevation_rad=el, jitter=jitter, orbit_speed_rad_s=omega,
                       dolly_speed_m_s=v_dolly, min_distance_m=min_distance_m,
                       shake_rotation_rad=shake_rotation_rad, shake_translation_m=shake_translation_m)


def orbit_track(*, lens: CameraModel, target: np.ndarray, n_frames: int, fps: float, distance_m: float,
                azimuth_rad: float, elevation_rad: float, jitter: RigJitter, orbit_speed_rad_s: float = 0.0,
                dolly_speed_m_s: float = 0.0, min_distance_m: float = 0.5, shake_rotation_rad: float = 0.0,
                shake_translation_m: float = 0.0) -> CameraTrack:
    """The orbit rig with every value drawn: ``lens`` (its pose ignored) looks at ``target`` (3,) world metres +
    ``jitter.look_at_offset_m`` from ``distance_m`` / ``azimuth_rad`` / ``elevation_rad``, orbiting and dollying
    linearly in time, with hand-held shake of RMS ``shake_rotation_rad`` / ``shake_translation_m`` from the drawn
    waves, applied in the camera frame."""
    _check_frames(n_frames, fps)
    el = float(elevation_rad)
    if not -0.5 * np.pi < el < 0.5 * np.pi:
        raise CameraError(f"orbit_track: elevation_rad must be in (-pi/2, pi/2), got {el}")
    target = np.asarray(target, dtype=np.float64).reshape(3)
    look_at = target + np.asarray(jitter.look_at_offset_m, dtype=np.float64)
    t = np.arange(n_frames) / fps
    az = azimuth_rad + orbit_speed_rad_s * t
    dist = np.maximum(distance_m + dolly_speed_m_s * t, min_distance_m)
    eyes = _orbit_eye(look_at, dist, az, np.full(n_frames, el))
    T = np.stack([look_at_T_cam_from_world(e, look_at) for e in eyes])
    rot_noise = evaluate_smooth_noise(jitter.shake_rotation, n_frames, fps, shake_rotation_rad)
    trans_noise = evaluate_smooth_noise(jitter.shake_translation, n_frames, fps, shake_translation_m)
    if shake_rotation_rad > 0 or shake_translation_m > 0:
        # shake in the camera frame: X_cam' = R_shake (X_cam - t_shake)
        shake = np.stack([make_T(R, -R @ tr) for R, tr in zip(rotvec_to_matrix(rot_noise), trans_noise)])
        T = shake @ T
    f = float(lens.K[0, 0])
    fov = 2.0 * np.arctan(0.5 * lens.width / f)
    meta = {"rig": "orbit_pinhole", "distance_m": dist.tolist(), "azimuth_rad": az.tolist(), "elevation_rad": el,
            "fov_rad": float(fov), "focal_length_px": f, "look_at": look_at.tolist(),
            "target": target.tolist(), "orbit_speed_rad_s": float(orbit_speed_rad_s),
            "dolly_speed_m_s": float(dolly_speed_m_s), "shake_rotation_rad": float(shake_rotation_rad),
            "shake_translation_m": float(shake_translation_m), "fps": float(fps)}
    return CameraTrack(lens.with_pose(T[0]), T, meta)


def sample_close_range(*, rng: np.random.Generator, target: np.ndarray, width: int, height: int,
                       n_frames: int = 1, fps: float = 30.0,
                       subject_distance_m: Range = (0.3, 1.5), focal_length_mm: Range = (12.0, 24.0),
                       sensor_width_mm: float = 36.0, azimuth_rad: Range = (-np.pi, np.pi),
                       elevation_rad: Range = (-0.2, 0.5), look_at_jitter_m: float = 0.03,
                       dist: np.ndarray | None = None) -> CameraTrack:
    """A wide-angle pinhole close to the subject (selfie / close-up / hand-held at arm's length).

    subject_distance_m : range, metres from the camera centre to ``target`` (3,) world metres.
    focal_length_mm : range on a ``sensor_width_mm`` sensor (full frame 36 mm: 12-24 mm is wide
        to ultra-wide); ``focal_length_px = focal_length_mm / sensor_width_mm * width``.
    dist : optional Brown-Conrady (k1, k2, p1, p2, k3) of the lens.
    meta records ``focal_length_mm``, ``focal_length_px``, ``fov_rad`` and ``subject_distance_m``.
    """
    _check_frames(n_frames, fps)
    f_mm = _draw(rng, focal_length_mm, "focal_length_mm")
    if f_mm <= 0 or sensor_width_mm <= 0:
        raise CameraError(f"sample_close_range: focal_length_mm and sensor_width_mm must be > 0, "
                          f"got {f_mm}, {sensor_width_mm}")
    f_px = f_mm / sensor_width_mm * width
    d = _draw(rng, subject_distance_m, "subject_distance_m")
    if d <= 0:
        raise CameraError(f"sample_close_range: subject_distance_m must be > 0, got {d}")
    az = _draw(rng, azimuth_rad, "azimuth_rad")
    el = _draw(rng, elevation_rad, "elevation_rad")
    jitter = sample_close_range_jitter(rng, look_at_jitter_m=look_at_jitter_m)
    return close_range_track(lens=_pinhole(width, height, f_px, dist), target=target, n_frames=n_frames, fps=fps,
                             subject_distance_m=d, azimuth_rad=az, elevation_rad=el, jitter=jitter,
                             sensor_width_mm=sensor_width_mm)


def close_range_track(*, lens: CameraModel, target: np.ndarray, n_frames: int, fps: float, subject_distance_m: float,
                      azimuth_rad: float, elevation_rad: float, jitter: RigJitter,
                      sensor_width_mm: float = 36.0) -> CameraTrack:
    """The close-range rig with every value drawn: ``lens`` (its pose ignored) at ``subject_distance_m`` from
    ``target`` (3,) world metres, looking at ``target + jitter.look_at_offset_m``; static over the frames.
    meta records the focal length in px and as mm on a ``sensor_width_mm`` sensor."""
    _check_frames(n_frames, fps)
    d = float(subject_distance_m)
    if d <= 0:
        raise CameraError(f"close_range_track: subject_distance_m must be > 0, got {d}")
    target = np.asarray(target, dtype=np.float64).reshape(3)
    look_at = target + np.asarray(jitter.look_at_offset_m, dtype=np.float64)
    # the camera is at distance d from the *target* along the look direction to look_at
    eye = _orbit_eye(target, np.array([d]), np.array([azimuth_rad]), np.array([elevation_rad]))[0]
    T = look_at_T_cam_from_world(eye, look_at)
    f_px = float(lens.K[0, 0])
    width = lens.width
    meta = {"rig": "close_range", "focal_length_mm": f_px / width * sensor_width_mm, "focal_length_px": f_px,
            "sensor_width_mm": float(sensor_width_mm), "fov_rad": float(2 * np.arctan(0.5 * width / f_px)),
            "subject_distance_m": d, "azimuth_rad": float(azimuth_rad), "elevation_rad": float(elevation_rad),
            "target": target.tolist(), "look_at": look_at.tolist(), "fps": float(fps)}
    return CameraTrack(lens.with_pose(T), np.repeat(T[None], n_frames, axis=0), meta)


_FISHEYE_CLASSES = {"fisheye_equidistant": FisheyeEquidistantCamera, "fisheye_equisolid": FisheyeEquisolidCamera,
                    "fisheye_kb": FisheyeKBCamera}


def _fisheye(model: str, width: int, height: int, fov: float, kb_coeffs=None) -> CameraModel:
    if model not in _FISHEYE_CLASSES:
        raise CameraError(f"fisheye model {model!r} unknown; expected one of {sorted(_FISHEYE_CLASSES)}")
    if model == "fisheye_kb":
        k = (0.0, 0.0, 0.0, 0.0) if kb_coeffs is None else kb_coeffs
        return FisheyeKBCamera.from_fov(width, height, fov, k)
    return _FISHEYE_CLASSES[model].from_fov(width, height, fov)


def sample_overhead_fisheye(*, rng: np.random.Generator, center_xy: np.ndarray, width: int, height: int,
                            n_frames: int = 1, ceiling_height_m: Range = (2.4, 3.2),
                            fov_rad: Range = (np.radians(170.0), np.radians(200.0)),
                            model: str = "fisheye_equidistant", kb_coeffs=None,
                            xy_jitter_m: float = 0.3, yaw_rad: Range = (-np.pi, np.pi)) -> CameraTrack:
    """A ceiling-mounted fisheye looking straight down (optical axis = world -Z).

    center_xy : (2,) world metres, the room point below the camera (before jitter).
    ceiling_height_m : range, camera height above the floor (z = 0).
    fov_rad : range; the lens' field of view spans the shorter image side (circular fisheye).
    model : 'fisheye_equidistant' | 'fisheye_equisolid' | 'fisheye_kb' (with ``kb_coeffs``).
    xy_jitter_m : std of a Gaussian offset of the camera's (x, y); yaw_rad : range, rotation about Z.
    """
    _check_frames(n_frames, 1.0)
    h = _draw(rng, ceiling_height_m, "ceiling_height_m")
    if h <= 0:
        raise CameraError(f"sample_overhead_fisheye: ceiling_height_m must be > 0, got {h}")
    fov = _draw(rng, fov_rad, "fov_rad")
    jitter = sample_overhead_jitter(rng, yaw_rad=yaw_rad, xy_jitter_m=xy_jitter_m)
    track = overhead_track(lens=_fisheye(model, width, height, fov, kb_coeffs), center_xy=center_xy,
                           n_frames=n_frames, ceiling_height_m=h, jitter=jitter)
    track.meta.update(fov_rad=fov, model=model)
    return track


def overhead_track(*, lens: CameraModel, center_xy: np.ndarray, n_frames: int, ceiling_height_m: float,
                   jitter: RigJitter) -> CameraTrack:
    """The overhead rig with every value drawn: ``lens`` (its pose ignored) at ``ceiling_height_m`` above
    ``center_xy + jitter.xy_offset_m`` (world metres), optical axis = world -Z, rotated by ``jitter.yaw_rad``."""
    _check_frames(n_frames, 1.0)
    h = float(ceiling_height_m)
    if h <= 0:
        raise CameraError(f"overhead_track: ceiling_height_m must be > 0, got {h}")
    yaw = float(jitter.yaw_rad)
    xy = np.asarray(center_xy, dtype=np.float64).reshape(2) + np.asarray(jitter.xy_offset_m, dtype=np.float64)
    z_cam = np.array([0.0, 0.0, -1.0])
    x_cam = np.array([np.cos(yaw), np.sin(yaw), 0.0])
    y_cam = np.cross(z_cam, x_cam)
    T_world_from_cam = make_T(np.stack([x_cam, y_cam, z_cam], axis=1), [xy[0], xy[1], h])
    T = invert_T(T_world_from_cam)
    meta = {"rig": "overhead_fisheye", "ceiling_height_m": h, "fov_rad": float(getattr(lens, "max_fov_rad", np.nan)),
            "yaw_rad": yaw, "position": [float(xy[0]), float(xy[1]), h], "model": lens.model_name}
    return CameraTrack(lens.with_pose(T), np.repeat(T[None], n_frames, axis=0), meta)


# ---------------------------------------------------------------------------------------------
# cameras attached to a bone


def mount_offset(position_bone: np.ndarray, forward_bone: np.ndarray, up_bone: np.ndarray) -> np.ndarray:
    """``T_bone_from_cam`` (4, 4) of a camera at ``position_bone`` (3,) m in the bone frame, looking
    along ``forward_bone`` (3,) with ``up_bone`` (3,) towards the image top (OpenCV camera axes)."""
    z = np.asarray(forward_bone, dtype=np.float64)
    up = np.asarray(up_bone, dtype=np.float64)
    if np.linalg.norm(z) == 0:
        raise CameraError("mount_offset: forward_bone must be non-zero")
    z = z / np.linalg.norm(z)
    x = np.cross(z, up)
    if np.linalg.norm(x) < TOL.degenerate:
        raise CameraError(f"mount_offset: up_bone {up.tolist()} is parallel to forward_bone {z.tolist()}")
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    return make_T(np.stack([x, y, z], axis=1), position_bone)


def _check_bone_stack(T_world_from_bone: np.ndarray) -> np.ndarray:
    T = np.asarray(T_world_from_bone, dtype=np.float64)
    if T.ndim != 3 or T.shape[1:] != (4, 4) or T.shape[0] < 1:
        raise CameraError(f"T_world_from_bone must have shape (T, 4, 4), got {T.shape}")
    return T


def track_from_bone(camera: CameraModel, T_world_from_bone: np.ndarray, T_bone_from_cam: np.ndarray,
                    meta: dict | None = None) -> CameraTrack:
    """A camera rigidly attached to a bone: ``T_world_from_cam[t] = T_world_from_bone[t] @ T_bone_from_cam``.

    T_world_from_bone : (T, 4, 4) float64; T_bone_from_cam : (4, 4) or per-frame (T, 4, 4).
    """
    Tb = _check_bone_stack(T_world_from_bone)
    Tc = np.asarray(T_bone_from_cam, dtype=np.float64)
    T_world_from_cam = Tb @ Tc
    R = T_world_from_cam[:, :3, :3]
    t = T_world_from_cam[:, :3, 3]
    Rt = np.transpose(R, (0, 2, 1))
    T = np.zeros_like(T_world_from_cam)
    T[:, :3, :3] = Rt
    T[:, :3, 3] = -np.einsum("tij,tj->ti", Rt, t)
    T[:, 3, 3] = 1.0
    return CameraTrack(camera.with_pose(T[0]), T, dict(meta or {}))


def apply_mount_jitter(T_bone_from_cam: np.ndarray, jitter: RigJitter) -> np.ndarray:
    """The mount ``T_bone_from_cam`` (4, 4) with the drawn rotation (applied in the camera frame) and offset."""
    T = np.asarray(T_bone_from_cam, dtype=np.float64).copy()
    if np.any(jitter.mount_rotvec_rad):
        T[:3, :3] = T[:3, :3] @ rotvec_to_matrix(np.asarray(jitter.mount_rotvec_rad, dtype=np.float64))
    if np.any(jitter.mount_offset_m):
        T[:3, 3] += np.asarray(jitter.mount_offset_m, dtype=np.float64)
    return T


def head_mounted_fisheye(T_world_from_head: np.ndarray, *, rng: np.random.Generator, width: int, height: int,
                         T_head_from_cam: np.ndarray, fov_rad: Range = (np.radians(180.0), np.radians(200.0)),
                         model: str = "fisheye_equidistant", kb_coeffs=None,
                         mount_jitter_m: float = 0.0, mount_jitter_rad: float = 0.0,
                         vertices: np.ndarray | None = None, faces: np.ndarray | None = None,
                         clearance_m: float = 0.02, push_direction_bone: np.ndarray | None = None) -> CameraTrack:
    """An egocentric fisheye on the head (cap / glasses rig looking down at the body).

    T_world_from_head : (T, 4, 4) per-frame world transform of the head bone.
    T_head_from_cam : (4, 4) nominal mount (see :func:`mount_offset`); jittered by
        ``mount_jitter_m`` / ``mount_jitter_rad`` (Gaussian std, once per track).
    vertices (T, V, 3) world metres, faces (F, 3): the wearer's mesh; when given, the mount is
        pushed outward (:func:`push_mount_outside_mesh`) so that the camera centre stays outside
        the body with ``clearance_m`` in every frame.
    """
    fov = _draw(rng, fov_rad, "fov_rad")
    cam = _fisheye(model, width, height, fov, kb_coeffs)
    return _bone_rig("head_mounted_fisheye", cam, T_world_from_head, T_head_from_cam, rng=rng,
                     mount_jitter_m=mount_jitter_m, mount_jitter_rad=mount_jitter_rad, vertices=vertices,
                     faces=faces, clearance_m=clearance_m, push_direction_bone=push_direction_bone,
                     extra_meta={"fov_rad": fov, "model": model})


def body_worn(T_world_from_bone: np.ndarray, *, rng: np.random.Generator, camera: CameraModel,
              T_bone_from_cam: np.ndarray, mount_jitter_m: float = 0.0, mount_jitter_rad: float = 0.0,
              vertices: np.ndarray | None = None, faces: np.ndarray | None = None, clearance_m: float = 0.02,
              push_direction_bone: np.ndarray | None = None, bone_name: str = "") -> CameraTrack:
    """A camera (any model, e.g. a chest-mounted action camera) attached to a bone.

    T_world_from_bone : (T, 4, 4); camera : intrinsics/size (its pose is ignored);
    T_bone_from_cam : (4, 4) nominal mount; the rest as :func:`head_mounted_fisheye`.
    """
    return _bone_rig("body_worn", camera, T_world_from_bone, T_bone_from_cam, rng=rng,
                     mount_jitter_m=mount_jitter_m, mount_jitter_rad=mount_jitter_rad, vertices=vertices,
                     faces=faces, clearance_m=clearance_m, push_direction_bone=push_direction_bone,
                     extra_meta={"bone": bone_name})


def _bone_rig(rig: str, cam: CameraModel, T_world_from_bone, T_bone_from_cam, *, rng, mount_jitter_m,
              mount_jitter_rad, vertices, faces, clearance_m, push_direction_bone, extra_meta) -> CameraTrack:
    Tb = _check_bone_stack(T_world_from_bone)
    jitter = sample_mount_jitter(rng, mount_jitter_m=mount_jitter_m, mount_jitter_rad=mount_jitter_rad)
    return bone_track(rig, cam, Tb, T_bone_from_cam, jitter=jitter, vertices=vertices, faces=faces,
                      clearance_m=clearance_m, push_direction_bone=push_direction_bone, extra_meta=extra_meta)


def bone_track(rig: str, cam: CameraModel, T_world_from_bone: np.ndarray, T_bone_from_cam: np.ndarray, *,
               jitter: RigJitter, vertices: np.ndarray | None = None, faces: np.ndarray | None = None,
               clearance_m: float = 0.02, push_direction_bone: np.ndarray | None = None,
               extra_meta: dict | None = None) -> CameraTrack:
    """A camera on a bone with every value drawn: the mount jittered by ``jitter``, pushed outside the wearer's
    mesh when ``vertices`` (T, V, 3) and ``faces`` are given (see :func:`push_mount_outside_mesh`)."""
    Tb = _check_bone_stack(T_world_from_bone)
    offset = apply_mount_jitter(T_bone_from_cam, jitter)
    extra_meta = dict(extra_meta or {})
    meta: dict[str, Any] = {"rig": rig, **extra_meta}
    if (vertices is None) != (faces is None):
        raise CameraError(f"{rig}: give both vertices and faces (the wearer's mesh) or neither")
    if vertices is not None:
        offset, push = push_mount_outside_mesh(Tb, offset, vertices, faces, clearance_m=clearance_m,
                                               direction_bone=push_direction_bone)
        meta["mount_push_m"] = float(push)
        meta["clearance_m"] = float(clearance_m)
    meta["T_bone_from_cam"] = offset.tolist()
    return track_from_bone(cam, Tb, offset, meta)


def push_mount_outside_mesh(T_world_from_bone: np.ndarray, T_bone_from_cam: np.ndarray, vertices: np.ndarray,
                            faces: np.ndarray, *, clearance_m: float = 0.02,
                            direction_bone: np.ndarray | None = None, max_push_m: float = 0.5,
                            step_m: float = 0.002) -> tuple[np.ndarray, float]:
    """Move a rigid bone mount outward until the camera centre is outside the mesh in every frame.

    T_world_from_bone : (T, 4, 4); T_bone_from_cam : (4, 4) mount; vertices : (T, V, 3) world metres
    (the wearer's posed mesh per frame); faces : (F, 3).
    direction_bone : (3,) push direction in the bone frame; default: from the bone origin towards
        the camera centre (the mount's outward direction).
    A frame is fine when the camera centre's winding number is < 0.5 in magnitude (outside) and its
    distance to the surface is >= ``clearance_m``. The push is the smallest common distance along the
    direction (found per frame by casting a ray to the mesh's last crossing, then marching in
    ``step_m`` until the clearance holds) so the mount stays rigid.

    Returns (T_bone_from_cam pushed (4, 4), push distance in metres). Raises CameraError when no
    push up to ``max_push_m`` works.
    """
    Tb = _check_bone_stack(T_world_from_bone)
    Tc = np.asarray(T_bone_from_cam, dtype=np.float64)
    Vt = np.asarray(vertices, dtype=np.float64)
    if Vt.ndim != 3 or Vt.shape[0] != Tb.shape[0] or Vt.shape[2] != 3:
        raise CameraError(f"push_mount_outside_mesh: vertices must be (T, V, 3) with T = {Tb.shape[0]} frames, "
                          f"got {Vt.shape}")
    if direction_bone is None:
        direction_bone = Tc[:3, 3]
    dirb = np.asarray(direction_bone, dtype=np.float64).reshape(3)
    if np.linalg.norm(dirb) < TOL.degenerate:
        raise CameraError("push_mount_outside_mesh: the camera sits at the bone origin; pass direction_bone "
                          "(the outward direction in the bone frame)")
    dirb = dirb / np.linalg.norm(dirb)

    def frame_ok(t: int, push: float) -> bool:
        c = (Tb[t] @ Tc)[:3, 3] + push * (Tb[t][:3, :3] @ dirb)
        if points_inside_mesh(c[None], Vt[t], faces)[0]:
            return False
        return bool(point_mesh_distance(c[None], Vt[t], faces)[0] >= clearance_m)

    def needed(t: int, start: float) -> float:
        """Smallest push >= start making frame t fine."""
        if frame_ok(t, start):
            return start
        c0 = (Tb[t] @ Tc)[:3, 3]
        d = Tb[t][:3, :3] @ dirb
        s = start
        c = c0 + s * d
        if points_inside_mesh(c[None], Vt[t], faces)[0]:
            hits = ray_mesh_hits(c, d, Vt[t], faces)
            if hits.size:
                s += float(hits[-1])  # beyond the last crossing: outside a closed mesh
        while s <= max_push_m + TOL.zero:
            if frame_ok(t, s):
                return s
            s += step_m
        raise CameraError(f"push_mount_outside_mesh: frame {t}: no push up to max_push_m={max_push_m} m along "
                          f"{dirb.tolist()} (bone frame) puts the camera outside the mesh with clearance "
                          f"{clearance_m} m; check the mount offset / direction")

    push = 0.0
    for _ in range(10):  # a larger push can re-enter another part of the body: iterate to a common value
        new = push
        for t in range(Tb.shape[0]):
            new = needed(t, new)
        if new == push:
            break
        push = new
    else:
        raise CameraError("push_mount_outside_mesh: the push did not settle in 10 rounds")
    out = Tc.copy()
    out[:3, 3] = Tc[:3, 3] + push * dirb
    return out, push
