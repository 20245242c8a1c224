"""Export a dataset to COCO keypoints JSON (COCO-WholeBody layout when the labels have 133 points).

Coordinates follow COCO's continuous image coordinates: the image spans [0, W] x [0, H] and
the centre of pixel (u, v) is at (u + 0.5, v + 0.5) — so every exported coordinate is the
label's pixel-centre coordinate + 0.5 (the convention detectron2 and mmpose read COCO with).

Per person and keypoint, the visibility flag ``v`` is 2 when the keypoint is visible, 1 when it
is in the image but occluded, 0 when it is outside the image (then x = y = 0), as in COCO.
With COCO-WholeBody labels, the 17 body points go to ``keypoints`` and the rest to
``foot_kpts`` (6), ``face_kpts`` (68), ``lefthand_kpts`` (21), ``righthand_kpts`` (21), with
``*_valid`` flags and boxes for face and hands, as in the COCO-WholeBody annotation files.

Each annotation carries its person's ``segmentation``: the instance mask (the person's visible
pixels) as COCO compressed RLE (``{"size": [H, W], "counts": "..."}``, column-major runs starting
with background), which ``pycocotools.mask.decode`` reads back exactly.
With ``val_fraction > 0`` the scenes are also split (``synth.io.export_common.val_scene_indices``)
into ``annotations_train.json`` and ``annotations_val.json`` beside the full ``annotations.json``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from synth.core.atomic import write_text_atomic
from synth.core.errors import DatasetError
from synth.io.export_common import check_image_format, image_stem, val_scene_indices, write_image

# COCO's person skeleton (1-based keypoint indices), as in the COCO keypoints annotation files
COCO_SKELETON = [[16, 14], [14, 12], [17, 15], [15, 13], [12, 13], [6, 12], [7, 13], [6, 7], [6, 8], [7, 9],
                 [8, 10], [9, 11], [2, 3], [1, 2], [1, 3], [2, 4], [3, 5], [4, 6], [5, 7]]
WHOLEBODY_PARTS = (("keypoints", 0, 17), ("foot_kpts", 17, 23), ("face_kpts", 23, 91),
                   ("lefthand_kpts", 91, 112), ("righthand_kpts", 112, 133))


def coco_keypoints(uv: np.ndarray, visible: np.ndarray, in_image: np.ndarray) -> list[float]:
    """(K, 2) pixel-centre coords + flags -> COCO's flat [x1, y1, v1, x2, ...]."""
    out: list[float] = []
    for (u, v), vis, inside in zip(uv, visible, in_image):
        if not inside or not np.isfinite(u) or not np.isfinite(v):
            out += [0.0, 0.0, 0]
        else:
            out += [round(float(u) + 0.5, 3), round(float(v) + 0.5, 3), 2 if vis else 1]
    return out


def _box_xywh(xyxy: np.ndarray) -> list[float]:
    """A label box (pixel-edge coordinates around pixel centres) -> COCO [x, y, w, h] in image coordinates."""
    x0, y0, x1, y1 = (float(c) + 0.5 for c in xyxy)
    return [round(x0, 3), round(y0, 3), round(x1 - x0, 3), round(y1 - y0, 3)]


def _part_box(uv: np.ndarray, ok: np.ndarray) -> list[float]:
    if not ok.any():
        return [0.0, 0.0, 0.0, 0.0]
    pts = uv[ok] + 0.5
    (x0, y0), (x1, y1) = pts.min(axis=0), pts.max(axis=0)
    return [round(float(x0), 3), round(float(y0), 3), round(float(x1 - x0), 3), round(float(y1 - y0), 3)]


def _rle_string(counts: list[int]) -> str:
    """Run lengths -> COCO's compressed RLE string (pycocotools' rleToString: LEB128-like, 5 bits a char,
    each count from the third on stored as the difference to the count two before)."""
    out = []
    for i, c in enumerate(counts):
        x = int(c) - (int(counts[i - 2]) if i > 2 else 0)
        more = True
        while more:
            ch = x & 0x1F
            x >>= 5
            more = (x != -1) if (ch & 0x10) else (x != 0)
            if more:
                ch |= 0x20
            out.append(chr(ch + 48))
    return "".join(out)


def encode_rle(mask: np.ndarray) -> dict:
    """(H, W) bool mask -> COCO compressed RLE ``{"size": [H, W], "counts": str}``."""
    m = np.asarray(mask, dtype=np.uint8)
    flat = m.ravel(order="F")
    change = np.flatnonzero(np.diff(flat)) + 1
    runs = np.diff(np.concatenate([[0], change, [flat.size]])).tolist()
    if flat.size and flat[0] == 1:
        runs = [0] + runs
    return {"size": [int(m.shape[0]), int(m.shape[1])], "counts": _rle_string(runs)}


