"""CPU seconds per labelled frame of the per-scene preparation that runs outside Cycles: sampling the scene,
the body forward, dressing (garments built, posed at every frame, coloured), measured with ``time.thread_time``
(the CPU time of the one thread doing it, so other jobs on a shared machine do not inflate it) with torch on
one thread, as the worker runs it.

    .venv/bin/python benchmarks/scene_prep_cpu.py [--scenes 6] [--repeats 2] [--tree before=/path/to/old/checkout ...]
                                                  [--out benchmarks/results/scene_prep_cpu.json]

Each ``--tree LABEL=PATH`` is a source tree (e.g. ``git archive <commit> | tar -x -C PATH``) measured in its own
process on the same demo scenes (default: this checkout as ``current``), so before/after numbers come from one
run. Scene 6 is sampled and dressed once untimed first (imports, model load, caches); scenes 0..N-1 are timed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def measure(root: str, scenes: int) -> dict:
    sys.path.insert(0, root)
    import torch

    torch.set_num_threads(1)
    from benchmarks.demo_throughput import load_demo
    from synth.pipeline.posed_scene import dress_person, load_body, person_params
    from synth.recipe.sample import sample_scene

    recipe = load_demo(os.path.join(root, "scenes", "demo.yaml"), scenes + 1, None)

    def run(i: int, acc: dict) -> int:
        t = time.thread_time()
        spec = sample_scene(recipe, i)
        acc["sampling"] += time.thread_time() - t
        for p in spec.people:
            body = load_body(p.body_model, p.body_options)
            t = time.thread_time()
            posed = body.forward(person_params(p))
            acc["body_forward"] += time.thread_time() - t
            if p.garments:
                t = time.thread_time()
                dress_person(body, p, posed)
                acc["garments"] += time.thread_time() - t
        return len(spec.people)

    run(scenes, {"sampling": 0.0, "body_forward": 0.0, "garments": 0.0})
    acc = {"sampling": 0.0, "body_forward": 0.0, "garments": 0.0}
    people = sum(run(i, acc) for i in range(scenes))
    frames = scenes * recipe.frames_per_scene * len(recipe.cameras)
    return {"frames": frames, "people": people, "cpu_s_per_frame": {k: v / frames for k, v in acc.items()}}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenes", type=int, default=6)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--tree", action="append", default=[], help="LABEL=PATH of a source tree to measure")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "scene_prep_cpu.json"))
    ap.add_argument("--measure", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.scenes)))
        return
    trees = [t.split("=", 1) for t in args.tree] or [["current", str(ROOT)]]
    runs: dict[str, list[dict]] = {label: [] for label, _ in trees}
    for _ in range(args.repeats):                       # interleaved: before, after, before, after
        for label, path in trees:
            out = subprocess.run([sys.executable, os.path.abspath(__file__), "--measure", os.path.abspath(path),
                                  "--scenes", str(args.scenes)], capture_output=True, text=True, check=True)
            runs[label].append(json.loads(out.stdout.strip().splitlines()[-1]))
    result = {"benchmark": "scene_prep_cpu", "scenes": args.scenes, "repeats": args.repeats,
              "date": time.strftime("%Y-%m-%d %H:%M:%S"), "loadavg_end": list(os.getloadavg()),
              "trees": [label for label, _ in trees], "cpu_s_per_frame_median": {}}
    for label, rs in runs.items():
        med = {k: round(statistics.median(r["cpu_s_per_frame"][k] for r in rs), 4) for k in rs[0]["cpu_s_per_frame"]}
        med["total"] = round(sum(med.values()), 4)
        result["cpu_s_per_frame_median"][label] = med
        result.setdefault("frames", rs[0]["frames"])
        result.setdefault("people", rs[0]["people"])
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result["cpu_s_per_frame_median"], indent=2))


if __name__ == "__main__":
    main()
