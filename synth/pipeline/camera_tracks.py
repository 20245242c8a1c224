"""Per-frame cameras of a scene: the recipe's camera specs turned into ``CameraTrack``s.

Rigs (``synth.cameras.rigs``) get the values ``sample_scene`` already drew, so a
scene's cameras depend only on its seed. Cameras worn on the body follow a body
*part frame*: the rigid motion of the skin patch around a keypoint (Kabsch fit of
the posed patch to the rest-pose patch), which works the same for every body
model. In the rest pose the part frame is the world frame of a body standing at
the origin facing -Y with Z up, so mounts are written in those terms.
"""

from __future__ import annotations

import math

import numpy as np

from synth.bodies.base import BodyParams, PosedBody
from synth.cameras import rigs
from synth.cameras.base import CameraModel
from synth.cameras.rigs import CameraTrack
from synth.core.errors import RecipeError
from synth.core.transforms import make_T
from synth.recipe.spec import CameraSpec, SceneSpec

SENSOR_WIDTH_35MM = 36.0

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


def kabsch(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Rotation R (3, 3) minimising |R (A - mean A) - (B - mean B)| for point sets A, B (N, 3)."""
    a = A - A.mean(axis=0)
    b = B - B.mean(axis=0)
    U, _, Vt = np.linalg.svd(a.T @ b)
    d = np.sign(np.linalg.det(Vt.T @ U.T))
    return Vt.T @ np.diag([1.0, 1.0, d]) @ U.T


def compute_part_frames(rest: PosedBody, posed: PosedBody, keypoint_names: list[str], part: str,
                        T_world_from_root: np.ndarray) -> np.ndarray:
    """``T_world_from_part`` (T, 4, 4): the rigid motion of the skin patch around body part ``part``.

    rest : the person posed in the rest pose at the origin (identity root), frame 0 used
    posed : the person as rendered, (T, ...) world frame
    T_world_from_root : (T, 4, 4) the person's root placement (for the rest frame's heading)
    The frame's rotation maps rest-body directions (facing -Y, Z up) to the world; its origin is
    the patch centre.
    """
    names, _, _, _ = MOUNTS[part]
    idx = [keypoint_names.index(n) for n in names]
    centre_rest = rest.keypoints[0][idx].mean(axis=0).astype(np.float64)
    d = np.linalg.norm(rest.vertices[0] - centre_rest, axis=1)
    patch = np.nonzero(d <= max(PATCH_RADIUS_M, np.sort(d)[min(12, len(d) - 1)]))[0]
    A = rest.vertices[0][patch].astype(np.float64)
    out = []
    for t in range(posed.vertices.shape[0]):
        B = posed.vertices[t][patch].astype(np.float64)
        R = kabsch(A, B)
        origin = B.mean(axis=0) + R @ (centre_rest - A.mean(axis=0))
        out.append(make_T(R, origin))
    return np.stack(out)


def _bone_track(cam: CameraSpec, spec: SceneSpec, people: list[PosedBody], rng: np.random.Generator,
                lens: CameraModel) -> CameraTrack:
    from synth.bodies.registry import get_body_model

    if not people:
        raise RecipeError(f"cameras[{cam.name}]: a body-worn camera needs a wearer; the scene has no people")
    wearer = spec.people[0]
    body = get_body_model(wearer.body_model, **wearer.body_options)
    rest_params = BodyParams(model=wearer.body_model, shape=wearer.shape, pose_rotvec=body.rest_pose()[None],
                             T_world_from_root=np.eye(4)[None])
    rest = body.forward(rest_params)
    part = cam.params["bone"] if cam.rig == "body_worn" else "head"
    if part not in MOUNTS:
        raise RecipeError(f"cameras[{cam.name}].bone: {part!r} unknown; expected one of {sorted(MOUNTS)}")
    T_world_from_part = compute_part_frames(rest, people[0], list(body.keypoint_names), part,
                                            wearer.T_world_from_root)
    _, pos, look, up = MOUNTS[part]
    T_part_from_cam = rigs.mount_offset(np.array(pos), np.array(look), np.array(up))
    common = dict(rng=rng, mount_jitter_m=0.01, mount_jitter_rad=math.radians(3.0),
                  vertices=people[0].vertices, faces=body.faces, clearance_m=0.02)
    track = rigs.body_worn(T_world_from_part, camera=lens, T_bone_from_cam=T_part_from_cam, bone_name=part, **common)
    track.meta["rig"] = cam.rig
    return track


def compute_camera_track(cam: CameraSpec, spec: SceneSpec, people: list[PosedBody]) -> CameraTrack:
    """The camera of one view over the scene's frames."""
    p = cam.params
    rng = np.random.default_rng(p["rig_seed"])
    W, H, T = spec.width, spec.height, spec.frames
    lens = make_camera(cam, W, H)
    center = people_center(people)
    if cam.rig == "orbit":
        shake = p.get("shake_m", 0.0)
        track = rigs.sample_orbit_pinhole(
            rng=rng, target=center + np.array([0.0, 0.0, p["look_at_height_m"]]), width=W, height=H,
            n_frames=T, fps=spec.fps, distance_m=p["distance_m"], azimuth_rad=p["azimuth_rad"],
            elevation_rad=p["elevation_rad"], look_at_jitter_m=p["look_at_jitter_m"],
            fov_rad=None, focal_length_px=float(lens.K[0, 0]),  # the rig's pose; the lens is ours
            orbit_speed_rad_s=p.get("orbit_speed_rad_s", 0.0), dolly_speed_m_s=-p.get("dolly_speed_mps", 0.0),
            shake_translation_m=shake, shake_rotation_rad=shake * 0.5)
        return CameraTrack(lens.with_pose(track.T_cam_from_world[0]), track.T_cam_from_world, track.meta)
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
        track = rigs.sample_close_range(
            rng=rng, target=target, width=W, height=H, n_frames=T, fps=spec.fps,
            subject_distance_m=p["distance_m"],
            focal_length_mm=float(lens.K[0, 0]) / W * SENSOR_WIDTH_35MM, azimuth_rad=p["azimuth_rad"] + facing_rad,
            elevation_rad=p["elevation_rad"], look_at_jitter_m=min(p["look_at_jitter_m"], 0.05),
            dist=lens.dist if cam.model == "pinhole" else None)
        return CameraTrack(lens.with_pose(track.T_cam_from_world[0]), track.T_cam_from_world, track.meta)
    if cam.rig == "overhead":
        if cam.model == "pinhole":
            raise RecipeError(f"cameras[{cam.name}]: the overhead rig takes a fisheye model "
                              "(fisheye_equidistant, fisheye_equisolid, fisheye_kb), got 'pinhole'")
        track = rigs.sample_overhead_fisheye(
            rng=rng, center_xy=center[:2], width=W, height=H, n_frames=T, ceiling_height_m=p["height_m"],
            fov_rad=math.radians(p["fov_deg"]), model=cam.model,
            kb_coeffs=lens.dist[:4] if cam.model == "fisheye_kb" else None, xy_jitter_m=0.2)
        return CameraTrack(lens.with_pose(track.T_cam_from_world[0]), track.T_cam_from_world, track.meta)
    if cam.rig in ("head_mounted", "body_worn"):
        return _bone_track(cam, spec, people, rng, lens)
    raise RecipeError(f"cameras[{cam.name}].rig: {cam.rig!r} unknown")


def compute_camera_tracks(spec: SceneSpec, people: list[PosedBody]) -> list[CameraTrack]:
    return [compute_camera_track(c, spec, people) for c in spec.cameras]
