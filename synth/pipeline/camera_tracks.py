"""Per-frame cameras of a scene: the spec's cameras turned into ``CameraTrack``s.

Every value a rig needs was drawn by ``sample_scene`` (the CameraSpec's params and ``jitter``); here the
rigs of ``synth.cameras.rigs`` are only evaluated against the posed people (the subject's position, the
wearer's part frames from ``synth.cameras.mounts``).
"""

from __future__ import annotations

import math

import numpy as np

from synth.bodies.base import BodyParams, PosedBody
from synth.cameras import rigs
from synth.cameras.base import CameraModel
from synth.cameras.mounts import MOUNTS, compute_part_frames
from synth.cameras.rigs import CameraTrack
from synth.core.errors import RecipeError
from synth.recipe.spec import CameraSpec, SceneSpec

SENSOR_WIDTH_35MM = 36.0


def pinhole_focal_px(params: dict, width: int) -> float:
    if "focal_length_mm" in params:
        return params["focal_length_mm"] / SENSOR_WIDTH_35MM * width
    return (width / 2.0) / math.tan(math.radians(params["fov_deg"]) / 2.0)


def make_camera(cam: CameraSpec, width: int, height: int) -> CameraModel:
    """The spec's lens (intrinsics, distortion, image size) with an identity pose."""
    from synth.cameras import CAMERA_MODELS

    dist = np.asarray(cam.params.get("distortion", []), dtype=np.float64)
    if cam.model == "pinhole":
        f = pinhole_focal_px(cam.params, width)
        K = np.array([[f, 0, (width - 1) / 2.0], [0, f, (height - 1) / 2.0], [0, 0, 1.0]])
        return CAMERA_MODELS["pinhole"](K=K, T_cam_from_world=np.eye(4), width=width, height=height, dist=dist)
    if cam.model not in CAMERA_MODELS:
        raise RecipeError(f"cameras[{cam.name}].model: {cam.model!r} is unknown; expected one of {sorted(CAMERA_MODELS)}")
    return CAMERA_MODELS[cam.model].from_fov(width, height, math.radians(cam.params["fov_deg"]),
                                             dist=dist if dist.size else None)


def people_center(people: list[PosedBody]) -> np.ndarray:
    """(3,) metres: centre of the people's bounding box at frame 0, on the ground (z = 0)."""
    if not people:
        return np.zeros(3)
    v = np.concatenate([p.vertices[0] for p in people])
    c = 0.5 * (v.min(axis=0) + v.max(axis=0))
    return np.array([c[0], c[1], 0.0])


def _bone_track(cam: CameraSpec, spec: SceneSpec, people: list[PosedBody], lens: CameraModel) -> CameraTrack:
    from synth.bodies.registry import get_body_model

    if not people:
        raise RecipeError(f"cameras[{cam.name}]: a body-worn camera needs a wearer; the scene has no people")
    wearer = spec.people[0]
    body = get_body_model(wearer.body_model, **wearer.body_options)
    rest = body.forward(BodyParams(model=wearer.body_model, shape=wearer.shape, pose_rotvec=body.rest_pose()[None],
                                   T_world_from_root=np.eye(4)[None]))
    part = cam.params["bone"] if cam.rig == "body_worn" else "head"
    if part not in MOUNTS:
        raise RecipeError(f"cameras[{cam.name}].bone: {part!r} unknown; expected one of {sorted(MOUNTS)}")
    T_world_from_part = compute_part_frames(rest.keypoints[0], rest.vertices[0], people[0].vertices,
                                            list(body.keypoint_names), part)
    _, pos, look, up = MOUNTS[part]
    T_part_from_cam = rigs.mount_offset(np.array(pos), np.array(look), np.array(up))
    track = rigs.bone_track("body_worn", lens, T_world_from_part, T_part_from_cam, jitter=cam.jitter,
                            vertices=people[0].vertices, faces=body.faces, clearance_m=0.02,
                            extra_meta={"bone": part})
    track.meta["rig"] = cam.rig
    return track


def compute_camera_track(cam: CameraSpec, spec: SceneSpec, people: list[PosedBody]) -> CameraTrack:
    """The camera of one view over the scene's frames (deterministic: the spec holds every draw)."""
    p = cam.params
    W, H, T = spec.width, spec.height, spec.frames
    lens = make_camera(cam, W, H)
    center = people_center(people)
    if cam.rig == "orbit":
        shake = p.get("shake_m", 0.0)
        return rigs.orbit_track(
            lens=lens, target=center + np.array([0.0, 0.0, p["look_at_height_m"]]), n_frames=T, fps=spec.fps,
            distance_m=p["distance_m"], azimuth_rad=p["azimuth_rad"], elevation_rad=p["elevation_rad"],
            jitter=cam.jitter, orbit_speed_rad_s=p.get("orbit_speed_rad_s", 0.0),
            dolly_speed_m_s=-p.get("dolly_speed_mps", 0.0), shake_translation_m=shake, shake_rotation_rad=shake * 0.5)
    if cam.rig == "close_range":
        if not people:
            raise RecipeError(f"cameras[{cam.name}]: a close-range camera needs a subject; the scene has no people")
        # aim at the subject's upper body: between the shoulders and the nose
        from synth.bodies.registry import get_body_model

        names = list(get_body_model(spec.people[0].body_model, **spec.people[0].body_options).keypoint_names)
        kp = people[0].keypoints[0]
        target = kp[[names.index("left_shoulder"), names.index("right_shoulder"), names.index("nose")]].mean(axis=0)
        # azimuth 0 = in front of the subject (a body faces -Y at yaw 0, i.e. the direction yaw - 90 deg)
        facing_rad = spec.people[0].motion_meta.get("yaw_rad", 0.0) - math.pi / 2
        return rigs.close_range_track(
            lens=lens, target=target, n_frames=T, fps=spec.fps, subject_distance_m=p["distance_m"],
            azimuth_rad=p["azimuth_rad"] + facing_rad, elevation_rad=p["elevation_rad"], jitter=cam.jitter,
            sensor_width_mm=SENSOR_WIDTH_35MM)
    if cam.rig == "overhead":
        if cam.model == "pinhole":
            raise RecipeError(f"cameras[{cam.name}]: the overhead rig takes a fisheye model "
                              "(fisheye_equidistant, fisheye_equisolid, fisheye_kb), got 'pinhole'")
        track = rigs.overhead_track(lens=lens, center_xy=center[:2], n_frames=T, ceiling_height_m=p["height_m"],
                                    jitter=cam.jitter)
        track.meta["fov_rad"] = math.radians(p["fov_deg"])
        return track
    if cam.rig in ("head_mounted", "body_worn"):
        return _bone_track(cam, spec, people, lens)
    raise RecipeError(f"cameras[{cam.name}].rig: {cam.rig!r} unknown")


def compute_camera_tracks(spec: SceneSpec, people: list[PosedBody]) -> list[CameraTrack]:
    return [compute_camera_track(c, spec, people) for c in spec.cameras]
