"""Procedural garments, hair and eyebrows on the default Anny mesh: fit, follow, stay outside the body."""

from __future__ import annotations

import numpy as np
import pytest

from synth.bodies.base import BodyParams
from synth.bodies.parts import PART_INDEX
from synth.bodies.registry import get_body_model
from synth.clothing.binding import compute_signed_distances
from synth.clothing.garment import SEGMENT_CLASSES, pose_garments
from synth.clothing.hair import make_eyebrows, make_hair_shell, sample_hair_params
from synth.clothing.outfit import GarmentSpec, OutfitError, build_garments, sample_garment_specs
from synth.clothing.procedural import (
    GARMENT_KINDS,
    GarmentError,
    compute_rest_body,
    make_procedural_garment,
    sample_garment_params,
)
from synth.motion.sample import sample_motion


@pytest.fixture(scope="module")
def body():
    return get_body_model("anny")


def _area_weighted_normals(v: np.ndarray, f: np.ndarray) -> np.ndarray:
    """Independent reference: per-vertex sum of face normals times face area, normalised."""
    n = np.zeros_like(v)
    fn = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
    for k in range(3):
        np.add.at(n, f[:, k], fn)
    return n / np.linalg.norm(n, axis=1, keepdims=True)


def _reference_surface_garment(g, v, f):
    """Place a surface-offset garment on a body by hand: barycentric point + normal offset."""
    n = _area_weighted_normals(v.astype(np.float64), f.astype(np.int64))
    face, bary, off = g.binding.face[:, 0], g.binding.bary[:, 0], g.binding.offset_m[:, 0]
    assert np.all(off[:, 1:] == 0)  # made from the body's own surface: no tangential part
    tri = f[face]
    p = np.einsum("nk,nkd->nd", bary, v[tri])
    nn = np.einsum("nk,nkd->nd", bary, n[tri])
    nn /= np.linalg.norm(nn, axis=1, keepdims=True)
    return p + off[:, :1] * nn


def test_binding_follows_reposed_and_reshaped_body_like_a_refit(body):
    """A garment made on an adult, re-evaluated on a child walking, equals the same garment made from
    scratch on the child and placed by hand on that posed body, within 1 mm."""
    rng = np.random.default_rng(0)
    adult = body.mean_shape(age_years=35, gender=0.0)
    child = body.mean_shape(age_years=7, gender=1.0)
    rest_adult = compute_rest_body(body, adult)
    rest_child = compute_rest_body(body, child)
    rot, T = sample_motion(body, "walk", 4, 10.0, rng=rng, shape=child)
    posed = body.forward(BodyParams("anny", child, rot, T))
    f = body.faces.astype(np.int64)
    made = []
    for kind in ("tshirt", "longsleeve", "trousers", "shorts", "tank"):
        p = sample_garment_params(kind, rng, fit=0.7)
        made.append((make_procedural_garment(rest_adult, p), make_procedural_garment(rest_child, p)))
    hp = sample_hair_params(rng)
    made.append((make_hair_shell(rest_adult, hp), make_hair_shell(rest_child, hp)))
    for g_adult, g_child in made:
        assert g_adult.n_vertices == g_child.n_vertices, g_adult.name
        for t in (0, 3):
            v = posed.vertices[t].astype(np.float64)
            moved = g_adult.evaluate(v, f)
            refit = _reference_surface_garment(g_child, v, f)
            err = np.linalg.norm(moved - refit, axis=1)
            assert err.max() < 1e-3, (g_adult.name, t, err.max())
        # and the garment did move with the body: the walking frame is not the rest pose
        assert np.abs(g_adult.evaluate(posed.vertices[3], f) - g_adult.evaluate(rest_child.vertices, f)).max() > 0.05


