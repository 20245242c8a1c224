"""Ultralytics YOLO-pose export: the schema Ultralytics checks (data.yaml, label files) and the values."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from tiny_dataset_util import tiny_wholebody_dataset

from synth.io import open_dataset
from synth.io.export_common import image_stem

pytestmark = pytest.mark.blender
ROOT = Path(__file__).resolve().parents[1]


def _export(ds, dest, *extra):
    res = subprocess.run([sys.executable, "-m", "synth.cli", "export", str(ds), "--format", "yolo-pose",
                          "--dest", str(dest), *extra], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert res.returncode == 0, res.stderr
    return yaml.safe_load((dest / "data.yaml").read_text())


def test_yolo_pose_layout_schema_and_values(tmp_path_factory):
    ds_dir = tiny_wholebody_dataset(tmp_path_factory)
    dest = tmp_path_factory.mktemp("yolo")
    data = _export(ds_dir, dest, "--val-fraction", "0.34")
    # data.yaml: what ultralytics.data.utils.check_det_dataset needs for a pose dataset
    assert Path(data["path"]) == dest.resolve() and data["train"] == "images/train" and data["val"] == "images/val"
    assert data["names"] == {0: "person"} and data["kpt_shape"] == [133, 3]
    flip, names = data["flip_idx"], data["kpt_names"][0]
    assert sorted(flip) == list(range(133)) and all(flip[flip[i]] == i for i in range(133))
    for i, n in enumerate(names):
        mirrored = n.replace("left_", "@").replace("right_", "left_").replace("@", "right_")
        if not n.startswith("face_"):
            assert names[flip[i]] == mirrored
    assert names[flip[names.index("face_00")]] == "face_16"  # the jaw line mirrors (iBUG 68 order)
    frames = list(open_dataset(str(ds_dir)))
    n_lines = 0
    for f in frames:
        split = "val" if f.scene_index == 2 else "train"
        stem = image_stem(f.scene_id, f.frame_index, f.view)
        assert (dest / "images" / split / f"{stem}.png").is_file()
        rows = [r.split() for r in (dest / "labels" / split / f"{stem}.txt").read_text().splitlines()]
        seen = [p for p in range(len(f.people)) if f.labels["mask_area_px"][p] > 0]
        assert len(rows) == len(seen)
        for row, p in zip(rows, seen):
            # ultralytics' verify_image_label: 5 + nkpt * ndim columns, class < nc, coordinates in [0, 1], no negatives
            assert len(row) == 5 + 133 * 3 and row[0] == "0"
            lb = np.array(row, dtype=np.float32)
            kp = lb[5:].reshape(133, 3)
            assert lb.min() >= 0 and lb[1:5].max() <= 1 and kp[:, :2].max() <= 1
            assert set(np.unique(kp[:, 2])) <= {0, 1, 2}
            vis, inside = f.labels["keypoints_visible"][p], f.labels["keypoints_in_image"][p]
            assert np.array_equal(kp[:, 2], np.where(vis, 2, np.where(inside, 1, 0)))
            assert np.all(kp[kp[:, 2] == 0, :2] == 0)
            ok = kp[:, 2] > 0
            uv = kp[ok, :2] * 64 - 0.5  # back to pixel-centre coordinates (64 x 64 images)
            assert np.allclose(uv, f.labels["keypoints_2d"][p][ok], atol=1e-3)
            cx, cy, w, h = lb[1:5] * 64
            assert np.allclose([cx - w / 2 - 0.5, cy - h / 2 - 0.5, cx + w / 2 - 0.5, cy + h / 2 - 0.5],
                               f.labels["bbox_xyxy"][p], atol=1e-3)
            n_lines += 1
    assert n_lines >= 12
    assert len(list((dest / "images" / "val").iterdir())) == 4  # 1 scene x 2 frames x 2 views


def test_yolo_pose_body_subset_without_val(tmp_path_factory):
    ds_dir = tiny_wholebody_dataset(tmp_path_factory)
    dest = tmp_path_factory.mktemp("yolo17")
    data = _export(ds_dir, dest, "--keypoints", "body", "--val-fraction", "0")
    assert data["kpt_shape"] == [17, 3] and data["val"] == "images/train"
    assert data["flip_idx"] == [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15]  # Ultralytics' COCO one
    assert not (dest / "images" / "val").exists()
    rows = [r.split() for t in (dest / "labels" / "train").glob("*.txt") for r in t.read_text().splitlines()]
    assert rows and all(len(r) == 5 + 17 * 3 for r in rows)
