"""Props and rooms as geometry: closed meshes of the drawn sizes, seats at their height, real holes in walls."""

from __future__ import annotations

import math

import numpy as np
import pytest

from synth.core.mesh import points_inside_mesh
from synth.core.surfaces import MaterialSpec
from synth.environment.meshes import box_mesh, is_watertight, mesh_volume, prism_mesh
from synth.environment.props import (
    DIMENSION_RANGES,
    PROP_KINDS,
    build_prop_mesh,
    prop_world_mesh,
    sample_prop_dimensions,
    support_surfaces,
)
from synth.environment.rooms import room_lights, room_meshes, wall_meshes
from synth.environment.spec import OpeningSpec, PropSpec, RoomSpec

PAINT = MaterialSpec("paint", (0.5, 0.5, 0.5), 0.5)


def test_box_and_staircase_prisms_are_closed_with_exact_volume():
    v, f = box_mesh(-0.5, 0.5, 0.0, 2.0, 0.0, 0.25)
    assert is_watertight(f) and mesh_volume(v, f) == pytest.approx(0.5, abs=1e-12)
    # a 3-step staircase profile (star-shaped from its bottom-back corner): volume = riser * tread * (1+2+3) * width
    prof = [(0.9, 0.0), (0.0, 0.0), (0.0, 0.2), (0.3, 0.2), (0.3, 0.4), (0.6, 0.4), (0.6, 0.6), (0.9, 0.6)]
    v, f = prism_mesh(np.array(prof), 0.0, 1.2)
    assert is_watertight(f) and mesh_volume(v, f) == pytest.approx(0.2 * 0.3 * 6 * 1.2, abs=1e-12)
    # clockwise input is reoriented: outward normals either way
    v, f = prism_mesh(np.array(prof[::-1]), 0.0, 1.2)
    assert mesh_volume(v, f) > 0


@pytest.mark.parametrize("kind", PROP_KINDS)
def test_every_prop_kind_is_closed_stands_on_the_floor_and_has_its_drawn_size(kind):
    rng = np.random.default_rng(3)
    for _ in range(5):
        dims = sample_prop_dimensions(kind, rng)
        for name, (lo, hi) in DIMENSION_RANGES[kind].items():
            assert lo <= dims[name] <= hi, (kind, name, dims[name])
        v, f = build_prop_mesh(kind, dims)
        assert is_watertight(f), kind
        assert mesh_volume(v, f) > 0.0
        assert v[:, 2].min() == pytest.approx(0.0, abs=1e-12)
        assert np.abs(v[:, 0]).max() == pytest.approx(dims["width_m"] / 2, abs=1e-9)
        assert np.abs(v[:, 1]).max() == pytest.approx(dims["depth_m"] / 2, abs=1e-9)
        if kind != "bed":  # the headboard rises above the mattress
            assert v[:, 2].max() == pytest.approx(dims["height_m"], abs=1e-9)


@pytest.mark.parametrize("kind", PROP_KINDS)
def test_support_surfaces_are_the_tops_of_the_mesh(kind):
    """1 cm below a support surface is inside the prop, 1 cm above it is free."""
    dims = sample_prop_dimensions(kind, np.random.default_rng(5))
    v, f = build_prop_mesh(kind, dims)
    for s in support_surfaces(kind, dims):
        x = 0.5 * (s["x_m"][0] + s["x_m"][1])
        y = 0.5 * (s["y_m"][0] + s["y_m"][1])
        below, above = [x, y, s["z_m"] - 0.01], [x, y, s["z_m"] + 0.01]
        inside = points_inside_mesh(np.array([below, above]), v, f)
        assert inside.tolist() == [True, False], (kind, s)


def test_box_volume_and_seat_height_of_a_chair():
    dims = {"width_m": 0.5, "depth_m": 0.4, "height_m": 0.3}
    v, f = build_prop_mesh("box", dims)
    assert mesh_volume(v, f) == pytest.approx(0.06, abs=1e-12)
    chair = {"width_m": 0.46, "depth_m": 0.44, "height_m": 0.9, "seat_height_m": 0.45}
    (seat,) = support_surfaces("chair", chair)
    assert seat["use"] == "sit" and seat["z_m"] == 0.45


def test_prop_world_mesh_applies_yaw_then_position():
    prop = PropSpec(prop_id=1, kind="box", dimensions={"width_m": 2.0, "depth_m": 0.5, "height_m": 1.0},
                    x_m=3.0, y_m=-1.0, yaw_rad=math.pi / 2, material=PAINT)
    v, f = prop_world_mesh(prop)
    assert v.dtype == np.float32 and f.dtype == np.int32
    # rotated by 90 deg: the 2 m width runs along world y
    np.testing.assert_allclose(v.min(0), [2.75, -2.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(v.max(0), [3.25, 0.0, 1.0], atol=1e-6)


def _room(openings=()):
    return RoomSpec(width_m=6.0, depth_m=5.0, height_m=2.8, wall_thickness_m=0.15, openings=tuple(openings),
                    floor=PAINT, walls=PAINT, ceiling=PAINT)


def test_room_walls_have_real_openings_and_exact_volume():
    door = OpeningSpec("door", 0, 1.0, 0.9, 0.0, 2.05)
    window = OpeningSpec("window", 1, 0.0, 1.2, 0.9, 2.1)
    room = _room([door, window])
    parts = {name: (v, f) for name, v, f, _ in room_meshes(room)}
    assert set(parts) == {"room_floor", "room_walls", "room_ceiling"}
    v, f = parts["room_walls"]
    assert is_watertight(f)
    t = 0.15
    full = 2 * (6.0 + 2 * t) * t * 2.8 + 2 * 5.0 * t * 2.8
    assert mesh_volume(v, f) == pytest.approx(full - 0.9 * 2.05 * t - 1.2 * 1.2 * t, rel=1e-5)
    # the door is a hole through wall 0 (y = -2.5 - t/2), the wall beside it is solid
    probe = np.array([[1.0, -2.5 - t / 2, 1.0], [-1.0, -2.5 - t / 2, 1.0],
                      [3.0 + t / 2, 0.0, 1.5], [3.0 + t / 2, 0.0, 0.5]])
    assert points_inside_mesh(probe, v, f).tolist() == [False, True, False, True]
    # floor top at z = 0, ceiling underside at the room height
    assert parts["room_floor"][0][:, 2].max() == pytest.approx(0.0)
    assert parts["room_ceiling"][0][:, 2].min() == pytest.approx(2.8, abs=1e-6)


def test_wall_without_openings_is_one_box():
    v, f = wall_meshes(_room(), 1)
    assert len(v) == 8 and is_watertight(f)


def test_room_lights_ceiling_panels_and_one_per_window():
    room = _room([OpeningSpec("window", 2, 0.5, 1.0, 1.0, 2.0), OpeningSpec("door", 0, 0.0, 0.9, 0.0, 2.0)])
    lights = room_lights(room, 120.0, 40.0, (1.0, 0.9, 0.8), (1.0, 1.0, 1.0))
    ceiling = [li for li in lights if li.position[2] > 2.7]
    windows = [li for li in lights if li.position[2] < 2.7]
    assert len(ceiling) == 2 and sum(li.power_w for li in ceiling) == pytest.approx(120.0)
    assert len(windows) == 1 and windows[0].power_w == 40.0
    # the window light sits in the wall at y = +depth/2 and shines into the room (-y)
    assert windows[0].position[1] > 2.5 and windows[0].target[1] < windows[0].position[1]
