"""Keypoint line-of-sight crossings: the per-point kernel (``synth.core.mesh.segment_crossings``) against the
BVH query (``synth.groundtruth.raycast.MeshBVH``) on the posed Anny people of demo scenes.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/raycast_speed.py [--scenes 0 1] [--repeats 5]
                                                 [--out benchmarks/results/raycast_speed.json]

Per person and frame, from the scene's camera to every keypoint and joint (what visibility asks): the
kernel's seconds, the BVH's build + query seconds (one camera), refit + query, and the query alone (a
second camera on the same pose). Best of ``--repeats``; results are checked to be identical. One math
thread (as in the worker). The machine may be shared: the load average is recorded.
"""

# ruff: noqa: B023  (the timed lambdas run at once, inside the loop)
from __future__ import annotations

import argparse
import json
import os
import time
import timeit
from pathlib import Path

import numpy as np

from synth.core.machine import machine_info

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenes", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "raycast_speed.json"))
    args = ap.parse_args()

    from synth.core.mesh import segment_crossings
    from synth.groundtruth.raycast import MeshBVH
    from synth.pipeline.posed_scene import build_posed_scene
    from synth.pipeline.worker import pin_math_threads
    from synth.recipe import load_recipe
    from synth.recipe.sample import sample_scene

    pin_math_threads()
    recipe = load_recipe(ROOT / "scenes" / "demo.yaml")
    rows = []
    load0 = os.getloadavg()
    for si in args.scenes:
        scene = build_posed_scene(sample_scene(recipe, si))
        cam = scene.camera_tracks[0].at(0).center_world
        for p in scene.people:
            V, F = p.posed.vertices[0].astype(np.float64), p.faces
            pts = np.concatenate([p.posed.keypoints[0], p.posed.joints[0]])
            ref = segment_crossings(cam, pts, V, F)
            bvh = MeshBVH(V, F)
            got = bvh.segment_crossings(cam, pts)
            assert np.array_equal(ref[0], got[0]) and np.array_equal(ref[1], got[1])

            def best(fn):
                return min(timeit.repeat(fn, number=1, repeat=args.repeats))

            row = {"scene": si, "person": p.index, "faces": len(F), "points": len(pts),
                   "kernel_s": best(lambda: segment_crossings(cam, pts, V, F)),
                   "bvh_build_s": best(lambda: MeshBVH(V, F)),
                   "bvh_refit_s": best(lambda: bvh.refit(V)),
                   "bvh_query_s": best(lambda: bvh.segment_crossings(cam, pts)),
                   "loadavg_1min": os.getloadavg()[0]}
            row["speedup_build_and_query"] = row["kernel_s"] / (row["bvh_build_s"] + row["bvh_query_s"])
            row["speedup_refit_and_query"] = row["kernel_s"] / (row["bvh_refit_s"] + row["bvh_query_s"])
            row["speedup_query_only"] = row["kernel_s"] / row["bvh_query_s"]
            rows.append(row)
            print(json.dumps(row), flush=True)
    med = {k: float(np.median([r[k] for r in rows])) for k in
           ("kernel_s", "bvh_build_s", "bvh_refit_s", "bvh_query_s", "speedup_build_and_query",
            "speedup_refit_and_query", "speedup_query_only")}
    result = {"benchmark": "raycast_speed", "date": time.strftime("%Y-%m-%d %H:%M:%S"),
              "identical_results": True, "median_over_people": med, "rows": rows,
              "loadavg_start": load0, "loadavg_end": os.getloadavg(), "machine": machine_info(),
              "note": "shared machine: seconds are noisy (best of repeats; see the load averages)"}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))
    print(json.dumps(med, indent=2))


if __name__ == "__main__":
    main()
