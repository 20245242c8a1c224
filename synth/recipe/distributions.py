"""Distributions written in YAML, sampled in Python.

A recipe value that may vary is written as one of::

    1.5                                  # a constant
    {uniform: [0.5, 2.0]}                # uniform on [low, high]
    {normal: {mean: 1.7, std: 0.1}}      # normal; optional clip: [low, high]
    {choice: [a, b, c], weights: [2, 1, 1]}   # weighted choice (weights optional)

YAML says *what* to sample; all behaviour lives here.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Union

import numpy as np
from pydantic import BaseModel, ConfigDict, Discriminator, Field, Strict, Tag, model_validator


class _Strict(BaseModel):
    # strict: no coercion (``true`` is not 1, ``"2"`` is not 2); finite numbers only (no .nan / .inf)
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


#: a float written as a YAML number (an int is fine; a bool or a string is not)
StrictFloat = Annotated[float, Strict()]
#: a [low, high] pair; YAML gives a list, so the pair itself is not strict, its items are
FloatPair = Annotated[tuple[StrictFloat, StrictFloat], Field(strict=False)]


class Uniform(_Strict):
    uniform: FloatPair

    @model_validator(mode="after")
    def _check(self) -> "Uniform":
        lo, hi = self.uniform
        if not lo <= hi:
            raise ValueError(f"empty range: uniform [{lo}, {hi}] needs low <= high; write [{hi}, {lo}]")
        return self

    def sample(self, rng: np.random.Generator) -> float:
        lo, hi = self.uniform
        return float(rng.uniform(lo, hi)) if hi > lo else float(lo)

    def bounds(self) -> tuple[float, float]:
        return self.uniform


class NormalParams(_Strict):
    mean: float
    std: float = Field(ge=0.0)
    clip: FloatPair | None = None

    @model_validator(mode="after")
    def _check(self) -> "NormalParams":
        if self.clip is not None and not self.clip[0] <= self.clip[1]:
            raise ValueError(f"empty range: clip [{self.clip[0]}, {self.clip[1]}] needs low <= high")
        return self


class Normal(_Strict):
    normal: NormalParams

    def sample(self, rng: np.random.Generator) -> float:
        p = self.normal
        x = float(rng.normal(p.mean, p.std))
        if p.clip is not None:
            x = float(np.clip(x, p.clip[0], p.clip[1]))
        return x

    def bounds(self) -> tuple[float, float]:
        p = self.normal
        if p.clip is not None:
            return p.clip
        return (p.mean - 4 * p.std, p.mean + 4 * p.std)


class Choice(_Strict):
    choice: list[Any] = Field(min_length=1)
    weights: list[float] | None = None

    @model_validator(mode="after")
    def _check(self) -> "Choice":
        for v in self.choice:
            if isinstance(v, float) and not math.isfinite(v):
                raise ValueError(f"choice options must be finite numbers, got {v}")
            if isinstance(v, (dict, list)):
                raise ValueError(f"choice options must be plain values (numbers or names), got {type(v).__name__}")
        if self.weights is not None:
            if len(self.weights) != len(self.choice):
                raise ValueError(
                    f"choice has {len(self.choice)} options but {len(self.weights)} weights; give one weight per option")
            if any(w < 0 for w in self.weights) or sum(self.weights) <= 0:
                raise ValueError(f"weights must be >= 0 with a positive sum, got {self.weights}")
        return self

    def sample(self, rng: np.random.Generator) -> Any:
        p = None
        if self.weights is not None:
            w = np.asarray(self.weights, dtype=np.float64)
            p = w / w.sum()
        return self.choice[int(rng.choice(len(self.choice), p=p))]

    def bounds(self) -> tuple[float, float]:
        vals = [v for v in self.choice if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if len(vals) != len(self.choice):
            raise ValueError(f"expected numbers to choose from, got {self.choice!r}"[:200])
        return (float(min(vals)), float(max(vals)))


_DIST_KEYS = {"uniform": "Uniform", "normal": "Normal", "choice": "Choice"}


def _dist_kind(value: Any) -> str | None:
    """Which branch a YAML value means: a mapping by its distribution key, anything else a constant.

    Validating only that branch makes an error name the one problem (``empty range: ...``) instead of
    every branch's complaint."""
    if isinstance(value, dict):
        return next((tag for key, tag in _DIST_KEYS.items() if key in value), None)
    if isinstance(value, (Uniform, Normal, Choice)):
        return type(value).__name__
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None   # 'true' is not a number; a string is not either
    return "float"


NumberDist = Annotated[
    Union[Annotated[float, Tag("float")], Annotated[Uniform, Tag("Uniform")], Annotated[Normal, Tag("Normal")],
          Annotated[Choice, Tag("Choice")]],
    Discriminator(_dist_kind, custom_error_type="distribution",
                  custom_error_message="expected a number or a distribution: {uniform: [low, high]}, "
                                       "{normal: {mean: M, std: S}} or {choice: [a, b], weights: [w1, w2]}"),
]
"""A real-valued distribution (or constant)."""


def sample_value(dist: Any, rng: np.random.Generator) -> Any:
    """Draw from a distribution, or return a constant unchanged."""
    if isinstance(dist, (Uniform, Normal, Choice)):
        return dist.sample(rng)
    return dist


def dist_bounds(dist: Any) -> tuple[float, float]:
    """(low, high) a distribution can produce (normal: clip, or mean +- 4 std)."""
    if isinstance(dist, (Uniform, Normal, Choice)):
        return dist.bounds()
    return (float(dist), float(dist))
