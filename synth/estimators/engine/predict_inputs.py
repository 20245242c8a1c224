"""What ``synth predict TASK`` reads: image files (one file or a folder) and the person boxes in each.

Boxes come from one of three places (``person_boxes``):

- ``--boxes FILE``, a JSON file in one of the two layouts detectors and COCO tools write:
  * a COCO dataset object ``{"images": [{"id", "file_name"}...], "annotations": [{"image_id", "bbox", ...}...]}``
    (ground truth, or detections saved in that layout);
  * a COCO detection-results list ``[{"image_id", "bbox", "score", "category_id"}...]`` as Detectron2,
    MMDetection or Ultralytics (``save_json``) write for COCO; an entry may carry ``"file_name"``, otherwise
    ``image_id`` is matched to the image whose file stem is that number (COCO's ``000000000785.jpg`` is
    image 785) or that text.
  ``bbox`` is COCO's ``[x, y, width, height]`` in pixels (continuous coordinates: the image spans
  ``[0, W] x [0, H]``); only people are kept (``category_id`` 1 where given) and detections below
  ``min_score``.
- ``--box X,Y,W,H`` on the command line (the same box in every image);
- neither: the whole image is one person's box.

No person detector is bundled: synth's renders have exact boxes but no detector has been trained on them here.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

import numpy as np

from synth.estimators.engine.errors import EstimatorError


@dataclass
class PhotoPerson:
    """One person to crop from a photo: the index of its image, its (4,) float32 pixel-edge box and, for models
    whose crop features need a camera (the mesh model's CLIFF box features), the (3, 3) intrinsics assumed."""

    image_index: int
    bbox_xyxy: np.ndarray
    K: np.ndarray | None = None


#: Image file endings ``list_images`` picks up in a folder.
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


@dataclass
class ImageBoxes:
    """One image and the person boxes to predict in it.

    path : the image file.  image_id : the id results are written under (from the boxes file, or the image's
    position in the sorted input).  boxes_xyxy : (P, 4) float64 px pixel-edge boxes.  scores : (P,) detector
    scores (1 for given boxes).
    """

    path: str
    image_id: int | str
    boxes_xyxy: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)))
    scores: np.ndarray = field(default_factory=lambda: np.zeros(0))


def read_rgb(path: str) -> np.ndarray:
    """(H, W, 3) uint8 RGB of an image file; EstimatorError when it cannot be read."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            return np.ascontiguousarray(np.asarray(im.convert("RGB")))
    except (OSError, ValueError) as err:
        raise EstimatorError(f"{path}: cannot read the image ({err}); expected a JPEG or PNG file") from None


def list_images(path: str) -> list[str]:
    """The image file ``path``, or the images of folder ``path`` (sorted by name); EstimatorError if none."""
    if os.path.isfile(path):
        return [path]
    if not os.path.isdir(path):
        raise EstimatorError(f"{path}: no such image file or folder; expected a JPEG/PNG file or a folder of them")
    files = sorted(os.path.join(path, f) for f in os.listdir(path) if f.lower().endswith(IMAGE_SUFFIXES))
    if not files:
        raise EstimatorError(f"{path}: the folder holds no image ({', '.join(IMAGE_SUFFIXES)})")
    return files


def parse_box(text: str) -> np.ndarray:
    """'X,Y,W,H' (COCO bbox, px) -> (4,) float64 xyxy; EstimatorError otherwise."""
    try:
        x, y, w, h = (float(v) for v in str(text).split(","))
    except ValueError:
        raise EstimatorError(f"--box {text!r}: expected X,Y,W,H in pixels (COCO bbox), e.g. --box 120,40,200,380"
                             ) from None
    if not (w > 0 and h > 0):
        raise EstimatorError(f"--box {text}: width and height must be > 0")
    return np.array([x, y, x + w, y + h])


def _stem_keys(path: str) -> list:
    stem = os.path.splitext(os.path.basename(path))[0]
    keys: list = [stem, os.path.basename(path)]
    if stem.isdigit():
        keys.append(int(stem))
    return keys


def _read_boxes_file(boxes_file: str) -> tuple[list[dict], dict]:
    try:
        with open(boxes_file) as f:
            doc = json.load(f)
    except (OSError, ValueError) as err:
        raise EstimatorError(f"--boxes {boxes_file}: cannot read the JSON ({err})") from None
    if isinstance(doc, dict) and "annotations" in doc:
        return list(doc["annotations"]), {im["id"]: im["file_name"] for im in doc.get("images", [])}
    if isinstance(doc, list):
        return doc, {}
    raise EstimatorError(f"--boxes {boxes_file}: expected a COCO object with 'images' and 'annotations' or a "
                         "COCO detection-results list [{image_id, bbox, score, category_id}], got "
                         f"{type(doc).__name__}")


def person_boxes(images: list[str], *, boxes_file: str | None = None, boxes: list[np.ndarray] | None = None,
                 min_score: float = 0.0) -> list[ImageBoxes]:
    """The boxes to predict in each image (see the module doc); images with no box from the file get none."""
    if boxes_file and boxes:
        raise EstimatorError("give person boxes either with --boxes FILE or with --box, not both")
    out = [ImageBoxes(p, i) for i, p in enumerate(images)]
    if boxes:
        for ib in out:
            ib.boxes_xyxy, ib.scores = np.stack(boxes).astype(np.float64), np.ones(len(boxes))
        return out
    if not boxes_file:
        from PIL import Image

        for ib in out:
            with Image.open(ib.path) as im:
                w, h = im.size
            ib.boxes_xyxy, ib.scores = np.array([[0.0, 0.0, float(w), float(h)]]), np.ones(1)
        return out
    entries, file_names = _read_boxes_file(boxes_file)
    slot = {}
    for ib in out:
        for key in _stem_keys(ib.path):
            slot.setdefault(key, ib)
    found: dict[int, list[tuple[np.ndarray, float]]] = {id(ib): [] for ib in out}
    for n, e in enumerate(entries):
        if not isinstance(e, dict) or "bbox" not in e:
            raise EstimatorError(f"--boxes {boxes_file}: entry {n} has no 'bbox' [x, y, w, h]")
        if e.get("category_id", 1) != 1 or e.get("iscrowd", 0) or float(e.get("score", 1.0)) < min_score:
            continue
        name = e.get("file_name") or file_names.get(e.get("image_id"))
        ib = slot.get(os.path.basename(name)) if name else slot.get(e.get("image_id"))
        if ib is None and e.get("image_id") is not None:
            ib = slot.get(str(e["image_id"]))
        if ib is None:
            continue   # a box of an image not among the inputs
        if name is None or file_names:
            ib.image_id = e.get("image_id", ib.image_id)
        x, y, w, h = (float(v) for v in e["bbox"])
        if w > 0 and h > 0:
            found[id(ib)].append((np.array([x, y, x + w, y + h]), float(e.get("score", 1.0))))
    for ib in out:
        got = found[id(ib)]
        ib.boxes_xyxy = np.stack([b for b, _ in got]) if got else np.zeros((0, 4))
        ib.scores = np.array([s for _, s in got])
    if not any(len(ib.scores) for ib in out):
        raise EstimatorError(f"--boxes {boxes_file}: no person box (category 1, score >= {min_score:g}) matches any "
                             f"of the {len(images)} input image(s) by file name or image_id = file stem")
    return out
