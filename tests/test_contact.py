"""Dense contact labels on real Anny geometry: feet on the ground, bodies touching."""

from __future__ import annotations

import numpy as np

from synth.bodies.base import BodyParams
from synth.bodies.registry import get_body_model
from synth.core.transforms import make_T, rot_z
from synth.groundtruth.contact import compute_ground_contact, compute_person_contact


def posed(body, x=0.0, y=0.0, z=0.0, yaw=0.0):
    p = body.default_params(frames=1)
    T = make_T(rot_z(yaw), [x, y, z])[None]
    return body.forward(BodyParams("anny", p.shape, p.pose_rotvec, T)).vertices[0]


def test_standing_feet_touch_the_ground_and_nothing_else():
    body = get_body_model("anny", topology="notoes_collapse5pc")
    v = posed(body)
    c = compute_ground_contact(v)
    assert c.any()
    assert v[c, 2].max() <= 0.02                       # only vertices near the floor
    assert np.all(v[c, 2] < 0.1 * (v[:, 2].max()))     # ... i.e. the feet
    lifted = compute_ground_contact(posed(body, z=0.3))
    assert not lifted.any()                            # a body in the air touches nothing


def test_touching_bodies_are_labelled_on_both_sides():
    body = get_body_model("anny", topology="notoes_collapse5pc")
    a = posed(body)
    # a second body facing the first, moved until its front surface nearly touches the first's
    far = posed(body, y=-1.0, yaw=np.pi)
    gap = a[:, 1].min() - far[:, 1].max()
    b = far + np.array([0.0, gap + 0.01, 0.0], dtype=np.float32)   # 1 cm overlap of the bounding boxes
    ca, cb = compute_person_contact([a, b], [body.faces, body.faces])
    assert (ca == 1).any() and (cb == 0).any()
    assert set(np.unique(ca)) <= {-1, 1} and set(np.unique(cb)) <= {-1, 0}
    # apart: no contact
    ca, cb = compute_person_contact([a, far], [body.faces, body.faces])
    assert (ca < 0).all() and (cb < 0).all()


def test_indexed_person_contact_equals_brute_force():
    """The spatial index changes the cost, not the answer: same labels as brute-force point-to-mesh distances."""
    from synth.core.mesh import point_mesh_distance

    body = get_body_model("anny", topology="notoes_collapse5pc")
    rng = np.random.default_rng(1)
    a = posed(body)
    checked = 0
    for _ in range(6):   # a second body close by, in random overlapping / touching / apart placements
        b = posed(body, x=rng.uniform(-0.45, 0.45), y=rng.uniform(-0.45, 0.45), yaw=rng.uniform(-np.pi, np.pi))
        ca, cb = compute_person_contact([a, b], [body.faces, body.faces])
        for mine, other, lab, k in ((a, b, ca, 1), (b, a, cb, 0)):
            ref = point_mesh_distance(mine, other, body.faces) <= 0.02
            assert np.array_equal(lab == k, ref)
            checked += int(ref.sum())
    assert checked > 50


def test_palm_to_palm():
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from contact_poses_util import X, Z, pose_rotvec, posed_vertices

    from synth.bodies.parts import SEGMENT_INDEX, SEGMENT_NAMES, vertex_segment_labels
    from synth.core.mesh import TriangleIndex
    from synth.motion.skeleton import BodySkeleton

    body = get_body_model("anny")
    seg = vertex_segment_labels(body)
    hand = np.isin(seg, [SEGMENT_INDEX["right_hand"], SEGMENT_INDEX["right_fingers"]])
    # both raise the right arm forward, the thumb turned into the palm's plane; facing each other, the right
    # palms (facing inwards) meet
    rv = pose_rotvec(BodySkeleton.from_body(body), [("upperarm01.R", X, -np.pi / 2),
                                                    ("finger1-1.R", Z, -np.pi / 4)])
    a, _ = posed_vertices(body, rv)
    b0, _ = posed_vertices(body, rv, y=-1.15, yaw=np.pi)   # the two hands level, side by side
    ia = TriangleIndex(a, body.faces)

    def gap(dx):   # signed: negative when b's hand is inside a's
        return ia.signed_distance(b0[hand] + [dx, 0, 0])[0].min()

    apart, overlap = 0.0, -0.48   # b's palm 39 cm from a's .. b's hand 2 cm deep in a's
    assert gap(apart) > 0.005 > gap(overlap)
    for _ in range(30):          # bisection: 5 mm between the palms
        mid = (apart + overlap) / 2
        apart, overlap = (mid, overlap) if gap(mid) > 0.005 else (apart, mid)
    b = b0 + [apart, 0, 0]
    ca, cb = compute_person_contact([a, b], [body.faces, body.faces])
    for lab, k in ((ca, 1), (cb, 0)):
        touching = lab == k
        assert set(np.unique(lab)) == {-1, k} and touching.sum() >= 30
        assert {SEGMENT_NAMES[i] for i in np.unique(seg[touching])} == {"right_hand", "right_fingers"}  # palm too


def test_placement_at_the_smallest_separation_never_makes_contact():
    """``people.placement.min_separation_m`` below 0.1 m is refused; at 0.1 m crowded people never touch."""
    from pathlib import Path

    import pytest

    from synth.core.errors import RecipeError
    from synth.pipeline.geometry import compute_people_geometry, load_body
    from synth.recipe import load_recipe, parse_recipe, recipe_to_dict
    from synth.recipe.sample import sample_scene

    d = recipe_to_dict(load_recipe(Path(__file__).resolve().parents[1] / "scenes" / "crowd.yaml"))
    d["people"]["anny_topology"] = "notoes_collapse5pc"
    d["frames_per_scene"] = 4
    d["people"]["count"] = {"uniform": [6, 8]}
    d["people"]["placement"] = {"area_radius_m": 2.0, "min_separation_m": 0.0}
    with pytest.raises(RecipeError, match="people.placement.min_separation_m.*at least 0.1"):
        parse_recipe(d)
    d["people"]["placement"]["min_separation_m"] = 0.1
    recipe = parse_recipe(d)
    frames = 0
    for i in range(3):
        spec = sample_scene(recipe, i)
        people = compute_people_geometry(spec)
        body = load_body(spec.people[0].body_model, spec.people[0].body_options)
        for t in range(spec.frames):
            labels = compute_person_contact([p.vertices[t] for p in people], [body.faces] * len(people))
            assert all((lab < 0).all() for lab in labels), (i, t)
            frames += 1
    assert frames == 12
