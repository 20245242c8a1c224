"""End to end on the real stack: recipe -> Anny -> Blender -> labels -> HDF5 -> reader, CLI included."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from synth.io import open_dataset
from synth.pipeline.job import plan_shards, run_local
from synth.recipe import parse_recipe

pytestmark = pytest.mark.blender

ROOT = Path(__file__).resolve().parents[1]

TINY = {
    "schema_version": 1, "name": "tiny", "seed": 11, "scenes": 3, "frames_per_scene": 2, "fps": 10,
    "scenes_per_shard": 2, "image": {"width": 64, "height": 64}, "render": {"samples": 2},
    "people": {"count": {"uniform": [1, 2]}, "anny_topology": "notoes_collapse5pc",
               "shape": {"child_fraction": 0.5},
               "motion": {"source": {"choice": ["static", "walk"]}}},
    "cameras": [{"name": "main", "fov_deg": 50, "distance_m": {"uniform": [4, 5]}}],
}


def tiny_recipe(**overrides):
    d = {**TINY, **overrides}
    return parse_recipe(d, "tiny")


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("ds") / "tiny"
    run_local(tiny_recipe(), str(out), progress=False)
    return out


def test_dataset_has_every_scene_once_with_labels_on_people(tiny_dataset):
    ds = open_dataset(str(tiny_dataset), verify=True)
    frames = list(ds)
    assert len(frames) == 3 * 2 == len(ds)
    assert sorted({f.scene_index for f in frames}) == [0, 1, 2]
    assert ds.manifest.complete and ds.manifest.shards_total == 2
    on_mask = []
    for f in frames:
        P = len(f.people)
        assert f.labels["keypoints_2d"].shape == (P, len(f.keypoint_names), 2) and len(f.keypoint_names) >= 23
        assert f.rgb.shape == (64, 64, 3) and f.instance.shape == (64, 64)
        assert set(np.unique(f.instance)) <= set(range(P + 1))
        for p in range(P):
            vis = f.labels["keypoints_visible"][p]
            kp = f.labels["keypoints_2d"][p][vis]
            ui, vi = np.rint(kp[:, 0]).astype(int), np.rint(kp[:, 1]).astype(int)
            # on the person's own mask, within one pixel (the visibility rule's neighbourhood)
            near = np.zeros(len(ui), bool)
            for dv in (-1, 0, 1):
                for du in (-1, 0, 1):
                    near |= f.instance[np.clip(vi + dv, 0, 63), np.clip(ui + du, 0, 63)] == p + 1
            on_mask.extend(near.tolist())
            # dense contact labels: static and walking people have a foot on the ground, at the floor
            cg = f.people[p]["contact_ground"]
            assert cg.shape == (len(f.people[p]["vertices_world"]),) and cg.any()
            assert f.people[p]["vertices_world"][cg, 2].max() <= 0.02
            # projecting the stored 3D keypoints through the stored camera gives the stored 2D ones
            assert np.allclose(f.camera.project(f.people[p]["keypoints_world"]), f.labels["keypoints_2d"][p],
                               atol=1e-3, equal_nan=True)
    assert len(on_mask) > 10 and np.mean(on_mask) > 0.97


def test_same_seed_gives_identical_labels_in_any_order(tiny_dataset, tmp_path):
    """Rendering the shards in reverse order in a fresh output reproduces every label array."""
    recipe = tiny_recipe()
    out = tmp_path / "again"
    plans = list(reversed(plan_shards(recipe.scenes, recipe.scenes_per_shard)))
    run_local(recipe, str(out), progress=False, shards=plans)
    a = {(f.scene_index, f.frame_index, f.view): f for f in open_dataset(str(tiny_dataset))}
    b = {(f.scene_index, f.frame_index, f.view): f for f in open_dataset(str(out))}
    assert a.keys() == b.keys()
    for k in a:
        for name, arr in a[k].labels.items():
            assert np.array_equal(arr, b[k].labels[name], equal_nan=True), (k, name)
        assert np.array_equal(a[k].instance, b[k].instance)
        assert np.allclose(a[k].camera.T_cam_from_world, b[k].camera.T_cam_from_world)
        for pa, pb in zip(a[k].people, b[k].people):
            assert np.array_equal(pa["vertices_world"], pb["vertices_world"])


def test_cli_generate_then_view(tmp_path):
    recipe = tmp_path / "r.yaml"
    d = dict(TINY, scenes=1, frames_per_scene=1)
    recipe.write_text(yaml.safe_dump(d))
    out = tmp_path / "out"
    res = subprocess.run([sys.executable, "-m", "synth.cli", "generate", str(recipe), "--out", str(out), "--quiet"],
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    assert "1 scenes" in res.stdout
    res = subprocess.run([sys.executable, "-m", "synth.cli", "view", str(out)], capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0, res.stderr
    pngs = sorted((out / "overlays").glob("*.png"))
    assert len(pngs) == 1
    import imageio.v3 as iio

    img = iio.imread(pngs[0])
    assert img.shape == (128, 128, 3) and img.std() > 5
    # a failing run (bad recipe) leaves nothing half-written behind
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(dict(TINY, image={"width": -1, "height": 64})))
    res = subprocess.run([sys.executable, "-m", "synth.cli", "generate", str(bad), "--out", str(tmp_path / "none")],
                         capture_output=True, text=True)
    assert res.returncode == 2 and "image.width" in res.stderr
    assert not (tmp_path / "none").exists()


def test_stored_cameras_agree_with_opencv(tiny_dataset):
    """The labels' 2D keypoints equal cv2.projectPoints on the stored K, distortion and extrinsics."""
    import cv2

    n = 0
    for f in open_dataset(str(tiny_dataset)):
        T = f.camera.T_cam_from_world
        rvec, _ = cv2.Rodrigues(T[:3, :3])
        for p, person in enumerate(f.people):
            X = person["keypoints_world"].astype(np.float64)
            uv, _ = cv2.projectPoints(X, rvec, T[:3, 3], f.camera.K, f.camera.dist[:5])
            assert np.allclose(uv[:, 0, :], f.labels["keypoints_2d"][p], atol=1e-3)
            n += 1
    assert n >= 3


