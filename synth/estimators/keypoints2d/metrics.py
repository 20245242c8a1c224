"""Standard 2D keypoint metrics (numpy only): COCO OKS and OKS-AP, PCK, EPE.

Coordinates are pixels in any consistent frame (OKS, PCK and EPE depend only on
differences, so this format's pixel-centre coordinates and COCO's continuous
ones, which differ by +0.5, give the same numbers).

Ground-truth flags follow COCO: ``v = 2`` visible, ``1`` in the image but
occluded (its position is labelled), ``0`` not labelled (outside the image).
Every metric here counts the labelled keypoints (``v > 0``), as COCO does.

**OKS** (COCO): for a person with segment area ``A`` (px²) and keypoint ``i``
at distance ``d_i`` from its label,
``OKS = mean over labelled i of exp(-d_i² / (2 A (2 σ_i)²))``, with COCO's
per-keypoint ``σ_i`` (:data:`COCO_SIGMAS`). This is cocoapi's
``exp(-(dx² + dy²) / vars / (area + eps) / 2)`` with ``vars = (2 σ)²``.

**AP** (COCO keypoint evaluation, top-down with ground-truth boxes): each
ground-truth person has exactly one prediction, made from its own box, with a
confidence ``score``. For each OKS threshold ``t`` in 0.50:0.05:0.95,
predictions are ranked by score (stable, descending), a prediction is a true
positive when its OKS ≥ t, and precision is read off the precision/recall
curve at the 101 recall levels 0:0.01:1 after making it monotone (cocoapi's
``accumulate``); ``AP_t`` is their mean, ``AP`` the mean over the ten ``t``,
``AP50`` and ``AP75`` single thresholds. People with no labelled keypoint are
ignored (cocoapi: ``num_keypoints == 0``). This equals pycocotools'
``COCOeval(iouType='keypoints')`` whenever no prediction would be matched to
another person than its own (checked in ``tests/test_estimators.py``).

**PCK@α**: fraction of labelled keypoints whose error is below ``α × norm``;
``norm`` is the torso diameter (left shoulder to right hip, as in LSP's
PCK@0.2; right shoulder to left hip where that is longer) or the larger side
of the person's box (MMPose's bbox-normalised PCK).

**EPE**: mean end-point error (Euclidean distance, px) over labelled keypoints.
"""

from __future__ import annotations

import numpy as np

from synth.bodies.keypoints import KEYPOINT_INDEX

#: COCO's per-keypoint OKS sigmas for the 17 body points (cocoapi ``kpt_oks_sigmas``), COCO order.
COCO_SIGMAS: np.ndarray = np.array(
    [0.26, 0.25, 0.25, 0.35, 0.35, 0.79, 0.79, 0.72, 0.72, 0.62, 0.62, 1.07, 1.07, 0.87, 0.87, 0.89, 0.89],
    dtype=np.float64) / 10.0
#: COCO-WholeBody's sigmas for the 6 foot points (big toe, small toe, heel; left then right).
FOOT_SIGMAS: np.ndarray = np.array([0.068, 0.066, 0.066, 0.092, 0.094, 0.094], dtype=np.float64)
#: The ten OKS thresholds of COCO's AP.
OKS_THRESHOLDS: np.ndarray = np.linspace(0.5, 0.95, 10)
#: cocoapi's 101 recall levels.
RECALL_LEVELS: np.ndarray = np.linspace(0.0, 1.0, 101)


def oks_sigmas(num_keypoints: int) -> np.ndarray:
    """(K,) float64 OKS sigmas for the first ``num_keypoints`` points of the synth keypoint order (17 or 23)."""
    if num_keypoints == 17:
        return COCO_SIGMAS.copy()
    if num_keypoints == 23:
        return np.concatenate([COCO_SIGMAS, FOOT_SIGMAS])
    raise ValueError(f"oks_sigmas: COCO sigmas exist here for 17 (body) or 23 (body + feet) keypoints, "
                     f"got {num_keypoints}; evaluate OKS/AP on the first 17 points")


