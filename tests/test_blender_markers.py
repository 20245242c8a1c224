"""The key promise: rendered pixels and ``camera.project()`` agree, for every camera model.

Small emissive spheres at known 3D points (some > 80 degrees off-axis, some behind
the image plane for fisheyes) are rendered by Cycles through
``plan_blender_camera(camera).apply / finish``; each marker's intensity-weighted
centroid must be within 0.5 px of ``camera.project()``, and the depth ``finish``
returns at the marker must be the range to the marker's surface.
"""

from __future__ import annotations

import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("bpy")
sys.path.insert(0, str(Path(__file__).parent))

from blender_markers_util import marker_centroids, render_markers  # noqa: E402

from synth.cameras import (  # noqa: E402
    CameraModel,
    FisheyeEquidistantCamera,
    FisheyeEquisolidCamera,
    FisheyeKBCamera,
    PinholeCamera,
    intrinsics_matrix,
)
from synth.core.transforms import look_at_T_cam_from_world  # noqa: E402
from synth.render.blender.camera import plan_blender_camera  # noqa: E402

pytestmark = pytest.mark.blender

# an oblique pose so that any axis / handedness / transpose mistake shows
T_POSE = look_at_T_cam_from_world([0.4, -1.3, 1.1], [0.1, 0.2, 0.9])
MAX_PX_ERR = 0.5
MARKER_PX = 2.0  # marker radius on the image, pixels (largest direction)


def _cameras() -> dict[str, CameraModel]:
    return {
        "pinhole": PinholeCamera(K=intrinsics_matrix(110.0, 110.0, 61.3, 50.8), T_cam_from_world=T_POSE,
                                 width=128, height=96),
        "pinhole_portrait": PinholeCamera(K=intrinsics_matrix(95.0, 95.0, 44.2, 70.6), T_cam_from_world=T_POSE,
                                          width=96, height=128),
        "pinhole_distorted": PinholeCamera(K=intrinsics_matrix(80.0, 80.0, 64.4, 47.1), T_cam_from_world=T_POSE,
                                           width=128, height=96, dist=(-0.30, 0.09, 0.002, -0.0015, -0.01)),
        "pinhole_fx_ne_fy": PinholeCamera(K=intrinsics_matrix(100.0, 92.0, 62.0, 49.5), T_cam_from_world=T_POSE,
                                          width=128, height=96),
        "equidistant_square": FisheyeEquidistantCamera.from_fov(128, 128, np.radians(200), T_cam_from_world=T_POSE),
        "equidistant_nonsquare": FisheyeEquidistantCamera.from_fov(
            160, 112, np.radians(190), fit="width", max_fov_rad=np.radians(200), T_cam_from_world=T_POSE,
            principal_point=(80.3, 54.6)),
        "equisolid": FisheyeEquisolidCamera.from_fov(144, 112, np.radians(190), fit="min", T_cam_from_world=T_POSE,
                                                     principal_point=(70.7, 56.2)),
        "kb": FisheyeKBCamera.from_fov(136, 120, np.radians(200), (0.06, -0.015, 0.003, -0.0004),
                                       fit="height", T_cam_from_world=T_POSE),
    }


def _marker_layout(cam: CameraModel, rng: np.random.Generator, spacing_px: float = 22.0):
    """Marker centres: image positions on a jittered grid (plus near-edge fisheye positions), unprojected
    to random distances. Returns points (N, 3) world m, range (N,) m, radius (N,) m."""
    W, H = cam.width, cam.height
    m = 7.0
    us = np.arange(m, W - m + 1e-9, spacing_px)
    vs = np.arange(m, H - m + 1e-9, spacing_px)
    us = us + ((W - 1) - (us[0] + us[-1])) / 2.0  # centre the grid
    vs = vs + ((H - 1) - (vs[0] + vs[-1])) / 2.0
    uu, vv = np.meshgrid(us, vs)
    uv = np.stack([uu.ravel(), vv.ravel()], -1) + rng.uniform(-3, 3, (uu.size, 2))
    if cam.model_name.startswith("fisheye"):
        # ring near the lens' field stop: theta in [80, max_fov/2 - 4] degrees
        half = 0.5 * cam.max_fov_rad
        edge = np.degrees(half) - 4.5
        th = np.radians(np.array([82.0, 88.0, min(93.0, edge - 1.5), edge]))
        ph = np.radians(np.array([20.0, 145.0, 260.0, 320.0]))
        d = np.stack([np.sin(th) * np.cos(ph), np.sin(th) * np.sin(ph), np.cos(th)], -1)
        extra = cam.project_cam(d)
        uv = np.concatenate([extra[cam.in_image(extra)], uv])  # first: kept by the spacing filter
    rays = cam.unproject(uv)
    keep = np.all(np.isfinite(rays), axis=1)
    if cam.model_name.startswith("fisheye"):  # keep whole markers inside the field stop
        theta = np.arccos(np.clip(np.where(keep, rays[:, 2], 1.0), -1.0, 1.0))
        keep &= theta <= 0.5 * cam.max_fov_rad - np.radians(4.0)
    uv, rays = uv[keep], rays[keep]
    # drop positions closer than spacing/1.6 to an earlier one
    sel = []
    for i in range(len(uv)):
        if all(np.hypot(*(uv[i] - uv[j])) > spacing_px / 1.6 for j in sel):
            sel.append(i)
    rays = rays[sel]
    dist = rng.uniform(0.35, 0.9, len(rays))
    X_cam = rays * dist[:, None]
    # marker radius so that its image is ~MARKER_PX in its most stretched direction
    radius = np.empty(len(rays))
    eps = 1e-4
    for i, ray in enumerate(rays):
        a = np.cross(ray, [0.0, 0.0, 1.0] if abs(ray[2]) < 0.9 else [1.0, 0.0, 0.0])
        a /= np.linalg.norm(a)
        b = np.cross(ray, a)
        uv0 = cam.project_cam(ray[None])[0]
        s = max(np.hypot(*(cam.project_cam((ray + eps * t)[None])[0] - uv0)) / eps for t in (a, b))
        radius[i] = dist[i] * MARKER_PX / s
    X_world = (X_cam - cam.T_cam_from_world[:3, 3]) @ cam.T_cam_from_world[:3, :3]
    return X_world, dist, radius




