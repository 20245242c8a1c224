"""What the renderer needs to know about how a person looks."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PersonAppearance:
    """How one person looks: per-vertex linear RGB (skin and garment regions) and roughness."""

    vertex_colors: np.ndarray  # (V, 3) float32, linear RGB in [0, 1]
    roughness: float
