"""``synth generate --workers N`` on an embedded local Ray (real Ray, Blender, HDF5), and the failure policy."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from synth.core.errors import JobError
from synth.core.rng import scene_seed_int
from synth.io import open_dataset
from synth.io.manifest import load_manifest
from synth.recipe import parse_recipe

pytestmark = pytest.mark.ray

SYNTH = str(Path(sys.executable).parent / "synth")

TINY = {
    "schema_version": 1, "name": "localtiny", "seed": 9, "scenes": 3, "frames_per_scene": 1, "fps": 10,
    "scenes_per_shard": 1, "image": {"width": 64, "height": 64}, "render": {"samples": 2},
    "people": {"count": 1, "body_model": "anny", "anny_topology": "notoes_collapse5pc",
               "motion": {"source": "static"}},
    "cameras": [{"name": "main", "fov_deg": 50, "distance_m": 4.0}],
}


def run(*args: str, timeout: float = 400) -> subprocess.CompletedProcess:
    r = subprocess.run([SYNTH, *args], capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, f"synth {args[0]} exited {r.returncode}:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r


def test_generate_with_two_ray_workers_equals_single_process(tmp_path):
    recipe = tmp_path / "tiny.yaml"
    recipe.write_text(yaml.safe_dump(TINY))
    a, b = tmp_path / "ray", tmp_path / "single"
    out = run("generate", str(recipe), "--workers", "2", "--out", str(a), "--quiet")
    assert "3 scenes" in out.stdout
    run("generate", str(recipe), "--out", str(b), "--quiet")
    da, db = open_dataset(str(a), verify=True), open_dataset(str(b), verify=True)
    assert da.manifest.complete and sorted(i for s in da.manifest.shards for i in s.scene_indices) == [0, 1, 2]
    fa = {(f.scene_index, f.view): f for f in da}
    fb = {(f.scene_index, f.view): f for f in db}
    assert fa.keys() == fb.keys() and len(fa) == 3
    for k in fa:
        # everything is bit-identical: workers pin math to one thread (pipeline.worker.pin_math_threads)
        np.testing.assert_array_equal(fa[k].rgb, fb[k].rgb)
        np.testing.assert_array_equal(fa[k].instance, fb[k].instance)
        for name, arr in fb[k].labels.items():
            np.testing.assert_array_equal(fa[k].labels[name], arr, err_msg=f"{k} {name}")
    prog = json.loads((a / "progress.json").read_text())
    assert prog["state"] == "succeeded" and prog["scenes_done"] == 3 and prog["workers_target"] == 2


@pytest.fixture(scope="module")
def local_ray():
    import ray

    from synth.distributed.local import init_local_ray

    temp = init_local_ray(num_cpus=2)
    try:
        yield
    finally:
        ray.shutdown()
        import shutil

        shutil.rmtree(temp, ignore_errors=True)


def _broken_recipe(tmp_path: Path):
    """A valid recipe whose scenes fail on the workers: SMPL-X chosen, but its model file is damaged
    (a missing file is caught before the job starts, see test_missing_model_file_fails_before_writing)."""
    empty = tmp_path / "damaged_smplx_files"
    empty.mkdir()
    (empty / "SMPLX_NEUTRAL.npz").write_bytes(b"this is not an npz file")
    d = {**TINY, "name": "broken", "scenes": 2,
         "people": {"count": 1, "body_model": "smplx", "smplx_model_dir": str(empty), "motion": {"source": "static"}}}
    return parse_recipe(d, "broken")


def test_on_error_skip_leaves_manifest_incomplete_and_names_scenes(local_ray, tmp_path):
    from synth.distributed.local import run_local_ray_report
    from synth.distributed.policy import JobPolicy

    recipe = _broken_recipe(tmp_path)
    out = tmp_path / "skip"
    rep = run_local_ray_report(recipe, str(out), workers=2, cpus_per_worker=1, progress=False,
                               policy=JobPolicy(max_shard_retries=1, on_error="skip"))
    assert rep.state == "incomplete" and rep.skipped_shards == [0, 1] and rep.skipped_scenes == [0, 1]
    assert len(rep.failures) == 4                 # 2 shards x (1 try + 1 retry)
    for f in rep.failures:
        assert f.kind == "scene_error" and f.scene_index == f.shard_index
        assert f.job_seed == 9 and f.scene_seed == scene_seed_int(9, f.scene_index)
        assert f"scene {f.scene_index}" in f.message
    m = load_manifest(str(out))
    assert not m.complete and m.shards == []
    prog = json.loads((out / "progress.json").read_text())
    assert prog["state"] == "incomplete" and prog["skipped_scenes"] == [0, 1] and "skipped" in prog["message"]


def test_on_error_fail_raises_with_scene_and_seed(local_ray, tmp_path):
    from synth.distributed.local import run_on_local_ray

    recipe = _broken_recipe(tmp_path)
    out = tmp_path / "fail"
    with pytest.raises(JobError) as info:
        run_on_local_ray(recipe, str(out), workers=1, progress=False, max_shard_retries=0)
    msg = str(info.value)
    assert "scene 0" in msg and f"scene seed {scene_seed_int(9, 0)}" in msg and "resume" in msg
    prog = json.loads((out / "progress.json").read_text())
    assert prog["state"] == "failed" and prog["failures"][0]["scene_index"] == 0


def test_fsspec_output_url_through_ray_workers(local_ray, tmp_path):
    """Output given as an fsspec URL (``local://`` stands in for s3:// / gs://): the workers publish their shards
    with one ``put`` and the driver writes the manifest through fsspec; a second run resumes from it."""
    from synth.distributed.local import run_local_ray_report

    recipe = parse_recipe({**TINY, "name": "fsspec", "scenes": 2}, "fsspec")
    url = f"local://{tmp_path / 'remote'}"
    rep = run_local_ray_report(recipe, url, workers=2, cpus_per_worker=1, progress=False)
    assert rep.state == "succeeded" and rep.shards_run == 2
    ds = open_dataset(str(tmp_path / "remote"), verify=True)      # the same folder, read as a local path
    assert ds.manifest.complete and sorted(f.scene_index for f in ds) == [0, 1]
    again = run_local_ray_report(recipe, url, workers=2, cpus_per_worker=1, progress=False)
    assert again.shards_run == 0 and again.workers_started == 0 and again.manifest.complete


def test_missing_model_file_fails_before_writing(tmp_path):
    recipe = tmp_path / "r.yaml"
    empty = tmp_path / "no_smplx_files"
    empty.mkdir()
    recipe.write_text(yaml.safe_dump({**TINY, "people": {"body_model": "smplx", "smplx_model_dir": str(empty)}}))
    r = subprocess.run([SYNTH, "generate", str(recipe), "--workers", "2", "--out", str(tmp_path / "out")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and "SMPLX_NEUTRAL.npz not found" in r.stderr and "smpl-x.is.tue.mpg.de" in r.stderr
    assert not (tmp_path / "out").exists()
