"""The error every bundled estimator raises for bad input (missing weights, bad checkpoint, bad data)."""

from __future__ import annotations

from synth.core.errors import SynthError


class EstimatorError(SynthError):
    """An estimator cannot be built, trained or evaluated (missing weights, bad checkpoint, bad data)."""
