"""Visibility of surface points and keypoints by a depth test against the rendered view.

A *surface point* (mesh vertex) of person k is visible in a view when

1. the camera's lens images it (``valid_cam``) and it projects inside the image, and
2. at its pixel, or one of the 8 neighbours (silhouette edges, sub-pixel sampling),
   the rendered instance id is k and the rendered range (distance along the ray,
   ``RenderOutput.depth_m``) equals the point's own range within a tolerance
   ``tol = 0.03 m + 2 * pixel footprint at that range``.

Anything in front (the person's own torso, another person) makes the rendered
range shorter, so self-occlusion and occlusion by others both count.

Keypoints are mostly *inside* the body (joint centres), so a depth test on the
keypoint itself would always fail. A keypoint is visible when it is in the
image and at least one vertex of its *surface proxy* (the skin vertices nearest
to it: within ``1.25 x`` the nearest-vertex distance + 1 cm) is visible.
"""

from __future__ import annotations

import numpy as np

from synth.cameras.base import CameraModel


def compute_vertex_visibility(camera: CameraModel, vertices_world: np.ndarray, person_id: int,
                              instance: np.ndarray, depth_m: np.ndarray) -> np.ndarray:
    """Per-vertex visibility.

    vertices_world : (V, 3) float, metres, world frame
    person_id : the person's instance id in ``instance`` (1-based)
    instance : (H, W) uint16 rendered instance ids
    depth_m : (H, W) float32 rendered range, metres (inf = nothing)
    returns : (V,) bool
    """
    X_cam = camera.world_to_cam(vertices_world)
    uv = camera.project_cam(X_cam)
    ok = camera.valid_cam(X_cam) & camera.in_image(uv)
    vis = np.zeros(len(vertices_world), dtype=bool)
    if not np.any(ok):
        return vis
    idx = np.nonzero(ok)[0]
    rng_m = np.linalg.norm(X_cam[idx], axis=1)
    f = float(np.mean(np.abs(np.diag(camera.K)[:2])))
    tol = 0.03 + 2.0 * rng_m / max(f, 1e-6)
    H, W = instance.shape
    ui = np.rint(uv[idx, 0]).astype(np.int64)
    vi = np.rint(uv[idx, 1]).astype(np.int64)
    hit = np.zeros(len(idx), dtype=bool)
    for dv in (-1, 0, 1):
        for du in (-1, 0, 1):
            uu = np.clip(ui + du, 0, W - 1)
            vv = np.clip(vi + dv, 0, H - 1)
            same = instance[vv, uu] == person_id
            close = np.abs(depth_m[vv, uu].astype(np.float64) - rng_m) <= tol
            hit |= same & close
    vis[idx] = hit
    return vis


def compute_surface_proxies(points_world: np.ndarray, vertices_world: np.ndarray,
                            scale: float = 1.25, margin_m: float = 0.01) -> list[np.ndarray]:
    """For each point (N, 3), the indices of vertices (V, 3) within ``scale * nearest + margin_m`` of it."""
    d = np.linalg.norm(points_world[:, None, :].astype(np.float64) - vertices_world[None, :, :].astype(np.float64),
                       axis=-1)
    nearest = d.min(axis=1, keepdims=True)
    mask = d <= nearest * scale + margin_m
    return [np.nonzero(row)[0] for row in mask]


def compute_point_visibility(camera: CameraModel, points_world: np.ndarray, vertices_world: np.ndarray,
                             vertex_visible: np.ndarray) -> np.ndarray:
    """Visibility of (mostly interior) points such as joints: in the image and a surface-proxy vertex visible.

    points_world : (N, 3) metres; vertices_world : (V, 3) metres; vertex_visible : (V,) bool
    returns : (N,) bool
    """
    uv = camera.project(points_world)
    in_img = camera.in_image(uv) & camera.valid_cam(camera.world_to_cam(points_world))
    proxies = compute_surface_proxies(points_world, vertices_world)
    seen = np.array([bool(np.any(vertex_visible[p])) for p in proxies], dtype=bool)
    return in_img & seen