def compute_oks(pred: np.ndarray, gt: np.ndarray, gt_flags: np.ndarray, area: np.ndarray,
                sigmas: np.ndarray | None = None) -> np.ndarray:
    """COCO object keypoint similarity of each prediction with its own ground truth.

    pred : (N, K, 2) float, px, predicted keypoints.
    gt : (N, K, 2) float, px, labelled keypoints (NaN allowed where ``gt_flags == 0``).
    gt_flags : (N, K) int, COCO flags (0 not labelled, 1 occluded, 2 visible).
    area : (N,) float, px², the person's segment area (COCO ``area``).
    sigmas : (K,) float, per-keypoint sigmas; default :func:`oks_sigmas` (K = 17 or 23).
    Returns (N,) float64 in [0, 1]; NaN for a person without labelled keypoints.
    """
    pred = np.asarray(pred, np.float64)
    gt = np.asarray(gt, np.float64)
    flags = np.asarray(gt_flags)
    area = np.asarray(area, np.float64).reshape(-1)
    if pred.shape != gt.shape or pred.ndim != 3 or pred.shape[-1] != 2 or flags.shape != pred.shape[:2]:
        raise ValueError(f"compute_oks: expected pred and gt (N, K, 2) and gt_flags (N, K), got {pred.shape}, "
                         f"{gt.shape}, {flags.shape}")
    sig = oks_sigmas(pred.shape[1]) if sigmas is None else np.asarray(sigmas, np.float64)
    var = (2.0 * sig) ** 2
    d2 = np.sum((pred - np.nan_to_num(gt)) ** 2, axis=-1)
    e = d2 / var[None, :] / (area[:, None] + np.spacing(1)) / 2.0
    lab = flags > 0
    n = lab.sum(axis=1)
    s = np.where(lab, np.exp(-e), 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, s / np.maximum(n, 1), np.nan)


def average_precision(oks: np.ndarray, scores: np.ndarray, threshold: float) -> float:
    """cocoapi's 101-point interpolated AP at one OKS threshold, one prediction per ground truth.

    oks : (N,) float, each prediction's OKS with its own ground truth (all N ground truths count).
    scores : (N,) float, prediction confidences (ranking only).
    """
    oks = np.asarray(oks, np.float64).reshape(-1)
    scores = np.asarray(scores, np.float64).reshape(-1)
    n = len(oks)
    if n == 0:
        return float("nan")
    order = np.argsort(-scores, kind="mergesort")
    tp = (oks[order] >= threshold).astype(np.float64)
    tps = np.cumsum(tp)
    fps = np.cumsum(1.0 - tp)
    rc = tps / n
    pr = tps / (fps + tps + np.spacing(1))
    # monotone precision (cocoapi walks from the end keeping the running maximum)
    pr = np.maximum.accumulate(pr[::-1])[::-1]
    inds = np.searchsorted(rc, RECALL_LEVELS, side="left")
    q = np.where(inds < n, pr[np.minimum(inds, n - 1)], 0.0)
    return float(q.mean())


