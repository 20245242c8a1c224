"""How garments look: a fabric pattern drawn per garment and painted as per-vertex colour.

Patterns are evaluated on the garment's rest-pose positions (so they move with
the cloth): ``plain`` (slight fibre unevenness), ``heather`` (knit: fine
mottling), ``denim`` (blue-grey twill diagonal), ``stripes`` (horizontal bands)
and ``checks`` (two crossing band sets). Garment colours come from the person's
drawn ``Outfit`` (top, bottoms, shoes, hair); the pattern's secondary colour is
a drawn shade of it. Finer procedural fabric shaders belong to the renderer's
material builders; these vertex colours are what every renderer can draw.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from synth.clothing.appearance import Outfit, compute_body_regions, compute_garment_masks
from synth.clothing.garment import Garment
from synth.clothing.palettes import PUPIL_LINEAR, SCLERA_LINEAR, hex_to_linear

PATTERNS = ("plain", "heather", "denim", "stripes", "checks")
#: segment -> pattern weights (plain, heather, denim, stripes, checks)
_PATTERN_WEIGHTS = {
    "top": (0.45, 0.2, 0.0, 0.2, 0.15), "dress": (0.55, 0.1, 0.0, 0.2, 0.15),
    "bottom": (0.45, 0.05, 0.45, 0.0, 0.05), "shoes": (1.0, 0, 0, 0, 0), "hair": (1.0, 0, 0, 0, 0),
    "hat": (1.0, 0, 0, 0, 0),
}
SOCK_COLOURS = ("#f0f0f0", "#1c1c1c", "#808080", "#1f2a44")
DEFAULT_SHOE = "#2b2b2b"
DEFAULT_HAIR = "#3b2a1e"


def sample_look(spec: Any, rng: np.random.Generator) -> dict[str, Any]:
    """Draw a garment's pattern: {'pattern', 'scale_m', 'contrast', 'seed', 'sock_colour'}."""
    from synth.clothing.makehuman import MAKEHUMAN_CLASS
    from synth.clothing.procedural import GARMENT_CLASS

    if spec.source == "makehuman":
        segment = MAKEHUMAN_CLASS.get(_makehuman_kind(spec.kind), ("top", 0))[0]
    elif spec.kind in GARMENT_CLASS:
        segment = GARMENT_CLASS[spec.kind][0]
    else:
        segment = "hair"
    w = np.asarray(_PATTERN_WEIGHTS.get(segment, _PATTERN_WEIGHTS["top"]), dtype=np.float64)
    pattern = PATTERNS[int(rng.choice(len(PATTERNS), p=w / w.sum()))]
    return {"pattern": pattern, "scale_m": float(rng.uniform(0.01, 0.05)), "contrast": float(rng.uniform(0.25, 0.6)),
            "seed": int(rng.integers(0, 2**31 - 1)), "sock_colour": SOCK_COLOURS[int(rng.integers(len(SOCK_COLOURS)))]}


def _makehuman_kind(asset_id: str) -> str:
    n = asset_id.removeprefix("makehuman_")
    if n.startswith("shoes"):
        return "shoes"
    if n.startswith("fedora"):
        return "hat"
    if n.startswith("eyebrow"):
        return "eyebrows"
    if n.endswith(("suit01", "suit02", "suit03", "suit04", "suit05", "suit06")):
        return "outfit"
    return "hair"


def garment_base_color(garment: Garment, outfit: Outfit, look: dict[str, Any]) -> np.ndarray:
    """(3,) linear RGB of a garment from the person's outfit colours."""
    seg = garment.segment
    if garment.name == "socks":
        return hex_to_linear(look.get("sock_colour", SOCK_COLOURS[0]))
    if seg in ("top", "dress"):
        return np.asarray(outfit.top_rgb, np.float64)
    if seg == "bottom":
        if look.get("pattern") == "denim":
            return hex_to_linear("#3b5b7d") * (0.6 + 0.8 * np.asarray(outfit.bottom_rgb).mean())
        return np.asarray(outfit.bottom_rgb, np.float64)
    if seg == "shoes":
        return np.asarray(outfit.shoe_rgb if outfit.shoe_rgb is not None else hex_to_linear(DEFAULT_SHOE))
    if seg == "hat":
        return np.asarray(outfit.bottom_rgb, np.float64) * 0.6
    return np.asarray(outfit.hair_rgb if outfit.hair_rgb is not None else hex_to_linear(DEFAULT_HAIR))


