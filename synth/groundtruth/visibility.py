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
keypoint itself would always fail; ``compute_point_visibility`` tests where its
line of sight enters the skin instead (see there).
"""

from __future__ import annotations

import numpy as np

from synth.cameras.base import CameraModel


def _imaged(camera: CameraModel, points_world: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Indices of the points the lens images inside the image, their pixels (n, 2) and camera-frame coords."""
    X_cam = camera.world_to_cam(points_world)
    uv = camera.project_cam(X_cam)
    idx = np.nonzero(camera.valid_cam(X_cam) & camera.in_image(uv))[0]
    return idx, uv[idx], X_cam[idx]


def render_shows(camera: CameraModel, uv: np.ndarray, range_m: np.ndarray, person_id: int,
                 instance: np.ndarray, depth_m: np.ndarray) -> np.ndarray:
    """(n,) bool: at pixel ``uv`` (n, 2) or one of its 8 neighbours the render shows ``person_id``
    at range ``range_m`` (n,), within 3 cm + 2 pixel footprints."""
    f = float(np.mean(np.abs(np.diag(camera.K)[:2])))
    tol = 0.03 + 2.0 * range_m / max(f, 1e-6)
    H, W = instance.shape
    ui = np.rint(uv[:, 0]).astype(np.int64)
    vi = np.rint(uv[:, 1]).astype(np.int64)
    hit = np.zeros(len(uv), dtype=bool)
    for dv in (-1, 0, 1):
        for du in (-1, 0, 1):
            uu = np.clip(ui + du, 0, W - 1)
            vv = np.clip(vi + dv, 0, H - 1)
            hit |= (instance[vv, uu] == person_id) & (np.abs(depth_m[vv, uu].astype(np.float64) - range_m) <= tol)
    return hit


def compute_vertex_visibility(camera: CameraModel, vertices_world: np.ndarray, person_id: int,
                              instance: np.ndarray, depth_m: np.ndarray) -> np.ndarray:
    """Per-vertex visibility.

    vertices_world : (V, 3) float, metres, world frame
    person_id : the person's instance id in ``instance`` (1-based)
    instance : (H, W) uint16 rendered instance ids
    depth_m : (H, W) float32 rendered range, metres (inf = nothing)
    returns : (V,) bool
    """
    vis = np.zeros(len(vertices_world), dtype=bool)
    idx, uv, X_cam = _imaged(camera, vertices_world)
    if len(idx):
        vis[idx] = render_shows(camera, uv, np.linalg.norm(X_cam, axis=1), person_id, instance, depth_m)
    return vis


def count_crossings(origin: np.ndarray, points: np.ndarray, vertices: np.ndarray, faces: np.ndarray,
                    chunk: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """Crossings of the segments origin -> points with a triangle mesh (Moller-Trumbore).

    Only triangles whose bounding sphere comes near a segment are tested.
    origin : (3,) metres; points : (N, 3) metres; vertices : (V, 3); faces : (F, 3) int
    returns : (count (N,) int, first_t (N,) float metres along the segment, inf when none)
    """
    o = np.asarray(origin, dtype=np.float64)
    tri = np.asarray(vertices, dtype=np.float64)[np.asarray(faces)]
    centre = tri.mean(axis=1)
    radius = np.linalg.norm(tri - centre[:, None], axis=2).max(axis=1) + 1e-9
    seg = np.asarray(points, dtype=np.float64) - o
    length = np.linalg.norm(seg, axis=1)
    d_all = seg / np.maximum(length, 1e-12)[:, None]
    co = centre - o
    ray_idx, face_idx = [], []
    for s0 in range(0, len(points), chunk):  # candidate (segment, triangle) pairs
        d = d_all[s0:s0 + chunk]
        along = np.clip(d @ co.T, 0.0, length[s0:s0 + chunk, None])           # (n, F)
        off2 = (co ** 2).sum(1)[None] - 2 * along * (d @ co.T) + along ** 2    # |co - along d|^2
        r, f = np.nonzero(off2 <= radius[None] ** 2)
        ray_idx.append(r + s0)
        face_idx.append(f)
    ri = np.concatenate(ray_idx)
    fi = np.concatenate(face_idx)
    counts = np.zeros(len(points), dtype=np.int64)
    first = np.full(len(points), np.inf)
    if len(ri) == 0:
        return counts, first
    d = d_all[ri]
    v0 = tri[fi, 0]
    e1 = tri[fi, 1] - v0
    e2 = tri[fi, 2] - v0
    tvec = o - v0
    p = np.cross(d, e2)
    det = (p * e1).sum(1)
    ok = np.abs(det) > 1e-12
    inv = np.where(ok, 1.0 / np.where(ok, det, 1.0), 0.0)
    u = (p * tvec).sum(1) * inv
    q = np.cross(tvec, e1)
    v = (d * q).sum(1) * inv
    t = (e2 * q).sum(1) * inv
    hit = ok & (u >= 0) & (v >= 0) & (u + v <= 1) & (t > 1e-9) & (t < length[ri])
    ri, t = ri[hit], t[hit]
    if len(ri) == 0:
        return counts, first
    order = np.lexsort((t, ri))
    ri, t = ri[order], t[order]
    # a line through a shared edge or vertex hits several triangles at the same t: count distinct t
    new = np.ones(len(ri), dtype=bool)
    new[1:] = (ri[1:] != ri[:-1]) | (np.diff(t) > 1e-6)
    np.add.at(counts, ri[new], 1)
    np.minimum.at(first, ri, t)
    return counts, first


def compute_point_visibility(camera: CameraModel, points_world: np.ndarray, vertices_world: np.ndarray,
                             faces: np.ndarray, person_id: int, instance: np.ndarray,
                             depth_m: np.ndarray) -> np.ndarray:
    """Visibility of points such as joints and keypoints, most of them inside the body.

    Follow the line of sight from the camera centre to the point: it crosses the person's own
    skin ``n`` times before reaching the point. The point is visible when

    * it is in the image (and imageable by the lens),
    * ``n <= 1`` — at most the skin right around the point lies in front of it; a wrist behind
      the torso has ``n = 3`` (torso in, torso out, wrist in): self-occlusion, and
    * the surface where the line of sight enters (the first crossing, or the point itself when
      ``n = 0``) is what the render shows at the point's pixel (or a neighbour): instance id
      ``person_id`` at the same range within 3 cm + 2 pixel footprints. Another person, or the
      ground, in front fails this test.

    points_world : (N, 3) metres; vertices_world : (V, 3) metres; faces : (F, 3) int
    returns : (N,) bool
    """
    vis = np.zeros(len(points_world), dtype=bool)
    idx, uv, X_cam = _imaged(camera, points_world)
    if not len(idx):
        return vis
    counts, first = count_crossings(camera.center_world, points_world[idx], vertices_world, faces)
    entry = np.where(counts >= 1, first, np.linalg.norm(X_cam, axis=1))
    vis[idx] = render_shows(camera, uv, entry, person_id, instance, depth_m) & (counts <= 1)
    return vis
