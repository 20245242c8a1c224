"""Dense contact metrics (numpy), as DECO (Tripathi et al. 2023) and BSTRO (Huang et al. 2022) report them.

Inputs: per person a (V,) bool mask of predicted contact vertices (probability >= 0.5) and of ground-truth
contact vertices.

Precision / recall / F1, per person: P = TP / (TP + FP), R = TP / (TP + FN), F1 = 2 P R / (P + R).
A 0/0 counts as 0 (DECO's ``tp / (tp + fp + eps)``), except that a person with neither predicted nor
ground-truth contact scores P = R = F1 = 1 (a correct "no contact"). Reported two ways:

* ``precision`` / ``recall`` / ``f1``: the mean over people of the per-person values (DECO's and BSTRO's
  averaging, over images there; here one crop is one person, so over crops);
* ``pooled_precision`` / ``pooled_recall`` / ``pooled_f1``: from TP / FP / FN summed over all people and
  vertices (micro average).

Geodesic error (cm, on the rest mesh's edge graph, ``geometry.GeodesicMesh``), measured only over the people
with both labelled and predicted contact (the others have no distance to measure; ``geodesic_*_undefined``
counts them):

* ``geodesic_fp_cm`` (the BSTRO / DECO "geodesic error"): per person, the mean over *predicted* contact
  vertices of the geodesic distance to the nearest ground-truth contact vertex (0 for a correct one), then
  the mean over those people.
* ``geodesic_fn_cm``: the other direction, the mean over *ground-truth* contact vertices of the distance to
  the nearest predicted one (how far off the missed contact is).

**F1 is the headline number.** A person with labelled contact and *no* predicted contact is an error (F1 0,
counted in ``people_missed``), and a person with predicted but no labelled contact too (F1 0,
``people_false_contact``); neither enters the geodesic means. (Counting a missed person as 0 cm, as before,
let a model that predicted contact for 1 of 12 people report 0.01 cm.)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from synth.estimators.engine.errors import EstimatorError


def _check_masks(pred: np.ndarray, gt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(pred).astype(bool)
    g = np.asarray(gt).astype(bool)
    if p.shape != g.shape or p.ndim != 2:
        raise EstimatorError(f"contact metrics: expected two (N, V) masks of the same shape, got {p.shape} and "
                             f"{g.shape}")
    return p, g


def contact_counts(pred: np.ndarray, gt: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-person (TP, FP, FN) vertex counts, each (N,) int64, of (N, V) bool masks."""
    p, g = _check_masks(pred, gt)
    return (np.sum(p & g, axis=1), np.sum(p & ~g, axis=1), np.sum(~p & g, axis=1))


def precision_recall_f1(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> tuple[np.ndarray, ...]:
    """(precision, recall, f1), each (N,) float64, from per-person counts (conventions: module docstring)."""
    tp, fp, fn = (np.asarray(x, np.float64) for x in (tp, fp, fn))
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(tp + fp > 0, tp / (tp + fp), 0.0)
        recall = np.where(tp + fn > 0, tp / (tp + fn), 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    empty = (tp + fp + fn) == 0
    for a in (precision, recall, f1):
        a[empty] = 1.0
    return precision, recall, f1


def geodesic_errors_cm(pred: np.ndarray, gt: np.ndarray, mesh) -> tuple[np.ndarray, np.ndarray]:
    """Per-person (fp-direction, fn-direction) mean geodesic distances, each (N,) float64 cm, NaN where
    undefined (see the module docstring). ``mesh``: a ``GeodesicMesh`` with V vertices."""
    p, g = _check_masks(pred, gt)
    if p.shape[1] != mesh.num_vertices:
        raise EstimatorError(f"contact metrics: masks have {p.shape[1]} vertices, the mesh {mesh.num_vertices}")
    fp_cm = np.full(len(p), np.nan)
    fn_cm = np.full(len(p), np.nan)
    for i in range(len(p)):
        if p[i].any() and g[i].any():      # both sets exist: the distances are defined
            fp_cm[i] = float(mesh.distance_to_set_cm(g[i])[p[i]].mean())
            fn_cm[i] = float(mesh.distance_to_set_cm(p[i])[g[i]].mean())
    return fp_cm, fn_cm


def evaluate_contact(pred: np.ndarray, gt: np.ndarray, mesh=None) -> dict[str, Any]:
    """All contact metrics of (N, V) bool predicted and ground-truth masks; geodesic ones when ``mesh`` is given.

    Keys (F1 first): ``f1``, ``precision``, ``recall`` (means over people), ``people``, ``people_with_contact``
    (ground truth), ``people_predicted_contact``, ``people_missed`` (labelled contact, none predicted),
    ``people_false_contact`` (contact predicted, none labelled),
    ``gt_contact_vertices_mean``, ``pred_contact_vertices_mean``, ``pooled_f1``, ``pooled_precision``,
    ``pooled_recall``, and with a mesh
    ``geodesic_fp_cm``, ``geodesic_fn_cm``, ``geodesic_people`` (people they are measured over),
    ``geodesic_fp_undefined``, ``geodesic_fn_undefined``.
    """
    p, g = _check_masks(pred, gt)
    if len(p) == 0:
        raise EstimatorError("contact metrics: no people to evaluate")
    tp, fp, fn = contact_counts(p, g)
    prec, rec, f1 = precision_recall_f1(tp, fp, fn)
    ptp, pfp, pfn = (np.array([x.sum()]) for x in (tp, fp, fn))
    pp, pr, pf = (float(x[0]) for x in precision_recall_f1(ptp, pfp, pfn))
    out: dict[str, Any] = {
        "f1": float(f1.mean()), "precision": float(prec.mean()), "recall": float(rec.mean()),
        "people": int(len(p)), "people_with_contact": int(g.any(axis=1).sum()),
        "people_predicted_contact": int(p.any(axis=1).sum()),
        "people_missed": int((g.any(axis=1) & ~p.any(axis=1)).sum()),
        "people_false_contact": int((p.any(axis=1) & ~g.any(axis=1)).sum()),
        "gt_contact_vertices_mean": float(g.sum(axis=1).mean()),
        "pred_contact_vertices_mean": float(p.sum(axis=1).mean()),
        "pooled_f1": pf, "pooled_precision": pp, "pooled_recall": pr,
    }
    if mesh is not None:
        fp_cm, fn_cm = geodesic_errors_cm(p, g, mesh)
        out["geodesic_fp_cm"] = float(np.nanmean(fp_cm)) if np.isfinite(fp_cm).any() else None
        out["geodesic_fn_cm"] = float(np.nanmean(fn_cm)) if np.isfinite(fn_cm).any() else None
        out["geodesic_people"] = int(np.isfinite(fp_cm).sum())
        out["geodesic_fp_undefined"] = int(np.isnan(fp_cm).sum())
        out["geodesic_fn_undefined"] = int(np.isnan(fn_cm).sum())
    return out
