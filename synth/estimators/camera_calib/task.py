"""Single-image camera calibration (SPEC's CamCalib task, Kocabas et al. 2021): vertical fov, pitch and roll.

    run = train_camera("out/train", "runs/cam", val="out/val", epochs=30)
    result = evaluate_camera("runs/cam/model.pt", "out/val")

Targets and conventions: ``synth.estimators.camera_calib.geometry`` (vfov from K's fy and the image height; pitch
positive looking up; roll positive when the camera's right side dips below the horizon). Only pinhole views
are used (fisheye views are skipped and counted).

Model: the whole image letterboxed to S x S (default 160; isotropic, so the content's fov is unchanged),
MobileNetV2 (ImageNet init, torchvision layout, ``synth.estimators.engine.backbone``) to stride-32 features
(1280 x S/32 x S/32). Head: the global average pool (1280) concatenated with a small position-keeping branch
(1x1 conv to 32 channels + BN + ReLU, flattened: 32 x 5 x 5 at 160 px; where the horizon lies in the image is
the main pitch cue, and a pool alone discards position), then Linear -> 256 -> ReLU -> Dropout 0.1 ->
Linear -> 3. It regresses normalised targets ``((log tan(vfov / 2) - c0) / s0, (pitch - c1) / s1,
(roll - c2) / s2)`` with the training set's means c and standard deviations s (floored at 0.05, 5 deg, 5 deg):
log tan(vfov / 2) = log(H / 2) - log f, so its error is the relative focal error. Loss: smooth L1 (Huber,
beta 0.5) summed over the three targets. SPEC instead classifies into bins and takes the softmax
expectation; plain robust regression is simpler and, with synth's exact labels and unimodal targets,
needs no bin design. The last layer starts at zero, so the untrained model predicts the training mean.

Training: ``synth.estimators.engine.fit`` (AdamW without decay on norms and biases, warm-up + cosine, epochs /
steps / time budget, per-epoch atomic ``model.pt``, ``metrics/epoch_NNN.json``, ``history.json``), augmentation
in ``camera_calib.data``. Evaluation: the plain and the mirrored image (roll negated) averaged (flip test);
``camera_calib.metrics.calibration_errors`` of the model and of the constant baseline that predicts the training
set's mean (vfov, pitch, roll), which the checkpoint stores.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict
from functools import partial
from typing import Any

import numpy as np
import torch

from synth.estimators.camera_calib.data import (NO_AUGMENTATION, CalibAugmentation, CameraCalibDataset, CameraSamples,
                                                load_camera_samples, make_calib_input)
from synth.estimators.camera_calib.metrics import calibration_errors
from synth.estimators.camera_calib.model import (CameraCalibConfig, CameraCalibNet, calib_loss, decode_outputs,
                                                 encode_targets, target_statistics)
from synth.estimators.engine.backbone import rebuild_initial
from synth.estimators.engine.checkpoint import CheckpointFormat
from synth.estimators.engine.device import device_record, resolve_device
from synth.estimators.engine.fit import Schedule, begin_run, collate, fit, run_description, set_threads
from synth.core.atomic import write_json_atomic
from synth.estimators.engine.records import round_floats

CHECKPOINT = CheckpointFormat("synth-camera-calib", 1, "camera calibration")


def save_checkpoint(path: str, model: CameraCalibNet, extra: dict | None = None) -> None:
    """Write ``{format, version, config, state_dict, ...extra}`` atomically."""
    CHECKPOINT.save(path, model, extra)


def load_checkpoint(path: str, device: str = "cpu") -> tuple[CameraCalibNet, dict]:
    """The model of a ``model.pt`` written by ``train_camera`` (eval mode, on the resolved ``device``) and the
    checkpoint's metadata."""
    return CHECKPOINT.load(path, lambda ck: CameraCalibNet(CameraCalibConfig.from_dict(ck["config"])), device)


@torch.no_grad()
def predict_samples(model: CameraCalibNet, data: CameraSamples, *, batch_size: int = 64,
                    flip_test: bool = True) -> np.ndarray:
    """(N, 3) float64 (vfov_deg, pitch_deg, roll_deg) of every view; with ``flip_test`` the mirrored image's
    prediction (roll negated) is averaged with the plain one."""
    model.eval()
    s = model.config.input_size
    pred = np.zeros((len(data), 3))
    for start in range(0, len(data), batch_size):
        idx = range(start, min(len(data), start + batch_size))
        acc = np.zeros((len(idx), 3))
        for flip in ([False, True] if flip_test else [False]):
            x = np.stack([make_calib_input(data.images[i], s, flip=flip) for i in idx])
            p = decode_outputs(model(model.normalize(torch.from_numpy(x))), model.config).cpu().numpy()
            if flip:
                p[:, 2] = -p[:, 2]
            acc += p
        pred[start:start + len(idx)] = acc / (2 if flip_test else 1)
    return pred


def baseline_errors(config: CameraCalibConfig, data: CameraSamples) -> dict[str, float]:
    """Errors of the constant prediction ``config.baseline_deg`` (the training mean) on ``data``."""
    const = np.broadcast_to(np.asarray(config.baseline_deg, np.float64), data.targets_deg.shape)
    return calibration_errors(const, data.targets_deg)


