"""`synth preview`: a pyrender (EGL) contact sheet of sampled scenes."""

from __future__ import annotations

import imageio.v3 as iio
import numpy as np
import pytest

from synth.recipe import parse_recipe

pytest.importorskip("pyrender")

RECIPE = {
    "schema_version": 1, "scenes": 2, "image": {"width": 96, "height": 96},
    "people": {"count": 2, "anny_topology": "notoes_collapse5pc"},
    "cameras": [{"fov_deg": 50, "distance_m": 4}],
}


def test_preview_draws_people_where_they_project():
    from synth.pipeline.posed_scene import build_posed_scene
    from synth.recipe.sample import sample_scene
    from synth.render.preview.pyrender_view import render_preview_view

    spec = sample_scene(parse_recipe(RECIPE), 0)
    scene = build_posed_scene(spec)
    cam = scene.camera_tracks[0].at(0)
    with_people = render_preview_view(scene.surface_meshes(), scene.frame_vertices(0), cam, spec.environment)
    empty = render_preview_view([], [], cam, spec.environment)
    assert with_people.shape == (96, 96, 3)
    changed = np.abs(with_people.astype(int) - empty.astype(int)).sum(-1) > 6
    # the pixels that changed are the people's silhouettes (their projected triangles)
    from PIL import Image, ImageDraw

    sil = Image.new("L", (96, 96), 0)
    d = ImageDraw.Draw(sil)
    for p in scene.people:
        uv = cam.project(p.posed.vertices[0]) + 0.5  # pixel centres -> PIL's pixel-edge coordinates
        for f in p.faces:
            d.polygon([tuple(uv[i]) for i in f], fill=1)
    sil = np.asarray(sil, bool)
    iou = (changed & sil).sum() / (changed | sil).sum()
    print(f"changed {changed.sum()} px, silhouette {sil.sum()} px, IoU {iou:.2f}, "
          f"precision {(changed & sil).sum() / changed.sum():.2f}")
    assert changed.sum() > 100 and iou > 0.85


def test_contact_sheet_file(tmp_path):
    from synth.pipeline.preview import write_contact_sheet

    out = write_contact_sheet(parse_recipe(RECIPE), str(tmp_path / "sheet.png"), n_scenes=2, tile_px=96)
    img = iio.imread(out)
    assert img.shape == (96, 192, 3) and img.std() > 10
