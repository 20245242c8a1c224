"""Distributed job logic without a cluster: retry/skip/fail decisions, progress, job entrypoints, CLI wiring."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from synth.core.errors import JobError
from synth.distributed.policy import (SCENE_ERROR, WORKER_LOST, JobPolicy, ShardBook, ShardFailure)
from synth.distributed.progress import (JobProgress, format_duration, format_progress, parse_progress_from_logs,
                                        read_progress)
from synth.pipeline.job import plan_shards
from synth.recipe import parse_recipe, recipe_to_dict

ROOT = Path(__file__).resolve().parents[1]

TINY = {
    "schema_version": 1, "name": "tiny", "seed": 3, "scenes": 5, "frames_per_scene": 1, "scenes_per_shard": 2,
    "image": {"width": 64, "height": 64}, "render": {"samples": 2},
    "people": {"count": 1, "anny_topology": "notoes_collapse5pc", "motion": {"source": "static"}},
}


def _fail(book: ShardBook, k: int, kind: str = SCENE_ERROR) -> str:
    return book.fail(ShardFailure(shard_index=k, attempt=book.attempt_of(k), kind=kind, message="boom"))


def test_book_runs_every_shard_once_and_ignores_duplicates():
    plans = plan_shards(5, 2)
    book = ShardBook(plans, JobPolicy())
    taken = [book.take() for _ in range(3)]
    assert [p.shard_index for p in taken] == [0, 1, 2] and book.take() is None
    assert [p.scene_indices for p in taken] == [(0, 1), (2, 3), (4,)]
    assert book.finish(1) is True and book.finish(1) is False and book.duplicates == 1
    assert book.finish(0) and book.finish(2)
    assert book.outstanding == 0 and book.done == {0, 1, 2}


def test_book_retries_first_then_fails_under_on_error_fail():
    book = ShardBook(plan_shards(4, 1), JobPolicy(max_shard_retries=1, on_error="fail"))
    a, b = book.take(), book.take()
    assert (a.shard_index, b.shard_index) == (0, 1)
    assert _fail(book, 1, WORKER_LOST) == "retry"
    assert book.take().shard_index == 1            # a retried shard goes to the front of the queue
    assert book.attempt_of(1) == 2
    assert _fail(book, 1) == "fail"                 # 1 + max_shard_retries attempts used
    assert book.fatal is not None and book.fatal.shard_index == 1
    assert book.take() is None                      # nothing new starts once the job is failing
    assert book.finish(0)                           # ... but running shards still finish
    assert [f.kind for f in book.failures] == [WORKER_LOST, SCENE_ERROR]


def test_book_skip_leaves_shard_out_and_names_its_scenes():
    book = ShardBook(plan_shards(6, 2), JobPolicy(max_shard_retries=0, on_error="skip"))
    for _ in range(3):
        book.take()
    assert _fail(book, 1) == "skip"
    assert book.finish(0) and book.finish(2)
    assert book.outstanding == 0 and book.skipped == {1}
    assert book.skipped_scene_indices() == [2, 3]
    assert book.fatal is None


def test_put_back_does_not_count_a_failure():
    book = ShardBook(plan_shards(2, 1), JobPolicy(max_shard_retries=0))
    book.take()
    book.put_back(0)
    assert book.attempt_of(0) == 1 and book.take().shard_index == 0


@pytest.mark.parametrize("kwargs", [{"max_shard_retries": -1}, {"on_error": "ignore"}, {"recycle_after_scenes": -5},
                                    {"shard_timeout_s": -1.0}, {"poll_s": 0}, {"max_worker_start_failures": 0}])
def test_policy_rejects_bad_values(kwargs):
    with pytest.raises(JobError) as info:
        JobPolicy(**kwargs)
    assert next(iter(kwargs)).split("_")[0] in str(info.value)


def test_failure_description_has_scene_and_seeds():
    f = ShardFailure(shard_index=3, attempt=2, kind=SCENE_ERROR, message="RenderError: x", scene_index=7,
                     job_seed=11, scene_seed=12345, worker="actor #1 pid 99 on 10.0.0.2")
    s = f.describe()
    for part in ("shard 3", "attempt 2", "scene 7", "job seed 11", "scene seed 12345", "pid 99", "RenderError"):
        assert part in s


def test_progress_file_and_log_lines_round_trip(tmp_path, capsys):
    p = JobProgress(str(tmp_path), job_id="j1", scenes_total=10, shards_total=5, scenes_done=2, shards_done=1,
                    log_lines=True)
    p.shard_done(2)
    p.workers_alive, p.workers_target = 2, 3
    snap = p.publish()
    on_disk = read_progress(str(tmp_path))
    assert on_disk["scenes_done"] == 4 and on_disk["scenes_done_this_run"] == 2 and on_disk["job_id"] == "j1"
    assert on_disk["shards_done"] == 2 and on_disk["state"] == "running"
    assert on_disk["rate_scenes_per_s"] > 0 and on_disk["eta_s"] == pytest.approx(6 / on_disk["rate_scenes_per_s"],
                                                                                  rel=0.2)
    logged = parse_progress_from_logs("noise\n" + capsys.readouterr().out + "more noise\n")
    assert logged["scenes_done"] == snap["scenes_done"] == 4
    line = format_progress(on_disk)
    assert "scenes 4/10 (40.0%)" in line and "workers 2/3" in line and "ETA" in line
    assert read_progress(str(tmp_path / "nowhere")) is None
    assert parse_progress_from_logs("SYNTH_PROGRESS {broken\nnothing") is None


def test_format_duration():
    assert [format_duration(x) for x in (5, 65, 3725, None, float("inf"))] == ["5s", "1m05s", "1h02m", "?", "?"]


def test_entrypoint_round_trips_through_the_driver_parser():
    from synth.distributed.driver import build_parser
    from synth.distributed.jobs import SubmitOptions, build_entrypoint
    import shlex

    recipe = parse_recipe(TINY)
    opts = SubmitOptions(workers=3, cpus_per_worker=1.5, gpus_per_worker=1, resume=False,
                         policy=JobPolicy(max_shard_retries=4, on_error="skip", recycle_after_scenes=7))
    cmd = build_entrypoint(recipe, "s3://bucket/ds 1", "job-1", opts)
    argv = shlex.split(cmd)
    assert argv[:3] == ["python", "-m", "synth.distributed.driver"]
    a = build_parser().parse_args(argv[3:])
    assert a.out == "s3://bucket/ds 1" and a.job_id == "job-1" and a.workers == 3 and a.no_resume
    assert (a.cpus_per_worker, a.gpus_per_worker, a.max_shard_retries, a.on_error, a.recycle_after) == \
        (1.5, 1.0, 4, "skip", 7)
    shipped = parse_recipe(json.loads(a.recipe_json))
    assert recipe_to_dict(shipped) == recipe_to_dict(recipe)


def test_submit_refuses_relative_output():
    from synth.distributed.jobs import check_out_for_cluster

    with pytest.raises(JobError) as info:
        check_out_for_cluster("runs/ds")
    assert "absolute path" in str(info.value)
    assert check_out_for_cluster("/mnt/shared/ds") == "/mnt/shared/ds"
    assert check_out_for_cluster("s3://b/ds") == "s3://b/ds"
    assert check_out_for_cluster("file:///mnt/shared/ds") == "/mnt/shared/ds"


def test_auto_workers_from_cluster_resources():
    from synth.distributed.driver import auto_workers

    assert auto_workers({"CPU": 16.0}, 2, 0) == 8
    assert auto_workers({"CPU": 64.0, "GPU": 4.0}, 4, 1) == 4
    assert auto_workers({"CPU": 1.0}, 2, 0) == 1       # at least one; an autoscaler adds the node


def test_status_without_address_says_how_to_fix(monkeypatch):
    from synth.distributed.jobs import client

    monkeypatch.delenv("SYNTH_RAY_ADDRESS", raising=False)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    with pytest.raises(JobError) as info:
        client(None)
    assert "--address http://HEAD:8265" in str(info.value)


def test_cli_registers_distributed_commands_without_importing_ray():
    code = ("import sys; from synth.cli import build_parser; p = build_parser(); "
            "a = p.parse_args(['submit', 'r.yaml', '--out', '/x', '--address', 'http://h:8265', '--workers', '4', "
            "'--on-error', 'skip']); "
            "assert a.workers == 4 and a.on_error == 'skip'; "
            "[p.parse_args(x) for x in (['status', 'j'], ['logs', 'j', '--follow'], ['stop', 'j'], ['jobs'])]; "
            "print('ray' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_cluster_launcher_config_passes_rays_schema():
    import yaml

    from ray.autoscaler._private.util import prepare_config, validate_config

    cfg = yaml.safe_load((ROOT / "jobs" / "cluster-aws.yaml").read_text())
    validate_config(prepare_config(cfg))
    types = cfg["available_node_types"]
    assert types["head"]["resources"] == {"CPU": 0} and {"cpu_render", "gpu_render"} <= set(types)
    setup = " ".join(cfg["setup_commands"])
    gpu_setup = " ".join(types["gpu_render"]["worker_setup_commands"])
    assert 'torch==2.13.0" --index-url https://download.pytorch.org/whl/cpu' in setup
    assert "download.pytorch.org/whl/cu" in gpu_setup and "synth[render,ray]" in gpu_setup
    assert "2.60.0-py311" in cfg["docker"]["image"]


def test_rayjob_entrypoint_is_a_valid_driver_command():
    import shlex

    import yaml

    from synth.distributed.driver import build_parser

    job = yaml.safe_load((ROOT / "jobs" / "rayjob.yaml").read_text())
    assert job["apiVersion"] == "ray.io/v1" and job["kind"] == "RayJob"
    argv = shlex.split(job["spec"]["entrypoint"])
    assert argv[:3] == ["python", "-m", "synth.distributed.driver"]
    a = build_parser().parse_args(argv[3:])
    assert a.recipe == "/recipes/recipe.yaml" and a.out.startswith("s3://")
    spec = job["spec"]["rayClusterSpec"]
    assert spec["rayVersion"] == "2.60.0" and spec["headGroupSpec"]["rayStartParams"]["num-cpus"] == "0"
    groups = {g["groupName"]: g for g in spec["workerGroupSpecs"]}
    gpu = groups["gpu-render"]["template"]["spec"]["containers"][0]["resources"]["limits"]
    assert gpu["nvidia.com/gpu"] == "1"
