"""Throughput of distributed generation on this machine: N single-thread Ray workers, and the scheduling overhead.

    .venv/bin/python benchmarks/ray_scaling.py [--scenes 8] [--workers 1 2] [--repeats 2] [--threads-per-worker 1]
                                               [--out benchmarks/results/ray_scaling.json]

The recipe is scenes/demo.yaml made small (128x128 px, 8 samples, 2 frames, 1-2 people, 2 scenes per
shard). Each worker count runs on a fresh embedded Ray (``run_local_ray_report``); every worker gets
``--threads-per-worker`` CPUs and as many Cycles threads (default 1), so N workers do N times the work of
one on N cores and the efficiency isolates scheduling and sharing from Cycles' own threading
(``--threads-per-worker 0`` splits the cores between the workers instead, the old setting). Reported per run:

- wall_s / scenes_per_s: the whole run (actor start, Blender and Anny loading included; Ray start not);
- steady_scenes_per_s: from the first finished shard to the last (warm workers);
- overhead_per_shard_s: Ray submit -> result as seen by the driver, minus the time inside
  ``ShardActor.run_shard`` (the scheduling cost per shard), and driver_s_per_shard (manifest/progress
  handling in the driver);
- call overhead: sequential and batched no-op actor calls (``measure_call_overhead``).

scaling_efficiency = throughput(N workers) / (N x throughput(1 worker)). The machine may be shared with
other jobs: the load average at the start and end of each run is recorded; compare numbers with care.

``paper_model``: throughput of a cluster of W such workers from the measured per-shard numbers,
scenes/s(W) = min(W x S / (busy + overhead), S / driver), with S scenes per shard, busy the seconds a
worker spends in a shard, overhead the scheduling cost per shard and driver the driver's serial seconds per
shard (manifest, progress): the driver's bound is where adding workers stops helping.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from synth.core.machine import machine_info

ROOT = Path(__file__).resolve().parents[1]




def small_demo(scenes: int):
    from synth.recipe import load_recipe, parse_recipe, recipe_to_dict

    d = recipe_to_dict(load_recipe(ROOT / "scenes" / "demo.yaml"))
    d.update(scenes=scenes, scenes_per_shard=2, frames_per_scene=2)
    d["image"] = {"width": 128, "height": 128}
    d["render"] = {**d["render"], "samples": 8}
    d["people"]["count"] = {"uniform": [1, 2]}
    return parse_recipe(d, "demo (small, benchmarks/ray_scaling.py)")


def run_once(recipe, workers: int, cpus: int, threads_per_worker: int) -> dict:
    import ray

    from synth.distributed.local import init_local_ray, run_local_ray_report
    from synth.distributed.policy import JobPolicy
    from synth.distributed.scheduler import measure_call_overhead

    out = tempfile.mkdtemp(prefix=f"synth-ray-bench-{workers}w-")
    load0 = os.getloadavg()
    t0 = time.perf_counter()
    per_worker = threads_per_worker or max(1, cpus // workers)
    temp = init_local_ray(num_cpus=max(cpus, workers * per_worker))
    ray_start_s = time.perf_counter() - t0
    try:
        calls = measure_call_overhead(n=200)
        rep = run_local_ray_report(recipe, out, workers=workers, cpus_per_worker=per_worker,
                                   progress=False, policy=JobPolicy(manifest_flush_s=2.0))
    finally:
        ray.shutdown()
        shutil.rmtree(temp, ignore_errors=True)
        shutil.rmtree(out, ignore_errors=True)
    s = rep.summary()
    return {
        "workers": workers, "cycles_threads_per_worker": per_worker, "ray_start_s": ray_start_s,
        "scenes": rep.scenes_run, "shards": rep.shards_run, "wall_s": rep.wall_s,
        "scenes_per_s": s["scenes_per_s"], "steady_scenes_per_s": s["steady_scenes_per_s"],
        "first_result_s": rep.first_result_s,
        "actor_busy_s_per_shard": rep.actor_busy_s / max(rep.shards_run, 1),
        "overhead_per_shard_s": s["overhead_per_shard_s"],
        "driver_s_per_shard": rep.driver_s / max(rep.shards_run, 1),
        "overhead_fraction": (s["overhead_per_shard_s"] or 0.0) / max(rep.actor_busy_s / max(rep.shards_run, 1),
                                                                      1e-9),
        "noop_call_sequential_s": calls["sequential_call_s"], "noop_call_batched_s": calls["batched_call_s"],
        "workers_started": rep.workers_started, "failures": len(rep.failures),
        "loadavg_start": load0, "loadavg_end": os.getloadavg(),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenes", type=int, default=8)
    ap.add_argument("--threads-per-worker", type=int, default=1,
                    help="CPUs = Cycles threads per worker (0: split this machine's cores between the workers)")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeats", type=int, default=2, help="runs per worker count, interleaved (median reported)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "ray_scaling.json"))
    args = ap.parse_args()

    from synth.pipeline.geometry import load_body
    from synth.recipe.sample import body_options

    recipe = small_demo(args.scenes)
    load_body(recipe.people.body_model, body_options(recipe))   # build/cache the body model once, untimed
    cpus = os.cpu_count() or 1
    run_once(small_demo(2), 1, cpus, args.threads_per_worker)     # untimed: warms file caches, Blender and the body model cache
    runs = []
    for rep in range(args.repeats):      # interleaved, so load from other jobs hits every worker count alike
        for w in args.workers:
            r = run_once(recipe, w, cpus, args.threads_per_worker)
            r["repeat"] = rep
            print(json.dumps(r, indent=1), flush=True)
            runs.append(r)
    summary = {}
    for w in args.workers:
        rs = [r for r in runs if r["workers"] == w]
        def med(k, rs=rs):
            vals = [r[k] for r in rs if r[k] is not None]
            return float(statistics.median(vals)) if vals else None
        summary[str(w)] = {k: med(k) for k in ("wall_s", "scenes_per_s", "steady_scenes_per_s",
                                                 "actor_busy_s_per_shard", "overhead_per_shard_s",
                                                 "driver_s_per_shard", "noop_call_sequential_s",
                                                 "noop_call_batched_s")}
    base = summary.get("1")
    for w, m in summary.items():
        if base:
            for key in ("scenes_per_s", "steady_scenes_per_s"):
                if m[key] and base[key]:
                    m[f"speedup_{key}"] = m[key] / base[key]
                    m[f"scaling_efficiency_{key}"] = m[key] / (int(w) * base[key])
        m["overhead_fraction_of_shard"] = (m["overhead_per_shard_s"] or 0.0) / max(m["actor_busy_s_per_shard"], 1e-9)
        m["scheduling_overhead_per_scene_s"] = (m["overhead_per_shard_s"] or 0.0) / recipe.scenes_per_shard
    model = None
    if base:
        S = recipe.scenes_per_shard
        busy, over = base["actor_busy_s_per_shard"], max(base["overhead_per_shard_s"] or 0.0, 0.0)
        drv = max(base["driver_s_per_shard"] or 0.0, 1e-6)
        model = {"scenes_per_shard": S, "busy_s_per_shard": busy, "overhead_s_per_shard": over,
                 "driver_s_per_shard": drv, "formula": "scenes/s(W) = min(W*S/(busy+overhead), S/driver)",
                 "driver_bound_workers": (busy + over) / drv,
                 "scenes_per_s": {str(W): min(W * S / (busy + over), S / drv) for W in (1, 2, 4, 8, 16, 64, 256, 1024)},
                 "efficiency": {str(W): min(W * S / (busy + over), S / drv) / (W * S / busy)
                                for W in (1, 2, 4, 8, 16, 64, 256, 1024)}}
    result = {
        "benchmark": "ray_scaling", "date": time.strftime("%Y-%m-%d %H:%M:%S"), "machine": machine_info(),
        "threads_per_worker": args.threads_per_worker or "cores / workers",
        "note": "shared machine (other jobs may run at the same time; see loadavg per run): single-thread "
                "workers still share 2 cores with other jobs, so efficiency below 1 includes that contention",
        "paper_model": model,
        "recipe": {"base": "scenes/demo.yaml", "scenes": recipe.scenes, "scenes_per_shard": recipe.scenes_per_shard,
                   "frames_per_scene": recipe.frames_per_scene, "image": [recipe.image.width, recipe.image.height],
                   "samples": recipe.render.samples, "people": "1-2"},
        "median_by_workers": summary,
        "runs": runs,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
