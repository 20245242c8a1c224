"""The output folder: an exclusive lock between runs, a manifest whose structure is checked on read and
repaired on resume, shard names confined to ``shards/``, and temp files swept.

Shards here are real HDF5 files written by ``write_shard`` from small synthetic scenes (as in
test_io.py); the lock is held by a real second process.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from synth.cli import main
from synth.core.errors import DatasetError, JobError
from synth.io import fs
from synth.io.manifest import load_manifest, save_manifest
from synth.io.reader import open_dataset
from synth.io.shards import BodyTopology, sha256_file, shard_name, write_shard
from synth.pipeline.job import open_output, prepare_output, record_shard
from synth.recipe import load_recipe, parse_recipe, recipe_to_dict

from test_io import tiny_scene  # noqa: E402 - tests/ is on sys.path under pytest

ROOT = Path(__file__).resolve().parents[1]


def _recipe(scenes: int = 4, per_shard: int = 2):
    d = recipe_to_dict(load_recipe(ROOT / "scenes" / "demo.yaml"))
    d.update(scenes=scenes, scenes_per_shard=per_shard)   # demo: 2 frames, 1 camera
    return parse_recipe(d)


def _dataset(tmp_path: Path) -> tuple[str, object]:
    """A complete 2-shard dataset (scenes 0-1 and 2-3), real HDF5 shards with matching records."""
    from synth.io.manifest import ShardRecord

    recipe = _recipe()
    out = str(tmp_path / "ds")
    m = prepare_output(recipe, out)
    rng = np.random.default_rng(0)
    body = BodyTopology("anny", np.array([[0, 1, 2], [2, 3, 4]]), ["a", "b", "c"], np.array([-1, 0, 1]),
                        ["k0", "k1", "k2", "k3"])
    for k in range(2):
        tmp = str(tmp_path / f"s{k}.tmp")
        write_shard(tmp, k, [tiny_scene(2 * k, rng), tiny_scene(2 * k + 1, rng)], [body], "test")
        digest, size = sha256_file(tmp), os.path.getsize(tmp)
        fs.publish_file(tmp, os.path.join(out, "shards", shard_name(k)))
        record_shard(out, m, ShardRecord(shard_name(k), k, digest, size, [2 * k, 2 * k + 1], 2, 4))
    assert m.complete
    return out, recipe


def _edit(out: str, fn) -> None:
    p = Path(out) / "manifest.json"
    d = json.loads(p.read_text())
    fn(d)
    p.write_text(json.dumps(d))


def test_clean_dataset_reads_and_verifies(tmp_path):
    out, _ = _dataset(tmp_path)
    ds = open_dataset(out, verify=True)
    assert len(ds) == 8 and len(list(ds)) == 8


@pytest.mark.parametrize("case,edit,message", [
    ("dropped_record", lambda d: d["shards"].pop(), "complete is True but 1 of 2 shards"),
    ("duplicated_record", lambda d: d["shards"].append(dict(d["shards"][0])), "listed twice"),
    ("edited_scene_indices", lambda d: d["shards"][1].update(scene_indices=[2, 5]), "not its planned scenes 2..3"),
    ("edited_n_frames", lambda d: d["shards"][0].update(n_frames=5), "n_frames 5, expected 4"),
    ("edited_n_scenes", lambda d: d["shards"][0].update(n_scenes=1), "n_scenes 1, expected 2"),
    ("escaping_name", lambda d: d["shards"][0].update(name="../../../x.h5"), "is not 'shard-000000.h5'"),
    ("index_outside_plan", lambda d: d["shards"][1].update(shard_index=7), "outside the plan's 0..1"),
])
def test_manifest_structure_is_checked_on_read(tmp_path, case, edit, message):
    out, _ = _dataset(tmp_path)
    _edit(out, edit)
    for verify in (False, True):
        with pytest.raises(DatasetError) as info:
            open_dataset(out, verify=verify)
        assert message in str(info.value), (case, str(info.value))
        assert "manifest.json" in str(info.value)


def test_escaping_shard_name_never_reads_outside(tmp_path):
    out, _ = _dataset(tmp_path)
    outside = tmp_path / "x.h5"
    shutil.copy(Path(out) / "shards" / shard_name(0), outside)   # a valid shard, but outside the dataset
    rel = os.path.relpath(outside, Path(out) / "shards")
    _edit(out, lambda d: d["shards"][0].update(name=rel))
    with pytest.raises(DatasetError, match="shards/"):
        list(open_dataset(out))
    # a symlink inside shards/ that points outside is refused by verify
    _edit(out, lambda d: d["shards"][0].update(name=shard_name(0)))
    link = Path(out) / "shards" / shard_name(0)
    link.unlink()
    link.symlink_to(outside)
    with pytest.raises(DatasetError, match="not a regular file inside"):
        open_dataset(out, verify=True)


@pytest.mark.parametrize("edit,message", [
    (lambda d: d["shards"][0].update(colour="red"), "shards[0]: unknown key(s) ['colour']"),
    (lambda d: d["shards"][0].pop("sha256"), "shards[0]: missing key(s) ['sha256']"),
    (lambda d: d["shards"][0].update(n_frames="4"), "shards[0].n_frames: expected int"),
    (lambda d: d["shards"][0].update(scene_indices=[0, True]), "shards[0].scene_indices: expected list[int]"),
    (lambda d: d.update(scenes=6), "scenes 6 does not match its recipe's 4"),
    (lambda d: d.update(shards_total=3), "shards_total 3, expected 2"),
    (lambda d: d.update(shards={}), "manifest.shards: expected list"),
])
def test_damaged_manifest_is_one_clear_error(tmp_path, edit, message):
    out, _ = _dataset(tmp_path)
    _edit(out, edit)
    with pytest.raises(DatasetError) as info:
        load_manifest(out)
    assert message in str(info.value)


def test_verify_catches_a_shard_file_that_holds_other_scenes(tmp_path):
    out, _ = _dataset(tmp_path)
    a, b = Path(out) / "shards" / shard_name(0), Path(out) / "shards" / shard_name(1)
    shutil.copy(a, b)   # shard 1's file now holds shard 0's scenes; fix up the checksum so only content differs
    _edit(out, lambda d: d["shards"][1].update(sha256=sha256_file(str(b)), bytes=b.stat().st_size))
    with pytest.raises(DatasetError, match="holds shard 0, scenes \\[0, 1\\]"):
        open_dataset(out, verify=True)


def test_resume_repairs_bad_records_and_keeps_good_ones(tmp_path):
    out, recipe = _dataset(tmp_path)
    _edit(out, lambda d: (d["shards"][1].update(scene_indices=[2, 9]), d["shards"].append(dict(d["shards"][0]))))
    with open_output(recipe, out) as run:
        assert run.manifest.finished_indices() == {0} and not run.manifest.complete
    m = load_manifest(out)   # the repaired manifest is saved and reads cleanly
    assert [r.shard_index for r in m.shards] == [0] and not m.complete


def test_lock_held_by_another_process_refuses_a_second_run(tmp_path, capsys):
    out, recipe = _dataset(tmp_path)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from synth.io.fs import OutputLock; l = OutputLock(sys.argv[1]); "
         "l.acquire(); print('locked', flush=True); time.sleep(120)", out],
        cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(JobError) as info:
            with open_output(recipe, out):
                pass
        msg = str(info.value)
        assert "another synth run is writing this folder" in msg and f"pid {holder.pid}" in msg
        before = sorted(os.listdir(out))
        recipe_path = tmp_path / "r.yaml"
        recipe_path.write_text(json.dumps(recipe_to_dict(recipe)))
        rc = main(["generate", str(recipe_path), "--out", out, "--quiet"])
        err = capsys.readouterr().err
        assert rc == 2 and f"pid {holder.pid}" in err and "Traceback" not in err
        assert sorted(os.listdir(out)) == before   # the refused run touched nothing
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    # a killed holder leaves no stale lock
    with open_output(recipe, out) as run:
        assert run.manifest.complete
        assert (Path(out) / ".lock").exists()
    assert not (Path(out) / ".lock").exists()


def test_stale_temp_files_are_swept_at_start(tmp_path):
    out, recipe = _dataset(tmp_path)
    tmp = Path(out) / ".tmp"
    (tmp / "run-12345" / "synth-blender-x").mkdir(parents=True)
    (tmp / "shard-000001.h5.999.tmp").write_bytes(b"partial")
    (Path(out) / "manifest.json.abc.tmp").write_text("{")
    with open_output(recipe, out) as run:
        assert run.manifest.complete
        # this run's own temp folder, and TMPDIR pointing into it
        assert os.environ["TMPDIR"] == str(tmp / f"run-{os.getpid()}")
        assert sorted(os.listdir(tmp)) == [f"run-{os.getpid()}"]
    assert "TMPDIR" not in os.environ or os.environ["TMPDIR"] != str(tmp / f"run-{os.getpid()}")
    assert not tmp.exists()   # the empty OUT/.tmp goes too
    assert not list(Path(out).glob("manifest.json.*.tmp"))


def test_a_run_failing_before_its_first_shard_removes_its_folder(tmp_path):
    recipe = _recipe()
    out = tmp_path / "new" / "ds"
    with pytest.raises(RuntimeError):
        with open_output(recipe, str(out)):
            raise RuntimeError("boom before the first shard")
    assert not (tmp_path / "new").exists()
    # once shard work started the folder stays (its failure is recorded there), even with no shard done
    with pytest.raises(RuntimeError):
        with open_output(recipe, str(out)) as run:
            run.work_started = True
            raise RuntimeError("scene 0 failed")
    assert load_manifest(str(out)).shards == []
    # an existing folder keeps what was there before
    keep = tmp_path / "keep"
    keep.mkdir()
    (keep / "notes.txt").write_text("mine")
    with pytest.raises(RuntimeError):
        with open_output(recipe, str(keep)):
            raise RuntimeError("boom")
    assert os.listdir(keep) == ["notes.txt"]
    # a failure after a shard keeps the dataset (to resume)
    out2, recipe2 = _dataset(tmp_path / "d2")
    with pytest.raises(RuntimeError):
        with open_output(recipe2, out2):
            raise RuntimeError("boom")
    assert load_manifest(out2).complete


def test_disk_full_in_a_ray_worker_is_named_with_its_path():
    import errno

    pytest.importorskip("ray")
    from synth.distributed.scheduler import describe_shard_error

    full = OSError(errno.ENOSPC, "No space left on device", "/data/out/.tmp/shard-000001.h5.12.tmp")
    assert describe_shard_error(full, "/data/out") == ("disk full at /data/out/.tmp/shard-000001.h5.12.tmp: no space "
                                                       "left to write the shard; free space and resume")
    try:   # wrapped by a library (h5py raises its own error from the OSError)
        try:
            raise full
        except OSError as inner:
            raise RuntimeError("Unable to synchronously create dataset") from inner
    except RuntimeError as wrapped:
        assert describe_shard_error(wrapped, "/data/out").startswith("disk full at /data/out/.tmp/")
    assert describe_shard_error(ValueError("x"), "/o") == "ValueError: x"
