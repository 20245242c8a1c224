"""Plain, frozen descriptions of a scene's environment (already sampled: values, not distributions).

Colours are linear RGB in [0, 1]; angles radians; lengths metres; world Z-up.
"""

from __future__ import annotations

from dataclasses import dataclass

from synth.core.surfaces import MaterialSpec


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
    shadow_catcher: bool = False  # only catch shadows (the HDRI's own ground shows through)


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
class HdriSpec:
    """A photographed world: an equirectangular HDR image as background and light.

    name : the bundled HDRI's name (``city``, ...) or the user file's stem
    path : absolute path of the .exr / .hdr file
    rotation_rad : rotation of the world about +Z (the photo's +u direction turns by this angle)
    strength : Blender Background strength (already includes the exposure normalisation)
    ground : ``"shadow_catcher"`` (the photo's own ground stays visible, people's shadows are added on it),
        ``"matched"`` (an opaque ground whose colour matches the photo's ground) or ``"none"``
    capture_height_m : height the orbit cameras were put at (the photo's capture height, drawn), so that the
        photo's horizon matches the ground people stand on; NaN = cameras kept as drawn
    ground_albedo : linear RGB of a ``matched`` ground (reproduces the photo's ground radiance)
    """

    name: str
    path: str
    rotation_rad: float
    strength: float
    ground: str
    capture_height_m: float | None
    ground_albedo: tuple[float, float, float] = (0.2, 0.2, 0.2)


@dataclass(frozen=True)
class OpeningSpec:
    """A hole in a room wall: a door (from the floor) or a window.

    wall : 0 = the wall at y = -depth/2, 1 = x = +width/2, 2 = y = +depth/2, 3 = x = -width/2 (room frame)
    center_m : position of the opening's centre along the wall, from the wall's middle (m)
    """

    kind: str            # "door" | "window"
    wall: int
    center_m: float
    width_m: float
    bottom_m: float
    top_m: float


@dataclass(frozen=True)
class RoomSpec:
    """An axis-aligned box room centred on the world origin: floor at z = 0, ceiling at ``height_m``.

    Width along world x, depth along world y. Walls are ``wall_thickness_m`` thick, outside the interior box.
    """

    width_m: float
    depth_m: float
    height_m: float
    wall_thickness_m: float
    openings: tuple[OpeningSpec, ...]
    floor: MaterialSpec
    walls: MaterialSpec
    ceiling: MaterialSpec


@dataclass(frozen=True)
class PropSpec:
    """One piece of furniture (or step, box, wall, railing) standing on the floor.

    prop_id : 1-based index among the scene's props (the mesh id recorded with the scene)
    kind : one of ``synth.environment.props.PROP_KINDS``
    dimensions : drawn sizes in metres (``width_m`` along the prop's x, ``depth_m`` along y, ``height_m``,
        plus kind-specific ones such as ``seat_height_m``, ``steps``)
    x_m, y_m, yaw_rad : placement on the floor: prop frame -> world is a rotation by yaw about +Z, then a
        translation to (x, y, 0)
    """

    prop_id: int
    kind: str
    dimensions: dict
    x_m: float
    y_m: float
    yaw_rad: float
    material: MaterialSpec


@dataclass(frozen=True)
class EnvironmentSpec:
    """Ground, sky, sun and area lights; optionally a photographed world, a room and props.

    With ``hdri`` set the world is the photo (``sky_color`` / ``sky_strength`` are not drawn); with a
    ``room`` the room's floor replaces the ground (``ground`` is None).
    """

    ground: GroundSpec | None
    sky_color: tuple[float, float, float]
    sky_strength: float
    sun: SunSpec | None
    area_lights: tuple[AreaLightSpec, ...] = ()
    hdri: HdriSpec | None = None
    room: RoomSpec | None = None
    props: tuple[PropSpec, ...] = ()