def evaluate_model(model: CameraCalibNet, data: CameraSamples, *, batch_size: int = 64,
                   flip_test: bool = True) -> dict[str, Any]:
    """``calibration_errors`` of ``model`` on loaded views, plus ``flip_test`` and prediction speed."""
    t0 = time.perf_counter()
    pred = predict_samples(model, data, batch_size=batch_size, flip_test=flip_test)
    seconds = time.perf_counter() - t0
    out: dict[str, Any] = calibration_errors(pred, data.targets_deg)
    out["flip_test"] = flip_test
    out["predict_images_per_s"] = round(len(pred) * (2 if flip_test else 1) / max(seconds, 1e-9), 2)
    return out


def train_camera(data: str | list[str], out_dir: str, *, val: str | list[str] | None = None, epochs: int = 30,
                 batch_size: int = 32, input_size: int = 160, lr: float = 1e-3, weight_decay: float = 0.05,
                 pretrained: bool = True, augment: bool = True, rotation_deg: float = 8.0,
                 threads: int | None = None, seed: int = 0, max_steps: int | None = None,
                 time_budget_s: float | None = None, warmup: float = 0.05, flip_test: bool = True,
                 log_every: int = 20, device: str = "auto") -> dict[str, Any]:
    """Train on ``data`` (one or more dataset folders), write ``out_dir``; returns the run summary.

    Stops after ``epochs`` epochs, ``max_steps`` optimiser steps or ``time_budget_s`` seconds of training
    (validation not counted), whichever comes first; the learning-rate schedule follows the nearest limit.
    """
    dev = resolve_device(device)   # before the data is read: a missing GPU fails at once
    begin_run(threads, seed)
    t_load = time.perf_counter()
    train_data = load_camera_samples(data)
    val_data = load_camera_samples(val) if val else None
    load_s = time.perf_counter() - t_load
    center, scale, baseline = target_statistics(train_data.targets_deg)
    config = CameraCalibConfig(input_size=int(input_size), target_center=center, target_scale=scale,
                               baseline_deg=baseline, pretrained="imagenet" if pretrained else "none")
    model = CameraCalibNet(config)
    if pretrained:
        model.load_imagenet()
    aug = CalibAugmentation(rotation_deg=rotation_deg) if augment else NO_AUGMENTATION
    ds = CameraCalibDataset(train_data, config.input_size, train=True, augmentation=aug, seed=seed)
    schedule = Schedule(epochs=epochs, batch_size=batch_size, lr=lr, weight_decay=weight_decay, warmup=warmup,
                        seed=seed, max_steps=max_steps, time_budget_s=time_budget_s, log_every=log_every,
                        device=dev)
    targets = train_data.targets_deg
    history = run_description(
        config, train_data, val_data,
        train_views=len(train_data), train_views_skipped=train_data.skipped,
        val_views=len(val_data) if val_data else 0, val_views_skipped=val_data.skipped if val_data else {},
        hyper=schedule.hyper(augment=augment, augmentation=asdict(aug)),
        train_targets_deg={"mean": list(baseline), "std": [float(v) for v in targets.std(0)],
                           "min": [float(v) for v in targets.min(0)], "max": [float(v) for v in targets.max(0)]},
        val_baseline=round_floats(baseline_errors(config, val_data)) if val_data else None,
        load_s=round(load_s, 2))

    def step_loss(net: CameraCalibNet, batch: dict[str, Any]) -> tuple[torch.Tensor, list[float]]:
        return calib_loss(net(net.normalize(batch["image"])), encode_targets(batch["targets"], config)), []

    return fit(model, ds, partial(collate, tensor_keys=("image", "targets")), step_loss, CHECKPOINT, out_dir,
               schedule, history,
               validate=(lambda net: evaluate_model(net, val_data, flip_test=flip_test)) if val_data else None,
               describe_val=lambda v: (f"|err| vfov {v['vfov_mean_abs_deg']:.2f} pitch {v['pitch_mean_abs_deg']:.2f} "
                                       f"roll {v['roll_mean_abs_deg']:.2f} deg, focal rel "
                                       f"{v['focal_rel_median']:.3f}"))


def evaluate_camera(model_path: str, data: str | list[str], *, out: str | None = None, batch_size: int = 64,
                    flip_test: bool = True, threads: int | None = None, device: str = "auto") -> dict[str, Any]:
    """Evaluate a checkpoint on dataset folder(s): errors of the model, of its untrained initialisation (which
    predicts the training mean: its last layer starts at zero) and of the training-mean baseline; write ``out``
    (JSON)."""
    set_threads(threads)
    dev = resolve_device(device)
    model, meta = load_checkpoint(model_path, dev)
    samples = load_camera_samples(data)
    metrics = evaluate_model(model, samples, batch_size=batch_size, flip_test=flip_test)
    init = rebuild_initial(lambda: CameraCalibNet(model.config), model, meta.get("seed", 0))
    result = {"model": os.path.abspath(model_path), "epoch": meta.get("epoch"), "steps": meta.get("steps"),
              "data": samples.sources, "input_size": model.config.input_size, "views": len(samples),
              "views_skipped": samples.skipped, "train_mean_deg": dict(zip(("vfov_deg", "pitch_deg", "roll_deg"),
                                                                           model.config.baseline_deg)),
              "metrics": metrics, "initial": evaluate_model(init, samples, batch_size=batch_size, flip_test=flip_test),
              "baseline": baseline_errors(model.config, samples), **device_record(dev)}
    if out:
        write_json_atomic(out, result)
    return result