def compute_garment_colors(rest_positions: np.ndarray, base_rgb: np.ndarray, look: dict[str, Any]) -> np.ndarray:
    """(N, 3) float32 linear RGB of a garment's vertices from their rest positions (metres) and its look."""
    p = np.asarray(rest_positions, np.float64)
    base = np.clip(np.asarray(base_rgb, np.float64), 0.0, 1.0)
    rng = np.random.default_rng(int(look.get("seed", 0)))
    pattern = look.get("pattern", "plain")
    scale = float(look.get("scale_m", 0.03))
    contrast = float(look.get("contrast", 0.4))
    second = np.clip(base * (1.0 - contrast) + contrast * (1.0 - base) * rng.uniform(0.3, 1.0), 0.0, 1.0)
    t = np.zeros(len(p))
    if pattern == "stripes":
        t = (np.sin(2 * np.pi * p[:, 2] / scale + rng.uniform(0, 6.3)) > 0.3).astype(np.float64)
    elif pattern == "checks":
        a = np.sin(2 * np.pi * p[:, 2] / scale) > 0
        b = np.sin(2 * np.pi * (p[:, 0] + p[:, 1]) / scale) > 0
        t = 0.5 * a + 0.5 * b
    col = base * (1 - t[:, None]) + second * t[:, None]
    # fibre / knit / twill unevenness: a few fine 3D waves
    amp = {"plain": 0.04, "heather": 0.12, "denim": 0.10, "stripes": 0.03, "checks": 0.03}.get(pattern, 0.04)
    wave = np.zeros(len(p))
    for _ in range(6):
        k = rng.normal(size=3)
        k *= 2 * np.pi / (np.linalg.norm(k) * rng.uniform(0.004, 0.03))
        wave += np.sin(p @ k + rng.uniform(0, 6.3))
    if pattern == "denim":
        wave += 2.0 * np.sin(2 * np.pi * (p[:, 2] + p[:, 0]) / 0.006)
    col *= (1.0 + amp * wave / 3.0)[:, None]
    return np.clip(col, 0.0, 1.0).astype(np.float32)


def compute_dressed_body_colors(body_model: Any, shape: dict[str, np.ndarray], outfit: Outfit,
                                garments: list[Garment], garment_rgbs: list[np.ndarray]) -> np.ndarray:
    """(V, 3) float32 body colours of a dressed person: skin, eyes, and under each garment its colour
    (so skin that shows through a fold takes the colour of the cloth over it)."""
    regions = compute_body_regions(body_model, shape)
    masks = compute_garment_masks(regions, outfit)
    V = len(regions.parts)
    col = np.broadcast_to(np.asarray(outfit.skin_rgb, np.float64), (V, 3)).copy()
    faces = np.asarray(body_model.faces)
    for g, rgb in sorted(zip(garments, garment_rgbs), key=lambda x: x[0].layer):
        if g.name == "eyebrows" or g.name.startswith("makehuman_eyebrow"):
            continue
        covered = np.unique(faces[g.binding.face[:, 0]].reshape(-1))
        col[covered] = np.asarray(rgb, np.float64).reshape(-1, 3).mean(0)
    col[masks["sclera"]] = SCLERA_LINEAR
    col[masks["iris"]] = outfit.iris_rgb
    col[masks["pupil"]] = PUPIL_LINEAR
    return np.clip(col, 0.0, 1.0).astype(np.float32)
