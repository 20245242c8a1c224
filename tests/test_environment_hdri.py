"""Photographed worlds: the bundled HDRIs are found and measured; the recipe draws them and matches the horizon."""

from __future__ import annotations

import math
import shutil

import numpy as np
import pytest
import yaml

from synth.core.errors import RecipeError
from synth.environment.hdri import BUNDLED_HDRIS, bundled_hdri_dir, measure_hdri
from synth.recipe import parse_recipe
from synth.recipe.sample import sample_scene

pytest.importorskip("bpy", reason="the bundled HDRIs ship with the bpy wheel")

RECIPE = {
    "schema_version": 1, "name": "hdri", "seed": 3, "scenes": 4, "image": {"width": 64, "height": 64},
    "people": {"count": 1},
    "cameras": [{"name": "c", "distance_m": {"uniform": [4.0, 6.0]}, "elevation_deg": {"uniform": [0, 40]}}],
    "environment": {"hdri": {"names": ["city", "forest"], "camera_height_m": 1.6}},
}


def _recipe(**hdri):
    d = yaml.safe_load(yaml.safe_dump(RECIPE))
    d["environment"]["hdri"].update(hdri)
    return parse_recipe(d, "hdri.yaml")


def test_the_eight_bundled_hdris_are_found():
    folder = bundled_hdri_dir()
    assert sorted(p.stem for p in folder.glob("*.exr")) == sorted(BUNDLED_HDRIS)
    assert (folder / "license.txt").read_text().count("CC0") >= 1


def test_the_exposure_table_matches_a_fresh_measurement():
    cv2 = pytest.importorskip("cv2", reason="OpenCV reads the EXR files")
    from synth.environment.hdri import load_hdri_pixels

    del cv2
    for name, facts in BUNDLED_HDRIS.items():
        measured = measure_hdri(load_hdri_pixels(bundled_hdri_dir() / f"{name}.exr"), facts.indoor)
        assert measured.illuminance_h == pytest.approx(facts.illuminance_h, rel=2e-3), name
        assert measured.mean_radiance == pytest.approx(facts.mean_radiance, rel=2e-3), name
        np.testing.assert_allclose(measured.ground_radiance, facts.ground_radiance, rtol=2e-3, atol=1e-4)
    # the photos span a 14x range of light; the normalised exposure brings E_h within [0.5, 3] x ... of the target
    e = np.array([f.illuminance_h for f in BUNDLED_HDRIS.values()])
    assert e.max() / e.min() > 10
    lit = np.array([f.illuminance_h * f.exposure_scale for f in BUNDLED_HDRIS.values()])
    assert (lit <= 3.0 + 1e-9).all() and lit.min() > 0.9


def test_measure_hdri_on_a_constant_sky():
    """A uniform sky of radiance L gives E_h = pi L and mean radiance L (equirectangular weighting)."""
    img = np.full((64, 128, 3), 2.0, np.float32)
    facts = measure_hdri(img)
    assert facts.illuminance_h == pytest.approx(math.pi * 2.0, rel=2e-3)
    assert facts.mean_radiance == pytest.approx(2.0, rel=1e-3)
    assert facts.ground_radiance == pytest.approx((2.0, 2.0, 2.0), rel=1e-3)


def test_scenes_draw_an_hdri_a_shadow_catcher_and_cameras_at_the_capture_height():
    from synth.pipeline.camera_tracks import compute_camera_tracks
    from synth.pipeline.geometry import compute_people_geometry

    r = _recipe()
    names = set()
    for i in range(4):
        spec = sample_scene(r, i)
        env = spec.environment
        assert env.hdri is not None and env.hdri.name in ("city", "forest")
        names.add(env.hdri.name)
        assert env.hdri.path.endswith(f"{env.hdri.name}.exr")
        assert -math.pi <= env.hdri.rotation_rad <= math.pi
        scale = BUNDLED_HDRIS[env.hdri.name].exposure_scale
        assert 0.7 * scale <= env.hdri.strength <= 1.3 * scale
        assert env.ground is not None and env.ground.shadow_catcher
        assert env.sun is None and env.area_lights == ()
        # the orbit camera is at the photo's capture height (1.6 m), its drawn look-at offset included
        track = compute_camera_tracks(spec, compute_people_geometry(spec))[0]
        assert track.at(0).center_world[2] == pytest.approx(1.6, abs=1e-6)
        assert spec.cameras[0].params["elevation_from"] == "hdri_capture_height"
    assert names == {"city", "forest"}
    assert sample_scene(r, 2).environment == sample_scene(r, 2).environment


def test_matched_ground_takes_the_photos_ground_colour_and_none_drops_it():
    env = sample_scene(_recipe(ground="matched", names=["city"]), 0).environment
    assert env.ground is not None and not env.ground.shadow_catcher
    np.testing.assert_allclose(env.ground.base_color, BUNDLED_HDRIS["city"].ground_albedo)
    assert sample_scene(_recipe(ground="none"), 0).environment.ground is None


