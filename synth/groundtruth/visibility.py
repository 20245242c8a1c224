"""Visibility of surface points and keypoints by a depth test against the rendered view.

A *surface point* (mesh vertex) of person k is visible in a view when

1. the camera's lens images it (``valid_cam``) and it projects inside the image, and
2. at its pixel, or one of the 8 neighbours (silhouette edges, sub-pixel sampling),
   the rendered instance id is k and the rendered range (distance along the ray,
   ``RenderOutput.depth_m``) equals the point's own range within a tolerance
   ``tol = 0.03 m + 2 * pixel footprint at that range``.

Anything in front (the person's own torso, another person) makes the rendered
range shorter, so self-occlusion and occlusion by others both count.

``vertex_visible_fraction`` (a label) is the fraction of a person's mesh vertices that the
view sees: a vertex counts when it passes the test above *and* its surface faces the camera
(its area-weighted normal, oriented outwards, points towards the camera centre). The depth
tolerance and the 3x3 neighbourhood alone let vertices just behind the silhouette (the far side
of an arm at low resolution) pass; a back-facing vertex is never seen, so the fraction can never
exceed what one view can see (for a sphere, the cap ``(1 - r/d) / 2`` seen from distance ``d``).
See ``compute_vertex_visible_fraction``.

Keypoints are mostly *inside* the body (joint centres), so a depth test on the
keypoint itself would always fail; ``compute_point_visibility`` tests where its
line of sight enters the skin instead (see there).
"""

from __future__ import annotations

import numpy as np

from collections.abc import Sequence

from synth.cameras.base import CameraModel
from synth.groundtruth.raycast import MeshBVH, SegmentFan

#: crossings of the line of sight this close to a keypoint are its own surface (eyelids, eyeball: ~5 mm)
NEAR_POINT_M = 0.008


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
    mine = (np.asarray(instance) == person_id).ravel()
    depth = np.asarray(depth_m).ravel()
    cols = [np.clip(ui + du, 0, W - 1) for du in (-1, 0, 1)]           # neighbours clipped to the image
    rows = [np.clip(vi + dv, 0, H - 1) * W for dv in (-1, 0, 1)]
    hit = np.zeros(len(uv), dtype=bool)
    for r in rows:
        for c in cols:
            px = r + c
            hit |= mine[px] & (np.abs(depth[px].astype(np.float64) - range_m) <= tol)
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


def compute_point_visibility(camera: CameraModel, points_world: np.ndarray, vertices_world: np.ndarray,
                             faces: np.ndarray, person_id: int, instance: np.ndarray,
                             depth_m: np.ndarray, outer_surfaces: Sequence[tuple[np.ndarray, np.ndarray]] = (),
                             near_point_m: float = NEAR_POINT_M, bvh_cache: dict | None = None) -> np.ndarray:
    """Visibility of points such as joints and keypoints, most of them inside the body.

    Follow the line of sight from the camera centre to the point: it crosses the person's own
    skin ``n`` times before reaching the point (crossings within ``near_point_m`` of the point are
    not counted: the eyelids and the eyeball around an eye keypoint, a few millimetres thick, are
    the point's own surface, not something in front of it). The point is visible when

    * it is in the image (and imageable by the lens),
    * ``n <= 1`` — at most the skin right around the point lies in front of it; a wrist behind
      the torso has ``n = 3`` (torso in, torso out, wrist in): self-occlusion, and
    * the person's *outermost* surface where the line of sight enters (the first crossing of the
      skin or of any of the person's ``outer_surfaces``: garments, hair; or the point itself when
      nothing is crossed) is what the render shows at the point's pixel (or a neighbour): instance
      id ``person_id`` at the same range within 3 cm + 2 pixel footprints. Another person, or the
      ground, in front fails this test. So a knee under a skirt is visible when the skirt over it
      is seen (COCO's convention for clothed keypoints).

    points_world : (N, 3) metres; vertices_world : (V, 3) metres; faces : (F, 3) int
    outer_surfaces : [(vertices (M, 3) metres, faces (G, 3) int), ...] the person's garments at this frame
    bvh_cache : optional dict the caller keeps across frames of the same person (same meshes): where the lines
      of sight spread too wide for the direction-space filter (``SegmentFan``: a fisheye view), the trees built at
      the first call are refitted to the new vertices later (identical results: a tree only filters)
    returns : (N,) bool
    """
    vis = np.zeros(len(points_world), dtype=bool)
    idx, uv, X_cam = _imaged(camera, points_world)
    if not len(idx):
        return vis
    pts = np.asarray(points_world, dtype=np.float64)[idx]
    centre = np.asarray(camera.center_world, dtype=np.float64)
    ray = pts - centre
    dist = np.linalg.norm(ray, axis=1)
    short = centre + ray * (np.maximum(dist - near_point_m, 0.0) / np.maximum(dist, 1e-12))[:, None]
    # the same crossings as core.mesh, faster: candidate triangles found in the camera's direction space (or a
    # BVH per mesh where the lines of sight spread too wide); the long segments' candidates serve both sets
    fan = SegmentFan(centre, pts)
    if fan.usable:
        (counts, _), (_, first) = fan.crossings(vertices_world, faces, points_near=short)
    else:
        (counts, _), (_, first) = _bvh(bvh_cache, 0, vertices_world, faces).segment_crossings_pair(centre, short, pts)
    for j, (v_out, f_out) in enumerate(outer_surfaces):
        if len(f_out):
            _, first_out = (fan.crossings(v_out, f_out) if fan.usable
                            else _bvh(bvh_cache, j + 1, v_out, f_out).segment_crossings(centre, pts))
            first = np.minimum(first, first_out)
    entry = np.where(np.isfinite(first), first, np.linalg.norm(X_cam, axis=1))
    vis[idx] = render_shows(camera, uv, entry, person_id, instance, depth_m) & (counts <= 1)
    return vis


