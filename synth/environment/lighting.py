"""Light colour helpers."""

from __future__ import annotations

import math

import numpy as np


def color_temperature_to_rgb(kelvin: float) -> np.ndarray:
    """Approximate linear RGB (max component 1) of a black body at ``kelvin`` (1000-40000 K).

    Tanner Helland's fit of the Planckian locus in sRGB, converted to linear.
    """
    t = float(np.clip(kelvin, 1000.0, 40000.0)) / 100.0
    if t <= 66:
        r = 255.0
        g = 99.4708025861 * math.log(t) - 161.1195681661
        b = 0.0 if t <= 19 else 138.5177312231 * math.log(t - 10) - 305.0447927307
    else:
        r = 329.698727446 * (t - 60) ** -0.1332047592
        g = 288.1221695283 * (t - 60) ** -0.0755148492
        b = 255.0
    srgb = np.clip(np.array([r, g, b]) / 255.0, 0.0, 1.0)
    lin = np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)
    return lin / lin.max()