def test_export_coco_matches_labels(tiny_dataset, tmp_path):
    import json

    import imageio.v3 as iio

    res = subprocess.run([sys.executable, "-m", "synth.cli", "export", str(tiny_dataset), "--dest", str(tmp_path)],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    doc = json.loads((tmp_path / "annotations.json").read_text())
    frames = list(open_dataset(str(tiny_dataset)))
    assert len(doc["images"]) == len(frames)
    assert doc["categories"][0]["keypoints"][:2] == ["nose", "left_eye"]
    by_image = {}
    for a in doc["annotations"]:
        by_image.setdefault(a["image_id"], []).append(a)
    for img, f in zip(doc["images"], frames):
        assert np.array_equal(iio.imread(tmp_path / img["file_name"]), f.rgb)
        for a in by_image.get(img["id"], []):
            p = a["person_index"]
            kp = np.array(a["keypoints"] + a["foot_kpts"] + a["face_kpts"] + a["lefthand_kpts"]
                          + a["righthand_kpts"]).reshape(-1, 3)
            assert kp.shape == (133, 3)
            vis, inside = f.labels["keypoints_visible"][p], f.labels["keypoints_in_image"][p]
            assert np.array_equal(kp[:, 2], np.where(vis, 2, np.where(inside, 1, 0)))
            ok = kp[:, 2] > 0
            assert np.allclose(kp[ok, :2] - 0.5, f.labels["keypoints_2d"][p][ok], atol=2e-3)
            x, y, w, h = a["bbox"]
            assert np.allclose([x - 0.5, y - 0.5, x + w - 0.5, y + h - 0.5], f.labels["bbox_xyxy"][p], atol=2e-3)
            assert a["num_keypoints"] == int((kp[:17, 2] > 0).sum())
