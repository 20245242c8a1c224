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
    from synth.clothing.appearance import sample_appearance
    from synth.pipeline.camera_tracks import compute_camera_tracks
    from synth.pipeline.geometry import compute_people_geometry, load_body
    from synth.recipe.sample import sample_scene
    from synth.render.preview.contact_sheet import render_preview_view

    spec = sample_scene(parse_recipe(RECIPE), 0)
    posed = compute_people_geometry(spec)
    bodies = [load_body(p.body_model, p.body_options) for p in spec.people]
    apps = [sample_appearance(b, p.shape, rng=np.random.default_rng(p.appearance_seed)) for b, p in zip(bodies, spec.people)]
    cam = compute_camera_tracks(spec, posed)[0].at(0)
    with_people = render_preview_view([p.vertices[0] for p in posed], cam, spec.environment, apps,
                                      [b.faces for b in bodies])
    empty = render_preview_view([], cam, spec.environment, [], [])
    assert with_people.shape == (96, 96, 3)
    changed = np.abs(with_people.astype(int) - empty.astype(int)).sum(-1) > 6
    # the pixels that changed are the people's silhouettes (their projected triangles)
    from PIL import Image, ImageDraw

    sil = Image.new("L", (96, 96), 0)
    d = ImageDraw.Draw(sil)
    for p, b in zip(posed, bodies):
        uv = cam.project(p.vertices[0]) + 0.5  # pixel centres -> PIL's pixel-edge coordinates
        for f in b.faces:
            d.polygon([tuple(uv[i]) for i in f], fill=1)
    sil = np.asarray(sil, bool)
    iou = (changed & sil).sum() / (changed | sil).sum()
    print(f"changed {changed.sum()} px, silhouette {sil.sum()} px, IoU {iou:.2f}, "
          f"precision {(changed & sil).sum() / changed.sum():.2f}")
    assert changed.sum() > 100 and iou > 0.85


def test_contact_sheet_file(tmp_path):
    from synth.render.preview.contact_sheet import write_contact_sheet

    out = write_contact_sheet(parse_recipe(RECIPE), str(tmp_path / "sheet.png"), n_scenes=2, tile_px=96)
    img = iio.imread(out)
    assert img.shape == (96, 192, 3) and img.std() > 10
