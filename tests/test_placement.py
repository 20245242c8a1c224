"""Several people per scene never interpenetrate, at any frame (mesh checks on sampled crowd scenes)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from synth.core.mesh import point_mesh_distance, points_inside_mesh
from synth.pipeline.geometry import compute_people_geometry, load_body
from synth.recipe import load_recipe, parse_recipe, recipe_to_dict
from synth.recipe.sample import sample_scene

ROOT = Path(__file__).resolve().parents[1]


def test_crowd_bodies_never_interpenetrate():
    d = recipe_to_dict(load_recipe(ROOT / "scenes" / "crowd.yaml"))
    d["people"]["anny_topology"] = "notoes_collapse5pc"
    d["frames_per_scene"] = 4
    d["people"]["count"] = {"uniform": [5, 8]}
    d["people"]["placement"] = {"area_radius_m": 2.2, "min_separation_m": 0.15}  # crowded: bodies come close
    recipe = parse_recipe(d)
    checked = 0
    min_gap = np.inf
    children = 0
    for i in range(2):
        spec = sample_scene(recipe, i)
        people = compute_people_geometry(spec)
        body = load_body(spec.people[0].body_model, spec.people[0].body_options)
        assert 5 <= len(people) <= 8
        children += sum(float(p.shape["age_years"]) < 13 for p in spec.people)
        for a in range(len(people)):
            for b in range(a + 1, len(people)):
                for t in range(spec.frames):
                    va, vb = people[a].vertices[t], people[b].vertices[t]
                    # cheap reject: far apart bounding boxes
                    if np.any(va.min(0) > vb.max(0) + 0.5) or np.any(vb.min(0) > va.max(0) + 0.5):
                        continue
                    assert not points_inside_mesh(va, vb, body.faces).any(), (i, a, b, t)
                    gap = point_mesh_distance(va, vb, body.faces).min()
                    min_gap = min(min_gap, gap)
                    checked += 1
    assert children >= 1
    # when bodies come near each other they still keep clear of each other's surface
    print(f"{checked} close pairs checked, smallest gap {min_gap:.3f} m")
    assert checked > 0 and min_gap > 0.05, (checked, min_gap)
