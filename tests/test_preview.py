"""`synth preview`: a pyrender (EGL) contact sheet of sampled scenes."""

from __future__ import annotations

import imageio.v3 as iio
import numpy as np
import pytest

from synth.recipe import parse_recipe

pytest.importorskip("pyrender")


def test_contact_sheet_shows_people(tmp_path):
    from synth.render.preview.contact_sheet import write_contact_sheet

    recipe = parse_recipe({
        "schema_version": 1, "scenes": 2, "image": {"width": 96, "height": 96},
        "people": {"count": 2, "anny_topology": "notoes_collapse5pc"},
        "cameras": [{"fov_deg": 50, "distance_m": 4}],
    })
    out = write_contact_sheet(recipe, str(tmp_path / "sheet.png"), n_scenes=2, tile_px=96)
    img = iio.imread(out)
    assert img.shape == (96, 192, 3)
    # each tile has a sky band, a ground band, and people that differ from both
    for tile in (img[:, :96], img[:, 96:]):
        assert tile[18:24].std(axis=(0, 1)).max() < 12         # under the caption: plain sky
        centre = tile[30:80, 30:66].reshape(-1, 3).astype(float)
        ground = tile[-6:].reshape(-1, 3).astype(float).mean(0)
        assert (np.abs(centre - ground).sum(1) > 40).mean() > 0.05
