"""Entrypoint of a ``synth submit`` Ray Job: ``python -m synth.distributed.driver --recipe-json ... --out ...``.

Runs on the cluster (the Ray Jobs supervisor starts it), connects with
``ray.init(address="auto")`` and runs the same scheduling as ``synth generate
--workers N`` (``scheduler.run_shards_on_ray``). The recipe comes inline, as
the fully resolved JSON, so the cluster needs no copy of the YAML file.

Progress goes to ``OUT/progress.json`` and to the job's logs as
``SYNTH_PROGRESS {json}`` lines; the final summary as one ``SYNTH_RESULT {json}``
line. ``ray job stop`` / ``synth stop`` sends SIGTERM: the driver saves the
manifest (finished shards are kept) and exits; its actors die with it.

Exit codes: 0 done (also when ``--on-error skip`` left shards out: the status
says ``incomplete``), 2 a SynthError (bad recipe, a shard out of retries, no
worker could start), 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import signal
import sys

from synth.core.errors import SynthError

log = logging.getLogger("synth.distributed.driver")

RESULT_MARKER = "SYNTH_RESULT "


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m synth.distributed.driver",
                                description="Driver of a synth generation job on a Ray cluster.")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--recipe-json", help="the resolved recipe as JSON text")
    src.add_argument("--recipe", help="a recipe YAML file readable on the cluster")
    p.add_argument("--out", required=True, help="shared folder or fsspec URL (s3://..., gs://...)")
    p.add_argument("--job-id", default=os.environ.get("SYNTH_JOB_ID", ""), help="id shown in progress.json")
    p.add_argument("--workers", type=int, default=0, help="worker actors; 0 = as many as the cluster fits now")
    p.add_argument("--cpus-per-worker", type=float, default=2.0)
    p.add_argument("--gpus-per-worker", type=float, default=0.0)
    p.add_argument("--threads", type=int, default=None, help="Cycles CPU threads per worker (default: its CPUs)")
    p.add_argument("--memory-per-worker-gb", type=float, default=None)
    p.add_argument("--max-shard-retries", type=int, default=2)
    p.add_argument("--on-error", choices=["fail", "skip"], default="fail")
    p.add_argument("--recycle-after", type=int, default=1000, help="scenes per actor before a fresh one; 0 = never")
    p.add_argument("--shard-timeout", type=float, default=0.0, help="seconds; 0 = no limit")
    p.add_argument("--worker-start-timeout", type=float, default=900.0)
    p.add_argument("--manifest-flush", type=float, default=2.0, help="seconds between manifest saves")
    p.add_argument("--no-resume", action="store_true")
    p.add_argument("--address", default=None, help="Ray address (default: the job's cluster, 'auto')")
    return p


def auto_workers(cluster: dict, cpus: float, gpus: float) -> int:
    """How many workers of (cpus, gpus) the cluster's current resources hold (at least 1)."""
    if gpus > 0:
        n = math.floor(cluster.get("GPU", 0.0) / gpus + 1e-9)
    else:
        n = math.floor(cluster.get("CPU", 0.0) / cpus + 1e-9) if cpus > 0 else 1
    return max(1, int(n))


def submission_id_from_env() -> str | None:
    """The Ray Jobs submission id of the running job (Ray passes the job's metadata to the entrypoint)."""
    try:
        cfg = json.loads(os.environ.get("RAY_JOB_CONFIG_JSON_ENV_VAR", "") or "{}")
        return (cfg.get("metadata") or {}).get("job_submission_id") or None
    except (ValueError, AttributeError):
        return None


def _on_sigterm(signum, frame):  # noqa: ARG001 - signal handler signature
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True)
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        return _run(args)
    except SynthError as err:
        log.error("%s", err)
        print(f"error: {err}", file=sys.stderr, flush=True)
        return 2
    except KeyboardInterrupt:
        log.warning("interrupted: finished shards are saved in the manifest; submit the same job again to resume")
        return 130


def _run(args) -> int:
    import ray

    from synth.recipe import load_recipe, parse_recipe

    from synth.distributed.policy import JobPolicy
    from synth.distributed.scheduler import WorkerSpec, run_shards_on_ray

    if args.recipe_json is not None:
        try:
            data = json.loads(args.recipe_json)
        except json.JSONDecodeError as err:
            raise SynthError(f"--recipe-json: not valid JSON ({err}); synth submit writes it, resubmit") from None
        recipe = parse_recipe(data, "<recipe shipped with the job>")
    else:
        recipe = load_recipe(args.recipe)
    policy = JobPolicy(max_shard_retries=args.max_shard_retries, on_error=args.on_error,
                       recycle_after_scenes=args.recycle_after, shard_timeout_s=args.shard_timeout,
                       worker_start_timeout_s=args.worker_start_timeout, manifest_flush_s=args.manifest_flush)
    spec = WorkerSpec(cpus=args.cpus_per_worker, gpus=args.gpus_per_worker, threads=args.threads,
                      memory_bytes=int(args.memory_per_worker_gb * 2**30) if args.memory_per_worker_gb else None)
    address = args.address or os.environ.get("RAY_ADDRESS") or "auto"
    ray.init(address=address, log_to_driver=True)
    signal.signal(signal.SIGTERM, _on_sigterm)   # again: ray.init installs its own (sys.exit) handler
    workers = args.workers or auto_workers(ray.cluster_resources(), spec.cpus, spec.gpus)
    log.info("connected to Ray at %s: %s; %d worker(s)", address, ray.cluster_resources(), workers)
    report = run_shards_on_ray(recipe, args.out, workers=workers, worker=spec, policy=policy,
                               resume=not args.no_resume, progress=False, log_progress_lines=True,
                               job_id=args.job_id or submission_id_from_env())
    summary = report.summary()
    print(RESULT_MARKER + json.dumps(summary, separators=(",", ":"), default=str), flush=True)
    log.info("%s: %s, %d scenes in %.1f s this run (%.3f scenes/s)", args.out, report.state, report.scenes_run,
             report.wall_s, summary["scenes_per_s"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
