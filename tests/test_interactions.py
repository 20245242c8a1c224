"""People sitting, standing and lying on props: on the surface, nothing inside the prop (real Anny meshes)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from synth.bodies.base import BodyParams
from synth.bodies.registry import get_body_model
from synth.core.errors import RecipeError
from synth.core.mesh import points_inside_mesh
from synth.core.surfaces import MaterialSpec
from synth.environment.props import prop_world_mesh
from synth.environment.spec import PropSpec
from synth.motion.interactions import pose_seated
from synth.recipe.interactions import prop_geometry

ROOT = Path(__file__).resolve().parents[1]
WOOD = MaterialSpec("wood", (0.4, 0.3, 0.2), 0.5)


@pytest.fixture(scope="module")
def body():
    return get_body_model("anny", topology="default")


@pytest.fixture(scope="module")
def adult(body):
    return body.default_params(frames=1).shape


SEATS = [
    ("chair", {"width_m": 0.46, "depth_m": 0.44, "height_m": 0.9, "seat_height_m": 0.38}),
    ("bench", {"width_m": 1.4, "depth_m": 0.42, "seat_height_m": 0.47, "height_m": 0.47}),
    ("box", {"width_m": 0.6, "depth_m": 0.55, "height_m": 0.48}),
    ("sofa", {"width_m": 1.9, "depth_m": 0.9, "height_m": 0.85, "seat_height_m": 0.42}),
    ("stool", {"width_m": 0.4, "depth_m": 0.4, "seat_height_m": 0.70, "height_m": 0.70}),
    ("bed", {"width_m": 1.4, "depth_m": 2.0, "height_m": 0.5}),
]


@pytest.mark.parametrize("kind,dims", SEATS, ids=[s[0] for s in SEATS])
def test_seated_body_rests_on_the_seat_without_penetration(body, adult, kind, dims):
    prop = PropSpec(prop_id=1, kind=kind, dimensions=dims, x_m=0.7, y_m=-0.4, yaw_rad=2.2, material=WOOD)
    s = pose_seated(body, adult, prop_geometry(prop))
    pv, pf = prop_world_mesh(prop)
    V = s.vertices.astype(np.float64)
    # measured on the real mesh: no body vertex inside the prop, and the buttocks 1 mm above the seat top
    assert s.penetration_m == 0.0
    assert not points_inside_mesh(V, pv, pf).any()
    assert s.seat_gap_m == pytest.approx(0.001, abs=1e-6)
    seat_z = dims.get("seat_height_m", dims["height_m"])
    # what touches the seat (within 1 cm of its top, over the prop) is the pelvis/thigh region, between knees and hips
    c, sn = math.cos(prop.yaw_rad), math.sin(prop.yaw_rad)
    local = (V[:, :2] - [prop.x_m, prop.y_m]) @ np.array([[c, -sn], [sn, c]])
    over = (np.abs(local[:, 0]) < dims["width_m"] / 2) & (np.abs(local[:, 1]) < dims["depth_m"] / 2)
    touching = over & (np.abs(V[:, 2] - seat_z) < 0.01)
    assert touching.sum() >= 10
    from synth.motion.skeleton import BodySkeleton

    skel = BodySkeleton.from_body(body, adult)
    out = body.forward(BodyParams(
        model="anny", shape=adult, pose_rotvec=s.pose_rotvec[None], T_world_from_root=s.T_world_from_root[None]))
    np.testing.assert_allclose(out.vertices[0], s.vertices, atol=1e-5)  # the recorded pose reproduces the mesh
    J = out.joints[0]
    hip_z = 0.5 * (J[skel.idx("hip_L"), 2] + J[skel.idx("hip_R"), 2])
    knee_z = 0.5 * (J[skel.idx("knee_L"), 2] + J[skel.idx("knee_R"), 2])
    assert (V[touching, 2] < hip_z).all()
    # thighs horizontal, or sloping down to the knees by at most 30 degrees on a seat higher than the natural one
    assert -0.05 < hip_z - knee_z < 0.5 * 0.5 + 0.03
    assert s.hip_rad == pytest.approx(math.pi / 2) or seat_z > 0.39
    # feet on the floor (within 1 cm) on every seat up to ~0.5 m; on a bar stool they hang
    if kind in ("chair", "bench", "box", "sofa"):
        assert 0.0 <= s.feet_height_m < 0.01
    elif kind == "stool":
        assert s.feet_height_m > 0.1


def test_low_seat_moves_the_feet_forward(body, adult):
    prop = PropSpec(1, "box", {"width_m": 0.6, "depth_m": 0.5, "height_m": 0.25}, 0.0, 0.0, 0.0, WOOD)
    s = pose_seated(body, adult, prop_geometry(prop))
    assert s.knee_rad < math.radians(80) and 0.0 <= s.feet_height_m < 0.01


def test_a_table_is_not_a_seat(body, adult):
    prop = PropSpec(1, "table", {"width_m": 1.2, "depth_m": 0.8, "height_m": 0.75}, 0.0, 0.0, 0.0, WOOD)
    with pytest.raises(RecipeError, match="no seat"):
        pose_seated(body, adult, prop_geometry(prop))


def test_indoor_recipe_seats_and_lifts_people_who_touch_no_other_prop():
    from synth.recipe import load_recipe
    from synth.recipe.sample import sample_scene

    recipe = load_recipe(ROOT / "scenes" / "indoor_contact.yaml")
    from synth.pipeline.geometry import compute_people_geometry

    seen = {"sit": 0, "stand": 0}
    for i in range(3):
        spec = sample_scene(recipe, i)
        posed = compute_people_geometry(spec)
        for person, geo in zip(spec.people, posed):
            inter = person.motion_meta.get("interaction")
            if inter is None:
                continue
            seen[inter["kind"]] += 1
            assert inter["penetration_m"] == 0.0
            prop = next(p for p in spec.environment.props if p.prop_id == inter["prop_id"])
            # measured again on the pipeline's own posed mesh: nothing inside any prop at any frame
            for other in spec.environment.props:
                assert not points_inside_mesh(geo.vertices.reshape(-1, 3), *prop_world_mesh(other)).any()
            if inter["kind"] == "sit":
                assert person.motion_source == "sit"
                assert prop.kind in ("chair", "stool", "bench", "sofa", "box", "bed")
                np.testing.assert_array_equal(person.T_world_from_root[0], person.T_world_from_root[-1])
            else:
                assert prop.kind in ("box", "steps")
                assert geo.vertices[..., 2].min() == pytest.approx(inter["surface_z_m"] + 0.001, abs=1e-4)
    assert seen["sit"] >= 1 and seen["stand"] >= 1


def test_standing_on_a_box_and_on_the_top_step(body, adult):
    from synth.motion.interactions import pose_standing_on

    p = body.default_params(frames=1)
    for kind, dims, top in [("box", {"width_m": 0.7, "depth_m": 0.6, "height_m": 0.3}, 0.3),
                            ("steps", {"width_m": 1.0, "steps": 3, "riser_m": 0.17, "tread_m": 0.30, "depth_m": 0.9,
                                       "height_m": 0.51}, 0.51)]:
        prop = PropSpec(1, kind, dims, 1.0, 0.5, 0.4, WOOD)
        s = pose_standing_on(body, adult, p.pose_rotvec, p.T_world_from_root, prop_geometry(prop))
        V = s.vertices.reshape(-1, 3).astype(np.float64)
        assert s.surface_z_m == pytest.approx(top) and s.sole_gap_m == pytest.approx(0.001, abs=1e-6)
        assert not points_inside_mesh(V, *prop_world_mesh(prop)).any()
        # the whole body is lifted by the top's height: same shape, feet 1 mm above the top
        assert V[:, 2].min() == pytest.approx(top + 0.001, abs=1e-6)
        assert np.ptp(V[:, 2]) == pytest.approx(np.ptp(body.forward(p).vertices[0][:, 2]), abs=1e-4)
    small = PropSpec(1, "box", {"width_m": 0.3, "depth_m": 0.3, "height_m": 0.3}, 0.0, 0.0, 0.0, WOOD)
    with pytest.raises(RecipeError, match="no top of the box holds"):
        pose_standing_on(body, adult, p.pose_rotvec, p.T_world_from_root, prop_geometry(small))


def test_lying_on_a_bed_along_it_face_up_without_penetration(body, adult):
    from synth.motion.interactions import pose_lying

    prop = PropSpec(1, "bed", {"width_m": 1.4, "depth_m": 2.0, "height_m": 0.5}, 1.0, -0.5, 0.6, WOOD)
    rest = np.asarray(body.rest_pose(), dtype=np.float32).reshape(-1, 3)
    s = pose_lying(body, adult, rest, prop_geometry(prop))
    V = s.vertices.astype(np.float64)
    assert s.back_gap_m == pytest.approx(0.001, abs=1e-6) and V[:, 2].min() == pytest.approx(0.501, abs=1e-5)
    assert not points_inside_mesh(V, *prop_world_mesh(prop)).any()
    # head towards the headboard (the bed's +y end), face up, everything over the mattress
    c, sn = math.cos(prop.yaw_rad), math.sin(prop.yaw_rad)
    local = (V[:, :2] - [prop.x_m, prop.y_m]) @ np.array([[c, -sn], [sn, c]])
    head = body.forward(BodyParams(model="anny", shape=adult, pose_rotvec=rest[None],
                                   T_world_from_root=s.T_world_from_root[None]))
    np.testing.assert_allclose(head.vertices[0], s.vertices, atol=1e-5)
    nose = head.keypoints[0][list(body.keypoint_names).index("nose")]
    nose_local = (nose[:2] - [prop.x_m, prop.y_m]) @ np.array([[c, -sn], [sn, c]])
    assert nose_local[1] > 0.5 and nose[2] > 0.6                     # head end, nose up
    assert (np.abs(local[:, 0]) < 0.7).all() and (np.abs(local[:, 1]) < 1.0).all()
    with pytest.raises(RecipeError, match="no place to lie"):
        sofa = PropSpec(1, "sofa", {"width_m": 2.0, "depth_m": 0.9, "height_m": 0.85, "seat_height_m": 0.42},
                        0.0, 0.0, 0.0, WOOD)
        pose_lying(body, adult, rest, prop_geometry(sofa))


def test_a_recipe_of_beds_lays_people_down():
    import yaml

    from synth.recipe import parse_recipe
    from synth.recipe.sample import sample_scene

    d = yaml.safe_load((ROOT / "scenes" / "indoor_contact.yaml").read_text())
    d["people"]["count"] = 1
    d["environment"]["props"].update(kinds="bed", count=2, sit_probability=0.0, stand_probability=0.0,
                                     lie_probability=1.0)
    recipe = parse_recipe(d, "beds.yaml")
    lying = 0
    for i in range(4):  # a bed far from the room's centre is refused when the orbit camera would leave the room
        spec = sample_scene(recipe, i)
        (person,) = spec.people
        if person.motion_source == "lie":
            lying += 1
            assert person.motion_meta["source"] == "lie"  # what the shard records as the motion
            inter = person.motion_meta["interaction"]
            assert inter["kind"] == "lie" and inter["penetration_m"] == 0.0 and inter["back_gap_m"] == pytest.approx(1e-3)
            assert spec.environment.props[inter["prop_id"] - 1].kind == "bed"
    assert lying >= 1
    d["environment"]["props"]["sit_probability"] = 0.5
    with pytest.raises(RecipeError, match=r"sit_probability \+ stand_probability \+ lie_probability = 1.5"):
        parse_recipe(d, "beds.yaml")
