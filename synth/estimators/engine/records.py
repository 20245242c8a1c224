"""JSON records of runs and evaluations: atomic writes and rounding for the history."""

from __future__ import annotations

from typing import Any


def round_floats(d: Any, digits: int = 4) -> Any:
    """``d`` with every float (also inside nested dicts) rounded to ``digits`` decimals."""
    if isinstance(d, dict):
        return {k: round_floats(v, digits) for k, v in d.items()}
    return round(d, digits) if isinstance(d, float) else d
