"""Shards and manifest: write, read back, checksums, resume rules (real HDF5 files)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from synth.core.errors import DatasetError, JobError
from synth.io import fs
from synth.io.manifest import ShardRecord, load_manifest
from synth.io.reader import open_dataset
from synth.io.shards import BodyTopology, PersonData, SceneData, ViewData, sha256_file, shard_name, write_shard
from synth.pipeline.job import pending_shards, plan_shards, prepare_output, record_shard
from synth.recipe import load_recipe, parse_recipe, recipe_to_dict

ROOT = Path(__file__).resolve().parents[1]


def tiny_scene(index: int, rng: np.random.Generator, T: int = 2, P: int = 2, H: int = 8, W: int = 10) -> SceneData:
    V, J, K = 5, 3, 4
    people = [PersonData(
        body_model="anny", body_options={"topology": "test"}, motion={"source": "static"},
        shape={"age": np.float32(0.5)}, pose_rotvec=rng.normal(size=(T, J, 3)).astype(np.float32),
        T_world_from_root=np.tile(np.eye(4), (T, 1, 1)),
        vertices_world=rng.normal(size=(T, V, 3)).astype(np.float32),
        joints_world=rng.normal(size=(T, J, 3)).astype(np.float32),
        keypoints_world=rng.normal(size=(T, K, 3)).astype(np.float32), extra={}) for _ in range(P)]
    K_ = np.array([[10.0, 0, 4.5], [0, 10.0, 3.5], [0, 0, 1]])
    view = ViewData(
        name="cam0", model="pinhole", rig="orbit", width=W, height=H, params={"fov_deg": 50.0},
        K=np.tile(K_, (T, 1, 1)), dist=np.zeros((T, 5)), T_cam_from_world=np.tile(np.eye(4), (T, 1, 1)),
        rgb=[rng.integers(0, 255, (H, W, 3), dtype=np.uint8) for _ in range(T)],
        instance=rng.integers(0, P + 1, (T, H, W)).astype(np.uint16),
        depth_m=rng.uniform(1, 5, (T, H, W)).astype(np.float32),
        labels={"keypoints_2d": rng.normal(size=(T, P, K, 2)).astype(np.float32),
                "keypoints_visible": rng.random((T, P, K)) > 0.5})
    return SceneData(scene_index=index, scene_id=f"t-{index:07d}", seed=123 + index, frames=T, fps=30.0,
                     width=W, height=H, environment={"sky_strength": 1.0}, people=people, views=[view])


def test_shard_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    scenes = [tiny_scene(i, rng) for i in range(2)]
    body = BodyTopology("anny", np.array([[0, 1, 2], [2, 3, 4]]), ["a", "b", "c"], np.array([-1, 0, 1]),
                        ["k0", "k1", "k2", "k3"])
    d = recipe_to_dict(load_recipe(ROOT / "scenes" / "demo.yaml"))
    d["scenes_per_shard"] = 2   # the shard holds scenes 0 and 1, as the manifest's plan must say
    recipe = parse_recipe(d)
    out = tmp_path / "ds"
    m = prepare_output(recipe, str(out))
    path = tmp_path / "x.tmp"
    write_shard(str(path), 0, scenes, [body], "test")
    digest = sha256_file(str(path))
    fs.publish_file(str(path), str(out / "shards" / shard_name(0)))
    record_shard(str(out), m, ShardRecord(shard_name(0), 0, digest, 1, [0, 1], 2, 4))
    frames = list(open_dataset(str(out), verify=True))
    assert len(frames) == 4  # 2 scenes x 2 frames x 1 view
    f = frames[1]
    assert f.scene_id == "t-0000000" and f.frame_index == 1 and f.view == "cam0"
    assert np.array_equal(f.rgb, scenes[0].views[0].rgb[1])
    assert np.array_equal(f.instance, scenes[0].views[0].instance[1])
    assert np.array_equal(f.labels["keypoints_2d"], scenes[0].views[0].labels["keypoints_2d"][1])
    assert np.allclose(f.camera.K, scenes[0].views[0].K[1])
    assert f.keypoint_names == ["k0", "k1", "k2", "k3"]
    assert np.array_equal(f.people[0]["vertices_world"], scenes[0].people[0].vertices_world[1])
    assert f.faces[0].shape == (2, 3)
    # a damaged shard is caught by its checksum
    with open(out / "shards" / shard_name(0), "r+b") as fh:
        fh.seek(200)
        fh.write(b"\x00\x01\x02")
    with pytest.raises(DatasetError, match="sha256"):
        open_dataset(str(out), verify=True)


def test_prepare_output_resume_rules(tmp_path):
    recipe = load_recipe(ROOT / "scenes" / "demo.yaml")
    out = str(tmp_path / "ds")
    m = prepare_output(recipe, out)
    assert m.shards_total == 2 and not m.complete
    assert [p.scene_indices for p in plan_shards(7, 3)] == [(0, 1, 2), (3, 4, 5), (6,)]
    # a listed shard whose file is missing is dropped and redone
    record_shard(out, m, ShardRecord(shard_name(0), 0, "0" * 64, 1, [0, 1, 2], 3, 6))
    assert load_manifest(out).finished_indices() == {0}
    m2 = prepare_output(recipe, out)
    assert m2.finished_indices() == set()
    assert [p.shard_index for p in pending_shards(recipe, m2)] == [0, 1]
    # another recipe may not write into the same folder
    d = recipe_to_dict(recipe)
    d["seed"] = 8
    with pytest.raises(JobError, match="different recipe"):
        prepare_output(parse_recipe(d), out)
    with pytest.raises(JobError, match="without --no-resume"):
        prepare_output(recipe, out, resume=False)
    assert json.loads((tmp_path / "ds" / "manifest.json").read_text())["format_version"] == 1


def test_open_dataset_errors(tmp_path):
    with pytest.raises(DatasetError, match="no manifest.json"):
        open_dataset(str(tmp_path))
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(DatasetError, match="not valid JSON"):
        open_dataset(str(tmp_path))


def test_frame_png_is_lossless_at_the_fast_level():
    """The frame PNG (zlib level 3, for speed) decodes to the same pixels, RGB and RGBA, and is a real PNG."""
    from synth.io.shards import decode_png, encode_png

    rng = np.random.default_rng(0)
    smooth = np.linspace(0, 255, 64 * 48 * 3).reshape(48, 64, 3).astype(np.uint8)
    noisy = rng.integers(0, 256, size=(48, 64, 4), dtype=np.uint8)
    for img in (smooth, noisy):
        blob = encode_png(img)
        assert blob.dtype == np.uint8 and bytes(blob[:8]) == b"\x89PNG\r\n\x1a\n"
        np.testing.assert_array_equal(decode_png(blob), img)
    assert len(encode_png(smooth, compress_level=9)) <= len(encode_png(smooth))
