"""The mesh model's 3D keypoints against real 3D labels: COCO-layout annotations with ``keypoints_3d`` (17 entries
in COCO order, ``[x, y, z]`` metres in the capture's world frame or ``null``; e.g. ``../shared/realdata/h36m``).

The camera of a photo is unknown, so the crop's CLIFF box features use CLIFF's default camera: focal length
``sqrt(W^2 + H^2)`` px, principal point at the image centre. The labels are in the capture's world frame and
the prediction in the camera frame, so only shapes compare: both are made pelvis-relative (the hip midpoint;
a person needs both hips labelled) and the prediction is aligned to the label by a similarity Procrustes over
the labelled joints (PA-MPJPE, mm). Beside the model: its untrained initialisation and the constant mean pose
(the training people's mean in the body's own frame), aligned the same way.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from synth.estimators.engine.errors import EstimatorError
from synth.estimators.engine.predict_inputs import PhotoPerson, read_rgb
from synth.estimators.mesh.metrics import LEFT_HIP, RIGHT_HIP, similarity_procrustes


@dataclass
class RealMeshPeople:
    """People with 3D labels: images, crop inputs and (N, 17, 3) labels (NaN where unlabelled)."""

    images: list[np.ndarray]
    instances: list[PhotoPerson]
    keypoints_3d: np.ndarray
    names: list[str]

    def __len__(self) -> int:
        return len(self.instances)


def load_coco_3d(annotations: str, images_dir: str | None = None) -> RealMeshPeople:
    """The people of a COCO file that carry ``keypoints_3d`` with both hips and >= 4 joints labelled."""
    with open(annotations) as f:
        coco = json.load(f)
    images_dir = images_dir or os.path.join(os.path.dirname(os.path.abspath(annotations)), "images")
    by_id = {im["id"]: im for im in coco.get("images", [])}
    images, people, k3d, names = [], [], [], []
    for ann in coco.get("annotations", []):
        raw = ann.get("keypoints_3d")
        if not raw or len(raw) != 17:
            continue
        pts = np.array([[np.nan] * 3 if p is None else p for p in raw], np.float64)
        lab = np.isfinite(pts).all(axis=1)
        if not (lab[LEFT_HIP] and lab[RIGHT_HIP]) or lab.sum() < 4:
            continue
        im = by_id[ann["image_id"]]
        rgb = read_rgb(os.path.join(images_dir, os.path.basename(im["file_name"])))
        h, w = rgb.shape[:2]
        f = float(np.hypot(w, h))
        K = np.array([[f, 0.0, (w - 1) / 2.0], [0.0, f, (h - 1) / 2.0], [0.0, 0.0, 1.0]])
        x, y, bw, bh = (float(v) for v in ann["bbox"])
        images.append(rgb)
        people.append(PhotoPerson(len(images) - 1, np.array([x, y, x + bw, y + bh], np.float32), K))
        k3d.append(pts)
        names.append(str(im["file_name"]))
    if not people:
        raise EstimatorError(f"--coco {annotations}: no annotation with 'keypoints_3d' (17 COCO-ordered [x, y, z] or "
                             "null, both hips labelled); 3D evaluation needs them")
    return RealMeshPeople(images, people, np.stack(k3d), names)


def pa_mpjpe_labelled_mm(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """(N,) PA-MPJPE (mm) of (N, 17, 3) predictions against labels with NaN where unlabelled, over each
    person's labelled joints (both made pelvis-relative first)."""
    out = []
    for p, g in zip(np.asarray(pred, np.float64), np.asarray(gt, np.float64)):
        lab = np.isfinite(g).all(axis=1)
        p = p - 0.5 * (p[LEFT_HIP] + p[RIGHT_HIP])
        g = g - 0.5 * (g[LEFT_HIP] + g[RIGHT_HIP])
        a = similarity_procrustes(p[lab], g[lab])
        out.append(1000.0 * np.linalg.norm(a - g[lab], axis=1).mean())
    return np.array(out)


def _summary(errors: np.ndarray, joints: int) -> dict[str, Any]:
    return {"PA_MPJPE_mm": float(errors.mean()), "PA_MPJPE_mm_median": float(np.median(errors)),
            "persons": int(len(errors)), "joints": joints}


def evaluate_mesh_coco(model_path: str, coco: str | list[str], *, out: str | None = None,
                       threads: int | None = None, device: str = "auto") -> dict[str, Any]:
    """PA-MPJPE (mm) of a mesh checkpoint's 17 COCO keypoints on real 3D labels, beside the untrained
    initialisation and the mean pose; writes the JSON to ``out`` when given."""
    from synth.estimators.engine.device import device_record, resolve_device
    from synth.estimators.engine.fit import set_threads
    from synth.core.atomic import write_json_atomic
    from synth.estimators.mesh.task import initial_model, load_checkpoint, predict_samples

    set_threads(threads)
    coco = [coco] if isinstance(coco, (str, os.PathLike)) else list(coco)
    dev = resolve_device(device)
    model, meta = load_checkpoint(model_path, dev)
    parts = [load_coco_3d(c) for c in coco]
    images, instances = [], []
    for part in parts:
        off = len(images)
        images += part.images
        instances += [PhotoPerson(i.image_index + off, i.bbox_xyxy, i.K) for i in part.instances]
    data = RealMeshPeople(images, instances, np.concatenate([p.keypoints_3d for p in parts]),
                          sum((p.names for p in parts), []))
    joints = int(np.isfinite(data.keypoints_3d).all(axis=2).sum())
    pred = predict_samples(model, data)["keypoints"]
    init = predict_samples(initial_model(model, meta), data)["keypoints"]
    mean = np.broadcast_to(model.baseline_keypoints.cpu().numpy().astype(np.float64), pred.shape)
    result = {"model": os.path.abspath(model_path), "annotations": [os.path.abspath(c) for c in coco],
              "camera": "CLIFF default: focal sqrt(W^2 + H^2) px, principal point at the centre",
              "alignment": "pelvis-relative, similarity Procrustes over the labelled joints",
              "metrics": _summary(pa_mpjpe_labelled_mm(pred, data.keypoints_3d), joints),
              "initial": _summary(pa_mpjpe_labelled_mm(init, data.keypoints_3d), joints),
              "baseline": _summary(pa_mpjpe_labelled_mm(mean, data.keypoints_3d), joints),
              "people": data.names, **device_record(dev)}
    if out:
        write_json_atomic(out, result)
    return result
