"""``synth submit | status | logs | stop | jobs``: generation jobs on a Ray cluster (Ray Jobs API).

Registered by ``synth.cli`` through ``add_commands(subparsers)``. Importing this
module does not import ``ray``.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def _load_recipe(path: str, scenes: int | None, seed: int | None):
    from synth.recipe.load import load_recipe_with_overrides

    return load_recipe_with_overrides(path, scenes, seed)


def _runtime_env(text: str | None, working_dir: str | None) -> dict | None:
    from synth.core.errors import JobError

    env: dict = {}
    if text:
        try:
            if os.path.isfile(text):
                raw = Path(text).read_text()
                if text.endswith((".yaml", ".yml")):
                    import yaml

                    env = yaml.safe_load(raw) or {}
                else:
                    env = json.loads(raw)
            else:
                env = json.loads(text)
        except (ValueError, OSError) as err:
            raise JobError(f"--runtime-env {text[:80]!r}: expected JSON text or a .json/.yaml file ({err})") from None
        if not isinstance(env, dict):
            raise JobError(f"--runtime-env: expected a mapping, got {type(env).__name__}")
    if working_dir:
        env["working_dir"] = working_dir
    return env or None


def _add_address(s) -> None:
    s.add_argument("--address", default=None,
                   help="Ray Jobs API, http://HEAD:8265 (default: $SYNTH_RAY_ADDRESS or an http $RAY_ADDRESS)")


def cmd_submit(args) -> int:
    from synth.distributed.jobs import SubmitOptions, format_status, submit_generation, wait_for_job
    from synth.distributed.policy import JobPolicy

    recipe = _load_recipe(args.recipe, args.scenes, args.seed)
    policy = JobPolicy(max_shard_retries=args.max_shard_retries, on_error=args.on_error,
                       recycle_after_scenes=args.recycle_after, shard_timeout_s=args.shard_timeout,
                       worker_start_timeout_s=args.worker_start_timeout)
    opts = SubmitOptions(workers=args.workers, cpus_per_worker=args.cpus_per_worker,
                         gpus_per_worker=args.gpus_per_worker, threads=args.threads,
                         memory_per_worker_gb=args.memory_per_worker_gb, policy=policy, resume=not args.no_resume,
                         python=args.python)
    job_id = submit_generation(args.address, recipe, args.out, opts=opts, job_id=args.job_id,
                               runtime_env=_runtime_env(args.runtime_env, args.working_dir))
    if args.json and not args.wait:
        print(json.dumps({"job_id": job_id, "out": args.out, "scenes": recipe.scenes}))
        return 0
    addr = f" --address {args.address}" if args.address else ""
    print(f"submitted {job_id}: {recipe.scenes} scenes of '{recipe.name}' -> {args.out}", flush=True)
    if not args.wait:
        print(f"  progress: synth status {job_id}{addr}\n  logs:     synth logs {job_id}{addr} --follow\n"
              f"  stop:     synth stop {job_id}{addr}")
        return 0
    last = [""]

    def show(st):
        from synth.distributed.progress import format_progress

        line = st["status"] + (": " + format_progress(st["progress"]) if st.get("progress") else "")
        if line != last[0]:
            print(line, flush=True)
            last[0] = line

    st = wait_for_job(args.address, job_id, on_update=None if args.json else show)
    print(json.dumps(st, default=str) if args.json else format_status(st))
    return 0 if st["status"] == "SUCCEEDED" else 1


def cmd_status(args) -> int:
    from synth.distributed.jobs import format_status, job_status, wait_for_job

    if args.wait:
        st = wait_for_job(args.address, args.job_id, timeout_s=args.timeout, poll_s=args.poll)
    else:
        st = job_status(args.address, args.job_id)
    print(json.dumps(st, default=str) if args.json else format_status(st))
    return 0


def cmd_logs(args) -> int:
    from synth.distributed.jobs import follow_logs, job_logs

    if args.follow:
        follow_logs(args.address, args.job_id, lambda s: (sys.stdout.write(s), sys.stdout.flush()))
    else:
        sys.stdout.write(job_logs(args.address, args.job_id))
    return 0


def cmd_stop(args) -> int:
    from synth.distributed.jobs import stop_job

    status = stop_job(args.address, args.job_id, wait=args.wait)
    print(f"{args.job_id}: {status}" + ("" if args.wait else " (stop requested; finished shards are kept, "
                                          "submit the same recipe and --out again to resume)"))
    return 0


def cmd_jobs(args) -> int:
    from synth.distributed.jobs import list_synth_jobs

    jobs = list_synth_jobs(args.address)
    if args.json:
        print(json.dumps(jobs, default=str))
        return 0
    for j in jobs:
        print(f"{j['job_id']}  {j['status']:<9}  {j['scenes']:>7} scenes  {j['out']}")
    return 0


def add_commands(sub) -> None:
    """Add submit / status / logs / stop / jobs to the ``synth`` argparse subparsers."""
    s = sub.add_parser("submit", help="run a generation job on a Ray cluster (Ray Jobs API)",
                       description="Send the recipe (inline, resolved) as a Ray Job; the job's driver schedules "
                                   "shards over worker actors (one Blender each), retries lost workers, records "
                                   "finished shards in OUT/manifest.json and resumes an existing OUT.")
    s.add_argument("recipe")
    _add_address(s)
    s.add_argument("--out", required=True, help="absolute path on storage all nodes share, or an fsspec URL (s3://)")
    s.add_argument("--scenes", type=int, help="override the recipe's number of scenes")
    s.add_argument("--seed", type=int, help="override the recipe's seed")
    s.add_argument("--workers", type=int, default=0,
                   help="worker actors (0 = as many as fit in the cluster when the job starts; on an autoscaling "
                        "cluster give the number you want: pending workers make it add nodes)")
    s.add_argument("--cpus-per-worker", type=float, default=2.0, help="Ray CPUs per worker = Cycles threads")
    s.add_argument("--gpus-per-worker", type=float, default=0.0, help="1 = one Blender per GPU")
    s.add_argument("--threads", type=int, default=None, help="Cycles threads per worker (default: its CPUs)")
    s.add_argument("--memory-per-worker-gb", type=float, default=None, help="Ray memory reservation per worker")
    s.add_argument("--max-shard-retries", type=int, default=2, help="retries of a failed shard (any failure)")
    s.add_argument("--on-error", choices=["fail", "skip"], default="fail",
                   help="when a shard has no retry left: fail the job, or skip it (dataset stays incomplete)")
    s.add_argument("--recycle-after", type=int, default=1000, help="scenes per worker before a fresh one (0 = never)")
    s.add_argument("--shard-timeout", type=float, default=0.0, help="kill a worker whose shard runs longer (s)")
    s.add_argument("--worker-start-timeout", type=float, default=900.0,
                   help="fail if no worker can start for this long (s)")
    s.add_argument("--no-resume", action="store_true", help="refuse to continue an existing output")
    s.add_argument("--job-id", default=None, help="submission id (default synth-RECIPE-DATE-TIME-RANDOM)")
    s.add_argument("--runtime-env", default=None, help="Ray runtime_env as JSON text or a .json/.yaml file")
    s.add_argument("--working-dir", default=None, help="ship this folder to the cluster (runtime_env working_dir)")
    s.add_argument("--python", default="python", help="interpreter on the cluster that has synth installed")
    s.add_argument("--wait", action="store_true", help="follow progress until the job ends (exit 1 unless SUCCEEDED)")
    s.add_argument("--json", action="store_true", help="machine-readable output")
    s.set_defaults(func=cmd_submit)

    s = sub.add_parser("status", help="state and progress (scenes done/total, rate, ETA) of a submitted job")
    s.add_argument("job_id")
    _add_address(s)
    s.add_argument("--json", action="store_true")
    s.add_argument("--wait", action="store_true", help="wait until the job ends")
    s.add_argument("--timeout", type=float, default=None, help="with --wait: give up after this many seconds")
    s.add_argument("--poll", type=float, default=1.0, help="with --wait: seconds between checks")
    s.set_defaults(func=cmd_status)

    s = sub.add_parser("logs", help="the driver's logs of a submitted job")
    s.add_argument("job_id")
    _add_address(s)
    s.add_argument("--follow", "-f", action="store_true", help="stream until the job ends")
    s.set_defaults(func=cmd_logs)

    s = sub.add_parser("stop", help="stop a submitted job (finished shards are kept; resubmit to resume)")
    s.add_argument("job_id")
    _add_address(s)
    s.add_argument("--wait", action="store_true", help="wait until it has stopped")
    s.set_defaults(func=cmd_stop)

    s = sub.add_parser("jobs", help="list synth jobs on a Ray cluster")
    _add_address(s)
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_jobs)
