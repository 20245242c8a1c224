"""Distributed generation on a real Ray head (loopback), real Blender, real HDF5.

One module-scoped head (``tests/ray_cluster.py``: ``ray start --head --block``
with its own temp dir and ports; stopped by SIGTERM to its own PID). Jobs go
through the ``synth`` CLI (``submit`` / ``status`` / ``stop``) and the Ray Jobs API.

1. submit -> SUCCEEDED: every scene exactly once, checksums valid.
2. kill -9 of a worker actor in the middle of a shard: the job still completes, every scene once.
3. stop a job after its first shard, resubmit: finished shards are not redone (same inode and
   mtime, per-run shard counter), and the labels equal the clean run's.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from ray_cluster import RayHead
from synth.io import open_dataset
from synth.io.manifest import load_manifest

pytestmark = pytest.mark.ray

SYNTH = str(Path(sys.executable).parent / "synth")

TINY = {
    "schema_version": 1, "name": "raytiny", "seed": 5, "scenes": 4, "frames_per_scene": 1, "fps": 10,
    "scenes_per_shard": 1, "image": {"width": 64, "height": 64}, "render": {"samples": 2},
    "people": {"count": 1, "body_model": "anny", "anny_topology": "notoes_collapse5pc",
               "motion": {"source": "static"}},
    "cameras": [{"name": "main", "rig": "orbit", "model": "pinhole", "fov_deg": 50, "distance_m": 4.0}],
    "environment": {"ground": {"pattern": "plain"}, "lighting": {"kind": "sun_sky"}},
}
WORKER_ARGS = ["--workers", "2", "--cpus-per-worker", "1"]


@pytest.fixture(scope="module")
def head():
    h = RayHead(num_cpus=2).start()
    try:
        yield h
    finally:
        h.stop()


@pytest.fixture(scope="module")
def recipe_file(tmp_path_factory) -> str:
    p = tmp_path_factory.mktemp("recipe") / "raytiny.yaml"
    p.write_text(yaml.safe_dump(TINY))
    return str(p)


def synth_process(*args: str, timeout: float = 300) -> str:
    """The installed ``synth`` command in a subprocess; returns its stdout."""
    r = subprocess.run([SYNTH, *args], capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, f"synth {' '.join(args[:2])} exited {r.returncode}:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r.stdout


def synth(*args: str) -> str:
    """The same CLI in this process (saves ~1 s of interpreter + Ray import per call); returns its stdout."""
    from synth.cli import main

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = main(list(args))
    assert rc == 0, f"synth {' '.join(args[:2])} returned {rc}:\n{buf.getvalue()[-3000:]}"
    return buf.getvalue()


def submit(head: RayHead, recipe: str, out: Path, *extra: str, run=synth) -> str:
    return json.loads(run("submit", recipe, "--address", head.address, "--out", str(out), "--json", *extra))["job_id"]


def wait_done(head: RayHead, job_id: str, timeout: float = 240, run=synth) -> dict:
    return json.loads(run("status", job_id, "--address", head.address, "--wait", "--timeout", str(timeout),
                          "--poll", "0.3", "--json"))


def job_result(head: RayHead, job_id: str) -> dict:
    """The driver's SYNTH_RESULT line (per-run counters) from the job's logs."""
    logs = synth("logs", job_id, "--address", head.address)
    lines = [ln for ln in logs.splitlines() if ln.startswith("SYNTH_RESULT ")]
    assert lines, logs[-3000:]
    return json.loads(lines[-1][len("SYNTH_RESULT "):])


def check_every_scene_once(out: Path, n_scenes: int):
    ds = open_dataset(str(out), verify=True)           # every listed shard's sha256 matches
    m = ds.manifest
    assert m.complete and len(m.shards) == m.shards_total
    listed = [i for s in m.shards for i in s.scene_indices]
    assert sorted(listed) == list(range(n_scenes))    # each scene in exactly one recorded shard
    on_disk = sorted(p.name for p in (out / "shards").iterdir())
    assert on_disk == sorted(s.name for s in m.shards)  # no stray or duplicate shard files
    frames = list(ds)
    assert sorted(f.scene_index for f in frames) == list(range(n_scenes))
    tmp = out / ".tmp"
    assert not tmp.exists() or not any(tmp.iterdir()), "temp files of killed workers must be cleaned up"
    return frames


def labels_by_key(frames) -> dict:
    return {(f.scene_index, f.frame_index, f.view): f.labels for f in frames}


@pytest.fixture(scope="module")
def clean_run(head, recipe_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("clean") / "ds"
    t0 = time.perf_counter()
    job = submit(head, recipe_file, out, *WORKER_ARGS, run=synth_process)    # the installed command
    st = wait_done(head, job, run=synth_process)
    return {"out": out, "job": job, "status": st, "seconds": time.perf_counter() - t0}


def test_submit_runs_every_scene_once(head, clean_run):
    st = clean_run["status"]
    assert st["status"] == "SUCCEEDED", st
    p = st["progress"]
    assert st["progress_source"] == "output" and p["state"] == "succeeded"
    assert p["scenes_done"] == p["scenes_total"] == TINY["scenes"] and p["rate_scenes_per_s"] > 0
    frames = check_every_scene_once(clean_run["out"], TINY["scenes"])
    assert all(f.rgb.shape == (64, 64, 3) for f in frames)
    res = job_result(head, clean_run["job"])
    assert res["shards_run"] == 4 and res["workers_lost"] == 0 and res["failures"] == []
    # the human status line
    line = synth("status", clean_run["job"], "--address", head.address)
    assert "SUCCEEDED" in line and "scenes 4/4 (100.0%)" in line


def _running_shard_pid(head: RayHead, timeout: float = 120) -> int:
    """PID of a worker actor while it runs a shard (from Ray's state API)."""
    from ray.util.state import list_tasks

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            tasks = list_tasks(address=head.address, filters=[("name", "=", "ShardActor.run_shard"),
                                                              ("state", "=", "RUNNING")], timeout=10)
        except Exception:
            tasks = []
        pids = [t.worker_pid for t in tasks if t.worker_pid]
        if pids:
            return int(pids[0])
        time.sleep(0.2)
    raise AssertionError("no ShardActor.run_shard task seen RUNNING")


def test_kill_9_worker_mid_job_loses_nothing(head, recipe_file, tmp_path):
    out = tmp_path / "ds"
    job = submit(head, recipe_file, out, *WORKER_ARGS)
    pid = _running_shard_pid(head)          # the first shards include loading Blender + Anny: seconds long
    os.kill(pid, signal.SIGKILL)
    st = wait_done(head, job)
    assert st["status"] == "SUCCEEDED", st
    check_every_scene_once(out, TINY["scenes"])
    res = job_result(head, job)
    assert res["workers_lost"] >= 1
    lost = [f for f in res["failures"] if f["kind"] == "worker_lost"]
    assert lost and all(f"pid {pid}" in f["worker"] for f in lost[:1])
    assert res["shards_run"] == 4 and res["duplicates_ignored"] == 0
    assert st["progress"]["workers_lost"] >= 1 and st["progress"]["retries"] >= 1


def test_stopped_job_resumes_without_redoing_shards(head, recipe_file, clean_run, tmp_path):
    out = tmp_path / "ds"
    job1 = submit(head, recipe_file, out, "--workers", "1", "--cpus-per-worker", "1", "--recycle-after", "1")
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if (out / "manifest.json").exists() and load_manifest(str(out)).shards:
            break
        time.sleep(0.2)
    synth("stop", job1, "--address", head.address, "--wait")
    st1 = wait_done(head, job1, timeout=60)
    assert st1["status"] == "STOPPED", st1
    p1 = st1["progress"]                 # the driver's last word, written on SIGTERM
    assert p1["job_id"] == job1 and p1["state"] == "interrupted" and p1["workers_recycled"] >= 1
    m1 = load_manifest(str(out))
    assert 1 <= len(m1.shards) < m1.shards_total, "the job should have been stopped part way"
    before = {s.name: os.stat(out / "shards" / s.name) for s in m1.shards}

    job2 = submit(head, recipe_file, out, "--workers", "1", "--cpus-per-worker", "1")
    st2 = wait_done(head, job2)
    assert st2["status"] == "SUCCEEDED", st2
    frames = check_every_scene_once(out, TINY["scenes"])
    for name, s in before.items():      # finished shards were not rewritten
        now = os.stat(out / "shards" / name)
        assert (now.st_ino, now.st_mtime_ns, now.st_size) == (s.st_ino, s.st_mtime_ns, s.st_size), name
    res = job_result(head, job2)
    assert res["shards_run"] == TINY["scenes"] - len(before)
    # the resumed dataset carries exactly the labels of the uninterrupted run
    clean = labels_by_key(list(open_dataset(str(clean_run["out"]))))
    resumed = labels_by_key(frames)
    assert clean.keys() == resumed.keys()
    for key, lab in clean.items():
        assert lab.keys() == resumed[key].keys()
        for name, arr in lab.items():
            np.testing.assert_array_equal(arr, resumed[key][name], err_msg=f"{key} {name}")
