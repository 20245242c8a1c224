"""Errors and small helpers shared by the bundled estimators (no torch here)."""

from __future__ import annotations

import json
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
