"""Per-view labels from posed geometry, a camera and the rendered passes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from synth.cameras.base import CameraModel
from synth.groundtruth.visibility import compute_point_visibility, compute_vertex_visible_fraction


@dataclass(frozen=True)
class PersonFrameGeometry:
    """One person at one frame, world frame, metres.

    vertices : (V, 3) float32; joints : (J, 3) float32 (native); keypoints : (K, 3) float32 (standard set);
    faces : (F, 3) int (the body model's triangles)
    """

    vertices: np.ndarray
    joints: np.ndarray
    keypoints: np.ndarray
    faces: np.ndarray  # (F, 3) int
    outer_surfaces: tuple = ()  # ((vertices (M, 3), faces (G, 3)), ...): garments and hair over the skin


def compute_bbox_xyxy(uv: np.ndarray, mask: np.ndarray | None, width: int, height: int) -> np.ndarray:
    """Box (4,) float32 [x0, y0, x1, y1] pixels (pixel-edge coordinates: a pixel centre at u spans u-0.5..u+0.5)
    around the points ``uv`` (N, 2) where ``mask`` holds; NaN when empty. Clipped to the image."""
    pts = uv if mask is None else uv[mask]
    pts = pts[np.all(np.isfinite(pts), axis=1)]
    if len(pts) == 0:
        return np.full(4, np.nan, dtype=np.float32)
    x0, y0 = pts.min(axis=0) - 0.5
    x1, y1 = pts.max(axis=0) + 0.5
    box = np.array([max(x0, -0.5), max(y0, -0.5), min(x1, width - 0.5), min(y1, height - 0.5)], dtype=np.float32)
    if box[2] <= box[0] or box[3] <= box[1]:
        return np.full(4, np.nan, dtype=np.float32)
    return box


def compute_mask_bbox_xyxy(instance: np.ndarray, person_id: int) -> np.ndarray:
    """Box (4,) float32 of the visible pixels of ``person_id`` in ``instance`` (H, W); NaN when absent."""
    ys, xs = np.nonzero(instance == person_id)
    if len(xs) == 0:
        return np.full(4, np.nan, dtype=np.float32)
    return np.array([xs.min() - 0.5, ys.min() - 0.5, xs.max() + 0.5, ys.max() + 0.5], dtype=np.float32)


def compute_view_labels(camera: CameraModel, people: list[PersonFrameGeometry], instance: np.ndarray,
                        depth_m: np.ndarray, bvh_cache: dict | None = None) -> dict[str, np.ndarray]:
    """Labels of every person in one rendered view.

    bvh_cache : optional dict kept by the caller across the frames of one view (same people, same meshes):
    each person's ray-casting trees are built at the first frame and refitted to the later poses (the labels
    are the same as without it; only the time differs).

    Returns arrays with a leading person axis P:

    keypoints_2d (P, K, 2) float32 px; keypoints_3d_cam (P, K, 3) float32 m; keypoints_in_image (P, K) bool;
    keypoints_visible (P, K) bool (in image and not occluded);
    joints_2d (P, J, 2); joints_3d_cam (P, J, 3); joints_visible (P, J) bool;
    bbox_xyxy (P, 4) amodal box of the projected mesh (clipped to the image);
    bbox_visible_xyxy (P, 4) box of the visible mask; mask_area_px (P,) int32;
    vertex_visible_fraction (P,) float32.
    """
    W, H = camera.width, camera.height
    out: dict[str, list] = {k: [] for k in (
        "keypoints_2d", "keypoints_3d_cam", "keypoints_in_image", "keypoints_visible",
        "joints_2d", "joints_3d_cam", "joints_visible", "bbox_xyxy", "bbox_visible_xyxy",
        "mask_area_px", "vertex_visible_fraction")}
    for k, person in enumerate(people):
        pid = k + 1
        kp_cam = camera.world_to_cam(person.keypoints)
        kp_uv = camera.project_cam(kp_cam)
        j_cam = camera.world_to_cam(person.joints)
        j_uv = camera.project_cam(j_cam)
        v_cam = camera.world_to_cam(person.vertices)
        v_uv = camera.project_cam(v_cam)
        out["keypoints_2d"].append(kp_uv.astype(np.float32))
        out["keypoints_3d_cam"].append(kp_cam.astype(np.float32))
        out["keypoints_in_image"].append(camera.in_image(kp_uv) & camera.valid_cam(kp_cam))
        # keypoints and joints in one visibility query (one BVH per mesh)
        n_kp = len(person.keypoints)
        visible = compute_point_visibility(camera, np.concatenate([person.keypoints, person.joints]), person.vertices,
                                           person.faces, pid, instance, depth_m, person.outer_surfaces,
                                           bvh_cache=None if bvh_cache is None else bvh_cache.setdefault(k, {}))
        out["keypoints_visible"].append(visible[:n_kp])
        out["joints_2d"].append(j_uv.astype(np.float32))
        out["joints_3d_cam"].append(j_cam.astype(np.float32))
        out["joints_visible"].append(visible[n_kp:])
        out["bbox_xyxy"].append(compute_bbox_xyxy(v_uv, camera.valid_cam(v_cam), W, H))
        out["bbox_visible_xyxy"].append(compute_mask_bbox_xyxy(instance, pid))
        out["mask_area_px"].append(np.int32(np.count_nonzero(instance == pid)))
        out["vertex_visible_fraction"].append(np.float32(compute_vertex_visible_fraction(
            camera, person.vertices, person.faces, pid, instance, depth_m, vertices_cam=v_cam, vertices_uv=v_uv)))
    return {k: np.stack(v) if v else np.zeros((0,)) for k, v in out.items()}
