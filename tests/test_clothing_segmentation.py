"""Per-pixel clothing segmentation: Cycles' Material Index pass (each garment material's pass index is its clothing
class) written to the shards; it agrees exactly with the instance mask and shows the garments as classes."""

from __future__ import annotations

import numpy as np
import pytest

from synth.clothing.garment import SEGMENT_CLASSES, SEGMENT_INDEX
from synth.io import open_dataset
from synth.pipeline.job import run_local
from synth.recipe import parse_recipe

pytestmark = pytest.mark.blender

RECIPE = {
    "schema_version": 1, "name": "dressed", "seed": 5, "scenes": 2, "frames_per_scene": 1, "fps": 10,
    "scenes_per_shard": 2, "image": {"width": 128, "height": 128}, "render": {"samples": 2},
    "people": {"count": 1, "clothing": {"source": "procedural"}, "motion": {"source": "static"}},
    "cameras": [{"name": "main", "fov_deg": 40, "distance_m": 3.2, "look_at_height_m": 0.9,
                 "elevation_deg": 5}],
}


@pytest.fixture(scope="module")
def dressed(tmp_path_factory):
    out = tmp_path_factory.mktemp("dressed") / "ds"
    run_local(parse_recipe(RECIPE, "dressed"), str(out), progress=False)
    return list(open_dataset(str(out), verify=True))


def test_segmentation_agrees_with_the_instance_mask(dressed):
    assert len(dressed) == 2
    for f in dressed:
        assert f.segment is not None and f.segment.shape == f.instance.shape and f.segment.dtype == np.uint16
        person = f.instance > 0
        assert person.sum() > 300
        # every pixel of a (dressed) person has a clothing class, and nothing else has one
        np.testing.assert_array_equal(f.segment > 0, person)
        assert f.segment.max() < len(SEGMENT_CLASSES)


def test_garments_show_as_their_classes(dressed):
    seen = set()
    for f in dressed:
        classes, counts = np.unique(f.segment[f.instance > 0], return_counts=True)
        seen |= {SEGMENT_CLASSES[c] for c, n in zip(classes, counts) if n >= 10}
        # a dressed person is not all skin: garments cover a good part of the silhouette
        skin = (f.segment == SEGMENT_INDEX["skin"]).sum() / (f.instance > 0).sum()
        assert skin < 0.7, skin
    assert "skin" in seen and len(seen & {"top", "bottom", "dress"}) >= 1, seen


def test_shards_record_each_persons_garments(dressed):
    """The drawn garments are stored per person (kinds, parameters, looks) and match the classes on the pixels."""
    from synth.clothing.outfit import GarmentSpec

    for f in dressed:
        worn = f.people[0]["clothing"]
        assert worn and all(g["source"] == "procedural" for g in worn)
        assert all(GarmentSpec(**g).to_dict() == g for g in worn)     # round trip of the stored record
        seen = {SEGMENT_CLASSES[c] for c in np.unique(f.segment[f.instance == 1])}
        kinds = {g["kind"] for g in worn}
        if "dress" in seen:
            assert "dress" in kinds, (seen, kinds)
