"""Camera models against OpenCV's own projections, round trips, and records."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from synth.cameras import (
    CAMERA_MODELS,
    CameraModel,
    FisheyeEquidistantCamera,
    FisheyeEquisolidCamera,
    FisheyeKBCamera,
    PinholeCamera,
    intrinsics_matrix,
)
from synth.core.errors import CameraError
from synth.core.transforms import look_at_T_cam_from_world, rotvec_to_matrix, make_T

KB_K = (0.08, -0.02, 0.004, -0.0005)


def _random_dirs(rng: np.random.Generator, n: int, theta_max: float, theta_min: float = 0.0) -> np.ndarray:
    """(n, 3) unit directions with off-axis angle uniform in [theta_min, theta_max]."""
    theta = rng.uniform(theta_min, theta_max, n)
    phi = rng.uniform(-np.pi, np.pi, n)
    return np.stack([np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi), np.cos(theta)], -1)


def _random_points(rng, n, theta_max, theta_min=0.0):
    return _random_dirs(rng, n, theta_max, theta_min) * rng.uniform(0.2, 20.0, (n, 1))


def _all_models() -> list[CameraModel]:
    T = look_at_T_cam_from_world([2.0, -3.0, 1.5], [0.1, 0.2, 1.0])
    return [
        PinholeCamera(K=intrinsics_matrix(120.0, 118.0, 81.3, 58.9), T_cam_from_world=T, width=160, height=120),
        PinholeCamera(K=intrinsics_matrix(90.0, 92.0, 78.0, 61.0), T_cam_from_world=T, width=160, height=120,
                      dist=(-0.32, 0.11, 0.0012, -0.0021, -0.018)),
        FisheyeEquidistantCamera.from_fov(160, 120, np.radians(190), T_cam_from_world=T),
        FisheyeEquisolidCamera.from_fov(160, 160, np.radians(196), T_cam_from_world=T),
        FisheyeKBCamera.from_fov(160, 120, np.radians(200), KB_K, T_cam_from_world=T),
    ]


def test_registry_has_every_model():
    assert {"pinhole", "fisheye_equidistant", "fisheye_equisolid", "fisheye_kb"} <= set(CAMERA_MODELS)


@pytest.mark.parametrize("dist", [(0.0, 0.0, 0.0, 0.0, 0.0), (-0.28, 0.09, 0.0015, -0.001, -0.012),
                                  (0.12, -0.03, -0.002, 0.003, 0.004)])
def test_pinhole_matches_cv2_projectPoints(dist):
    rng = np.random.default_rng(1)
    K = intrinsics_matrix(410.0, 405.0, 322.4, 239.7)
    K[0, 1] = 0.0
    R = rotvec_to_matrix(np.array([0.1, -0.2, 0.05]))
    T = make_T(R, [0.3, -0.1, 2.0])
    cam = PinholeCamera(K=K, T_cam_from_world=T, width=640, height=480, dist=dist)
    X_cam = _random_points(rng, 4000, np.radians(75))
    X_world = (X_cam - T[:3, 3]) @ R  # so that world_to_cam(X_world) == X_cam
    ok = cam.valid_cam(X_cam)
    assert ok.mean() > 0.5
    uv = cam.project(X_world)
    rvec, _ = cv2.Rodrigues(R)
    ref, _ = cv2.projectPoints(X_world.reshape(-1, 1, 3), rvec, T[:3, 3], K, np.asarray(dist, dtype=np.float64))
    err = np.abs(uv[ok] - ref[ok, 0])
    assert err.max() < 1e-6, err.max()
    assert np.all(np.isnan(uv[~ok]))


@pytest.mark.parametrize("k", [(0.0, 0.0, 0.0, 0.0), KB_K, (-0.01, 0.003, -0.0004, 0.00002)])
def test_kb_and_equidistant_match_cv2_fisheye(k):
    rng = np.random.default_rng(2)
    K = intrinsics_matrix(230.0, 228.5, 321.0, 242.0)
    if k == (0.0, 0.0, 0.0, 0.0):
        cam = FisheyeEquidistantCamera(K=K, T_cam_from_world=np.eye(4), width=640, height=480,
                                       dist=[np.radians(180)])
    else:
        cam = FisheyeKBCamera(K=K, T_cam_from_world=np.eye(4), width=640, height=480,
                              dist=list(k) + [np.radians(179.9)])
    # cv2.fisheye computes theta = atan(r) from x/z: only valid in front of the camera (z > 0)
    X = _random_points(rng, 4000, np.radians(89.5))
    uv = cam.project_cam(X)
    ref, _ = cv2.fisheye.projectPoints(X.reshape(-1, 1, 3), np.zeros(3), np.zeros(3), K,
                                       np.asarray(k, dtype=np.float64))
    err = np.abs(uv - ref[:, 0])
    assert np.all(np.isfinite(uv))
    assert err.max() < 1e-6, err.max()


def test_equisolid_formula():
    cam = FisheyeEquisolidCamera(K=intrinsics_matrix(100.0, 100.0, 50.0, 40.0), T_cam_from_world=np.eye(4),
                                 width=100, height=80, dist=[np.radians(200)])
    theta = np.radians(np.array([0.0, 10.0, 45.0, 89.0, 95.0, 99.9]))
    phi = np.radians(30.0)
    X = np.stack([np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi), np.cos(theta)], -1) * 3.0
    uv = cam.project_cam(X)
    r = np.hypot(uv[:, 0] - 50.0, uv[:, 1] - 40.0)
    np.testing.assert_allclose(r, 200.0 * np.sin(theta / 2.0), atol=1e-9)
    # 95.7 degrees off-axis is inside the 200-degree lens, 106.7 degrees is not
    X = np.array([[0.0, 1.0, -0.1], [0.0, 1.0, -0.3]])
    np.testing.assert_array_equal(cam.valid_cam(X), [True, False])
    uv = cam.project_cam(X)
    assert np.all(np.isfinite(uv[0])) and np.all(np.isnan(uv[1]))


@pytest.mark.parametrize("idx", range(5))
def test_unproject_round_trip(idx):
    cam = _all_models()[idx]
    rng = np.random.default_rng(10 + idx)
    if cam.model_name == "pinhole":
        X = _random_points(rng, 3000, np.radians(70))
    else:
        half = 0.5 * cam.max_fov_rad
        X = np.concatenate([_random_points(rng, 3000, half),
                            _random_points(rng, 1000, half, np.radians(80.0))])  # includes > 80 / > 90 deg
    ok = cam.valid_cam(X)
    assert ok.mean() > 0.5
    uv = cam.project_cam(X)
    rays = cam.unproject(uv[ok])
    want = X[ok] / np.linalg.norm(X[ok], axis=1, keepdims=True)
    err = np.linalg.norm(rays - want, axis=1)
    assert err.max() < 1e-9, err.max()
    np.testing.assert_allclose(np.linalg.norm(rays, axis=1), 1.0, atol=1e-12)
    if cam.model_name != "pinhole":
        assert np.any(X[ok, 2] < 0)  # behind the image plane, still imaged


def test_fisheye_valid_is_field_stop():
    cam = FisheyeEquidistantCamera.from_fov(200, 200, np.radians(190))
    theta = np.radians([0.0, 60.0, 94.9, 95.1, 120.0, 180.0])
    X = np.stack([np.sin(theta), np.zeros_like(theta), np.cos(theta)], -1)
    np.testing.assert_array_equal(cam.valid_cam(X), [True, True, True, False, False, False])
    uv = cam.project_cam(X)
    assert np.all(np.isfinite(uv[:3])) and np.all(np.isnan(uv[3:]))
    # the field stop touches the image border: f * 95 deg = 100 px
    np.testing.assert_allclose(uv[2, 0] - cam.K[0, 2], cam.K[0, 0] * np.radians(94.9), atol=1e-9)
    assert abs(cam.K[0, 0] * np.radians(95.0) - 100.0) < 1e-9
    # a pixel in the corner (outside the 190-degree circle) unprojects to NaN
    assert np.all(np.isnan(cam.unproject(np.array([[0.0, 0.0]]))))
    assert np.all(np.isfinite(cam.unproject(np.array([[100.0, 5.0]]))))


def test_pinhole_folded_distortion_is_invalid():
    # k1 strongly negative: the radial map r (1 + k1 r^2) peaks at r = 1/sqrt(-3 k1)
    cam = PinholeCamera(K=intrinsics_matrix(100, 100, 50, 50), T_cam_from_world=np.eye(4), width=100, height=100,
                        dist=(-0.3, 0.0, 0.0, 0.0, 0.0))
    r_max = 1.0 / np.sqrt(0.9)
    assert abs(cam.r_max - r_max) < 1e-12
    X = np.array([[0.99 * r_max, 0.0, 1.0], [1.01 * r_max, 0.0, 1.0], [3.0, 0.0, 1.0], [0.0, 0.0, -1.0]])
    np.testing.assert_array_equal(cam.valid_cam(X), [True, False, False, False])
    uv = cam.project_cam(X)
    assert np.isfinite(uv[0]).all() and np.isnan(uv[1:]).all()
    # pixels beyond the image of r_max have no ray
    rd_max = r_max * (1 - 0.3 * r_max**2)
    assert np.isnan(cam.unproject(np.array([[50 + 100 * rd_max * 1.01, 50.0]]))).all()
    assert np.isfinite(cam.unproject(np.array([[50 + 100 * rd_max * 0.99, 50.0]]))).all()


@pytest.mark.parametrize("idx", range(5))
def test_record_round_trip(idx):
    cam = _all_models()[idx]
    rec = cam.to_record()
    assert set(rec) == {"model", "K", "dist", "T_cam_from_world", "width", "height"}
    back = CameraModel.from_record(rec)
    assert type(back) is type(cam)
    np.testing.assert_array_equal(back.K, cam.K)
    np.testing.assert_array_equal(back.dist, cam.dist)
    np.testing.assert_array_equal(back.T_cam_from_world, cam.T_cam_from_world)
    assert (back.width, back.height) == (cam.width, cam.height)
    X = np.random.default_rng(0).normal(size=(50, 3)) * 2.0
    np.testing.assert_array_equal(np.isnan(back.project(X)), np.isnan(cam.project(X)))
    np.testing.assert_allclose(back.project(X), cam.project(X), equal_nan=True)
    if cam.model_name.startswith("fisheye"):
        assert back.max_fov_rad == cam.max_fov_rad


def test_fisheye_dist_without_fov_gets_default_and_bad_fov_raises():
    cam = FisheyeKBCamera(K=np.eye(3), T_cam_from_world=np.eye(4), width=10, height=10, dist=KB_K)
    assert cam.dist.size == 5 and abs(cam.max_fov_rad - np.pi) < 1e-12
    eq = FisheyeEquidistantCamera(K=np.eye(3), T_cam_from_world=np.eye(4), width=10, height=10)
    assert abs(eq.max_fov_rad - np.pi) < 1e-12
    with pytest.raises(CameraError, match="max_fov_rad"):
        FisheyeEquisolidCamera(K=np.eye(3), T_cam_from_world=np.eye(4), width=10, height=10, dist=[7.0])
    # a KB polynomial that folds at ~60 degrees cannot claim a 180-degree lens
    with pytest.raises(CameraError, match="monotonic"):
        FisheyeKBCamera(K=np.eye(3), T_cam_from_world=np.eye(4), width=10, height=10,
                        dist=[-0.3, 0.0, 0.0, 0.0, np.pi])
    with pytest.raises(CameraError, match="dist must hold"):
        FisheyeKBCamera(K=np.eye(3), T_cam_from_world=np.eye(4), width=10, height=10, dist=[0.1, 0.2])


def test_from_fov_constructors():
    cam = PinholeCamera.from_fov(640, 480, np.radians(90.0))
    uv = cam.project_cam(np.array([[1.0, 0.0, 1.0]]))  # 45 degrees right: the right image edge
    np.testing.assert_allclose(uv[0], [639.5, 239.5], atol=1e-9)
    fe = FisheyeEquisolidCamera.from_fov(300, 200, np.radians(180), fit="height")
    uv = fe.project_cam(np.array([[0.0, -1.0, 0.0]]))  # 90 degrees up: the top edge
    np.testing.assert_allclose(uv[0], [149.5, -0.5], atol=1e-9)


def test_world_projection_uses_pose_and_with_pose():
    cam = _all_models()[4]
    target = np.array([0.1, 0.2, 1.0])
    uv = cam.project(target[None])
    np.testing.assert_allclose(uv[0], cam.K[:2, 2], atol=1e-9)  # look-at target on the principal point
    moved = cam.with_pose(look_at_T_cam_from_world([0.0, 0.0, 5.0], [0.0, 0.0, 0.0], up=(0, 1, 0)))
    assert type(moved) is type(cam)
    np.testing.assert_array_equal(moved.dist, cam.dist)
    np.testing.assert_allclose(moved.project(np.zeros((1, 3)))[0], cam.K[:2, 2], atol=1e-9)
    np.testing.assert_allclose(moved.center_world, [0.0, 0.0, 5.0], atol=1e-12)


@pytest.mark.parametrize("idx", range(5))
def test_blender_plan_resampling_geometry_without_blender(idx):
    """``plan.finish`` maps the native source render into the model's geometry (checked with synthetic
    passes: colour = ray direction, Z = a plane 2 m ahead), no Blender needed."""
    from synth.render.blender.camera import plan_blender_camera

    cam = _all_models()[idx]
    plan = plan_blender_camera(cam)
    src = plan.source
    h, w = plan.render_height, plan.render_width
    vv, uu = np.mgrid[0:h, 0:w]
    rays = src.unproject(np.stack([uu.ravel(), vv.ravel()], -1).astype(float))
    ok = np.all(np.isfinite(rays), axis=1)
    rays = np.where(ok[:, None], rays, 0.0)
    rgb = np.clip(np.rint(128 + 100 * rays), 0, 255).astype(np.uint8).reshape(h, w, 3)
    hit = ok & (rays[:, 2] > 0.05)
    rng_true = np.where(hit, 2.0 / np.where(hit, rays[:, 2], 1.0), np.inf)
    z = np.where(hit, 2.0 if plan.kind == "PERSP" else rng_true, 1e10).astype(np.float32).reshape(h, w)
    inst = hit.astype(np.uint16).reshape(h, w)
    out_rgb, out_inst, out_depth = plan.finish(rgb, inst, z)
    H, W = cam.height, cam.width
    assert out_rgb.shape == (H, W, 3) and out_inst.shape == (H, W) and out_depth.shape == (H, W)
    vv, uu = np.mgrid[0:H, 0:W]
    want = cam.unproject(np.stack([uu.ravel(), vv.ravel()], -1).astype(float)).reshape(H, W, 3)
    valid = np.all(np.isfinite(want), axis=-1)
    np.testing.assert_array_equal(valid, plan.valid_mask)
    got = (out_rgb.astype(float) - 128) / 100
    assert np.abs(got[valid] - want[valid]).max() < 0.02  # 1 level = 0.01; bilinear of a smooth field
    assert np.all(out_rgb[~valid] == 0) and np.all(out_inst[~valid] == 0) and np.all(np.isinf(out_depth[~valid]))
    # depth: range to the plane along the output pixel's own ray (nearest source pixel)
    front = valid & (want[..., 2] > 0.3)
    rel = np.abs(out_depth[front] / (2.0 / want[..., 2][front]) - 1)
    assert rel.max() < 0.05 if plan.resampled else rel.max() < 1e-6