def _bvh(cache: dict | None, key, vertices: np.ndarray, faces: np.ndarray) -> MeshBVH:
    """A ``MeshBVH`` of the mesh: built, or taken from ``cache`` and refitted when it holds one of the same faces."""
    if cache is None:
        return MeshBVH(vertices, faces)
    bvh = cache.get(key)
    if bvh is not None and bvh.faces.shape == np.shape(faces) and np.array_equal(bvh.faces, faces):
        return bvh.refit(vertices)
    cache[key] = MeshBVH(vertices, faces)
    return cache[key]


def _cross3(x: list[np.ndarray], y: list[np.ndarray]) -> list[np.ndarray]:
    """Cross product of vectors given as their three coordinate arrays: np.cross's arithmetic (bit-identical)."""
    return [x[1] * y[2] - x[2] * y[1], x[2] * y[0] - x[0] * y[2], x[0] * y[1] - x[1] * y[0]]


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """(V, 3) area-weighted vertex normals (not normalised), oriented outwards.

    The winding is taken as given when the mesh's signed volume is positive, flipped otherwise, so a
    mesh wound the other way round still gets outward normals."""
    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    # per coordinate, contiguous: the same arithmetic as on (F, 3) rows (np.cross's formula), faster
    vt = np.ascontiguousarray(v.T)
    corners = [np.ascontiguousarray(i) for i in f.T]
    a, b, c = ([vt[k][i] for k in range(3)] for i in corners)
    fn = _cross3([b[k] - a[k] for k in range(3)], [c[k] - a[k] for k in range(3)])  # 2 x area x unit normal
    signed_volume = float(np.einsum("ij,ij->", np.stack(a, axis=1), np.stack(_cross3(b, c), axis=1))) / 6.0
    if signed_volume < 0:
        fn = [-x for x in fn]
    # each vertex sums its faces' normals in the order np.add.at over the corners k = 0, 1, 2 would (bincount
    # adds its weights in array order), so the sums are bit-identical to that loop, without its slowness
    idx = np.concatenate(corners)
    n = np.empty_like(v)
    for k in range(3):
        n[:, k] = np.bincount(idx, weights=np.concatenate([fn[k]] * 3), minlength=len(v))
    return n


def compute_front_facing(camera: CameraModel, vertices_world: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """(V,) bool: the vertex's outward normal points towards the camera centre."""
    n = vertex_normals(vertices_world, faces)
    to_cam = camera.center_world[None, :] - np.asarray(vertices_world, dtype=np.float64)
    return np.einsum("ij,ij->i", n, to_cam) > 0.0


def compute_vertex_visible_fraction(camera: CameraModel, vertices_world: np.ndarray, faces: np.ndarray,
                                    person_id: int, instance: np.ndarray, depth_m: np.ndarray,
                                    vertices_cam: np.ndarray | None = None, vertices_uv: np.ndarray | None = None
                                    ) -> float:
    """Fraction of the person's vertices this view sees: front-facing and passing the depth test of
    ``compute_vertex_visibility`` (see the module docstring). 0 for an empty mesh.

    vertices_cam, vertices_uv : optional, ``camera.world_to_cam(vertices_world)`` and ``camera.project_cam`` of
    it when the caller has them already (the same values; saves computing them again). Only front-facing
    vertices go to the depth test (the others cannot count)."""
    if len(vertices_world) == 0:
        return 0.0
    X_cam = camera.world_to_cam(vertices_world) if vertices_cam is None else vertices_cam
    uv = camera.project_cam(X_cam) if vertices_uv is None else vertices_uv
    idx = np.nonzero(camera.valid_cam(X_cam) & camera.in_image(uv)
                     & compute_front_facing(camera, vertices_world, faces))[0]
    if len(idx) == 0:
        return 0.0
    seen = render_shows(camera, uv[idx], np.linalg.norm(X_cam[idx], axis=1), person_id, instance, depth_m)
    return float(np.count_nonzero(seen) / len(vertices_world))