@pytest.mark.parametrize("age_years,outfit", [
    (4.0, ["tshirt", "shorts", "socks", "shoes"]),
    (10.0, ["dress", "shoes"]),
    (35.0, ["longsleeve", "trousers", "shoes"]),
    (72.0, ["tank", "skirt", "socks", "shoes"]),
])
def test_under_half_a_percent_of_garment_vertices_inside_the_body(body, age_years, outfit):
    """Across the procedural actions, fewer than 0.5 % of garment vertices end up under the skin
    (exact closest point on the posed body's triangles, sign from the smooth normal there)."""
    rng = np.random.default_rng(int(age_years))
    shape = body.sample_shape(rng, age_range=(age_years, age_years))
    rest = compute_rest_body(body, shape)
    garments = [make_procedural_garment(rest, sample_garment_params(k, rng)) for k in outfit]
    garments.append(make_hair_shell(rest, sample_hair_params(rng)))
    garments.append(make_eyebrows(rest, rng))
    inside = total = 0
    worst = {}
    for action in ("walk", "run", "squat", "reach", "jump", "wave"):
        rot, T = sample_motion(body, action, 3, 10.0, rng=rng, shape=shape)
        posed = body.forward(BodyParams("anny", shape, rot, T))
        v = posed.vertices[1]
        for g, x in zip(garments, pose_garments(garments, v, body.faces)):
            bad = int((compute_signed_distances(x, v, body.faces) < 0).sum())
            inside += bad
            total += len(x)
            worst[(action, g.name)] = bad / len(x)
    frac = inside / total
    print(f"age {age_years}: {100 * frac:.3f} % of {total} garment vertices inside; worst "
          f"{max(worst, key=worst.get)} {100 * max(worst.values()):.2f} %")
    assert frac < 0.005
    assert max(worst.values()) < 0.03


def test_garments_cover_the_parts_they_should(body):
    rng = np.random.default_rng(5)
    rest = compute_rest_body(body, body.mean_shape())
    parts = rest.regions.parts
    P = PART_INDEX

    def covered(g):
        return np.bincount(parts[body.faces[g.binding.face[:, 0], 0]], minlength=len(P))

    c = covered(make_procedural_garment(rest, sample_garment_params("tshirt", rng)))
    assert c[P["torso"]] > 500 and c[P["left_upper_arm"]] > 50 and c[P["left_forearm"]] == 0 and c[P["head"]] == 0
    c = covered(make_procedural_garment(rest, sample_garment_params("longsleeve", rng)))
    assert c[P["left_forearm"]] > 50 and c[P["right_forearm"]] > 50 and c[P["left_hand"]] == 0
    c = covered(make_procedural_garment(rest, sample_garment_params("trousers", rng)))
    assert c[P["left_shin"]] > 50 and c[P["right_thigh"]] > 50 and c[P["torso"]] + c[P["pelvis"]] > 100
    assert c[P["left_foot"]] < 0.05 * c[P["left_shin"]]   # the hem just above the ankle touches a few foot faces
    c = covered(make_procedural_garment(rest, sample_garment_params("shoes", rng)))
    assert c[P["left_foot"]] > 100 and c[P["right_foot"]] > 100 and c[P["torso"]] == 0
    c = covered(make_hair_shell(rest, sample_hair_params(rng)))
    assert c[P["head"]] > 100 and c.sum() == c[P["head"]]
    brows = make_eyebrows(rest, rng)
    c = covered(brows)
    assert c.sum() == c[P["head"]] and 20 < brows.n_vertices < 2000
    # eyebrows sit above the eyes, one per side
    x = brows.evaluate(rest.vertices, body.faces)
    for side, sign in (("left", 1), ("right", -1)):
        eye = rest.vertices[parts == P[f"{side}_eye"]].mean(0)
        mine = x[np.sign(x[:, 0]) == sign]
        assert len(mine) > 10 and np.all(mine[:, 2] > eye[2] + 0.005) and np.all(mine[:, 2] < eye[2] + 0.04)


