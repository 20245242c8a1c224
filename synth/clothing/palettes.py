"""Colour palettes for appearance: skin tones, garments, hair, irises.

Skin albedo anchors for Fitzpatrick types I-VI are the "Skin I" ... "Skin VI"
entries of the Physically Based material database (physicallybased.info,
CC0), given there as linear sRGB diffuse albedo. Garment, hair and iris
colours are everyday sRGB values, converted to linear on use.
"""

from __future__ import annotations

import numpy as np

#: (6, 3) linear-sRGB diffuse albedo of skin, Fitzpatrick types I..VI.
FITZPATRICK_SKIN_LINEAR = np.array([
    [0.847, 0.638, 0.552],  # I
    [0.799, 0.485, 0.347],  # II
    [0.623, 0.433, 0.343],  # III
    [0.436, 0.227, 0.131],  # IV
    [0.283, 0.148, 0.079],  # V
    [0.090, 0.050, 0.020],  # VI
])


def srgb_to_linear(c: np.ndarray) -> np.ndarray:
    """sRGB in [0, 1] (..., 3) -> linear RGB (IEC 61966-2-1 transfer function)."""
    c = np.asarray(c, dtype=np.float64)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(c: np.ndarray) -> np.ndarray:
    """Linear RGB (..., 3) -> sRGB in [0, 1]."""
    c = np.clip(np.asarray(c, dtype=np.float64), 0.0, 1.0)
    return np.where(c <= 0.0031308, c * 12.92, 1.055 * c ** (1 / 2.4) - 0.055)


def hex_to_linear(h: str) -> np.ndarray:
    h = h.lstrip("#")
    return srgb_to_linear(np.array([int(h[i:i + 2], 16) / 255.0 for i in (0, 2, 4)]))


def skin_albedo(fitzpatrick: float) -> np.ndarray:
    """(3,) linear RGB skin albedo for a continuous Fitzpatrick type in [1, 6] (log-linear between anchors)."""
    x = float(np.clip(fitzpatrick, 1.0, 6.0)) - 1.0
    i = min(int(np.floor(x)), 4)
    t = x - i
    lo, hi = np.log(FITZPATRICK_SKIN_LINEAR[i]), np.log(FITZPATRICK_SKIN_LINEAR[i + 1])
    return np.exp((1 - t) * lo + t * hi)


# name -> (sRGB hex, weight as a top, weight as bottoms, weight as shoes)
GARMENT_COLOURS: dict[str, tuple[str, float, float, float]] = {
    "black": ("#1c1c1c", 14, 14, 30),
    "white": ("#ececec", 10, 3, 20),
    "grey": ("#808080", 8, 7, 8),
    "charcoal": ("#3a3a3a", 6, 8, 8),
    "navy": ("#1f2a44", 8, 10, 5),
    "denim": ("#3b5b7d", 3, 25, 2),
    "light_blue": ("#9ec3e6", 5, 2, 1),
    "khaki": ("#c3b091", 4, 10, 3),
    "brown": ("#6b4f3a", 3, 5, 15),
    "olive": ("#5b5f2e", 3, 4, 1),
    "green": ("#2e7d32", 4, 1, 1),
    "red": ("#b22222", 5, 1, 3),
    "burgundy": ("#6d1a2b", 3, 2, 1),
    "pink": ("#e8a0b4", 4, 1, 1),
    "yellow": ("#e5c84b", 3, 1, 1),
    "orange": ("#d9782d", 2, 1, 1),
    "purple": ("#5e3c7a", 2, 1, 1),
    "teal": ("#2a7f7f", 2, 1, 1),
}

# name -> (sRGB hex, weight below 50 years, weight from 50 years)
HAIR_COLOURS: dict[str, tuple[str, float, float]] = {
    "black": ("#17110d", 35, 15),
    "dark_brown": ("#3b2a1e", 30, 15),
    "brown": ("#6a4e35", 15, 8),
    "light_brown": ("#8c6b4a", 7, 4),
    "blonde": ("#c8a86b", 8, 4),
    "red": ("#8e3b1f", 4, 2),
    "grey": ("#8c8a86", 1, 35),
    "white": ("#d6d4cc", 0, 17),
}

IRIS_COLOURS: dict[str, tuple[str, float]] = {
    "dark_brown": ("#2a1a10", 40), "brown": ("#4a2e1a", 30), "hazel": ("#6b5a2e", 8),
    "green": ("#4f6b3a", 5), "blue": ("#4a6a8c", 12), "grey": ("#6d7580", 5),
}
SCLERA_LINEAR = srgb_to_linear(np.array([0.86, 0.84, 0.80]))
PUPIL_LINEAR = np.array([0.01, 0.01, 0.01])
