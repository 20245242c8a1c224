"""Single-image camera calibration (SPEC's CamCalib task, Kocabas et al. 2021): vertical fov, pitch and roll.

    run = train_camera("out/train", "runs/cam", val="out/val", epochs=30)
    result = evaluate_camera("runs/cam/model.pt", "out/val")

Targets and conventions: ``synth.estimators.camera_geometry`` (vfov from K's fy and the image height; pitch
positive looking up; roll positive when the camera's right side dips below the horizon). Only pinhole views
are used (fisheye views are skipped and counted).

Model: the whole image letterboxed to S x S (default 160; isotropic, so the content's fov is unchanged),
MobileNetV2 (ImageNet init, torchvision layout, ``synth.estimators.model``) to stride-32 features
(1280 x S/32 x S/32). Head: the global average pool (1280) concatenated with a small position-keeping branch
(1x1 conv to 32 channels + BN + ReLU, flattened: 32 x 5 x 5 at 160 px; where the horizon lies in the image is
the main pitch cue, and a pool alone discards position), then Linear -> 256 -> ReLU -> Dropout 0.1 ->
Linear -> 3. It regresses normalised targets ``((log tan(vfov / 2) - c0) / s0, (pitch - c1) / s1,
(roll - c2) / s2)`` with the training set's means c and standard deviations s (floored at 0.05, 5 deg, 5 deg):
log tan(vfov / 2) = log(H / 2) - log f, so its error is the relative focal error. Loss: smooth L1 (Huber,
beta 0.5) summed over the three targets. SPEC instead classifies into bins and takes the softmax
expectation; plain robust regression is simpler and, with synth's exact labels and unimodal targets,
needs no bin design. The last layer starts at zero, so the untrained model predicts the training mean.

Training: as ``keypoints2d`` (AdamW without decay on norms and biases, warm-up + cosine, epochs / steps /
time budget, per-epoch atomic ``model.pt``, ``metrics/epoch_NNN.json``, ``history.json``), augmentation in
``camera_data``. Evaluation: the plain and the mirrored image (roll negated) averaged (flip test);
``camera_geometry.calibration_errors`` of the model and of the constant baseline that predicts the training
set's mean (vfov, pitch, roll), which the checkpoint stores.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from synth.estimators.camera_data import (NO_AUGMENTATION, CalibAugmentation, CameraCalibDataset, CameraSamples,
                                          load_camera_samples)
from synth.estimators.camera_geometry import calibration_errors
from synth.estimators.common import (EstimatorError, epoch_record, finish_history, lr_factor, param_groups,
                                     read_checkpoint, save_epoch, set_threads, write_checkpoint, write_json_atomic)
from synth.estimators.model import MobileNetV2, load_imagenet_state_dict

log = logging.getLogger(__name__)

CHECKPOINT_FORMAT = "synth-camera-calib"
CHECKPOINT_VERSION = 1
#: Lower bounds of the target normalisation scales: log tan(vfov / 2), pitch (deg), roll (deg).
TARGET_SCALE_FLOOR = (0.05, 5.0, 5.0)


@dataclass
class CameraCalibConfig:
    """What a checkpoint needs to rebuild and use the model (angles in degrees)."""

    input_size: int = 160
    hidden_dims: int = 256
    spatial_channels: int = 32
    #: normalisation of (log tan(vfov / 2), pitch_deg, roll_deg): training means and (floored) std devs
    target_center: tuple[float, float, float] = (-0.45, 0.0, 0.0)
    target_scale: tuple[float, float, float] = (0.3, 10.0, 10.0)
    #: the constant baseline: training-set mean (vfov_deg, pitch_deg, roll_deg)
    baseline_deg: tuple[float, float, float] = (50.0, 0.0, 0.0)
    mean_rgb: tuple[float, float, float] = (0.485, 0.456, 0.406)
    std_rgb: tuple[float, float, float] = (0.229, 0.224, 0.225)
    pretrained: str = "imagenet"

    def to_dict(self) -> dict:
        d = asdict(self)
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in d.items()}

    @classmethod
    def from_dict(cls, d: dict) -> "CameraCalibConfig":
        return cls(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in d.items()})


def encode_targets(targets_deg: torch.Tensor, config: CameraCalibConfig) -> torch.Tensor:
    """(B, 3) (vfov_deg, pitch_deg, roll_deg) -> (B, 3) normalised regression targets."""
    t = targets_deg.to(torch.float64)
    raw = torch.stack([torch.log(torch.tan(torch.deg2rad(t[:, 0]) / 2)), t[:, 1], t[:, 2]], dim=1)
    center = torch.tensor(config.target_center, dtype=torch.float64)
    scale = torch.tensor(config.target_scale, dtype=torch.float64)
    return ((raw - center) / scale).to(torch.float32)


def decode_outputs(out: torch.Tensor, config: CameraCalibConfig) -> torch.Tensor:
    """(B, 3) normalised network outputs -> (B, 3) float64 (vfov_deg, pitch_deg, roll_deg)."""
    center = torch.tensor(config.target_center, dtype=torch.float64)
    scale = torch.tensor(config.target_scale, dtype=torch.float64)
    raw = out.to(torch.float64) * scale + center
    vfov = torch.rad2deg(2 * torch.atan(torch.exp(raw[:, 0])))
    return torch.stack([vfov, raw[:, 1], raw[:, 2]], dim=1)


def target_statistics(targets_deg: np.ndarray) -> tuple[tuple[float, ...], tuple[float, ...], tuple[float, ...]]:
    """(center, scale, baseline_deg) of (N, 3) training targets in degrees (see ``CameraCalibConfig``)."""
    t = np.asarray(targets_deg, np.float64)
    raw = np.stack([np.log(np.tan(np.radians(t[:, 0]) / 2)), t[:, 1], t[:, 2]], axis=1)
    center = tuple(float(v) for v in raw.mean(axis=0))
    scale = tuple(float(max(s, f)) for s, f in zip(raw.std(axis=0), TARGET_SCALE_FLOOR))
    baseline = tuple(float(v) for v in t.mean(axis=0))
    return center, scale, baseline


class CameraCalibNet(nn.Module):
    """MobileNetV2 + pooled-and-spatial regression head. forward(x (B, 3, S, S)) -> (B, 3) normalised targets."""

    def __init__(self, config: CameraCalibConfig):
        super().__init__()
        s = int(config.input_size)
        if s <= 0 or s % 32:
            raise EstimatorError(f"input size {s}: expected a positive multiple of 32 (MobileNetV2's stride), "
                                 "e.g. 128, 160 or 224")
        self.config = config
        self.backbone = MobileNetV2()
        del self.backbone.classifier
        c = MobileNetV2.out_channels
        g = s // 32
        self.spatial = nn.Sequential(nn.Conv2d(c, config.spatial_channels, 1, bias=False),
                                     nn.BatchNorm2d(config.spatial_channels), nn.ReLU(inplace=True))
        self.head = nn.Sequential(nn.Linear(c + config.spatial_channels * g * g, config.hidden_dims),
                                  nn.ReLU(inplace=True), nn.Dropout(0.1), nn.Linear(config.hidden_dims, 3))
        nn.init.zeros_(self.head[-1].weight)   # start at the training mean
        nn.init.zeros_(self.head[-1].bias)
        self.register_buffer("mean", torch.tensor(config.mean_rgb).view(1, 3, 1, 1) * 255.0, persistent=False)
        self.register_buffer("std", torch.tensor(config.std_rgb).view(1, 3, 1, 1) * 255.0, persistent=False)

    def load_imagenet(self, path: str | None = None) -> None:
        """Initialise the backbone from torchvision's ImageNet checkpoint (strict: every tensor must match)."""
        full = MobileNetV2()
        full.load_state_dict(load_imagenet_state_dict(path), strict=True)
        self.backbone.features.load_state_dict(full.features.state_dict(), strict=True)

    def normalize(self, images_uint8: torch.Tensor) -> torch.Tensor:
        """(B, S, S, 3) uint8 RGB -> (B, 3, S, S) float32, ImageNet-normalised."""
        return (images_uint8.permute(0, 3, 1, 2).float() - self.mean) / self.std

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.backbone.forward_features(x)                       # (B, 1280, S/32, S/32)
        pooled = F.adaptive_avg_pool2d(f, 1).flatten(1)
        return self.head(torch.cat([pooled, self.spatial(f).flatten(1)], dim=1))


