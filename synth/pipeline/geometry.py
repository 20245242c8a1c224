"""Posed geometry of a scene: bodies per frame and every camera per frame (numpy, no bpy)."""

from __future__ import annotations

import math

import numpy as np

from synth.bodies.base import BodyParams, PosedBody
from synth.cameras.base import CameraModel
from synth.core.errors import RecipeError
from synth.recipe.spec import CameraSpec, SceneSpec

SENSOR_WIDTH_35MM = 36.0


def load_body(name: str, options: dict):
    from synth.bodies.registry import get_body_model

    return get_body_model(name, **options)


def compute_people_geometry(spec: SceneSpec) -> list[PosedBody]:
    """Pose every person for every frame (world frame, metres, float32)."""
    out = []
    for p in spec.people:
        body = load_body(p.body_model, p.body_options)
        out.append(body.forward(BodyParams(model=p.body_model, shape=p.shape, pose_rotvec=p.pose_rotvec,
                                           T_world_from_root=p.T_world_from_root)))
    return out


def pinhole_focal_px(params: dict, width: int) -> float:
    if "focal_length_mm" in params:
        return params["focal_length_mm"] / SENSOR_WIDTH_35MM * width
    return (width / 2.0) / math.tan(math.radians(params["fov_deg"]) / 2.0)


def make_intrinsics_camera(cam: CameraSpec, width: int, height: int, T_cam_from_world: np.ndarray) -> CameraModel:
    """A camera of the spec's lens model with identity-free intrinsics from its drawn parameters."""
    from synth.cameras import CAMERA_MODELS

    cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
    if cam.model == "pinhole":
        f = pinhole_focal_px(cam.params, width)
        K = np.array([[f, 0, cx], [0, f, cy], [0, 0, 1.0]])
        return CAMERA_MODELS["pinhole"](K=K, T_cam_from_world=T_cam_from_world, width=width, height=height,
                                        dist=np.asarray(cam.params.get("distortion", []), dtype=np.float64))
    if cam.model not in CAMERA_MODELS:
        raise RecipeError(f"cameras[{cam.name}].model: {cam.model!r} is not available in this build; "
                          f"expected one of {sorted(CAMERA_MODELS)}")
    cls = CAMERA_MODELS[cam.model]
    fov = math.radians(cam.params["fov_deg"])
    return cls.from_fov(fov_rad=fov, width=width, height=height, T_cam_from_world=T_cam_from_world,
                        dist=cam.params.get("distortion", []))


def people_center(people: list[PosedBody]) -> np.ndarray:
    """(3,) metres: centre of all people's vertices at frame 0 (x, y) on the ground."""
    if not people:
        return np.zeros(3)
    v = np.concatenate([p.vertices[0] for p in people])
    c = 0.5 * (v.min(axis=0) + v.max(axis=0))
    return np.array([c[0], c[1], 0.0])


def compute_orbit_poses(params: dict, spec: SceneSpec, people: list[PosedBody]) -> np.ndarray:
    """Orbit rig: camera at distance/azimuth/elevation around the people's centre, looking at
    ``look_at_height_m`` (+ jitter); optionally orbiting (rad/s), dollying (m/s) and shaking."""
    from synth.core.transforms import look_at_T_cam_from_world

    center = people_center(people)
    target0 = center + np.array([0.0, 0.0, params["look_at_height_m"]]) + np.asarray(params["look_at_jitter_m"])
    T = spec.frames
    t = np.arange(T) / spec.fps
    az = params["azimuth_rad"] + params.get("orbit_speed_rad_s", 0.0) * t
    dist = np.maximum(params["distance_m"] - params.get("dolly_speed_mps", 0.0) * t, 0.1)
    el = params["elevation_rad"]
    shake = np.zeros((T, 3))
    if params.get("shake_m", 0.0) > 0:
        rng = np.random.default_rng(params["shake_seed"])
        # smooth hand-held shake: sum of a few random sinusoids, 0.5-3 Hz
        for _ in range(3):
            freq = rng.uniform(0.5, 3.0, 3)
            phase = rng.uniform(0, 2 * np.pi, 3)
            shake += np.sin(2 * np.pi * freq * t[:, None] + phase) * params["shake_m"] / 3.0
    poses = []
    for i in range(T):
        eye = target0 + dist[i] * np.array([math.cos(el) * math.cos(az[i]), math.cos(el) * math.sin(az[i]), math.sin(el)])
        eye = eye + shake[i]
        eye[2] = max(eye[2], 0.05)
        poses.append(look_at_T_cam_from_world(eye, target0 + 0.3 * shake[i]))
    return np.stack(poses)


def compute_camera_poses(cam: CameraSpec, spec: SceneSpec, people: list[PosedBody]) -> np.ndarray:
    """Per-frame ``T_cam_from_world`` (T, 4, 4) for one camera spec."""
    if cam.rig == "orbit":
        return compute_orbit_poses(cam.params, spec, people)
    raise RecipeError(f"cameras[{cam.name}].rig: {cam.rig!r} is not available yet; use 'orbit'")


def compute_camera_tracks(spec: SceneSpec, people: list[PosedBody]) -> list[list[CameraModel]]:
    """For each view, the camera at every frame."""
    tracks = []
    for cam in spec.cameras:
        poses = compute_camera_poses(cam, spec, people)
        base = make_intrinsics_camera(cam, spec.width, spec.height, poses[0])
        tracks.append([base.with_pose(poses[t]) for t in range(spec.frames)])
    return tracks
