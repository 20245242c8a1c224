"""``synth predict keypoints2d``: a trained 2D keypoint model on any images, from given person boxes.

Each box is cropped exactly as evaluation crops a labelled person (``predict_instances``: box x1.25,
aspect-fixed, flip test), so the numbers equal ``synth evaluate keypoints2d --coco`` run with the same boxes.
Writes ``OUT/keypoints2d_results.json``, a COCO keypoint-results list (``image_id``, ``category_id`` 1,
``keypoints`` as K ``[x, y, confidence]`` triples in COCO's continuous pixel coordinates, ``score`` = mean
keypoint confidence, ``bbox`` the input box ``[x, y, w, h]``, and ``file_name``), and with ``overlays`` one PNG
per image in ``OUT/overlays/`` (the box and the COCO-17 skeleton, drawn with PIL).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from synth.estimators.engine.fit import set_threads
from synth.estimators.engine.predict_inputs import ImageBoxes, list_images, person_boxes, read_rgb
from synth.core.atomic import write_json_atomic
from synth.estimators.keypoints2d.data import PersonInstance, PersonInstances

#: COCO-17 skeleton edges (0-based indices), drawn on the overlays; left side blue-ish, right side orange.
COCO_SKELETON: tuple[tuple[int, int], ...] = (
    (15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 11), (6, 12), (5, 6), (5, 7), (6, 8), (7, 9),
    (8, 10), (1, 2), (0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 6))


def instances_from_boxes(items: list[ImageBoxes], keypoint_names: list[str]) -> PersonInstances:
    """Unlabelled ``PersonInstances`` (keypoints NaN, flags 0) of every box, images decoded once."""
    images, instances = [], []
    k = len(keypoint_names)
    for ib in items:
        if not len(ib.boxes_xyxy):
            continue
        images.append(read_rgb(ib.path))
        for p, box in enumerate(ib.boxes_xyxy):
            w, h = float(box[2] - box[0]), float(box[3] - box[1])
            instances.append(PersonInstance(
                image_index=len(images) - 1, scene_id=os.path.basename(ib.path), frame_index=0, view="image",
                person=p, bbox_xyxy=np.asarray(box, np.float32), area_px=w * h,
                keypoints=np.full((k, 2), np.nan, np.float32), flags=np.zeros(k, np.int8)))
    return PersonInstances(images, instances, list(keypoint_names), [ib.path for ib in items], len(images),
                           len(instances))


def coco_results(items: list[ImageBoxes], pred: np.ndarray, conf: np.ndarray, scores: np.ndarray) -> list[dict]:
    """COCO keypoint results (one dict per box, in ``items`` order) from pixel-centre predictions."""
    out, n = [], 0
    for ib in items:
        for box in ib.boxes_xyxy:
            kp = np.concatenate([pred[n] + 0.5, conf[n][:, None]], axis=1)   # pixel-centre -> COCO continuous
            out.append({"image_id": ib.image_id, "file_name": os.path.basename(ib.path), "category_id": 1,
                        "keypoints": [float(v) for v in kp.reshape(-1)], "score": float(scores[n]),
                        "bbox": [float(v) for v in (box[0], box[1], box[2] - box[0], box[3] - box[1])]})
            n += 1
    return out


def draw_keypoints_overlay(rgb: np.ndarray, results: list[dict], *, min_confidence: float = 0.0):
    """PIL image: ``rgb`` with each result's box (grey) and COCO-17 skeleton (points with confidence below
    ``min_confidence`` left out); the line width follows the image size."""
    from PIL import Image, ImageDraw

    im = Image.fromarray(rgb)
    d = ImageDraw.Draw(im)
    lw = max(1, round(max(rgb.shape[:2]) / 250))
    for r in results:
        x, y, w, h = r["bbox"]
        d.rectangle([x, y, x + w, y + h], outline=(200, 200, 200), width=lw)
        kp = np.asarray(r["keypoints"], np.float64).reshape(-1, 3)[:17]
        for a, b in COCO_SKELETON:
            if kp[a, 2] >= min_confidence and kp[b, 2] >= min_confidence:
                side = {a % 2, b % 2} if a and b else {2}   # COCO: odd indices left, even (> 0) right
                colour = (0, 170, 255) if side == {1} else (255, 140, 0) if side == {0} else (255, 255, 255)
                d.line([tuple(kp[a, :2]), tuple(kp[b, :2])], fill=colour, width=lw)
        for i, (u, v, c) in enumerate(kp):
            if c >= min_confidence:
                rad = 1.5 * lw
                d.ellipse([u - rad, v - rad, u + rad, v + rad], fill=(255, 0, 255) if i else (255, 255, 0))
    return im


def predict_keypoints2d(model_path: str, inputs: str, out_dir: str, *, boxes_file: str | None = None,
                        boxes: list[np.ndarray] | None = None, min_score: float = 0.0, flip_test: bool = True,
                        overlays: bool = True, threads: int | None = None, batch_size: int = 64,
                        device: str = "auto") -> dict[str, Any]:
    """Predict keypoints for every person box of the image(s) ``inputs``; write the results JSON (and overlays)
    under ``out_dir``. Returns ``{"results": path, "overlays": [paths], "people": n, "images": n}``."""
    from synth.estimators.engine.device import resolve_device
    from synth.estimators.keypoints2d.task import load_checkpoint, predict_instances

    set_threads(threads)
    model, _ = load_checkpoint(model_path, resolve_device(device))
    items = person_boxes(list_images(inputs), boxes_file=boxes_file, boxes=boxes, min_score=min_score)
    data = instances_from_boxes(items, model.config.keypoint_names)
    if len(data):
        pred, conf, scores = predict_instances(model, data, batch_size=batch_size, flip_test=flip_test)
    else:
        pred, conf, scores = np.zeros((0, 0, 2)), np.zeros((0, 0)), np.zeros(0)
    results = coco_results(items, pred, conf, scores)
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "keypoints2d_results.json")
    write_json_atomic(path, results)
    written = []
    if overlays:
        os.makedirs(os.path.join(out_dir, "overlays"), exist_ok=True)
        for ib in items:
            mine = [r for r in results if r["file_name"] == os.path.basename(ib.path)]
            png = os.path.join(out_dir, "overlays", os.path.splitext(os.path.basename(ib.path))[0] + ".png")
            draw_keypoints_overlay(read_rgb(ib.path), mine).save(png)
            written.append(png)
    return {"results": path, "overlays": written, "people": len(results), "images": len(items)}