def calib_loss(out: torch.Tensor, targets_norm: torch.Tensor, beta: float = 0.5) -> torch.Tensor:
    """Smooth L1 of (B, 3) outputs against (B, 3) normalised targets, summed over targets, mean over the batch."""
    return F.smooth_l1_loss(out, targets_norm, beta=beta, reduction="none").sum(dim=1).mean()


def save_checkpoint(path: str, model: CameraCalibNet, extra: dict | None = None) -> None:
    """Write ``{format, version, config, state_dict, ...extra}`` atomically."""
    write_checkpoint(path, CHECKPOINT_FORMAT, CHECKPOINT_VERSION, model.config.to_dict(), model.state_dict(), extra)


def load_checkpoint(path: str) -> tuple[CameraCalibNet, dict]:
    """The model of a ``model.pt`` written by ``train_camera`` (eval mode) and the checkpoint's metadata."""
    ck = read_checkpoint(path, CHECKPOINT_FORMAT, CHECKPOINT_VERSION, "camera calibration")
    model = CameraCalibNet(CameraCalibConfig.from_dict(ck["config"]))
    model.load_state_dict(ck["state_dict"], strict=True)
    model.eval()
    return model, {k: v for k, v in ck.items() if k != "state_dict"}


@torch.no_grad()
def predict_samples(model: CameraCalibNet, data: CameraSamples, *, batch_size: int = 64,
                    flip_test: bool = True) -> np.ndarray:
    """(N, 3) float64 (vfov_deg, pitch_deg, roll_deg) of every view; with ``flip_test`` the mirrored image's
    prediction (roll negated) is averaged with the plain one."""
    from synth.estimators.camera_data import make_calib_input

    model.eval()
    s = model.config.input_size
    pred = np.zeros((len(data), 3))
    for start in range(0, len(data), batch_size):
        idx = range(start, min(len(data), start + batch_size))
        acc = np.zeros((len(idx), 3))
        for flip in ([False, True] if flip_test else [False]):
            x = np.stack([make_calib_input(data.images[i], s, flip=flip) for i in idx])
            p = decode_outputs(model(model.normalize(torch.from_numpy(x))), model.config).numpy()
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


