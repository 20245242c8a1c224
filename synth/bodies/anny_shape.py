"""Anny body shapes (phenotypes) drawn from Anny's WHO-calibrated age/sex distributions.

This re-implements ``anny.shape_distribution.SimpleShapeDistribution`` on a
numpy ``Generator`` (Anny's version draws from torch's global RNG) and adds
age ranges and a sex choice. The calibration itself is Anny's, read from the
files it ships (``anny/data/shape_calibration/{boys,girls}.pth``):

* a piecewise-linear map from age in years ("morphological age") to Anny's
  ``age`` phenotype (0 = newborn ... 1 = 110 years);
* per sex, Beta distributions of ``height``, ``weight``, ``muscle`` and
  ``proportions`` whose (alpha, beta) are piecewise-linear in the ``age``
  phenotype, fitted so that heights follow the WHO growth references.

Phenotype convention (Anny): every value is in [0, 1]; ``gender`` 0 = male,
1 = female (0.5 androgynous); the calibration of the nearer sex is used.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from synth.core.errors import BodyModelError

PHENOTYPE_NAMES: tuple[str, ...] = ("gender", "age", "muscle", "weight", "height", "proportions")
#: Informational key stored with an Anny shape: the age in years it was drawn for (not a model input).
AGE_YEARS_KEY = "age_years"
DEFAULT_ADULT_AGE_YEARS = 30.0


@functools.lru_cache(maxsize=1)
def _calibration() -> dict[str, Any]:
    import anny
    import torch

    root = Path(anny.__file__).resolve().parent / "data" / "shape_calibration"
    out: dict[str, Any] = {}
    for sex in ("boys", "girls"):
        path = root / f"{sex}.pth"
        if not path.exists():
            raise BodyModelError(f"Anny shape calibration file missing: {path}; reinstall anny==0.6.2 (pip install --force-reinstall anny==0.6.2)")
        sd = torch.load(path, weights_only=True, map_location="cpu")
        out[sex] = {
            name: {k: v.double().numpy() for k, v in sd[f"conditional_{name}_distribution"].items()}
            for name in ("height", "weight", "muscle", "proportions")
        }
        if "mapping" not in out:
            mp = sd["morphological_age_mapping"]
            out["mapping"] = (mp["morphological_age_anchors"].double().numpy(), mp["anny_age_anchors"].double().numpy())
    return out


def anny_age_from_years(age_years: float | np.ndarray) -> np.ndarray:
    """Anny ``age`` phenotype for an age in years (Anny's calibrated map; 1 y -> 0.05, 18 y -> 0.77)."""
    years, anny_age = _calibration()["mapping"]
    return np.interp(np.asarray(age_years, dtype=np.float64), years, anny_age)


def years_from_anny_age(anny_age: float | np.ndarray) -> np.ndarray:
    """Inverse of :func:`anny_age_from_years`."""
    years, anny_age_anchors = _calibration()["mapping"]
    return np.interp(np.asarray(anny_age, dtype=np.float64), anny_age_anchors, years)


def _beta_params(sex: str, name: str, anny_age: float) -> tuple[float, float]:
    d = _calibration()[sex][name]
    a = float(np.interp(anny_age, d["age_anchors"], d["alpha_anchors"]))
    b = float(np.interp(anny_age, d["age_anchors"], d["beta_anchors"]))
    return max(a, 1e-3), max(b, 1e-3)


def mean_phenotype(age_years: float = DEFAULT_ADULT_AGE_YEARS, gender: float = 0.5) -> dict[str, np.ndarray]:
    """The expected phenotype at ``age_years`` (Beta means) for ``gender`` in [0, 1]."""
    a = float(anny_age_from_years(age_years))
    sex = "boys" if gender <= 0.5 else "girls"
    out = {"gender": gender, "age": a}
    for name in ("muscle", "weight", "height", "proportions"):
        al, be = _beta_params(sex, name, a)
        out[name] = al / (al + be)
    shape = {k: np.asarray(v, dtype=np.float32) for k, v in out.items()}
    shape[AGE_YEARS_KEY] = np.asarray(age_years, dtype=np.float32)
    return shape


def _gender_value(rng: np.random.Generator, gender: Any) -> float:
    if gender is None:
        gender = "male" if rng.random() < 0.5 else "female"
    if isinstance(gender, str):
        g = gender.lower()
        if g == "male":
            return float(rng.uniform(0.0, 0.2))
        if g == "female":
            return float(rng.uniform(0.8, 1.0))
        if g in ("any", "continuous"):
            return float(rng.uniform(0.0, 1.0))
        raise BodyModelError(f"sample_shape: gender: expected 'male', 'female', 'any', a number in [0, 1] or a (low, high) range, got {gender!r}")
    if isinstance(gender, (int, float, np.floating)):
        if not 0.0 <= float(gender) <= 1.0:
            raise BodyModelError(f"sample_shape: gender: expected a number in [0, 1] (0 male, 1 female), got {gender}")
        return float(gender)
    if isinstance(gender, Sequence) and len(gender) == 2:
        lo, hi = float(gender[0]), float(gender[1])
        if not 0.0 <= lo <= hi <= 1.0:
            raise BodyModelError(f"sample_shape: gender range: expected 0 <= low <= high <= 1, got {gender}")
        return float(rng.uniform(lo, hi))
    raise BodyModelError(f"sample_shape: gender: expected 'male', 'female', 'any', a number in [0, 1] or a (low, high) range, got {gender!r}")


def sample_anny_phenotype(
    rng: np.random.Generator,
    *,
    age_range: tuple[float, float] = (1.0, 90.0),
    gender: Any = None,
    height_scale: float = 1.0,
) -> dict[str, np.ndarray]:
    """Draw one Anny phenotype.

    rng : the only source of randomness.
    age_range : (min, max) age in years, drawn uniformly; 0 <= min <= max <= 110.
    gender : None (male/female 50:50), 'male', 'female', 'any' (uniform in [0, 1],
        including androgynous bodies), a number in [0, 1] or a (low, high) range.
    height_scale : multiplies the spread of the height draw around its age/sex
        mean (1 = Anny's WHO calibration, 0 = always the mean height).

    Returns a dict of 0-d float32 arrays: the six Anny phenotypes
    (``gender, age, muscle, weight, height, proportions``, each in [0, 1]) and
    ``age_years`` (informational, the drawn age).
    """
    try:
        lo, hi = (float(age_range[0]), float(age_range[1]))
    except (TypeError, ValueError, IndexError):
        raise BodyModelError(f"sample_shape: age_range: expected (min_years, max_years), got {age_range!r}") from None
    if not 0.0 <= lo <= hi <= 110.0:
        raise BodyModelError(f"sample_shape: age_range: expected 0 <= min <= max <= 110 years, got {age_range!r}")
    age_years = float(rng.uniform(lo, hi)) if hi > lo else lo
    a = float(anny_age_from_years(age_years))
    g = _gender_value(rng, gender)
    sex = "boys" if g <= 0.5 else "girls"
    out: dict[str, float] = {"gender": g, "age": a}
    for name in ("muscle", "weight", "height", "proportions"):
        al, be = _beta_params(sex, name, a)
        x = float(rng.beta(al, be))
        if name == "height" and height_scale != 1.0:
            mean = al / (al + be)
            x = mean + height_scale * (x - mean)
        out[name] = float(np.clip(x, 0.0, 1.0))
    shape = {k: np.asarray(out[k], dtype=np.float32) for k in PHENOTYPE_NAMES}
    shape[AGE_YEARS_KEY] = np.asarray(age_years, dtype=np.float32)
    return shape
