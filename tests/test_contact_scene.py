"""Body-scene contact on constructed geometry: an Anny body posed by joint rotations against boxes."""

from __future__ import annotations

import numpy as np
import pytest

from contact_poses_util import X, box_mesh, pose_rotvec, posed_vertices, seated_on_box
from synth.bodies.parts import SEGMENT_INDEX, SEGMENT_NAMES, vertex_segment_labels
from synth.bodies.registry import get_body_model
from synth.core.mesh import TriangleIndex, point_mesh_distance, points_inside_mesh
from synth.groundtruth.contact import (SCENE_CONTACT_M, SceneContactIndex, compute_ground_contact,
                                       compute_scene_contact, penetration_depth_m)
from synth.motion.skeleton import BodySkeleton


@pytest.fixture(scope="module")
def anny():
    body = get_body_model("anny")
    return body, BodySkeleton.from_body(body), vertex_segment_labels(body)


def names(seg, mask):
    return {SEGMENT_NAMES[i] for i in np.unique(seg[mask])}


def test_signed_distance_matches_brute_force_on_a_box():
    rng = np.random.default_rng(3)
    v, f = box_mesh([-0.3, -0.2, 0.0], [0.3, 0.2, 0.45])
    p = rng.uniform([-0.5, -0.4, -0.2], [0.5, 0.4, 0.7], size=(3000, 3))
    sd, _ = TriangleIndex(v, f).signed_distance(p)
    inside = points_inside_mesh(p, v, f)
    np.testing.assert_allclose(np.abs(sd), point_mesh_distance(p, v, f), atol=1e-12)
    assert np.array_equal(sd < 0, inside) and inside.sum() > 100


def test_seated_body_touches_the_seat_with_buttocks_and_thighs_and_the_floor_with_its_feet(anny):
    body, skel, seg = anny
    v, seat = seated_on_box(body, skel, seg)                   # feet on the floor z = 0, seat 2 mm under
    floor = box_mesh([-2, -2, -0.1], [2, 2, 0.0])
    scene = SceneContactIndex([(*floor, 0, "floor"), (*seat, 7, "box")])
    obj, sd = compute_scene_contact(v, scene)
    on_seat, on_floor = obj == 7, obj == 0
    assert set(np.unique(obj)) == {-1, 0, 7}
    assert names(seg, on_seat) <= {"buttocks", "pelvis", "left_thigh", "right_thigh"}
    assert {"buttocks", "left_thigh", "right_thigh"} <= names(seg, on_seat)
    assert names(seg, on_floor) <= {"left_foot", "right_foot", "left_toes", "right_toes"}
    assert {"left_foot", "right_foot"} <= names(seg, on_floor) | {n.replace("toes", "foot") for n in names(seg, on_floor)}
    # nowhere else: every other vertex is more than the threshold from both objects (brute force)
    d_seat = point_mesh_distance(v, *seat)
    assert np.array_equal(on_seat, d_seat <= SCENE_CONTACT_M)
    assert np.array_equal(on_floor, (v[:, 2] <= SCENE_CONTACT_M) & ~on_seat)
    assert np.array_equal(on_floor, compute_ground_contact(v) & ~on_seat)
    assert penetration_depth_m(sd) == 0.0                     # resting on, not in
    # sunk 1.5 cm (into the seat and the floor): the signed distance reads the depths
    obj2, sd2 = compute_scene_contact(v - [0, 0, 0.015], scene)
    assert abs(penetration_depth_m(sd2[obj2 == 7]) - 0.013) < 1e-4
    assert abs(penetration_depth_m(sd2[obj2 == 0]) - 0.015) < 1e-4
    print(f"seat contact vertices {on_seat.sum()}, floor {on_floor.sum()}")


def test_hand_on_a_table(anny):
    body, skel, seg = anny
    # right forearm forward, horizontal; the table top just under the lowest point of the hand
    rv = pose_rotvec(skel, [("lowerarm01.R", X, -np.pi / 2)])
    v, j = posed_vertices(body, rv)
    hand = np.isin(seg, [SEGMENT_INDEX["right_hand"], SEGMENT_INDEX["right_fingers"]])
    wrist_y = j[body.joint_names.index("wrist.R"), 1]
    over = (v[:, 1] < wrist_y + 0.01) & (v[:, 2] > 0.3)          # what hangs over the table (no feet)
    assert set(np.unique(seg[over & hand])) and over[hand].mean() > 0.9
    top = v[over, 2].min() - 0.001
    table = box_mesh([-0.8, -1.0, 0.0], [0.4, wrist_y + 0.01, top])
    obj, sd = compute_scene_contact(v[None], [(*table, 3, "table")])
    assert obj.shape == (1, len(v))
    touching = obj[0] == 3
    assert touching.sum() >= 10
    assert {"right_hand", "right_fingers"} & names(seg, touching)
    assert names(seg, touching) <= {"right_hand", "right_fingers", "right_forearm"}   # the wrist rests there too
    assert np.array_equal(touching, point_mesh_distance(v, *table) <= SCENE_CONTACT_M)
    assert penetration_depth_m(sd) == 0.0


def test_contact_labels_of_a_scene():
    """One call gives every label per person: ground, person, self and scene (with penetration per frame)."""
    body = get_body_model("anny", topology="notoes_collapse5pc")
    rest = body.rest_pose()
    a = np.stack([posed_vertices(body, rest)[0], posed_vertices(body, rest, z=0.05)[0]])        # 2 frames
    b = np.stack([posed_vertices(body, rest, x=2.0)[0]] * 2)
    step = box_mesh([1.4, -0.5, -0.1], [2.6, 0.5, 0.03])     # b stands with its soles 3 cm deep in a low step
    from synth.groundtruth.contact import compute_contact_labels

    labels = compute_contact_labels([a, b], [body.faces] * 2, [body, body], [(*step, 4, "step")])
    la, lb = labels
    assert set(la) == set(lb) == {"contact_ground", "contact_person", "contact_self", "contact_scene",
                                  "scene_penetration_m"}
    assert la["contact_ground"].shape == (2, len(a[0])) and la["contact_ground"][0].any()
    assert not la["contact_ground"][1].any()                 # lifted 5 cm in frame 1
    assert (la["contact_person"] < 0).all() and (la["contact_self"] < 0).all()
    assert (la["contact_scene"] < 0).all() and (la["scene_penetration_m"] == 0).all()
    assert (lb["contact_scene"] == 4).any(axis=1).all()
    np.testing.assert_allclose(lb["scene_penetration_m"], 0.03, atol=1e-4)