def _collate(items: list[dict]) -> dict[str, Any]:
    return {"image": torch.from_numpy(np.stack([it["image"] for it in items])),
            "targets": torch.from_numpy(np.stack([it["targets"] for it in items])),
            "index": np.array([it["index"] for it in items])}


def _clear_epoch_files(out_dir: str) -> None:
    stale = os.path.join(out_dir, "metrics")
    if os.path.isdir(stale):   # a run folder is overwritten: drop the previous run's per-epoch files
        for name in os.listdir(stale):
            if name.startswith("epoch_") and name.endswith(".json"):
                os.remove(os.path.join(stale, name))


def _round(d: dict[str, Any], digits: int = 4) -> dict[str, Any]:
    return {k: (round(v, digits) if isinstance(v, float) else v) for k, v in d.items()}


def train_camera(data: str | list[str], out_dir: str, *, val: str | list[str] | None = None, epochs: int = 30,
                 batch_size: int = 32, input_size: int = 160, lr: float = 1e-3, weight_decay: float = 0.05,
                 pretrained: bool = True, augment: bool = True, rotation_deg: float = 8.0,
                 threads: int | None = None, seed: int = 0, max_steps: int | None = None,
                 time_budget_s: float | None = None, warmup: float = 0.05, flip_test: bool = True,
                 log_every: int = 20) -> dict[str, Any]:
    """Train on ``data`` (one or more dataset folders), write ``out_dir``; returns the run summary.

    Stops after ``epochs`` epochs, ``max_steps`` optimiser steps or ``time_budget_s`` seconds of training
    (validation not counted), whichever comes first; the learning-rate schedule follows the nearest limit.
    """
    set_threads(threads)
    torch.manual_seed(seed)
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
    loader = torch.utils.data.DataLoader(ds, batch_size=batch_size, shuffle=True, drop_last=len(ds) >= batch_size,
                                         collate_fn=_collate, num_workers=0,
                                         generator=torch.Generator().manual_seed(seed))
    steps_per_epoch = len(loader)
    planned = epochs * steps_per_epoch if max_steps is None else min(max_steps, epochs * steps_per_epoch)
    opt = torch.optim.AdamW(param_groups(model, weight_decay), lr=lr, betas=(0.9, 0.999))
    os.makedirs(out_dir, exist_ok=True)
    _clear_epoch_files(out_dir)
    history: dict[str, Any] = {
        "config": config.to_dict(), "train_data": train_data.sources,
        "val_data": val_data.sources if val_data else None,
        "train_views": len(train_data), "train_views_skipped": train_data.skipped,
        "val_views": len(val_data) if val_data else 0, "val_views_skipped": val_data.skipped if val_data else {},
        "hyper": {"epochs": epochs, "batch_size": batch_size, "lr": lr, "weight_decay": weight_decay,
                  "augment": augment, "augmentation": asdict(aug), "seed": seed, "max_steps": max_steps,
                  "time_budget_s": time_budget_s, "threads": torch.get_num_threads(), "warmup": warmup},
        "train_targets_deg": {"mean": list(baseline), "std": [float(v) for v in train_data.targets_deg.std(0)],
                              "min": [float(v) for v in train_data.targets_deg.min(0)],
                              "max": [float(v) for v in train_data.targets_deg.max(0)]},
        "val_baseline": _round(baseline_errors(config, val_data)) if val_data else None,
        "load_s": round(load_s, 2), "epochs": [], "steps": [],
    }
    log.info("training on %d pinhole views, %d steps/epoch, %d threads", len(train_data), steps_per_epoch,
             torch.get_num_threads())
    step, train_seconds, images_seen, stop = 0, 0.0, 0, False
    t_train = time.perf_counter()
    for epoch in range(1, epochs + 1):
        ds.set_epoch(epoch)
        model.train()
        t_ep = time.perf_counter()
        losses, n_img = [], 0
        for batch in loader:
            elapsed = train_seconds + (time.perf_counter() - t_ep)   # training time, validation excluded
            progress = step / max(planned, 1)
            if time_budget_s:
                progress = max(progress, elapsed / time_budget_s)
            if progress >= 1.0:
                stop = True
                break
            for g in opt.param_groups:
                g["lr"] = lr * lr_factor(progress, warmup)
            out = model(model.normalize(batch["image"]))
            loss = calib_loss(out, encode_targets(batch["targets"], config))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            n_img += len(batch["index"])
            losses.append(float(loss.detach()))
            history["steps"].append([step, round(losses[-1], 6), round(opt.param_groups[0]["lr"], 8)])
            if log_every and step % log_every == 0:
                log.info("epoch %d step %d loss %.5f lr %.2e", epoch, step, losses[-1], opt.param_groups[0]["lr"])
        ep_s = time.perf_counter() - t_ep
        train_seconds += ep_s
        images_seen += n_img
        if not losses:
            break
        rec = epoch_record(epoch, step, losses, n_img, ep_s)
        if val_data is not None:
            t_v = time.perf_counter()
            rec["val"] = evaluate_model(model, val_data, flip_test=flip_test)
            rec["val_seconds"] = round(time.perf_counter() - t_v, 2)
            v = rec["val"]
            log.info("epoch %d: loss %.5f, val |err| vfov %.2f pitch %.2f roll %.2f deg, focal rel %.3f", epoch,
                     rec["train_loss"], v["vfov_mean_abs_deg"], v["pitch_mean_abs_deg"], v["roll_mean_abs_deg"],
                     v["focal_rel_median"])
        else:
            log.info("epoch %d: loss %.5f", epoch, rec["train_loss"])
        history["epochs"].append(rec)
        save_checkpoint(os.path.join(out_dir, "model.pt"), model, {"epoch": epoch, "steps": step})
        save_epoch(out_dir, rec, history)
        if stop:
            break
    return finish_history(history, out_dir, step=step, train_seconds=train_seconds, images_seen=images_seen,
                          wall_seconds=time.perf_counter() - t_train, time_budget_s=time_budget_s,
                          max_steps=max_steps)


def evaluate_camera(model_path: str, data: str | list[str], *, out: str | None = None, batch_size: int = 64,
                    flip_test: bool = True, threads: int | None = None) -> dict[str, Any]:
    """Evaluate a checkpoint on dataset folder(s): model and training-mean baseline errors; write ``out`` (JSON)."""
    set_threads(threads)
    model, meta = load_checkpoint(model_path)
    samples = load_camera_samples(data)
    metrics = evaluate_model(model, samples, batch_size=batch_size, flip_test=flip_test)
    result = {"model": os.path.abspath(model_path), "epoch": meta.get("epoch"), "steps": meta.get("steps"),
              "data": samples.sources, "input_size": model.config.input_size, "views": len(samples),
              "views_skipped": samples.skipped, "train_mean_deg": dict(zip(("vfov_deg", "pitch_deg", "roll_deg"),
                                                                           model.config.baseline_deg)),
              "metrics": metrics, "baseline": baseline_errors(model.config, samples)}
    if out:
        write_json_atomic(out, result)
    return result
