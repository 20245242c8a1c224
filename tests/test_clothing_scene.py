"""Garments in the recipe, the scene spec and the posed scene (no rendering)."""

from __future__ import annotations

import numpy as np
import pytest

from synth.clothing.garment import SEGMENT_CLASSES, SEGMENT_INDEX
from synth.core.errors import RecipeError
from synth.pipeline.posed_scene import build_posed_scene
from synth.recipe.load import parse_recipe
from synth.recipe.sample import sample_scene

BASE = {
    "schema_version": 1, "name": "dressed", "seed": 3, "scenes": 4, "frames_per_scene": 2, "fps": 10,
    "image": {"width": 64, "height": 64},
    "people": {"count": 2, "anny_topology": "default", "keypoint_set": "body",
               "motion": {"source": "walk"}, "shape": {"child_fraction": 0.5}},
}


def _recipe(clothing=None):
    d = {**BASE, "people": dict(BASE["people"])}
    if clothing is not None:
        d["people"]["clothing"] = clothing
    return parse_recipe(d, "dressed.yaml")


def test_clothing_settings_are_validated_with_their_path():
    with pytest.raises(RecipeError, match=r"people\.clothing\.source"):
        _recipe({"source": "cotton"})
    with pytest.raises(RecipeError, match=r"people\.clothing\.probabilities.*unknown garment 'cape'"):
        _recipe({"source": "procedural", "probabilities": {"cape": 0.5}})
    with pytest.raises(RecipeError, match=r"people\.clothing\.probabilities.*shoes: expected a probability in \[0, 1\]"):
        _recipe({"source": "procedural", "probabilities": {"shoes": 2}})
    with pytest.raises(RecipeError, match=r"people\.clothing\.colour"):
        _recipe({"source": "procedural", "colour": "red"})
    assert _recipe().people.clothing.source == "none"


def test_none_keeps_every_draw_and_procedural_adds_only_garments():
    bare, dressed = _recipe(), _recipe({"source": "procedural", "probabilities": {"dress": 0.0, "shoes": 1.0}})
    for i in range(2):
        a, b = sample_scene(bare, i), sample_scene(dressed, i)
        assert all(p.garments == () for p in a.people)
        assert len(a.people) == len(b.people)
        for pa, pb in zip(a.people, b.people):
            assert np.array_equal(pa.pose_rotvec, pb.pose_rotvec) and pa.outfit.to_dict() == pb.outfit.to_dict()
            kinds = [g.kind for g in pb.garments]
            assert "shoes" in kinds and "dress" not in kinds
            assert all(g.look["pattern"] in ("plain", "heather", "denim", "stripes", "checks") for g in pb.garments)
        assert [p.garments for p in sample_scene(dressed, i).people] == [p.garments for p in b.people]


def test_posed_scene_draws_garments_as_meshes_of_the_person():
    spec = sample_scene(_recipe({"source": "procedural"}), 1)
    scene = build_posed_scene(spec)
    meshes = scene.surface_meshes()
    for t in range(spec.frames):
        verts = scene.frame_vertices(t)
        assert len(verts) == len(meshes)
        for m, v in zip(meshes, verts):
            assert v.shape == (m.n_vertices, 3) and np.isfinite(v).all()
            assert m.faces.max() < m.n_vertices and m.vertex_colors.shape == (m.n_vertices, 3)
    for k, person in enumerate(scene.people):
        mine = [m for m in meshes if m.instance_id == k + 1]
        assert len(mine) == 1 + len(spec.people[k].garments)
        assert mine[0].segment_id == SEGMENT_INDEX["skin"]
        assert {SEGMENT_CLASSES[m.segment_id] for m in mine[1:]} <= {"hair", "top", "bottom", "dress", "shoes"}
        # garments move with their body between frames, and stay near it
        body0, body1 = person.posed.vertices[0], person.posed.vertices[1]
        for gv in person.garment_vertices:
            assert np.abs(gv[1] - gv[0]).max() > 0.005
            centre = body1.mean(0)
            assert np.linalg.norm(gv[1].mean(0)[:2] - centre[:2]) < 0.5
        assert np.abs(body1 - body0).max() > 0.005


def test_scene_without_clothing_is_unchanged():
    spec = sample_scene(_recipe(), 0)
    scene = build_posed_scene(spec)
    assert [m.name for m in scene.surface_meshes()] == [f"synth_person_{k + 1}" for k in range(len(spec.people))]