def test_camera_height_null_keeps_the_drawn_elevation():
    a = sample_scene(_recipe(camera_height_m=None), 1)
    assert "elevation_from" not in a.cameras[0].params


def test_hdri_does_not_change_the_people_or_cameras_drawn():
    d = yaml.safe_load(yaml.safe_dump(RECIPE))
    del d["environment"]["hdri"]
    plain = sample_scene(parse_recipe(d, "plain.yaml"), 0)
    photo = sample_scene(_recipe(camera_height_m=None), 0)
    np.testing.assert_array_equal(plain.people[0].pose_rotvec, photo.people[0].pose_rotvec)
    for a, b in zip(plain.cameras, photo.cameras, strict=True):
        assert (a.name, a.rig, a.model, a.params) == (b.name, b.rig, b.model, b.params)
        np.testing.assert_array_equal(a.jitter.look_at_offset_m, b.jitter.look_at_offset_m)
    assert plain.environment.sky_color == photo.environment.sky_color


def test_user_hdri_folder(tmp_path):
    pytest.importorskip("cv2", reason="user HDRIs are measured with OpenCV")
    shutil.copy(bundled_hdri_dir() / "forest.exr", tmp_path / "my_park.exr")
    (tmp_path / "notes.txt").write_text("not an image")
    env = sample_scene(_recipe(folder=str(tmp_path)), 0).environment
    assert env.hdri.name == "my_park" and env.hdri.path == str((tmp_path / "my_park.exr").resolve())
    scale = BUNDLED_HDRIS["forest"].exposure_scale
    assert 0.7 * scale * 0.99 <= env.hdri.strength <= 1.3 * scale * 1.01


def test_bad_hdri_settings_fail_with_the_field_path(tmp_path):
    with pytest.raises(RecipeError, match=r"environment\.hdri\.names.*unknown bundled HDRI.*'mars'"):
        _recipe(names=["mars"])
    with pytest.raises(RecipeError, match=r"environment\.hdri\.ground.*'grass'"):
        _recipe(ground="grass")
    with pytest.raises(RecipeError, match=r"environment\.hdri\.folder.*does not exist"):
        _recipe(folder=str(tmp_path / "nope"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(RecipeError, match=r"environment\.hdri\.folder.*holds no \.exr/\.hdr files"):
        sample_scene(_recipe(folder=str(tmp_path / "empty")), 0)


def test_user_hdris_from_an_assets_manifest_entry(tmp_path, monkeypatch):
    pytest.importorskip("cv2", reason="user HDRIs are measured with OpenCV")
    manifest = tmp_path / "manifest"
    manifest.mkdir()
    (manifest / "my_worlds.yaml").write_text(yaml.safe_dump({
        "id": "my_worlds", "name": "my HDRIs", "kind": "hdri", "licence": "CC0-1.0", "user_supplied": True,
        "env_var": "MY_WORLDS_DIR", "default_dir": None, "how_to_get": "copy your .exr files there",
        "files": [{"name": "park.exr", "required": True, "sha256": None},
                  {"name": "beach.exr", "required": False, "sha256": None}]}))
    (manifest / "not_hdri.yaml").write_text(yaml.safe_dump({
        "id": "not_hdri", "name": "x", "kind": "data", "licence": "CC0-1.0", "user_supplied": False, "files": []}))
    monkeypatch.setenv("SYNTH_ASSETS_MANIFEST_DIR", str(manifest))
    worlds = tmp_path / "worlds"
    worlds.mkdir()
    monkeypatch.setenv("MY_WORLDS_DIR", str(worlds))
    from synth.core.errors import AssetError

    with pytest.raises(AssetError, match=r"environment\.hdri\.asset 'my_worlds'.*park\.exr.*MY_WORLDS_DIR.*copy your"):
        sample_scene(_recipe(asset="my_worlds"), 0)
    shutil.copy(bundled_hdri_dir() / "forest.exr", worlds / "park.exr")
    env = sample_scene(_recipe(asset="my_worlds"), 0).environment
    assert env.hdri.name == "park" and env.hdri.path == str((worlds / "park.exr").resolve())
    with pytest.raises(RecipeError, match=r"environment\.hdri\.asset.*'not_hdri' is of kind 'data'"):
        sample_scene(_recipe(asset="not_hdri"), 0)
    with pytest.raises(RecipeError, match=r"environment\.hdri.*either folder or asset"):
        _recipe(asset="my_worlds", folder=str(worlds))


def test_the_manifest_lists_the_bundled_hdris_with_their_checksums():
    from synth.assets.manifest import load_manifest, sha256_of

    entry = load_manifest()["bpy_studiolight_worlds"]
    assert entry.kind == "hdri" and entry.licence == "CC0-1.0"
    assert sorted(f.name[:-4] for f in entry.files) == sorted(BUNDLED_HDRIS)
    for f in entry.files:
        assert sha256_of(bundled_hdri_dir() / f.name) == f.sha256
