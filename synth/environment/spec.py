"""Plain, frozen descriptions of a scene's environment (already sampled: values, not distributions).

Colours are linear RGB in [0, 1]; angles radians; lengths metres; world Z-up.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GroundSpec:
    """A ground plane at z = 0 centred on the origin.

    pattern: ``"plain"``, ``"checker"`` (two colours, squares of ``pattern_scale_m``)
    or ``"noise"`` (procedural noise blending the two colours, features of ``pattern_scale_m``).
    """

    size_m: float
    base_color: tuple[float, float, float]
    secondary_color: tuple[float, float, float]
    pattern: str
    pattern_scale_m: float
    roughness: float


@dataclass(frozen=True)
class SunSpec:
    """A sun lamp. ``strength`` in W/m^2 (Blender units); the light comes *from* (azimuth, elevation)."""

    strength: float
    color: tuple[float, float, float]
    azimuth_rad: float
    elevation_rad: float
    angle_rad: float = 0.02  # angular diameter: soft shadows


@dataclass(frozen=True)
class AreaLightSpec:
    """A square area light at ``position`` facing ``target``; ``power_w`` in watts."""

    position: tuple[float, float, float]
    target: tuple[float, float, float]
    size_m: float
    power_w: float
    color: tuple[float, float, float]


@dataclass(frozen=True)
class EnvironmentSpec:
    """Ground, sky (uniform world colour times strength), sun and area lights."""

    ground: GroundSpec | None
    sky_color: tuple[float, float, float]
    sky_strength: float
    sun: SunSpec | None
    area_lights: tuple[AreaLightSpec, ...] = ()
