"""Drawn surface materials for rooms and props (data only; the renderer builds the shader nodes).

Each kind has a palette of measured-looking linear-RGB albedos of the real material and a
roughness range; the draw picks a palette entry, jitters it by +-15 % per channel, and draws
the pattern parameters (all in metres):

- ``wood``: planks of ``plank_width_m`` with grain (wave texture) of ``scale_m``; ``secondary_color`` the grain
- ``tiles``: square tiles of ``tile_size_m`` with ``grout_m`` grout lines of ``secondary_color``
- ``carpet``: fine noise of ``scale_m`` between ``base_color`` and ``secondary_color``
- ``concrete``, ``plaster``: noise of ``scale_m`` (coarse stains + fine grain)
- ``paint``: flat colour, slight noise; ``upholstery``: fabric-like fine noise; ``metal``: metallic, smooth
"""

from __future__ import annotations

import numpy as np

from synth.core.errors import RecipeError
from synth.core.surfaces import MaterialSpec

MATERIAL_KINDS = ("wood", "tiles", "carpet", "concrete", "plaster", "paint", "upholstery", "metal")

#: linear RGB albedos per kind
PALETTES: dict[str, np.ndarray] = {
    "wood": np.array([[0.38, 0.22, 0.11], [0.55, 0.37, 0.20], [0.25, 0.13, 0.06], [0.62, 0.48, 0.32]]),
    "tiles": np.array([[0.70, 0.70, 0.68], [0.35, 0.35, 0.37], [0.55, 0.45, 0.35], [0.20, 0.30, 0.40]]),
    "carpet": np.array([[0.30, 0.25, 0.22], [0.15, 0.18, 0.30], [0.40, 0.12, 0.10], [0.35, 0.35, 0.33]]),
    "concrete": np.array([[0.40, 0.40, 0.38], [0.30, 0.30, 0.30], [0.50, 0.48, 0.44]]),
    "plaster": np.array([[0.75, 0.73, 0.68], [0.70, 0.66, 0.58], [0.80, 0.80, 0.80]]),
    "paint": np.array([[0.70, 0.70, 0.72], [0.55, 0.62, 0.50], [0.30, 0.45, 0.60], [0.75, 0.60, 0.40],
                       [0.60, 0.25, 0.20], [0.15, 0.15, 0.17]]),
    "upholstery": np.array([[0.20, 0.22, 0.30], [0.45, 0.40, 0.33], [0.15, 0.15, 0.15], [0.35, 0.12, 0.10],
                            [0.25, 0.35, 0.25]]),
    "metal": np.array([[0.55, 0.55, 0.56], [0.10, 0.10, 0.10], [0.60, 0.50, 0.35]]),
}
ROUGHNESS: dict[str, tuple[float, float]] = {
    "wood": (0.35, 0.6), "tiles": (0.1, 0.35), "carpet": (0.85, 1.0), "concrete": (0.7, 0.95),
    "plaster": (0.75, 0.95), "paint": (0.4, 0.8), "upholstery": (0.8, 1.0), "metal": (0.2, 0.45),
}


def sample_surface_material(kind: str, rng: np.random.Generator) -> MaterialSpec:
    if kind not in PALETTES:
        raise RecipeError(f"material kind {kind!r} is unknown; expected any of {list(MATERIAL_KINDS)}")
    pal = PALETTES[kind]
    base = np.clip(pal[int(rng.integers(len(pal)))] * rng.uniform(0.85, 1.15, 3), 0.0, 1.0)
    lo, hi = ROUGHNESS[kind]
    params: dict = {"seed": float(rng.integers(0, 1000))}
    if kind == "wood":
        params.update(secondary_color=tuple((base * rng.uniform(0.55, 0.75)).tolist()),
                      scale_m=float(rng.uniform(0.05, 0.15)), plank_width_m=float(rng.uniform(0.10, 0.22)))
    elif kind == "tiles":
        grout = rng.uniform(0.3, 0.8) * np.ones(3)
        params.update(secondary_color=tuple(grout.tolist()), tile_size_m=float(rng.choice([0.2, 0.3, 0.4, 0.6])),
                      grout_m=float(rng.uniform(0.004, 0.01)))
    elif kind in ("carpet", "concrete", "plaster", "upholstery"):
        scale = {"carpet": (0.005, 0.02), "concrete": (0.2, 0.8), "plaster": (0.3, 1.0), "upholstery": (0.005, 0.02)}
        params.update(secondary_color=tuple((base * rng.uniform(0.7, 0.9)).tolist()),
                      scale_m=float(rng.uniform(*scale[kind])))
    elif kind == "paint":
        params.update(secondary_color=tuple((base * 0.95).tolist()), scale_m=0.5)
    elif kind == "metal":
        params.update(metallic=1.0)
    return MaterialSpec(kind=kind, base_color=tuple(float(c) for c in base),
                           roughness=float(rng.uniform(lo, hi)), params=params)
