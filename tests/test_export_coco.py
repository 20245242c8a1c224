"""COCO-WholeBody export round trip, read back with pycocotools (keypoints, boxes, RLE segmentation, splits)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from tiny_dataset_util import tiny_wholebody_dataset

from synth.io import open_dataset
from synth.io.coco import encode_rle

pytestmark = pytest.mark.blender
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    ds = tiny_wholebody_dataset(tmp_path_factory)
    dest = tmp_path_factory.mktemp("coco")
    res = subprocess.run([sys.executable, "-m", "synth.cli", "export", str(ds), "--format", "coco-wholebody",
                          "--dest", str(dest), "--val-fraction", "0.34"],
                         capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == str(dest / "annotations.json")
    return ds, dest


def test_rle_encoder_matches_pycocotools_on_edge_cases():
    mask_util = pytest.importorskip("pycocotools.mask")
    rng = np.random.default_rng(3)
    cases = [np.zeros((5, 7), bool), np.ones((5, 7), bool), rng.random((31, 17)) > 0.5, rng.random((64, 64)) > 0.97]
    cases.append(np.pad(np.ones((40, 3), bool), ((2, 22), (50, 11))))  # long runs: multi-char counts
    for m in cases:
        ours = encode_rle(m)
        theirs = mask_util.encode(np.asfortranarray(m.astype(np.uint8)))
        assert ours["counts"] == theirs["counts"].decode() and ours["size"] == list(theirs["size"])
        assert np.array_equal(mask_util.decode({"size": ours["size"], "counts": ours["counts"].encode()}), m)


def test_coco_wholebody_reads_back_with_pycocotools(exported):
    pytest.importorskip("pycocotools")
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    ds_dir, dest = exported
    frames = list(open_dataset(str(ds_dir)))
    coco = COCO(str(dest / "annotations.json"))
    assert len(coco.getImgIds()) == len(frames)
    n_seen = 0
    for img_id, f in zip(sorted(coco.getImgIds()), frames):
        img = coco.loadImgs(img_id)[0]
        assert (img["scene_id"], img["frame"], img["view"]) == (f.scene_id, f.frame_index, f.view)
        assert (dest / img["file_name"]).is_file()
        for ann in coco.loadAnns(coco.getAnnIds(imgIds=img_id)):
            p = ann["person_index"]
            mask = coco.annToMask(ann).astype(bool)
            assert np.array_equal(mask, f.instance == p + 1) and ann["area"] == int(mask.sum()) > 0
            kp = np.array(ann["keypoints"] + ann["foot_kpts"] + ann["face_kpts"] + ann["lefthand_kpts"]
                          + ann["righthand_kpts"]).reshape(-1, 3)
            ok = kp[:, 2] > 0
            assert np.allclose(kp[ok, :2] - 0.5, f.labels["keypoints_2d"][p][ok], atol=2e-3)
            assert np.array_equal(ok, f.labels["keypoints_in_image"][p])
            n_seen += 1
    assert n_seen == sum(int((f.labels["mask_area_px"] > 0).sum()) for f in frames) >= 12
    # the ground truth scored as its own detections: pycocotools' keypoint and mask AP are exactly 1
    dets = [{**a, "score": 1.0} for a in coco.dataset["annotations"]]
    for iou_type in ("keypoints", "segm"):
        ev = COCOeval(coco, coco.loadRes(json.loads(json.dumps(dets))), iou_type)
        ev.params.areaRng = [[0, 1e10]] * len(ev.params.areaRng)  # tiny images: every person is "small"
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
        assert ev.stats[0] == pytest.approx(1.0), iou_type


def test_coco_split_files_hold_out_the_last_scene(exported):
    _, dest = exported
    full = json.loads((dest / "annotations.json").read_text())
    parts = {s: json.loads((dest / f"annotations_{s}.json").read_text()) for s in ("train", "val")}
    ids = {s: {i["id"] for i in d["images"]} for s, d in parts.items()}
    assert not ids["train"] & ids["val"] and ids["train"] | ids["val"] == {i["id"] for i in full["images"]}
    assert {i["scene_id"] for i in parts["val"]["images"]} == {"tinywb-0000002"}  # 3 scenes x 0.34 -> 1 held out
    for s, d in parts.items():
        assert all(a["image_id"] in ids[s] for a in d["annotations"])
    assert len(parts["train"]["annotations"]) + len(parts["val"]["annotations"]) == len(full["annotations"])


def test_export_and_browse_bad_input_is_one_error_line(exported, tmp_path):
    ds_dir, _ = exported
    cases = [(["export", str(tmp_path), "--format", "npz"], "no manifest.json here"),
             (["export", str(ds_dir), "--format", "yolo-pose", "--dest", str(tmp_path / "y"), "--val-fraction", "1.5"],
              "val_fraction must be in [0, 1), got 1.5"),
             (["browse", str(ds_dir), "--dest", str(tmp_path / "b"), "--limit", "0"],
              "browse --limit: expected a positive number of frames, got 0")]
    for argv, message in cases:
        res = subprocess.run([sys.executable, "-m", "synth.cli", *argv], capture_output=True, text=True, timeout=120,
                             cwd=ROOT)
        assert res.returncode == 2 and message in res.stderr, res.stderr
        assert len(res.stderr.strip().splitlines()) == 1, res.stderr
