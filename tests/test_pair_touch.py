"""People who touch (``people.touch``, ``synth.motion.pair_touch``): the pair's poses on the real meshes, the
person-person contact labels they give, determinism, placement and the fallback; one tiny render."""

from __future__ import annotations

import numpy as np
import pytest

from synth.bodies.base import BodyParams
from synth.bodies.parts import PART_NAMES
from synth.bodies.registry import get_body_model
from synth.core.errors import RecipeError
from synth.core.mesh import TriangleIndex
from synth.groundtruth.contact import compute_person_contact
from synth.motion.interactions import fingers_of
from synth.motion.pair_touch import MAX_GAP_M, TOUCH_KINDS, pose_touch
from synth.recipe import parse_recipe
from synth.recipe.sample import sample_scene
from synth.recipe.schema import TOUCH_KINDS as SCHEMA_TOUCH_KINDS

TOPOLOGY = "notoes_collapse5pc"


@pytest.fixture(scope="module")
def body():
    return get_body_model("anny", topology=TOPOLOGY)


def _adults(body, seed=0, ages=(30.0, 45.0)):
    rng = np.random.default_rng(seed)
    shapes = tuple(dict(body.sample_shape(rng, age_range=(a, a))) for a in ages)
    rest = np.asarray(body.rest_pose(), np.float32).reshape(-1, 3)[fingers_of(body)]
    return shapes, (rest, rest)


def _deepest_inside_m(va, vb, faces) -> float:
    """Deepest vertex of either body inside the other (m; 0 when none), signed distances on the real meshes."""
    deepest = 0.0
    for p, q in ((va, vb), (vb, va)):
        index = TriangleIndex(q, faces)
        near = index.near_box(p, 0.05)
        sd, _ = index.signed_distance(p[near], max_distance=0.05)
        deepest = max(deepest, float(-sd.min()) if len(sd) else 0.0)
    return deepest


def _parts(body, labels):
    return {PART_NAMES[i] for i in np.unique(np.asarray(body.vertex_part_labels())[labels >= 0])}


EXPECTED = {  # kind -> (toucher side R: its labelled parts include, the touched person's labelled parts include one of)
    "hand_on_shoulder": ("right_hand", {"left_upper_arm", "torso", "neck"}),
    "handshake": ("right_hand", {"right_hand"}),
    "hold_hands": ("right_hand", {"left_hand"}),
}
LAYOUT = {"hand_on_shoulder": (0.85, 0.1), "handshake": (0.75, 0.0), "hold_hands": (0.8, 0.0)}


def test_touch_kinds_match_the_schema():
    assert TOUCH_KINDS == SCHEMA_TOUCH_KINDS


@pytest.mark.parametrize("kind", TOUCH_KINDS)
def test_pair_touches_on_the_real_meshes_and_both_get_person_contact(body, kind):
    shapes, fingers = _adults(body)
    spacing, offset = LAYOUT[kind]
    p = pose_touch(body, shapes, fingers, kind, side="R", spacing_m=spacing, offset_m=offset, idle_seed=3)
    # the returned meshes are the body model's forward of the returned parameters
    for k in range(2):
        out = body.forward(BodyParams(model=body.name, shape=shapes[k], pose_rotvec=p.pose_rotvec[k][None],
                                      T_world_from_root=p.T_world_from_root[k][None]))
        np.testing.assert_allclose(out.vertices[0], p.vertices[k], atol=1e-5)
    va, vb = (np.asarray(v, dtype=np.float64) for v in p.vertices)
    assert 0.0 <= p.gap_m <= MAX_GAP_M and p.penetration_m == 0.0
    assert _deepest_inside_m(va, vb, body.faces) <= 0.01          # measured independently, both ways
    assert p.touching_part == "right_hand"
    labels = compute_person_contact([va, vb], [body.faces, body.faces])   # the dataset's ground-truth function
    assert (labels[0] == 1).sum() >= 1 and (labels[1] == 0).sum() >= 1
    assert set(np.unique(labels[0])) <= {-1, 1} and set(np.unique(labels[1])) <= {-1, 0}
    mine, theirs = EXPECTED[kind]
    assert mine in _parts(body, labels[0])
    assert _parts(body, labels[1]) & theirs, _parts(body, labels[1])
    # both stand on the ground
    assert abs(va[:, 2].min()) < 0.01 and abs(vb[:, 2].min()) < 0.01


def test_out_of_reach_raises(body):
    shapes, fingers = _adults(body)
    for kind in TOUCH_KINDS:
        with pytest.raises(RecipeError, match="reach"):
            pose_touch(body, shapes, fingers, kind, side="L", spacing_m=3.0, offset_m=0.0, idle_seed=0)


def _recipe(count=2, probability=1.0, kinds="handshake", seed=5):
    return parse_recipe({
        "schema_version": 1, "name": "touch_test", "seed": seed, "scenes": 4, "image": {"width": 64, "height": 64},
        "render": {"samples": 4},
        "people": {"count": count, "anny_topology": TOPOLOGY, "shape": {"age_years": {"uniform": [25, 50]}},
                   "motion": {"source": "idle"}, "placement": {"area_radius_m": 1.5, "min_separation_m": 0.3},
                   "touch": {"probability": probability, "kinds": kinds}},
        "cameras": [{"name": "main", "distance_m": 4.0, "look_at_height_m": 1.0}],
    }, "test")


