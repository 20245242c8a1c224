"""JSON records of runs and evaluations: atomic writes and rounding for the history."""

from __future__ import annotations

import json
import os
from typing import Any


def write_json_atomic(path: str, data: Any) -> None:
    """Write JSON to ``path`` via a temporary file and ``os.replace`` (never half-written)."""
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        json.dump(data, f, indent=2, sort_keys=False)
        f.write("\n")
    os.replace(tmp, path)


def round_floats(d: Any, digits: int = 4) -> Any:
    """``d`` with every float (also inside nested dicts) rounded to ``digits`` decimals."""
    if isinstance(d, dict):
        return {k: round_floats(v, digits) for k, v in d.items()}
    return round(d, digits) if isinstance(d, float) else d