def _write_json(path: Path, doc: dict) -> None:
    write_text_atomic(path, json.dumps(doc))


def export_coco(out: str, dest: str, image_format: str = "png", val_fraction: float = 0.0) -> str:
    """Write ``dest/images/*.{png,jpg}`` and ``dest/annotations.json`` for the dataset in ``out``.

    With ``val_fraction > 0`` also ``annotations_train.json`` / ``annotations_val.json`` (split by scene).
    Returns the path of ``annotations.json``.
    """
    from synth.io.reader import open_dataset

    check_image_format(image_format)
    ds = open_dataset(out, verify=True)
    val_scenes = val_scene_indices([i for s in ds.manifest.shards for i in s.scene_indices], val_fraction)
    dest_dir = Path(dest)
    (dest_dir / "images").mkdir(parents=True, exist_ok=True)
    images, annotations = [], []
    split_of_image: dict[int, str] = {}
    names: list[str] | None = None
    for frame in ds:
        names = names or frame.keypoint_names
        image_id = len(images) + 1
        split_of_image[image_id] = "val" if frame.scene_index in val_scenes else "train"
        file_name = f"images/{image_stem(frame.scene_id, frame.frame_index, frame.view)}.{image_format}"
        write_image(dest_dir / file_name, frame.rgb, image_format)
        cam = frame.camera.to_record()
        images.append({"id": image_id, "file_name": file_name, "width": int(frame.rgb.shape[1]),
                       "height": int(frame.rgb.shape[0]), "scene_id": frame.scene_id, "frame": frame.frame_index,
                       "view": frame.view, "camera": {"model": cam["model"], "K": cam["K"].tolist(),
                                                      "dist": cam["dist"].tolist(),
                                                      "T_cam_from_world": cam["T_cam_from_world"].tolist()}})
        L = frame.labels
        for p in range(L["keypoints_2d"].shape[0]):
            if int(L["mask_area_px"][p]) == 0:
                continue  # not seen in this view
            uv, vis, inside = L["keypoints_2d"][p], L["keypoints_visible"][p], L["keypoints_in_image"][p]
            ann = {"id": len(annotations) + 1, "image_id": image_id, "category_id": 1, "iscrowd": 0,
                   "bbox": _box_xywh(L["bbox_xyxy"][p]), "area": int(L["mask_area_px"][p]),
                   "segmentation": encode_rle(frame.instance == p + 1), "person_index": p}
            if uv.shape[0] == 133:
                for key, a, b in WHOLEBODY_PARTS:
                    ann[key] = coco_keypoints(uv[a:b], vis[a:b], inside[a:b])
                for part, a, b in (("face", 23, 91), ("lefthand", 91, 112), ("righthand", 112, 133)):
                    ann[f"{part}_box"] = _part_box(uv[a:b], inside[a:b])
                    ann[f"{part}_valid"] = bool(vis[a:b].any())
                ann["foot_valid"] = bool(vis[17:23].any())
            else:
                ann["keypoints"] = coco_keypoints(uv[:17], vis[:17], inside[:17])
                ann["foot_kpts"] = coco_keypoints(uv[17:23], vis[17:23], inside[17:23])
            ann["num_keypoints"] = int(sum(1 for k in ann["keypoints"][2::3] if k > 0))
            annotations.append(ann)
    if names is None:
        raise DatasetError(f"{out}: the dataset has no frames to export")

    def document(split: str | None) -> dict:
        keep = {i["id"] for i in images if split is None or split_of_image[i["id"]] == split}
        return {
            "info": {"description": f"synth dataset {out}" + (f" ({split} split)" if split else ""),
                     "version": str(ds.manifest.format_version),
                     "coordinates": "COCO image coordinates: pixel (u, v) centre at (u + 0.5, v + 0.5)"},
            "images": [i for i in images if i["id"] in keep],
            "annotations": [a for a in annotations if a["image_id"] in keep],
            "categories": [{"id": 1, "name": "person", "supercategory": "person", "keypoints": names[:17],
                            "skeleton": COCO_SKELETON}],
        }

    path = dest_dir / "annotations.json"
    _write_json(path, document(None))
    if val_scenes:
        for split in ("train", "val"):
            _write_json(dest_dir / f"annotations_{split}.json", document(split))
    return str(path)
