"""Export a dataset in Ultralytics' YOLO-pose layout::

    DEST/data.yaml                 path, train, val, kpt_shape [K, 3], flip_idx, names {0: person}, kpt_names
    DEST/images/{train,val}/*.png  one image per view of a frame
    DEST/labels/{train,val}/*.txt  one line per person seen in the view:
                                   0 cx cy w h  x1 y1 v1 ... xK yK vK   (all coordinates divided by W or H)

The box is the person's amodal box (``bbox_xyxy``, clipped to the image), as in the COCO export.
Keypoints are in continuous image coordinates (pixel centre + 0.5) divided by the image size;
``v`` = 2 visible, 1 in the image but occluded, 0 outside the image (then x = y = 0), the COCO flags
Ultralytics' own COCO conversion keeps. ``flip_idx`` maps each keypoint to its mirror image (left/right
body, feet, hands and the 68 face points). The scene-level split is ``export_common.val_scene_indices``;
with ``val_fraction = 0`` there is no val folder and ``val`` points at the train images.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from synth.core.atomic import write_text_atomic
from synth.core.errors import DatasetError
from synth.io.export_common import check_image_format, image_stem, val_scene_indices, write_image

#: keypoint subsets: the first K points of the format's keypoint order (COCO-WholeBody order)
KEYPOINT_SUBSETS = {"body": 17, "body_feet": 23, "all": None}


def yolo_pose_line(bbox_xyxy: np.ndarray, uv: np.ndarray, visible: np.ndarray, in_image: np.ndarray,
                   width: int, height: int) -> str:
    """One person's label line. ``uv`` (K, 2) pixel-centre coordinates; box in pixel-centre coordinates."""
    x0, y0, x1, y1 = (float(c) + 0.5 for c in bbox_xyxy)
    x0, x1 = np.clip([x0, x1], 0.0, width)
    y0, y1 = np.clip([y0, y1], 0.0, height)
    vals = [(x0 + x1) / 2 / width, (y0 + y1) / 2 / height, (x1 - x0) / width, (y1 - y0) / height]
    parts = ["0"] + [f"{v:.6f}" for v in vals]
    for (u, v), vis, inside in zip(uv, visible, in_image):
        if not inside or not np.isfinite(u) or not np.isfinite(v):
            parts += ["0.000000", "0.000000", "0"]
        else:
            x = min(max((float(u) + 0.5) / width, 0.0), 1.0)
            y = min(max((float(v) + 0.5) / height, 0.0), 1.0)
            parts += [f"{x:.6f}", f"{y:.6f}", "2" if vis else "1"]
    return " ".join(parts)


def _yaml_list(xs) -> str:
    return "[" + ", ".join(str(x) for x in xs) + "]"


def export_yolo_pose(out: str, dest: str, image_format: str = "png", val_fraction: float = 0.1,
                     keypoints: str = "all") -> str:
    """Write the YOLO-pose layout for the dataset in ``out``; returns the path of ``data.yaml``."""
    from synth.bodies.keypoints import compute_flip_index
    from synth.io.reader import open_dataset

    check_image_format(image_format)
    if keypoints not in KEYPOINT_SUBSETS:
        raise DatasetError(f"export --keypoints: expected one of {list(KEYPOINT_SUBSETS)}, got {keypoints!r}")
    ds = open_dataset(out, verify=True)
    val_scenes = val_scene_indices([i for s in ds.manifest.shards for i in s.scene_indices], val_fraction)
    root = Path(dest)
    names: list[str] | None = None
    counts = {"train": 0, "val": 0}
    for frame in ds:
        K_all = len(frame.keypoint_names)
        K = KEYPOINT_SUBSETS[keypoints] or K_all
        if K > K_all:
            raise DatasetError(f"export --keypoints {keypoints}: needs {K} keypoints, the dataset has {K_all} "
                               "(recipe people.keypoint_set); use --keypoints all")
        names = names or frame.keypoint_names[:K]
        split = "val" if frame.scene_index in val_scenes else "train"
        stem = image_stem(frame.scene_id, frame.frame_index, frame.view)
        write_image(root / "images" / split / f"{stem}.{image_format}", frame.rgb, image_format)
        H, W = frame.rgb.shape[:2]
        L = frame.labels
        lines = [yolo_pose_line(L["bbox_xyxy"][p], L["keypoints_2d"][p][:K], L["keypoints_visible"][p][:K],
                                L["keypoints_in_image"][p][:K], W, H)
                 for p in range(L["keypoints_2d"].shape[0])
                 if int(L["mask_area_px"][p]) > 0 and np.isfinite(L["bbox_xyxy"][p]).all()]
        label = root / "labels" / split / f"{stem}.txt"
        write_text_atomic(label, "".join(line + "\n" for line in lines), fsync=False)
        counts[split] += 1
    if names is None:
        raise DatasetError(f"{out}: the dataset has no frames to export")
    flip = compute_flip_index(names).tolist()
    text = "\n".join([
        f"# synth dataset {out}, exported with `synth export --format yolo-pose`",
        f"# {counts['train']} train / {counts['val']} val images (split by scene)",
        f"path: {root.resolve()}",
        "train: images/train",
        f"val: images/{'val' if counts['val'] else 'train'}",
        f"kpt_shape: [{len(names)}, 3]  # x, y, visibility (2 visible, 1 occluded, 0 outside the image)",
        f"flip_idx: {_yaml_list(flip)}",
        "names:",
        "  0: person",
        "kpt_names:",
        "  0: " + _yaml_list(names),
        "",
    ])
    path = root / "data.yaml"
    write_text_atomic(path, text)
    return str(path)
