"""Time the demo recipe at 256x256: frames/s and seconds per frame split into stages.

    .venv/bin/python benchmarks/demo_throughput.py [--scenes 6] [--out benchmarks/results/demo_throughput.json]

Stages: sampling (scene spec, motion, appearance, cameras), body_forward,
render (Blender scene setup + Cycles), ground_truth (projection, visibility,
boxes), writing (HDF5 shard + sha256). The body model is loaded (and cached)
before timing starts.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from synth.core.machine import machine_info

ROOT = Path(__file__).resolve().parents[1]




def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--recipe", default=str(ROOT / "scenes" / "demo.yaml"))
    ap.add_argument("--scenes", type=int, default=6)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "demo_throughput.json"))
    args = ap.parse_args()

    from synth.cli import _load
    from synth.pipeline.geometry import load_body
    from synth.pipeline.job import plan_shards, prepare_output, record_shard
    from synth.pipeline.worker import SceneWorker
    from synth.recipe.sample import body_options

    recipe = _load(args.recipe, scenes=args.scenes)
    t0 = time.perf_counter()
    load_body(recipe.people.body_model, body_options(recipe))
    model_load_s = time.perf_counter() - t0
    tmp = tempfile.mkdtemp(prefix="synth-bench-")
    try:
        manifest = prepare_output(recipe, tmp)
        worker = SceneWorker(recipe, tmp)
        t0 = time.perf_counter()
        _ = worker.renderer
        renderer_start_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        for plan in plan_shards(recipe.scenes, recipe.scenes_per_shard):
            record_shard(tmp, manifest, worker.run_shard(plan.shard_index, list(plan.scene_indices)))
        wall = time.perf_counter() - t0
        worker.close()
        frames = sum(s.n_frames for s in manifest.shards)
        stats = worker.stats()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    result = {
        "benchmark": "demo_throughput",
        "recipe": os.path.relpath(args.recipe, ROOT),
        "image": [recipe.image.width, recipe.image.height],
        "samples": recipe.render.samples,
        "scenes": recipe.scenes,
        "labelled_views": frames,
        "wall_s": round(wall, 3),
        "frames_per_s": round(frames / wall, 3),
        "seconds_per_frame": {k: round(v / frames, 4) for k, v in sorted(stats["timings_s"].items())},
        "seconds_per_frame_total": round(wall / frames, 4),
        "body_model_load_s": round(model_load_s, 3),
        "renderer_start_s": round(renderer_start_s, 3),
        "machine": machine_info(),
        "date": time.strftime("%Y-%m-%d"),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