def test_sleeve_and_leg_lengths_and_fit_change_the_geometry(body):
    rest = compute_rest_body(body, body.mean_shape())
    f = body.faces
    short = make_procedural_garment(rest, sample_garment_params("tshirt", np.random.default_rng(1)))
    longs = make_procedural_garment(rest, sample_garment_params("longsleeve", np.random.default_rng(1)))
    assert longs.n_vertices > short.n_vertices * 1.15
    shorts = make_procedural_garment(rest, sample_garment_params("shorts", np.random.default_rng(2)))
    trousers = make_procedural_garment(rest, sample_garment_params("trousers", np.random.default_rng(2)))
    assert shorts.evaluate(rest.vertices, f)[:, 2].min() > trousers.evaluate(rest.vertices, f)[:, 2].min() + 0.2
    tight = make_procedural_garment(rest, sample_garment_params("tshirt", np.random.default_rng(3), fit=0.0))
    loose = make_procedural_garment(rest, sample_garment_params("tshirt", np.random.default_rng(3), fit=1.0))
    assert np.median(loose.binding.offset_m[:, 0, 0]) > np.median(tight.binding.offset_m[:, 0, 0]) + 0.01
    # thickness: every surface garment is closed at its hems (inner + outer layer + rims: no open edge)
    from synth.clothing.surface_cut import boundary_edges
    for g in (short, shorts, loose):
        assert len(boundary_edges(g.faces)) == 0, g.name
    skirt = make_procedural_garment(rest, sample_garment_params("skirt", np.random.default_rng(4)))
    assert len(boundary_edges(skirt.faces)) == 0


def test_outfit_sampling_and_building(body):
    rng = np.random.default_rng(11)
    seen = set()
    for _ in range(80):
        specs = sample_garment_specs(rng)
        kinds = [s.kind for s in specs]
        seen.update(kinds)
        assert ("dress" in kinds) != any(k in kinds for k in ("tshirt", "longsleeve", "tank"))
    assert {"tshirt", "trousers", "shoes", "hair_short", "eyebrows", "dress"} <= seen
    assert sample_garment_specs(rng, source="none") == ()
    a = sample_garment_specs(np.random.default_rng(3))
    b = sample_garment_specs(np.random.default_rng(3))
    assert a == b
    shape = body.mean_shape(age_years=12)
    g1 = build_garments(body, shape, a)
    g2 = build_garments(body, shape, b)
    assert [g.name for g in g1] == [s.kind for s in a]
    for x, y in zip(g1, g2):
        assert np.array_equal(x.faces, y.faces) and np.array_equal(x.binding.offset_m, y.binding.offset_m)
        assert x.segment in SEGMENT_CLASSES
    with pytest.raises(OutfitError, match="clothing source 'nylon'"):
        sample_garment_specs(rng, source="nylon")
    with pytest.raises(OutfitError, match=r"probabilities\.shoes: expected a probability"):
        sample_garment_specs(rng, probabilities={"shoes": 1.5})
    with pytest.raises(OutfitError, match="unknown procedural garment 'cape'"):
        build_garments(body, shape, [GarmentSpec("procedural", "cape", {})])
    with pytest.raises(GarmentError, match="unknown garment kind 'cape'"):
        sample_garment_params("cape", rng)
    assert set(GARMENT_KINDS) == {"tshirt", "longsleeve", "tank", "shorts", "trousers", "skirt", "dress", "socks",
                                  "shoes"}


def test_rest_body_lower_leg_index_is_built_once_and_not_carried_to_other_vertices(body):
    """The lower-leg index is shared by a body's garments; a copy with other vertices builds its own."""
    import dataclasses

    rest = compute_rest_body(body, body.mean_shape())
    idx = rest.lower_leg_index()
    assert rest.lower_leg_index() is idx and idx.vertices is rest.vertices
    moved = dataclasses.replace(rest, vertices=rest.vertices + np.array([0.0, 0.0, 0.1]))
    other = moved.lower_leg_index()
    assert other is not idx and other.vertices is moved.vertices
