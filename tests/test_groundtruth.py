"""Visibility and boxes on exact geometry: spheres ray-traced analytically in numpy."""

from __future__ import annotations

import numpy as np
import trimesh

from synth.cameras import PinholeCamera
from synth.core.transforms import look_at_T_cam_from_world
from synth.groundtruth.labels import PersonFrameGeometry, compute_view_labels
from synth.groundtruth.visibility import compute_vertex_visibility

W = H = 96


def make_camera() -> PinholeCamera:
    K = np.array([[90.0, 0, (W - 1) / 2], [0, 90.0, (H - 1) / 2], [0, 0, 1]])
    return PinholeCamera(K=K, T_cam_from_world=look_at_T_cam_from_world([0, -4, 1], [0, 0, 1]), width=W, height=H)


def trace_spheres(cam: PinholeCamera, centers: list[np.ndarray], radii: list[float]):
    """Exact instance ids and ranges of spheres seen through ``cam`` (one ray per pixel centre)."""
    vv, uu = np.mgrid[0:H, 0:W]
    rays_cam = cam.unproject(np.stack([uu.ravel(), vv.ravel()], -1).astype(float))
    R = cam.T_world_from_cam[:3, :3]
    d = rays_cam @ R.T
    o = cam.center_world
    best = np.full(len(d), np.inf)
    inst = np.zeros(len(d), dtype=np.uint16)
    for k, (c, r) in enumerate(zip(centers, radii)):
        oc = o - c
        b = d @ oc
        disc = b * b - (oc @ oc - r * r)
        t = -b - np.sqrt(np.where(disc >= 0, disc, np.nan))
        hit = (disc >= 0) & (t > 0) & (t < best)
        best[hit] = t[hit]
        inst[hit] = k + 1
    return inst.reshape(H, W), best.reshape(H, W).astype(np.float32)


FACES = trimesh.creation.icosphere(subdivisions=3).faces


def sphere(center, radius):
    m = trimesh.creation.icosphere(subdivisions=3, radius=radius)
    return (m.vertices + np.asarray(center)).astype(np.float32)


def test_front_hemisphere_visible_back_hidden():
    cam = make_camera()
    c = np.array([0.0, 0.0, 1.0])
    verts = sphere(c, 0.4)
    inst, depth = trace_spheres(cam, [c], [0.4])
    vis = compute_vertex_visibility(cam, verts, 1, inst, depth)
    to_cam = cam.center_world - c
    facing = (verts - c) @ to_cam / np.linalg.norm(to_cam) / 0.4
    assert vis[facing > 0.3].mean() > 0.97
    assert vis[facing < -0.3].sum() == 0


def test_person_in_front_occludes_keypoints():
    cam = make_camera()
    back_c, front_c = np.array([0.0, 0.0, 1.0]), np.array([0.0, -2.0, 1.0])
    back, front = sphere(back_c, 0.4), sphere(front_c, 0.15)
    inst, depth = trace_spheres(cam, [back_c, front_c], [0.4, 0.15])
    # keypoints of the back sphere: its centre (hidden behind the front sphere) and a point off to the side
    kp_back = np.array([back_c, back_c + [0.35, -0.1, 0.0]], dtype=np.float32)
    kp_front = np.array([front_c, front_c + [0.0, 0.0, 0.1]], dtype=np.float32)
    people = [PersonFrameGeometry(back, kp_back, kp_back, FACES), PersonFrameGeometry(front, kp_front, kp_front, FACES)]
    labels = compute_view_labels(cam, people, inst, depth)
    assert labels["keypoints_in_image"][0].tolist() == [True, True]
    assert labels["keypoints_visible"][0].tolist() == [False, True]
    assert labels["keypoints_visible"][1].tolist() == [True, True]
    # the visible-mask box of the back person is smaller than nothing, the amodal box holds the projection
    box = labels["bbox_xyxy"][0]
    uv = cam.project(back)
    assert np.allclose(box, [uv[:, 0].min() - 0.5, uv[:, 1].min() - 0.5, uv[:, 0].max() + 0.5, uv[:, 1].max() + 0.5],
                       atol=1e-4)
    assert labels["mask_area_px"][0] == np.count_nonzero(inst == 1) > 0


def test_outside_image_is_not_visible():
    cam = make_camera()
    c = np.array([3.0, 0.0, 1.0])  # far to the right, out of view
    verts = sphere(c, 0.3)
    inst, depth = trace_spheres(cam, [c], [0.3])
    labels = compute_view_labels(cam, [PersonFrameGeometry(verts, c[None], c[None].astype(np.float32), FACES)], inst, depth)
    assert not labels["keypoints_in_image"][0, 0]
    assert not labels["keypoints_visible"][0, 0]
    assert np.all(np.isnan(labels["bbox_visible_xyxy"][0]))


def test_self_occlusion_part_behind_own_torso():
    """One person made of a torso sphere and a 'hand' sphere hidden behind it: the hand is self-occluded."""
    cam = make_camera()
    torso_c, hand_c, side_c = np.array([0.0, 0.0, 1.0]), np.array([0.05, 0.7, 1.0]), np.array([0.9, 0.0, 1.0])
    parts = [(torso_c, 0.4), (hand_c, 0.08), (side_c, 0.08)]
    verts = np.concatenate([sphere(c, r) for c, r in parts])
    nv = len(sphere(torso_c, 0.4))
    faces = np.concatenate([FACES + k * nv for k in range(3)])
    inst, depth = trace_spheres(cam, [c for c, _ in parts], [r for _, r in parts])
    inst[inst > 0] = 1  # all three spheres are one person
    kp = np.array([torso_c, hand_c, side_c], dtype=np.float32)
    labels = compute_view_labels(cam, [PersonFrameGeometry(verts, kp, kp, faces)], inst, depth)
    assert labels["keypoints_in_image"][0].tolist() == [True, True, True]
    assert labels["keypoints_visible"][0].tolist() == [True, False, True]
