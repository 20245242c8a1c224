"""Errors and small helpers shared by the bundled estimators (torch is imported only inside ``set_threads``)."""

from __future__ import annotations

import json
import math
import os
from typing import Any

from synth.core.errors import SynthError


class EstimatorError(SynthError):
    """An estimator cannot be built, trained or evaluated (missing weights, bad checkpoint, bad data)."""


def write_json_atomic(path: str, data: Any) -> None:
    """Write JSON to ``path`` via a temporary file and ``os.replace`` (never half-written)."""
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        json.dump(data, f, indent=2, sort_keys=False)
        f.write("\n")
    os.replace(tmp, path)


def parse_input_size(text: str) -> tuple[int, int]:
    """'128x96' -> (128, 96) as (height, width); EstimatorError otherwise."""
    try:
        h, w = (int(v) for v in str(text).lower().split("x"))
    except ValueError:
        raise EstimatorError(
            f"--input: expected HEIGHTxWIDTH in pixels such as 128x96 or 256x192, got {text!r}") from None
    if h <= 0 or w <= 0 or h % 32 or w % 32:
        raise EstimatorError(f"--input {text}: both sides must be positive multiples of 32 (MobileNetV2's stride), "
                             "e.g. 128x96, 192x144 or 256x192")
    return h, w


def set_threads(threads: int | None) -> None:
    """torch CPU threads (when given) and single-threaded OpenCV (the loaders call it per item)."""
    import torch

    if threads:
        torch.set_num_threads(int(threads))
    try:
        import cv2

        cv2.setNumThreads(1)
    except ImportError as err:
        raise EstimatorError(f"OpenCV is needed for the crops ({err}); pip install 'synth[train]'") from None


def param_groups(model, weight_decay: float) -> list[dict]:
    """AdamW parameter groups: weight decay on weights, none on norms and biases (1-D parameters)."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        (no_decay if p.ndim <= 1 or name.endswith(".bias") else decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def lr_factor(progress: float, warmup: float) -> float:
    """Linear warm-up over the first ``warmup`` fraction, then cosine from 1 to 0.05."""
    if progress < warmup:
        return 0.001 + (1 - 0.001) * progress / max(warmup, 1e-9)
    t = min(1.0, (progress - warmup) / max(1.0 - warmup, 1e-9))
    return 0.05 + 0.95 * 0.5 * (1.0 + math.cos(math.pi * t))


#: Checkpoint format -> the estimator task that wrote it (``synth train TASK`` / ``synth evaluate TASK``).
CHECKPOINT_TASKS = {"synth-keypoints2d": "keypoints2d", "synth-camera-calib": "camera", "synth-contact": "contact",
                    "synth-body-mesh": "mesh"}


def write_checkpoint(path: str, fmt: str, version: int, config: dict, state_dict: dict,
                     extra: dict | None = None) -> None:
    """Write ``{format, version, config, state_dict, ...extra}`` with ``torch.save`` atomically (temp + rename)."""
    import torch

    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f"{path}.tmp"
    torch.save({"format": fmt, "version": version, "config": config, "state_dict": state_dict, **(extra or {})}, tmp)
    os.replace(tmp, path)


def read_checkpoint(path: str, fmt: str, version: int, what: str) -> dict:
    """The checkpoint dict of a ``model.pt`` of format ``fmt`` (``what`` names it in errors, e.g. 'camera
    calibration'); EstimatorError for a missing, unreadable, other-task or other-version file, with the fix."""
    import torch

    task = CHECKPOINT_TASKS[fmt]
    if not os.path.isfile(path):
        raise EstimatorError(f"{path}: no such checkpoint; train one with "
                             f"'synth train {task} --data OUT --out RUN_DIR' and pass RUN_DIR/model.pt")
    try:
        ck = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:   # torch raises several types for a damaged or foreign file
        raise EstimatorError(f"{path}: cannot read the checkpoint ({type(err).__name__}: {err}); "
                             f"expected a model.pt written by 'synth train {task}'") from None
    found = ck.get("format") if isinstance(ck, dict) else type(ck).__name__
    if found != fmt:
        hint = (f"evaluate it with 'synth evaluate {CHECKPOINT_TASKS[found]}'" if found in CHECKPOINT_TASKS
                else f"pass a model.pt written by 'synth train {task}'")
        raise EstimatorError(f"{path}: not a synth {what} checkpoint (format {found!r}, expected {fmt!r}); {hint}")
    if ck.get("version") != version:
        raise EstimatorError(f"{path}: checkpoint version {ck.get('version')}, this synth reads "
                             f"{version}; retrain with this version")
    return ck


def add_training_arguments(s, *, epochs: int, batch: int) -> None:
    """The options every ``synth train TASK`` shares (data, validation, run folder, schedule, threads, seed,
    ImageNet init); each task adds its own beside them."""
    s.add_argument("--data", required=True, action="append", help="training dataset folder (repeat for several)")
    s.add_argument("--val", action="append", help="validation dataset folder, evaluated after every epoch")
    s.add_argument("--out", required=True, help="run folder: model.pt, metrics/epoch_NNN.json, history.json")
    s.add_argument("--epochs", type=int, default=epochs)
    s.add_argument("--batch", type=int, default=batch)
    s.add_argument("--lr", type=float, default=1e-3, help="AdamW peak learning rate (warm-up, cosine decay)")
    s.add_argument("--weight-decay", type=float, default=0.05)
    s.add_argument("--max-steps", type=int, help="stop after this many optimiser steps")
    s.add_argument("--max-minutes", type=float, help="stop after this much training time (schedule follows it)")
    s.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--no-pretrained", action="store_true",
                   help="start from random weights instead of ImageNet (no weights package needed)")


