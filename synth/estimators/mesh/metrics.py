"""3D human mesh metrics in pure numpy: MPJPE, PA-MPJPE, PVE (and PA-PVE), in millimetres.

Conventions (the field's, as in HMR / SPIN / BEDLAM):

* Inputs are camera-frame 3D points in **metres**; outputs are **millimetres**.
* MPJPE: mean Euclidean joint error after both skeletons are made root-relative (``root_relative``: the
  pelvis, the midpoint of the left and right hip keypoints, at the origin). The joint set is whatever the
  caller passes; the bundled mesh estimator uses the 17 COCO body keypoints (BEDLAM and 3DPW report on the
  14 LSP joints, so numbers are not directly comparable).
* PA-MPJPE: MPJPE after a per-person similarity Procrustes alignment (scale, rotation, translation;
  Umeyama 1991) of the prediction onto the ground truth, removing global orientation, scale and position.
* MPJPE_cam (``camera_frame_errors``): MPJPE without pelvis alignment, of camera-frame keypoints with the
  estimated root translation; with the root (pelvis) position error and its depth part.
* PVE: mean per-vertex Euclidean error of root-relative meshes with the same topology (pelvis from the
  keypoints of each mesh, as MPJPE). PA-PVE aligns the vertices with their own Procrustes fit.
"""

from __future__ import annotations

import numpy as np

from synth.estimators.engine.errors import EstimatorError

#: COCO order (``synth.bodies.keypoints``): left hip 11, right hip 12.
LEFT_HIP, RIGHT_HIP = 11, 12


def pelvis_from_keypoints(keypoints: np.ndarray) -> np.ndarray:
    """(..., 3) pelvis: the midpoint of the left and right hip of (..., K >= 13, 3) COCO-ordered keypoints."""
    k = np.asarray(keypoints, np.float64)
    if k.shape[-2] <= RIGHT_HIP or k.shape[-1] != 3:
        raise EstimatorError(f"pelvis_from_keypoints: expected (..., K >= 13, 3) COCO-ordered keypoints, got "
                             f"shape {k.shape}")
    return 0.5 * (k[..., LEFT_HIP, :] + k[..., RIGHT_HIP, :])


def root_relative(points: np.ndarray, keypoints: np.ndarray) -> np.ndarray:
    """(..., M, 3) float64 ``points`` minus the pelvis of (..., K, 3) ``keypoints`` (same units)."""
    return np.asarray(points, np.float64) - pelvis_from_keypoints(keypoints)[..., None, :]


def _check_pair(pred: np.ndarray, gt: np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray]:
    p, g = np.asarray(pred, np.float64), np.asarray(gt, np.float64)
    if p.ndim == 2:
        p, g = p[None], g[None]
    if p.shape != g.shape or p.ndim != 3 or p.shape[-1] != 3:
        raise EstimatorError(f"{what}: expected prediction and ground truth of the same shape (N, M, 3), got "
                             f"{np.shape(pred)} and {np.shape(gt)}")
    if not (np.isfinite(p).all() and np.isfinite(g).all()):
        raise EstimatorError(f"{what}: NaN or inf in the points")
    return p, g


