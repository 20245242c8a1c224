"""Rooms and props drawn into scenes: inside the room, clear of each other, of the people and of the cameras."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from synth.core.errors import RecipeError
from synth.core.mesh import points_inside_mesh
from synth.environment.placement import (
    points_in_rect,
    rect_corners,
    rects_overlap,
    sample_prop_placements,
)
from synth.environment.props import prop_footprint_half_extents, prop_world_mesh
from synth.environment.rooms import point_inside_room
from synth.recipe import load_recipe, parse_recipe
from synth.recipe.sample import sample_scene

ROOT = Path(__file__).resolve().parents[1]


def test_rects_overlap_separating_axis():
    a = rect_corners(0.0, 0.0, 0.0, 1.0, 0.5)
    assert rects_overlap(a, rect_corners(1.5, 0.0, 0.0, 1.0, 0.5))          # 0.5 m overlap along x
    assert not rects_overlap(a, rect_corners(2.05, 0.0, 0.0, 1.0, 0.5))     # 5 cm gap
    assert rects_overlap(a, rect_corners(2.05, 0.0, 0.0, 1.0, 0.5), gap_m=0.1)  # closer than the clearance
    # a rotated square whose corner pokes into the rectangle's side (axis-aligned bounds alone would miss nothing here,
    # but the diagonal one at 1.75 does not touch)
    assert rects_overlap(a, rect_corners(1.6, 0.0, np.pi / 4, 0.5, 0.5))
    assert not rects_overlap(a, rect_corners(1.75, 0.0, np.pi / 4, 0.5, 0.5))
    assert points_in_rect(np.array([[0.9, 0.4], [1.1, 0.0]]), 0.0, 0.0, 0.0, 1.0, 0.5).tolist() == [True, False]


def test_prop_placement_keeps_clear_of_people_props_and_cameras():
    rng = np.random.default_rng(0)
    walk = np.stack([np.array([[x, 0.0], [x, 0.3]]) for x in np.linspace(-1.0, 1.0, 20)])  # (T, 2, 2) a walk along x
    cams = [np.array([3.0, 0.0])]
    extents = [(0.4, 0.3)] * 8
    placed = sample_prop_placements(extents, [0.8] * 7 + [2.0], [walk], area_center_xy=np.zeros(2),
                                    area_radius_m=3.0, clearance_m=0.1, rng=rng, cameras_xy=cams)
    ok = [p for p in placed if p is not None]
    assert len(ok) >= 6
    corners = [rect_corners(x, y, yaw, 0.4, 0.3) for x, y, yaw in ok]
    for i, (x, y, yaw) in enumerate(ok):
        assert not points_in_rect(walk.reshape(-1, 2), x, y, yaw, 0.4, 0.3, 0.1).any()
        assert not points_in_rect(cams[0], x, y, yaw, 0.4, 0.3, 0.5).any()
        assert all(not rects_overlap(corners[i], c, 0.1) for j, c in enumerate(corners) if j != i)
    # the tall last prop (2 m) never stands on the camera's line of sight to the centre
    if placed[-1] is not None:
        x, y, yaw = placed[-1]
        line = np.linspace(cams[0], [0.0, 0.0], 61)
        assert not points_in_rect(line, x, y, yaw, 0.4, 0.3, 0.3).any()


def test_a_full_room_leaves_out_what_does_not_fit():
    rng = np.random.default_rng(1)
    inside = lambda c: bool((np.abs(c) <= 1.0).all())
    placed = sample_prop_placements([(0.45, 0.45)] * 6, [0.5] * 6, [], area_center_xy=np.zeros(2),
                                    area_radius_m=1.0, clearance_m=0.05, rng=rng, inside=inside)
    assert 1 <= sum(p is not None for p in placed) <= 4 and placed.count(None) >= 2


@pytest.fixture(scope="module")
def indoor_scenes():
    recipe = load_recipe(ROOT / "scenes" / "indoor_contact.yaml")
    return [sample_scene(recipe, i) for i in range(2)]


def test_indoor_scenes_have_a_room_props_and_no_ground(indoor_scenes):
    for spec in indoor_scenes:
        env = spec.environment
        assert env.room is not None and env.ground is None
        assert len(env.props) >= 1 and [p.prop_id for p in env.props] == list(range(1, len(env.props) + 1))
        ceiling = [a for a in env.area_lights if a.position[2] > env.room.height_m - 0.1]
        assert len(ceiling) >= 1
        for p in env.props:
            hw, hd = prop_footprint_half_extents(p.kind, p.dimensions)
            assert point_inside_room(env.room, rect_corners(p.x_m, p.y_m, p.yaw_rad, hw, hd)).all()


def test_no_body_vertex_is_inside_a_prop_at_any_frame(indoor_scenes):
    from synth.pipeline.geometry import compute_people_geometry

    for spec in indoor_scenes:
        posed = compute_people_geometry(spec)
        for p in spec.environment.props:
            v, f = prop_world_mesh(p)
            for person in posed:
                for t in range(spec.frames):
                    assert not points_inside_mesh(person.vertices[t], v, f).any(), (spec.scene_id, p.kind)
        # and the room holds everyone (0.5 m from the walls)
        for person in posed:
            assert point_inside_room(spec.environment.room, person.vertices[..., :2].reshape(-1, 2), 0.3).all()


def test_room_holds_the_orbit_camera(indoor_scenes):
    from synth.pipeline.camera_tracks import compute_camera_tracks
    from synth.pipeline.geometry import compute_people_geometry

    for spec in indoor_scenes:
        room = spec.environment.room
        track = compute_camera_tracks(spec, compute_people_geometry(spec))[0]
        c = track.at(0).center_world
        assert point_inside_room(room, c[:2], 0.1).all() and 0.0 < c[2] < room.height_m
        for p in spec.environment.props:  # no prop swallows the camera
            v, f = prop_world_mesh(p)
            assert not points_inside_mesh(c[None], v, f)[0]


def test_same_scene_same_room_and_props(indoor_scenes):
    recipe = load_recipe(ROOT / "scenes" / "indoor_contact.yaml")
    assert sample_scene(recipe, 1).environment == indoor_scenes[1].environment


def test_bad_prop_and_room_settings_fail_with_the_field_path():
    d = yaml.safe_load((ROOT / "scenes" / "indoor_contact.yaml").read_text())
    d["environment"]["props"]["kinds"] = {"choice": ["chair", "throne"]}
    with pytest.raises(RecipeError, match=r"environment\.props\.kinds.*'throne'"):
        parse_recipe(d, "bad.yaml")
    d = yaml.safe_load((ROOT / "scenes" / "indoor_contact.yaml").read_text())
    d["environment"]["room"]["floor"] = "lava"
    with pytest.raises(RecipeError, match=r"environment\.room\.floor.*'lava'"):
        parse_recipe(d, "bad.yaml")
    d["environment"]["room"]["floor"] = "wood"
    d["environment"]["room"]["width_m"] = {"uniform": [1.0, 3.0]}
    with pytest.raises(RecipeError, match=r"environment\.room\.width_m"):
        parse_recipe(d, "bad.yaml")