def add_evaluation_arguments(s, task: str, *, batch: int) -> None:
    """The options every ``synth evaluate TASK`` shares (checkpoint, data, output, batch, threads)."""
    s.add_argument("--model", required=True, help=f"RUN_DIR/model.pt written by 'synth train {task}'")
    s.add_argument("--data", required=True, action="append", help="dataset folder (repeat for several)")
    s.add_argument("--out", help="write the metrics JSON here")
    s.add_argument("--json", action="store_true", help="also print the full metrics JSON")
    s.add_argument("--batch", type=int, default=batch)
    s.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")


def epoch_record(epoch: int, step: int, losses: list[float], n_img: int, ep_s: float) -> dict[str, Any]:
    """The per-epoch summary every training loop writes (``metrics/epoch_NNN.json``, before validation)."""
    import numpy as np

    return {"epoch": epoch, "steps": step, "train_loss": float(np.mean(losses)), "train_images": n_img,
            "train_seconds": round(ep_s, 2), "train_images_per_s": round(n_img / max(ep_s, 1e-9), 2)}


def save_epoch(out_dir: str, rec: dict[str, Any], history: dict[str, Any]) -> None:
    """Write ``RUN/metrics/epoch_NNN.json`` and ``RUN/history.json`` atomically (after the checkpoint)."""
    write_json_atomic(os.path.join(out_dir, "metrics", f"epoch_{rec['epoch']:03d}.json"), rec)
    write_json_atomic(os.path.join(out_dir, "history.json"), history)


def finish_history(history: dict[str, Any], out_dir: str, *, step: int, train_seconds: float, images_seen: int,
                   wall_seconds: float, time_budget_s: float | None, max_steps: int | None) -> dict[str, Any]:
    """Totals of a finished run, written to ``RUN/history.json``; EstimatorError when no epoch ran."""
    if not history["epochs"]:
        raise EstimatorError(f"training stopped before the first step (budget {time_budget_s} s, "
                             f"max_steps {max_steps}); give it more time or steps")
    history["total_steps"] = step
    history["train_seconds"] = round(train_seconds, 2)
    history["train_images_per_s"] = round(images_seen / max(train_seconds, 1e-9), 2)
    history["wall_seconds"] = round(wall_seconds, 2)
    write_json_atomic(os.path.join(out_dir, "history.json"), history)
    return history
