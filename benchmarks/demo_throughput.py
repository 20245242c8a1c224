"""Time the demo recipe (256x256, 16 spp): frames/s, seconds per frame by stage, the share of everything
but the Cycles render, and a peer-style baseline measured in the same run.

    .venv/bin/python benchmarks/demo_throughput.py [--scenes 6] [--no-peer] [--device cpu]
                                                   [--out benchmarks/results/demo_throughput.json]

synth: one process, one persistent ``SceneWorker`` (one Blender, body model loaded once) renders every
scene into shards. Stages: sampling (scene spec, motion, appearance, cameras), body_forward, render
(Blender scene setup + vertex update + Cycles + pass files read back), ground_truth (projection,
visibility, boxes, contact), writing (HDF5 shard + sha256). The body model is built and cached before
timing starts.

Overhead = everything but the Cycles render itself (``BlenderRenderer.last_timings["render"]``: the
render operator, compositor file outputs included). ``overhead_fraction_median`` is the median over
scenes of 1 - Cycles seconds / scene seconds (a scene's seconds include its share of its shard's writing).

Peer-style baseline (how BlenderProc and most Blender pipelines are driven): a fresh Python + Blender
process per scene that builds the scene from scratch (imports bpy, loads the body model from its disk
cache, starts a renderer, renders and labels the scene, writes its shard, exits), on the same scenes and
settings, timed from the parent. ``speedup_vs_peer`` = peer seconds / synth seconds for the same scenes
(synth's one-time start included once).

The machine may be shared with other jobs: the load average is recorded with every part.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from synth.core.machine import machine_info

ROOT = Path(__file__).resolve().parents[1]


class CyclesTimedRenderer:
    """The real ``BlenderRenderer`` with the Cycles seconds of every ``render`` call summed up."""

    def __init__(self, renderer):
        self._r = renderer
        self.cycles_s = 0.0

    def render(self, *args, **kwargs):
        out = self._r.render(*args, **kwargs)
        self.cycles_s += self._r.last_timings["render"]
        return out

    def __getattr__(self, name):
        return getattr(self._r, name)


def load_demo(recipe_path: str, scenes: int, device: str | None):
    from synth.cli import _load, with_render_device

    return with_render_device(_load(recipe_path, scenes=scenes), device)


def run_synth(recipe, out: str) -> dict:
    """All scenes with one persistent worker; per-scene seconds and Cycles seconds."""
    from synth.pipeline.geometry import load_body
    from synth.pipeline.job import plan_shards, prepare_output, record_shard
    from synth.pipeline.worker import SceneWorker
    from synth.recipe.sample import body_options, sample_render_spec
    from synth.render.blender.renderer import BlenderRenderer

    t0 = time.perf_counter()
    load_body(recipe.people.body_model, body_options(recipe))
    model_load_s = time.perf_counter() - t0
    manifest = prepare_output(recipe, out)
    t0 = time.perf_counter()
    rs = sample_render_spec(recipe)
    renderer = CyclesTimedRenderer(BlenderRenderer(threads=rs.threads, device=rs.device))
    worker = SceneWorker(recipe, out, renderer=renderer)
    renderer_start_s = time.perf_counter() - t0
    scenes = []
    load0 = os.getloadavg()
    t_start = time.perf_counter()
    try:
        for plan in plan_shards(recipe.scenes, recipe.scenes_per_shard):
            per_scene = []
            t_shard = time.perf_counter()
            orig = worker.run_scene

            def timed(i, orig=orig, per_scene=per_scene):
                c0, s0 = renderer.cycles_s, time.perf_counter()
                data = orig(i)
                per_scene.append({"scene": i, "seconds": time.perf_counter() - s0,
                                  "cycles_s": renderer.cycles_s - c0,
                                  "frames": data.frames * len(data.views)})
                return data

            worker.run_scene = timed
            rec = worker.run_shard(plan.shard_index, list(plan.scene_indices))
            worker.run_scene = orig
            record_shard(out, manifest, rec)
            outside = (time.perf_counter() - t_shard) - sum(s["seconds"] for s in per_scene)   # writing
            for s in per_scene:
                s["seconds"] += outside / len(per_scene)
                s["overhead_fraction"] = 1.0 - s["cycles_s"] / s["seconds"]
            scenes += per_scene
        wall = time.perf_counter() - t_start
        device_used = renderer.device_used
        stats = worker.stats()
    finally:
        worker.close()
    frames = sum(s["frames"] for s in scenes)
    return {"wall_s": wall, "frames": frames, "scenes": scenes, "model_load_s": model_load_s,
            "renderer_start_s": renderer_start_s, "timings_s": stats["timings_s"], "device": device_used,
            "cycles_s": renderer.cycles_s, "loadavg_start": load0, "loadavg_end": os.getloadavg()}


def peer_scene(args) -> None:
    """Child process of the peer-style baseline: one scene from scratch, its own shard."""
    from synth.pipeline.job import prepare_output, record_shard
    from synth.pipeline.worker import SceneWorker

    recipe = load_demo(args.recipe, args.scenes, args.device)
    manifest = prepare_output(recipe, args.peer_out)
    worker = SceneWorker(recipe, args.peer_out)
    try:
        record_shard(args.peer_out, manifest, worker.run_shard(args.peer_scene, [args.peer_scene]))
    finally:
        worker.close()


def run_peer(args, scenes: int) -> dict:
    rows = []
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    for i in range(scenes):
        out = tempfile.mkdtemp(prefix=f"synth-peer-{i}-")
        load = os.getloadavg()[0]
        cmd = [sys.executable, str(Path(__file__).resolve()), "--recipe", args.recipe, "--scenes", str(scenes),
               "--peer-scene", str(i), "--peer-out", out] + (["--device", args.device] if args.device else [])
        t0 = time.perf_counter()
        try:
            subprocess.run(cmd, cwd=ROOT, env=env, check=True, capture_output=True, text=True)
        except subprocess.CalledProcessError as exc:
            raise SystemExit(f"peer-style scene {i} failed:\n{exc.stderr[-2000:]}") from None
        finally:
            shutil.rmtree(out, ignore_errors=True)
        rows.append({"scene": i, "seconds": time.perf_counter() - t0, "loadavg_1min": load})
    return {"wall_s": sum(r["seconds"] for r in rows), "scenes": rows}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--recipe", default=str(ROOT / "scenes" / "demo.yaml"))
    ap.add_argument("--scenes", type=int, default=6)
    ap.add_argument("--device", choices=["auto", "cpu", "gpu"], default=None, help="override render.device")
    ap.add_argument("--no-peer", action="store_true", help="skip the peer-style baseline")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "demo_throughput.json"))
    ap.add_argument("--peer-scene", type=int, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--peer-out", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.peer_scene is not None:
        peer_scene(args)
        return

    recipe = load_demo(args.recipe, args.scenes, args.device)
    tmp = tempfile.mkdtemp(prefix="synth-bench-")
    try:
        ours = run_synth(recipe, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    frames = ours["frames"]
    fractions = [s["overhead_fraction"] for s in ours["scenes"]]
    result = {
        "benchmark": "demo_throughput",
        "recipe": os.path.relpath(args.recipe, ROOT),
        "image": [recipe.image.width, recipe.image.height],
        "samples": recipe.render.samples,
        "scenes": recipe.scenes,
        "labelled_views": frames,
        "device": ours["device"],
        "wall_s": round(ours["wall_s"], 3),
        "frames_per_s": round(frames / ours["wall_s"], 3),
        "seconds_per_frame": {k: round(v / frames, 4) for k, v in sorted(ours["timings_s"].items())},
        "seconds_per_frame_total": round(ours["wall_s"] / frames, 4),
        "cycles_seconds_per_frame": round(ours["cycles_s"] / frames, 4),
        "overhead_fraction_median": round(statistics.median(fractions), 4),
        "overhead_fraction_total": round(1.0 - ours["cycles_s"] / ours["wall_s"], 4),
        "per_scene": [{k: (round(v, 4) if isinstance(v, float) else v) for k, v in s.items()} for s in ours["scenes"]],
        "body_model_load_s": round(ours["model_load_s"], 3),
        "renderer_start_s": round(ours["renderer_start_s"], 3),
        "loadavg_start": ours["loadavg_start"], "loadavg_end": ours["loadavg_end"],
        "machine": machine_info(),
        "note": "shared machine: other jobs run at the same time (see the load averages); seconds are noisy",
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    if not args.no_peer:
        peer = run_peer(args, recipe.scenes)
        ours_total = ours["wall_s"] + ours["model_load_s"] + ours["renderer_start_s"]
        result["peer_style"] = {
            "how": "a fresh Python + Blender process per scene, scene built from scratch (bpy import, body model "
                   "from disk cache, renderer start, render + labels + shard), timed from the parent",
            "wall_s": round(peer["wall_s"], 3),
            "seconds_per_scene_median": round(statistics.median(r["seconds"] for r in peer["scenes"]), 3),
            "per_scene": [{k: round(v, 3) if isinstance(v, float) else v for k, v in r.items()}
                          for r in peer["scenes"]],
        }
        result["synth_wall_with_start_s"] = round(ours_total, 3)
        result["speedup_vs_peer"] = round(peer["wall_s"] / ours_total, 3)
        result["speedup_vs_peer_steady"] = round(peer["wall_s"] / ours["wall_s"], 3)
        result["loadavg_end_peer"] = os.getloadavg()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
