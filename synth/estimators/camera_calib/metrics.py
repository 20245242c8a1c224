"""Camera calibration error metrics (pure numpy).

``calibration_errors``: mean and median absolute error of vfov, pitch and roll (degrees; roll error wrapped to
[0, 180]) and the relative focal-length error ``|f_pred - f| / f`` (median and mean), where
``f = H / (2 tan(vfov / 2))``, so ``f_pred / f = tan(vfov / 2) / tan(vfov_pred / 2)`` whatever the image size.
"""

from __future__ import annotations

import numpy as np


def calibration_errors(pred_deg: np.ndarray, gt_deg: np.ndarray) -> dict[str, float]:
    """Error summary of predictions against labels, both (N, 3) (vfov_deg, pitch_deg, roll_deg).

    Returns ``{vfov,pitch,roll}_{mean,median}_abs_deg``, ``focal_rel_{median,mean}`` and ``views`` (N).
    """
    pred = np.asarray(pred_deg, np.float64).reshape(-1, 3)
    gt = np.asarray(gt_deg, np.float64).reshape(-1, 3)
    if len(pred) != len(gt) or len(gt) == 0:
        raise ValueError(f"calibration_errors: expected two (N, 3) arrays with N >= 1, got {pred.shape}, {gt.shape}")
    err = np.abs(pred - gt)
    err[:, 2] = np.abs((pred[:, 2] - gt[:, 2] + 180.0) % 360.0 - 180.0)   # roll difference on the circle
    out: dict[str, float] = {}
    for j, name in enumerate(("vfov", "pitch", "roll")):
        out[f"{name}_mean_abs_deg"] = float(err[:, j].mean())
        out[f"{name}_median_abs_deg"] = float(np.median(err[:, j]))
    ratio = np.tan(np.radians(gt[:, 0]) / 2.0) / np.tan(np.radians(np.clip(pred[:, 0], 1e-3, 179.999)) / 2.0)
    rel = np.abs(ratio - 1.0)
    out["focal_rel_median"] = float(np.median(rel))
    out["focal_rel_mean"] = float(rel.mean())
    out["views"] = int(len(gt))
    return out
