"""Numerical tolerances, named by role (one object instead of bare epsilon literals).

``TOL.zero``: a norm, angle or denominator below this is treated as exactly zero (guards divisions and
  normalisations; small-angle branches).
``TOL.degenerate``: near-degenerate geometry: parallel directions, coincident points, a computed float
  equal to another within round-off of values of order 1.
``TOL.rounding``: slack for accumulated round-off in derived quantities: unit-range checks ([0, 1] with
  a hair of margin), ``floor(duration * fps)``, lengths in metres that agree within a micrometre.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Tolerances:
    zero: float = 1e-12
    degenerate: float = 1e-9
    rounding: float = 1e-6


TOL = Tolerances()
