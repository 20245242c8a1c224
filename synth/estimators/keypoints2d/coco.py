"""People of a COCO person-keypoints set (real photos or a ``synth export``) as ``PersonInstances``, and the
per-joint-group metrics that suit sets labelling only some of the 17 COCO points.

A COCO annotations file (``images``, ``annotations`` with ``keypoints`` as 17 ``[x, y, v]`` triples, ``bbox``
``[x, y, w, h]``, ``area``) plus its image folder becomes the same ``PersonInstances`` the synth reader gives,
so the model, its initialisation and the constant baseline are all scored by one code path. COCO coordinates
are continuous (a pixel's centre at +0.5); synth's are pixel-centre, so ``u = x_coco - 0.5``. Flags keep COCO's
meaning: ``v = 2`` visible, ``1`` labelled but occluded, ``0`` not labelled; every metric counts only labelled
points, so a set that labels 12 limb joints is scored on those 12.

Per-joint-group accuracy (``limb_accuracy``): a labelled joint is correct when it lies within
``0.1 × box height`` of its label (the box of the annotation), reported for the 12 limb joints (shoulders,
elbows, wrists, hips, knees, ankles), for each group, and for the head (nose, eyes, ears), with counts.
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

from synth.bodies.keypoints import KEYPOINT_NAMES
from synth.estimators.engine.errors import EstimatorError
from synth.estimators.engine.predict_inputs import read_rgb
from synth.estimators.keypoints2d.data import PersonInstance, PersonInstances

#: COCO's 17 person keypoints, COCO order (the first 17 of every synth keypoint set).
COCO17_NAMES: list[str] = list(KEYPOINT_NAMES[:17])
#: Joint groups of the 17 COCO points scored by ``limb_accuracy`` (indices in COCO order).
JOINT_GROUPS: dict[str, tuple[int, ...]] = {
    "head": (0, 1, 2, 3, 4), "shoulders": (5, 6), "elbows": (7, 8), "wrists": (9, 10),
    "hips": (11, 12), "knees": (13, 14), "ankles": (15, 16),
}
#: The 12 limb joints (shoulders to ankles).
LIMB_JOINTS: tuple[int, ...] = tuple(range(5, 17))


def _image_path(annotations: str, images_dir: str, file_name: str) -> str:
    """Where an image of a COCO file is: ``images_dir/file_name``, ``images_dir/basename``, or ``file_name`` beside
    the annotations (``synth export`` writes ``images/NAME.png`` file names); EstimatorError if none exists."""
    tries = [os.path.join(images_dir, file_name), os.path.join(images_dir, os.path.basename(file_name)),
             os.path.join(os.path.dirname(os.path.abspath(annotations)), file_name)]
    for path in tries:
        if os.path.isfile(path):
            return path
    raise EstimatorError(f"--coco {annotations}: image {file_name!r} not found (looked in {tries[:2]}); pass its "
                         "folder with --images")


def _read_coco(annotations: str) -> dict:
    try:
        with open(annotations) as f:
            coco = json.load(f)
    except (OSError, ValueError) as err:
        raise EstimatorError(f"--coco {annotations}: cannot read the COCO annotations ({err}); expected a COCO "
                             "person-keypoints JSON file (images, annotations)") from None
    if not isinstance(coco, dict) or "images" not in coco or "annotations" not in coco:
        raise EstimatorError(f"--coco {annotations}: expected a COCO JSON object with 'images' and 'annotations', "
                             f"got {type(coco).__name__} with keys {sorted(coco)[:5] if isinstance(coco, dict) else ''}")
    return coco


def load_coco_instances(annotations: str, images_dir: str | None = None, *, min_keypoints: int = 1,
                        keypoint_names: list[str] | None = None) -> PersonInstances:
    """The people of a COCO person-keypoints file with at least ``min_keypoints`` labelled points (``iscrowd``
    people left out, as COCO's evaluation ignores them), images read from ``images_dir`` (default: the
    ``images`` folder beside the file).

    ``keypoint_names`` (default the 17 COCO points) sets the instances' keypoint order: a model with 23 or 133
    points gets its first 17 labelled from the file and the rest unlabelled (flag 0), so only the labelled
    points are scored. Keypoint ``i`` of the file must be COCO's point ``i``.
    """
    coco = _read_coco(annotations)
    images_dir = images_dir or os.path.join(os.path.dirname(os.path.abspath(annotations)), "images")
    names = list(keypoint_names or COCO17_NAMES)
    if names[:17] != COCO17_NAMES:
        raise EstimatorError(f"load_coco_instances: the model's first 17 keypoints must be COCO's, got {names[:17]}")
    by_id = {im["id"]: im for im in coco["images"]}
    images: list[np.ndarray] = []
    image_slot: dict[Any, int] = {}
    instances: list[PersonInstance] = []
    people_seen = 0
    for a, ann in enumerate(coco["annotations"]):
        if ann.get("category_id", 1) != 1:
            continue
        people_seen += 1
        kp = np.asarray(ann.get("keypoints", []), np.float64).reshape(-1, 3)
        if kp.shape[0] != 17:
            raise EstimatorError(f"--coco {annotations}: annotation {ann.get('id', a)} has {kp.shape[0]} keypoints; "
                                 "expected COCO's 17 [x, y, v] triples")
        flags17 = kp[:, 2].astype(np.int8)
        if ann.get("iscrowd", 0) or int((flags17 > 0).sum()) < min_keypoints:
            continue
        x, y, w, h = (float(v) for v in ann["bbox"])
        if not (w > 0 and h > 0):
            continue
        im = by_id.get(ann["image_id"])
        if im is None:
            raise EstimatorError(f"--coco {annotations}: annotation {ann.get('id', a)} names image_id "
                                 f"{ann['image_id']}, which 'images' lacks")
        if ann["image_id"] not in image_slot:
            image_slot[ann["image_id"]] = len(images)
            images.append(read_rgb(_image_path(annotations, images_dir, im["file_name"])))
        keypoints = np.full((len(names), 2), np.nan, np.float32)
        flags = np.zeros(len(names), np.int8)
        lab = flags17 > 0
        keypoints[:17][lab] = kp[lab, :2] - 0.5        # COCO continuous -> pixel-centre coordinates
        flags[:17] = np.where(lab, flags17, 0)
        area = float(ann.get("area") or w * h)
        instances.append(PersonInstance(
            image_index=image_slot[ann["image_id"]], scene_id=str(im["file_name"]), frame_index=int(ann["image_id"])
            if isinstance(ann["image_id"], int) else 0, view="coco", person=int(ann.get("id", a)),
            bbox_xyxy=np.array([x, y, x + w, y + h], np.float32), area_px=area, keypoints=keypoints, flags=flags))
    if not instances:
        raise EstimatorError(f"--coco {annotations}: no person with >= {min_keypoints} labelled keypoints and a box "
                             f"among {people_seen} person annotations")
    return PersonInstances(images, instances, names, [os.path.abspath(annotations)], len(images), people_seen)


def limb_accuracy(pred: np.ndarray, gt: np.ndarray, flags: np.ndarray, box_height_px: np.ndarray,
                  threshold: float = 0.1) -> dict[str, Any]:
    """Share of labelled joints within ``threshold × box height`` of their label, per joint group.

    pred, gt : (N, K >= 17, 2) px; flags : (N, K) COCO flags; box_height_px : (N,) px.
    Returns ``limb_joints`` (the 12 limb joints pooled), one entry per ``JOINT_GROUPS`` group, each
    ``{"accuracy": float or None, "joints": labelled count}``, ``people`` (with >= 1 labelled limb joint) and
    ``threshold_box_height``.
    """
    pred = np.asarray(pred, np.float64)[:, :17]
    gt = np.asarray(gt, np.float64)[:, :17]
    lab = np.asarray(flags)[:, :17] > 0
    d = np.linalg.norm(pred - np.nan_to_num(gt), axis=-1)
    ok = d <= threshold * np.asarray(box_height_px, np.float64)[:, None]

    def group(idx) -> dict[str, Any]:
        m = lab[:, list(idx)]
        n = int(m.sum())
        return {"accuracy": float(ok[:, list(idx)][m].mean()) if n else None, "joints": n}

    out: dict[str, Any] = {"threshold_box_height": threshold, "limb_joints": group(LIMB_JOINTS)}
    out.update({name: group(idx) for name, idx in JOINT_GROUPS.items()})
    out["people"] = int(lab[:, list(LIMB_JOINTS)].any(axis=1).sum())
    return out