def similarity_procrustes(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Align each prediction onto its ground truth with the best similarity transform (least squares).

    pred, gt : (N, M, 3) or (M, 3) float, any unit. Returns the aligned prediction, float64, same shape as
    ``pred``: ``s R p + t`` with scale s > 0, rotation R (det +1, reflections excluded) and translation t
    minimising the summed squared distance to ``gt`` (Umeyama 1991).
    """
    squeeze = np.asarray(pred).ndim == 2
    p, g = _check_pair(pred, gt, "similarity_procrustes")
    mp, mg = p.mean(axis=1, keepdims=True), g.mean(axis=1, keepdims=True)
    pc, gc = p - mp, g - mg
    var_p = (pc ** 2).sum(axis=(1, 2))                                   # (N,)
    cov = np.einsum("nmi,nmj->nij", gc, pc)                             # (N, 3, 3) sum of g p^T
    U, S, Vt = np.linalg.svd(cov)
    d = np.sign(np.linalg.det(U @ Vt))                                   # no reflection
    D = np.broadcast_to(np.eye(3), cov.shape).copy()
    D[:, 2, 2] = d
    R = U @ D @ Vt
    s = (S * np.diagonal(D, axis1=1, axis2=2)).sum(axis=1) / np.maximum(var_p, 1e-18)   # trace(D S) / |p|^2
    aligned = s[:, None, None] * np.einsum("nij,nmj->nmi", R, pc) + mg
    return aligned[0] if squeeze else aligned


def per_point_error_mm(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """(N,) float64 mean Euclidean distance (mm) over the M points of each of N people; inputs in metres."""
    p, g = _check_pair(pred, gt, "per_point_error_mm")
    return 1000.0 * np.linalg.norm(p - g, axis=-1).mean(axis=1)


def mpjpe_mm(pred_keypoints: np.ndarray, gt_keypoints: np.ndarray) -> np.ndarray:
    """(N,) MPJPE (mm) per person of (N, K, 3) keypoints in metres, both made pelvis-relative first."""
    p, g = _check_pair(pred_keypoints, gt_keypoints, "mpjpe_mm")
    return per_point_error_mm(root_relative(p, p), root_relative(g, g))


def pa_mpjpe_mm(pred_keypoints: np.ndarray, gt_keypoints: np.ndarray) -> np.ndarray:
    """(N,) PA-MPJPE (mm) per person: MPJPE after a similarity Procrustes of each prediction onto its truth."""
    p, g = _check_pair(pred_keypoints, gt_keypoints, "pa_mpjpe_mm")
    return per_point_error_mm(similarity_procrustes(p, g), g)


def pve_mm(pred_vertices: np.ndarray, gt_vertices: np.ndarray, pred_keypoints: np.ndarray,
           gt_keypoints: np.ndarray) -> np.ndarray:
    """(N,) PVE (mm): mean vertex error of (N, V, 3) meshes (metres), each relative to its own pelvis
    (from the (N, K, 3) keypoints), as MPJPE."""
    p, g = _check_pair(pred_vertices, gt_vertices, "pve_mm")
    return per_point_error_mm(root_relative(p, pred_keypoints), root_relative(g, gt_keypoints))


def pa_pve_mm(pred_vertices: np.ndarray, gt_vertices: np.ndarray) -> np.ndarray:
    """(N,) PA-PVE (mm): vertex error after a similarity Procrustes of each predicted mesh onto its truth."""
    p, g = _check_pair(pred_vertices, gt_vertices, "pa_pve_mm")
    return per_point_error_mm(similarity_procrustes(p, g), g)


def _summary(values: np.ndarray, name: str) -> dict[str, float]:
    v = np.asarray(values, np.float64)
    return {f"{name}": float(v.mean()), f"{name}_median": float(np.median(v))}


def mesh_errors(pred_keypoints: np.ndarray, gt_keypoints: np.ndarray, pred_vertices: np.ndarray | None = None,
                gt_vertices: np.ndarray | None = None) -> dict[str, float | int]:
    """Mean and median MPJPE_mm, PA_MPJPE_mm (and PVE_mm, PA_PVE_mm with vertices) over N people.

    pred_keypoints, gt_keypoints : (N, K, 3) metres, COCO order (the pelvis is hips 11 and 12).
    pred_vertices, gt_vertices : (N, V, 3) metres, same topology.
    """
    out: dict[str, float | int] = {}
    out.update(_summary(mpjpe_mm(pred_keypoints, gt_keypoints), "MPJPE_mm"))
    out.update(_summary(pa_mpjpe_mm(pred_keypoints, gt_keypoints), "PA_MPJPE_mm"))
    if pred_vertices is not None and gt_vertices is not None:
        out.update(_summary(pve_mm(pred_vertices, gt_vertices, pred_keypoints, gt_keypoints), "PVE_mm"))
        out.update(_summary(pa_pve_mm(pred_vertices, gt_vertices), "PA_PVE_mm"))
    out["persons"] = int(np.asarray(gt_keypoints).reshape(-1, np.shape(gt_keypoints)[-2], 3).shape[0])
    out["keypoints"] = int(np.shape(gt_keypoints)[-2])
    return out


def camera_frame_errors(pred_keypoints_rr: np.ndarray, pred_root: np.ndarray, gt_keypoints_rr: np.ndarray,
                        gt_root: np.ndarray) -> dict[str, float]:
    """Errors of the estimated root translation, mean and median over N people (mm):

    * ``MPJPE_cam_mm``: MPJPE without pelvis alignment, of the camera-frame keypoints (pelvis-relative
      (N, K, 3) keypoints plus the (N, 3) root, metres);
    * ``root_error_mm``: distance of the root (pelvis) to the true one; ``root_depth_error_mm``: its |z| part.
    """
    p, g = _check_pair(np.asarray(pred_keypoints_rr) + np.asarray(pred_root)[:, None],
                       np.asarray(gt_keypoints_rr) + np.asarray(gt_root)[:, None], "camera_frame_errors")
    d = np.asarray(pred_root, np.float64) - np.asarray(gt_root, np.float64)
    out: dict[str, float] = {}
    out.update(_summary(per_point_error_mm(p, g), "MPJPE_cam_mm"))
    out.update(_summary(1000.0 * np.linalg.norm(d, axis=1), "root_error_mm"))
    out.update(_summary(1000.0 * np.abs(d[:, 2]), "root_depth_error_mm"))
    return out
