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