@pytest.mark.parametrize("name", list(_cameras()))
def test_markers_land_on_projection(name, tmp_path):
    cam = _cameras()[name]
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    pts, dist, radius = _marker_layout(cam, rng)
    assert len(pts) >= 8
    if cam.model_name.startswith("fisheye"):
        theta = np.degrees(np.arccos(np.clip(cam.unproject(cam.project(pts))[:, 2], -1, 1)))
        assert (theta > 80).sum() >= 2 and (theta > 90).sum() >= 1, theta  # far off-axis and behind the image plane
    res = render_markers(cam, pts, radius, samples=32, workdir=str(tmp_path))
    assert res.rgb.shape == (cam.height, cam.width, 3) and res.rgb.dtype == np.uint8
    assert res.instance.shape == (cam.height, cam.width) and res.instance.dtype == np.uint16
    assert res.depth.shape == (cam.height, cam.width) and res.depth.dtype == np.float32

    uv = cam.project(pts)
    assert np.all(cam.in_image(uv))
    cen = marker_centroids(res.rgb, res.instance, len(pts), guess_uv=uv, window=5)
    err = np.hypot(*(cen - uv).T)
    print(f"{name}: plan {res.plan.kind} render {res.plan.render_width}x{res.plan.render_height} "
          f"resampled={res.plan.resampled}; {len(pts)} markers; max err {err.max():.3f} px, mean {err.mean():.3f} px")
    assert np.all(np.isfinite(err)), "a marker was not found in the image"
    assert err.max() < MAX_PX_ERR, (err.round(3), uv.round(2))
    # every marker's own instance id is at its projected pixel
    ui = np.rint(uv).astype(int)
    np.testing.assert_array_equal(res.instance[ui[:, 1], ui[:, 0]], np.arange(1, len(pts) + 1))
    # depth is the range to the marker's near surface
    d = res.depth[ui[:, 1], ui[:, 0]]
    np.testing.assert_allclose(d, dist - radius, atol=0.012)
    # pixels outside every marker are background: inf depth, instance 0
    bg = res.instance == 0
    assert np.all(np.isinf(res.depth[bg]))
    if not res.plan.valid_mask.all():  # outside the fisheye's field stop: black
        assert res.rgb[~res.plan.valid_mask].max() == 0


def test_blender_z_pass_is_planar_for_persp_and_range_for_panoramic(tmp_path):
    """What Blender's raw Z holds, measured: planar z for PERSP, distance along the ray for PANO."""
    for cam in (_cameras()["pinhole"], _cameras()["equidistant_square"]):
        pts, dist, radius = _marker_layout(cam, np.random.default_rng(3))
        res = render_markers(cam, pts, radius, samples=4, workdir=str(tmp_path / cam.model_name))
        plan = res.plan
        assert not plan.resampled
        uv = cam.project(pts)
        ui = np.rint(uv).astype(int)
        z = res.raw_z[ui[:, 1], ui[:, 0]]
        X_cam = cam.world_to_cam(pts)
        near = X_cam * ((dist - radius) / dist)[:, None]  # the near surface point
        if plan.kind == "PERSP":
            np.testing.assert_allclose(z, near[:, 2], atol=0.012)
        else:
            off = np.arccos(np.clip(X_cam[:, 2] / dist, -1, 1)) > np.radians(60)
            assert off.sum() >= 2
            np.testing.assert_allclose(z, dist - radius, atol=0.012)  # range, even far off-axis


def test_plans_native_when_exact_and_resampled_otherwise():
    cams = _cameras()
    expect = {
        "pinhole": ("PERSP", False),
        "pinhole_portrait": ("PERSP", False),
        "pinhole_distorted": ("PERSP", True),
        "pinhole_fx_ne_fy": ("PERSP", True),
        "equidistant_square": ("FISHEYE_EQUIDISTANT", False),
        "equidistant_nonsquare": ("FISHEYE_EQUIDISTANT", True),
        "equisolid": ("FISHEYE_EQUISOLID", False),
        "kb": ("FISHEYE_EQUIDISTANT", True),
    }
    for name, (kind, resampled) in expect.items():
        plan = plan_blender_camera(cams[name])
        assert (plan.kind, plan.resampled) == (kind, resampled), name
        src = plan.source
        assert (src.width, src.height) == (plan.render_width, plan.render_height)
    # the non-square equidistant fisheye is a pure integer crop of a square render
    plan = plan_blender_camera(cams["equidistant_nonsquare"])
    assert plan._geo.resample.exact
    assert plan.render_width == plan.render_height