def compute_ap(oks: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    """COCO keypoint AP, AP50, AP75 from per-person OKS and scores (NaN OKS = no labels: ignored)."""
    oks = np.asarray(oks, np.float64).reshape(-1)
    scores = np.asarray(scores, np.float64).reshape(-1)
    keep = np.isfinite(oks)
    oks, scores = oks[keep], scores[keep]
    per_t = [average_precision(oks, scores, t) for t in OKS_THRESHOLDS]
    return {"AP": float(np.mean(per_t)), "AP50": per_t[0], "AP75": per_t[5]}


def torso_size(gt: np.ndarray) -> np.ndarray:
    """(N,) float, px: torso diameter, the longer of left-shoulder-to-right-hip and right-shoulder-to-left-hip.

    gt : (N, K, 2) float, px, keypoints in the synth order (K ≥ 17).
    """
    gt = np.asarray(gt, np.float64)
    ls, rs = KEYPOINT_INDEX["left_shoulder"], KEYPOINT_INDEX["right_shoulder"]
    lh, rh = KEYPOINT_INDEX["left_hip"], KEYPOINT_INDEX["right_hip"]
    a = np.linalg.norm(gt[:, ls] - gt[:, rh], axis=-1)
    b = np.linalg.norm(gt[:, rs] - gt[:, lh], axis=-1)
    return np.fmax(a, b)


def compute_pck(pred: np.ndarray, gt: np.ndarray, gt_flags: np.ndarray, norm: np.ndarray,
                alpha: float = 0.2) -> float:
    """Fraction of labelled keypoints within ``alpha * norm`` px of their labels.

    pred, gt : (N, K, 2) float, px.  gt_flags : (N, K) int (COCO flags).
    norm : (N,) float, px, per-person normaliser (:func:`torso_size`, or the box's larger side).
    People whose ``norm`` is not finite and positive are left out.
    """
    pred = np.asarray(pred, np.float64)
    gt = np.asarray(gt, np.float64)
    norm = np.asarray(norm, np.float64).reshape(-1)
    lab = (np.asarray(gt_flags) > 0) & (np.isfinite(norm) & (norm > 0))[:, None]
    if not lab.any():
        return float("nan")
    d = np.linalg.norm(pred - np.nan_to_num(gt), axis=-1)
    return float(np.mean(d[lab] <= alpha * np.broadcast_to(norm[:, None], d.shape)[lab]))


def compute_epe(pred: np.ndarray, gt: np.ndarray, gt_flags: np.ndarray) -> float:
    """Mean end-point error, px, over labelled keypoints. pred, gt : (N, K, 2) px; gt_flags : (N, K)."""
    lab = np.asarray(gt_flags) > 0
    if not lab.any():
        return float("nan")
    d = np.linalg.norm(np.asarray(pred, np.float64) - np.nan_to_num(np.asarray(gt, np.float64)), axis=-1)
    return float(d[lab].mean())


def evaluate_keypoints(pred: np.ndarray, scores: np.ndarray, gt: np.ndarray, gt_flags: np.ndarray,
                       area: np.ndarray, bbox_xyxy: np.ndarray) -> dict[str, float]:
    """All metrics of one evaluation, on the first 17 (COCO body) keypoints for OKS/AP/PCK/EPE.

    pred : (N, K, 2) px; scores : (N,); gt : (N, K, 2) px; gt_flags : (N, K) COCO flags;
    area : (N,) px² segment area; bbox_xyxy : (N, 4) px person boxes (for the bbox-normalised PCK).
    Returns AP, AP50, AP75 (OKS), PCK@0.2 (torso), PCK@0.05_bbox, EPE_px (all labelled points),
    EPE_visible_px (visible points only), and the counts ``persons`` and ``keypoints``.
    """
    pred = np.asarray(pred, np.float64)[:, :17]
    gt = np.asarray(gt, np.float64)[:, :17]
    flags = np.asarray(gt_flags)[:, :17]
    if len(pred) == 0:
        nan = float("nan")
        return {"AP": nan, "AP50": nan, "AP75": nan, "PCK@0.2": nan, "PCK@0.05_bbox": nan, "EPE_px": nan,
                "EPE_visible_px": nan, "persons": 0, "keypoints": 0}
    oks = compute_oks(pred, gt, flags, area)
    out = compute_ap(oks, scores)
    box = np.asarray(bbox_xyxy, np.float64)
    box_size = np.fmax(box[:, 2] - box[:, 0], box[:, 3] - box[:, 1])
    out["PCK@0.2"] = compute_pck(pred, gt, flags, torso_size(gt), 0.2)
    out["PCK@0.05_bbox"] = compute_pck(pred, gt, flags, box_size, 0.05)
    out["EPE_px"] = compute_epe(pred, gt, flags)
    out["EPE_visible_px"] = compute_epe(pred, gt, np.where(flags == 2, 2, 0))
    out["mean_OKS"] = float(np.nanmean(oks)) if np.isfinite(oks).any() else float("nan")
    out["persons"] = int(np.isfinite(oks).sum())
    out["keypoints"] = int((flags > 0).sum())
    return out