def _world_vertices(person):
    b = get_body_model(person.body_model, **person.body_options)
    out = b.forward(BodyParams(model=b.name, shape=person.shape, pose_rotvec=person.pose_rotvec[:1],
                               T_world_from_root=person.T_world_from_root[:1]))
    return np.asarray(out.vertices[0], dtype=np.float64), b.faces


def test_sampled_scene_has_a_touching_pair_deterministically_and_keeps_the_others_apart():
    from synth.environment.placement import min_footprint_distance

    recipe = _recipe(count=3, kinds="hold_hands")
    a, b = sample_scene(recipe, 0), sample_scene(recipe, 0)
    for p, q in zip(a.people, b.people):
        assert np.array_equal(p.pose_rotvec, q.pose_rotvec) and np.array_equal(p.T_world_from_root, q.T_world_from_root)
        assert p.motion_meta == q.motion_meta
    pair = [k for k, p in enumerate(a.people) if p.motion_source == "touch"]
    assert len(pair) == 2
    records = [a.people[k].motion_meta["touch"] for k in pair]
    assert {r["role"] for r in records} == {"toucher", "touched"} and all(r["status"] == "ok" for r in records)
    assert all(r["gap_m"] <= MAX_GAP_M and r["penetration_m"] == 0.0 for r in records)
    meshes = [_world_vertices(p) for p in a.people]
    labels = compute_person_contact([m[0] for m in meshes], [m[1] for m in meshes])
    for k in pair:
        other = pair[1 - pair.index(k)]
        assert (labels[k] == other).sum() >= 1                       # both of the pair carry contact_person
    lone = next(k for k in range(3) if k not in pair)
    assert (labels[lone] < 0).all()
    # the third person keeps min_separation_m from both (ground-plane distance of the full meshes)
    for k in pair:
        d = min_footprint_distance(meshes[lone][0][None, :, :2], meshes[k][0][None, :, :2])
        assert d >= 0.2                 # placement checks a vertex sample per body (160) against 0.3 m


def test_no_touch_when_the_layout_is_out_of_reach_is_recorded(monkeypatch):
    from synth.motion import pair_touch

    far = {k: {"spacing_m": (3.0, 3.0), "offset_m": (0.0, 0.0)} for k in TOUCH_KINDS}
    monkeypatch.setattr(pair_touch, "PAIR_LAYOUT_M", far)
    s = sample_scene(_recipe(), 1)
    for p in s.people:
        assert p.motion_source == "idle"                              # the drawn motion, kept
        assert p.motion_meta["touch"]["status"] == "failed" and "reach" in p.motion_meta["touch"]["reason"]
    meshes = [_world_vertices(p) for p in s.people]
    assert all((lab < 0).all() for lab in compute_person_contact([m[0] for m in meshes], [m[1] for m in meshes]))


def test_touch_probability_zero_draws_like_a_recipe_without_touch_people_apart():
    s = sample_scene(_recipe(probability=0.0), 2)
    assert all(p.motion_source == "idle" and "touch" not in p.motion_meta for p in s.people)


def test_bad_touch_kind_is_one_clear_error():
    from synth.core.errors import RecipeError as RE

    with pytest.raises(RE, match="touch"):
        _recipe(kinds="hug")


@pytest.mark.blender
def test_touching_pair_renders_and_writes_person_contact_labels(tmp_path):
    from synth.io.reader import iter_shard_frames
    from synth.pipeline.job import run_local

    recipe = _recipe(kinds="handshake").model_copy(update={"scenes": 1})
    run_local(recipe, str(tmp_path / "out"), progress=False)
    shards = sorted((tmp_path / "out" / "shards").glob("*.h5"))
    frames = [f for s in shards for f in iter_shard_frames(str(s))]
    assert frames
    fr = frames[0]
    assert fr.rgb.shape == (64, 64, 3) and fr.rgb.std() > 1.0
    ids = set(np.unique(fr.instance)) - {0}
    assert ids == {1, 2}                                               # both people in view
    cp = [np.asarray(p["contact_person"]) for p in fr.people]
    assert (cp[0] == 1).sum() >= 1 and (cp[1] == 0).sum() >= 1
    assert fr.people[0]["motion"]["touch"]["status"] == "ok"


def test_people_touching_recipe_samples_a_touching_pair():
    from pathlib import Path

    from synth.recipe import load_recipe

    recipe = load_recipe(Path(__file__).resolve().parents[1] / "scenes" / "people_touching.yaml")
    assert recipe.people.touch is not None and recipe.people.clothing.source == "procedural"
    assert recipe.environment.hdri is not None
    small = recipe.model_copy(update={"people": recipe.people.model_copy(update={"anny_topology": TOPOLOGY})})
    people = sample_scene(small, 0).people
    assert 2 <= len(people) <= 3 and sum(p.motion_source == "touch" for p in people) == 2
