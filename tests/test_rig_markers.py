"""Every camera rig of the recipes, as the pipeline builds it, puts rendered markers where project() says.

For each camera of scenes/{demo,close_range,overhead_fisheye,egocentric,multiview}.yaml (small
sizes), the scene's camera at one frame renders emissive markers at the wearer's / subject's
keypoints and at points near the image edge (> 80 degrees off-axis for fisheyes); each marker's
centroid must be within 0.5 px of ``camera.project``. Body-worn cameras are checked to stay
outside the wearer's mesh and to follow their body part on a moving clip.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from synth.core.mesh import point_mesh_distance, points_inside_mesh
from synth.cameras.mounts import compute_part_frames
from synth.pipeline.camera_tracks import compute_camera_tracks
from synth.pipeline.geometry import compute_people_geometry, load_body
from synth.recipe import load_recipe, parse_recipe, recipe_to_dict
from synth.recipe.sample import sample_scene

ROOT = Path(__file__).resolve().parents[1]
RECIPES = ["demo", "close_range", "overhead_fisheye", "egocentric", "multiview"]
MARKER_PX = 2.2
MAX_PX_ERR = 0.5


def small(name: str, size: int = 128, frames: int | None = None):
    d = recipe_to_dict(load_recipe(ROOT / "scenes" / f"{name}.yaml"))
    d["image"] = {"width": size, "height": size}
    d["people"]["anny_topology"] = "notoes_collapse5pc"
    if frames:
        d["frames_per_scene"] = frames
    return parse_recipe(d, name)


def scene_cameras(name: str, frame: int = -1):
    recipe = small(name)
    spec = sample_scene(recipe, 0)
    people = compute_people_geometry(spec)
    tracks = compute_camera_tracks(spec, people)
    return [(c.name, c.rig, t.at(frame)) for c, t in zip(spec.cameras, tracks)], people


def marker_points(cam, people, rng):
    """Keypoints in view plus points near the image border; well separated in the image."""
    cand = [p.keypoints[-1] for p in people]
    H, W = cam.height, cam.width
    border = []
    for u, v in [(6, H / 2), (W - 7, H / 2), (W / 2, 6), (W / 2, H - 7), (W * 0.2, H * 0.2), (W * 0.8, H * 0.8)]:
        ray = cam.unproject(np.array([[u, v]]))[0]
        if np.all(np.isfinite(ray)):
            border.append(cam.center_world + cam.T_world_from_cam[:3, :3] @ ray * rng.uniform(1.5, 3.0))
    if cam.model_name.startswith("fisheye"):  # points far off-axis, near the edge of the image circle
        half_fov = 0.5 * cam.dist[-1]  # the lens' field stop (last element of dist)
        for phi in np.radians([20.0, 110.0, 200.0, 290.0]):
            th = min(np.radians(84.0), half_fov - np.radians(3.0))
            ray = np.array([np.sin(th) * np.cos(phi), np.sin(th) * np.sin(phi), np.cos(th)])
            border.append(cam.center_world + cam.T_world_from_cam[:3, :3] @ ray * rng.uniform(1.5, 3.0))
    X = np.concatenate(cand + [np.array(border).reshape(-1, 3)])
    uv = cam.project(X)
    ok = cam.in_image(uv) & np.all(np.isfinite(uv), axis=1)
    ok &= (uv[:, 0] > 4) & (uv[:, 0] < W - 5) & (uv[:, 1] > 4) & (uv[:, 1] < H - 5)
    if cam.model_name.startswith("fisheye"):  # a marker cut by the image circle has a biased centroid
        Xc = cam.world_to_cam(X)
        theta = np.arccos(np.clip(Xc[:, 2] / np.linalg.norm(Xc, axis=1), -1, 1))
        ok &= theta < 0.5 * cam.dist[-1] - np.radians(2.5)
    X, uv = X[ok], uv[ok]
    keep = []
    for i in range(len(X)):
        if all(np.hypot(*(uv[i] - uv[j])) > 9 for j in keep) and np.linalg.norm(X[i] - cam.center_world) > 0.15:
            keep.append(i)
    return X[keep][:24]


def marker_radii(cam, X):
    X_cam = cam.world_to_cam(X)
    r = np.linalg.norm(X_cam, axis=1)
    out = []
    for x, d in zip(X_cam, r):
        ray = x / d
        a = np.cross(ray, [0.0, 0.0, 1.0] if abs(ray[2]) < 0.9 else [1.0, 0.0, 0.0])
        a /= np.linalg.norm(a)
        b = np.cross(ray, a)
        uv0 = cam.project_cam(ray[None])[0]
        s = max(np.hypot(*(cam.project_cam((ray + 1e-4 * t)[None])[0] - uv0)) / 1e-4 for t in (a, b))
        out.append(d * MARKER_PX / s)
    return np.array(out)


@pytest.mark.blender
@pytest.mark.parametrize("recipe", RECIPES)
def test_rig_markers_land_on_projection(recipe, tmp_path):
    from tests.blender_markers_util import marker_centroids, render_markers

    cams, people = scene_cameras(recipe)
    rng = np.random.default_rng(0)
    for name, rig, cam in cams:
        X = marker_points(cam, people, rng)
        assert len(X) >= 6, (recipe, name)
        radii = marker_radii(cam, X)
        res = render_markers(cam, X, radii, samples=16, workdir=str(tmp_path / name))
        uv = cam.project(X)
        cen = marker_centroids(res.rgb, res.instance, len(X), guess_uv=uv, window=4)
        err = np.hypot(*(cen - uv).T)
        print(f"{recipe}/{name} ({rig}, {cam.model_name}): {len(X)} markers, max {np.nanmax(err):.3f} px")
        assert np.all(np.isfinite(err)), (recipe, name, "a marker is missing")
        assert err.max() < MAX_PX_ERR, (recipe, name, err.round(3))
        if cam.model_name.startswith("fisheye"):
            theta = np.degrees(np.arccos(np.clip(cam.world_to_cam(X)[:, 2] / np.linalg.norm(cam.world_to_cam(X), axis=1),
                                                 -1, 1)))
            assert theta.max() > 80, (recipe, name, theta.max())


def test_body_worn_cameras_stay_outside_and_follow_their_part():
    recipe = small("egocentric", frames=8)
    d = recipe_to_dict(recipe)
    d["people"]["motion"] = {"source": "walk"}
    d["people"]["count"] = 1
    recipe = parse_recipe(d)
    spec = sample_scene(recipe, 0)
    people = compute_people_geometry(spec)
    tracks = compute_camera_tracks(spec, people)
    body = load_body(spec.people[0].body_model, spec.people[0].body_options)
    from synth.bodies.base import BodyParams

    rest = body.forward(BodyParams("anny", spec.people[0].shape, body.rest_pose()[None], np.eye(4)[None]))
    wearer = people[0]
    assert np.linalg.norm(wearer.joints[-1, 0, :2] - wearer.joints[0, 0, :2]) > 0.3  # the wearer walks
    for cam_spec, track in zip(spec.cameras, tracks):
        centers = track.centers_world
        inside = [points_inside_mesh(centers[t][None], wearer.vertices[t], body.faces)[0] for t in range(len(centers))]
        assert not any(inside), cam_spec.name
        gap = [point_mesh_distance(centers[t][None], wearer.vertices[t], body.faces)[0] for t in range(len(centers))]
        assert min(gap) >= 0.019, (cam_spec.name, min(gap))
        part = cam_spec.params["bone"] if cam_spec.rig == "body_worn" else "head"
        T_part = compute_part_frames(rest.keypoints[0], rest.vertices[0], wearer.vertices, list(body.keypoint_names),
                                     part)
        T_world_from_cam = np.linalg.inv(track.T_cam_from_world)
        T_part_from_cam = np.linalg.inv(T_part) @ T_world_from_cam
        assert np.allclose(T_part_from_cam, T_part_from_cam[0], atol=1e-6), cam_spec.name   # rigid on the part
        assert np.linalg.norm(centers[-1] - centers[0]) > 0.1, cam_spec.name                # and it moves


def test_close_range_subject_within_a_metre():
    recipe = small("close_range")
    near = []
    for i in range(4):
        spec = sample_scene(recipe, i)
        people = compute_people_geometry(spec)
        track = compute_camera_tracks(spec, people)[0]
        assert 0.35 <= track.meta["subject_distance_m"] <= 1.0
        cam = track.at(0)
        d = np.linalg.norm(people[0].keypoints[0] - cam.center_world, axis=1)
        near.append(d.min())
        assert np.mean(cam.in_image(cam.project(people[0].keypoints[0]))) > 0.3
    assert max(near) < 1.0
