"""CPU seconds per labelled frame of the label stages that run outside Cycles: the view labels
(``compute_view_labels``: keypoint and joint visibility, boxes, vertex fraction) and the contact labels
(``compute_contact_labels``: ground, person, self, scene), on the demo recipe's scenes (default 0-5: 12 frames,
13 people), measured with ``time.thread_time`` (the CPU time of the one thread doing it, so other jobs on a
shared machine do not inflate it) with torch on one thread, as the worker runs them.

    .venv/bin/python benchmarks/label_cpu.py [--scenes 6] [--repeats 3] [--tree before=/path/to/old/checkout ...]
                                             [--frames /tmp/label_cpu_frames.pkl] [--out benchmarks/results/label_cpu.json]

The scenes are rendered once (the worker's own steps, the demo's 256 px / 16 spp) and their passes and geometry
kept in ``--frames`` (reused when it exists); each ``--tree LABEL=PATH`` (e.g. ``git archive <commit> | tar -x -C
PATH``) is then measured in its own process on those same frames (default: this checkout as ``current``), so
before/after numbers come from one run, and every tree's labels are compared with the first tree's (``same_labels``).
A view's frames share one ``bvh_cache`` as in the worker.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def render_frames(root: str, scenes: int, path: str) -> None:
    """Render demo scenes 0..scenes-1 with this tree's worker; pickle per scene the contact inputs and per view
    and frame (camera, people geometry as arrays, instance, depth)."""
    sys.path.insert(0, root)
    from benchmarks.demo_throughput import load_demo
    from synth.pipeline.worker import SceneWorker

    recipe = load_demo(os.path.join(root, "scenes", "demo.yaml"), scenes, None)
    worker = SceneWorker(recipe, "/nonexistent-not-written")
    data = []
    try:
        for i in range(scenes):
            prep = worker._prepare(i)
            worker._setup(prep)
            people = prep.scene.people
            static = [m for m in prep.scene.surface_meshes() if m.vertices is not None]
            scene = {"vertices": [p.posed.vertices for p in people], "faces": [p.faces for p in people],
                     "static": [(m.vertices, m.faces, k, m.name) for k, m in enumerate(static)], "views": []}
            for track in prep.scene.camera_tracks:
                frames = []
                for t in range(prep.spec.frames):
                    cam, out = worker._render_frame(prep, track, t)
                    geo = [(p.posed.vertices[t], p.posed.joints[t], p.posed.keypoints[t], p.faces,
                            tuple((gv[t], g.faces) for g, gv in zip(p.garments, p.garment_vertices))) for p in people]
                    frames.append((cam, geo, out.instance, out.depth_m))
                scene["views"].append(frames)
            data.append(scene)
    finally:
        worker.close()
    with open(path, "wb") as f:
        pickle.dump(data, f)


def measure(root: str, frames_path: str, repeats: int, labels_out: str) -> dict:
    sys.path.insert(0, root)
    import numpy as np
    import torch

    torch.set_num_threads(1)
    from benchmarks.demo_throughput import load_demo
    from synth.groundtruth.contact import SceneContactIndex, compute_contact_labels, geodesic_bound_for
    from synth.groundtruth.labels import PersonFrameGeometry, compute_view_labels
    from synth.pipeline.geometry import load_body
    from synth.recipe.sample import body_options

    with open(frames_path, "rb") as f:
        data = pickle.load(f)
    recipe = load_demo(os.path.join(root, "scenes", "demo.yaml"), 1, None)
    body = load_body(recipe.people.body_model, body_options(recipe))
    geodesic_bound_for(body)                              # built at worker start (warm_up), not per scene

    def view_labels() -> list:
        out = []
        for scene in data:
            for frames in scene["views"]:
                cache: dict = {}
                for cam, geo, instance, depth in frames:
                    people = [PersonFrameGeometry(*g) for g in geo]
                    out.append(compute_view_labels(cam, people, instance, depth, bvh_cache=cache))
        return out

    def contact_labels() -> list:
        return [compute_contact_labels(s["vertices"], s["faces"], [body] * len(s["vertices"]),
                                       SceneContactIndex(s["static"]) if s["static"] else None) for s in data]

    times: dict[str, list[float]] = {"view_labels": [], "contact_labels": []}
    results = {}
    for _ in range(repeats):
        for name, fn in (("view_labels", view_labels), ("contact_labels", contact_labels)):
            t = time.thread_time()
            results[name] = fn()
            times[name].append(time.thread_time() - t)
    n_frames = sum(len(frames) for s in data for frames in s["views"])
    n_people = sum(len(s["vertices"]) for s in data)
    flat = {}
    for i, lab in enumerate(results["view_labels"]):
        flat.update({f"view{i}/{k}": np.asarray(v) for k, v in lab.items()})
    for i, scene in enumerate(results["contact_labels"]):
        for k, person in enumerate(scene):
            flat.update({f"contact{i}/p{k}/{name}": np.asarray(v) for name, v in person.items()})
    np.savez(labels_out, **flat)
    return {"frames": n_frames, "people": n_people, "repeats": repeats,
            "cpu_s_per_frame": {k: statistics.median(v) / n_frames for k, v in times.items()},
            "cpu_s_all_frames_runs": times}


def compare_labels(a: str, b: str) -> dict:
    """Per label kind: the number of arrays and of elements that differ between two label files."""
    import numpy as np

    A, B = np.load(a), np.load(b)
    out: dict = {"keys_equal": sorted(A.files) == sorted(B.files), "differing": {}}
    for k in sorted(set(A.files) & set(B.files)):
        x, y = A[k], B[k]
        same = x.shape == y.shape and (np.array_equal(x, y, equal_nan=True) if x.dtype.kind == "f"
                                       else np.array_equal(x, y))
        if not same:
            name = k.split("/")[-1]
            n = int(np.count_nonzero(x != y)) if x.shape == y.shape else -1
            d = out["differing"].setdefault(name, {"arrays": 0, "elements": 0})
            d["arrays"] += 1
            d["elements"] += n
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenes", type=int, default=6)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--tree", action="append", default=[], help="LABEL=PATH of a source tree to measure")
    ap.add_argument("--frames", default="/tmp/label_cpu_frames.pkl", help="rendered frames (made when missing)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "label_cpu.json"))
    ap.add_argument("--_measure", nargs=3, metavar=("ROOT", "FRAMES", "LABELS"), help=argparse.SUPPRESS)
    ap.add_argument("--_render", nargs=2, metavar=("ROOT", "FRAMES"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._render:
        render_frames(args._render[0], args.scenes, args._render[1])
        return
    if args._measure:
        print(json.dumps(measure(args._measure[0], args._measure[1], args.repeats, args._measure[2])))
        return
    trees = [t.split("=", 1) for t in args.tree] or [["current", str(ROOT)]]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    if not os.path.exists(args.frames):
        t = time.perf_counter()
        subprocess.run([sys.executable, __file__, "--scenes", str(args.scenes), "--_render", str(ROOT), args.frames],
                       check=True, env=env, cwd=str(ROOT))
        print(f"rendered {args.scenes} scenes in {time.perf_counter() - t:.0f} s -> {args.frames}", flush=True)
    result = {"benchmark": "label_cpu", "date": time.strftime("%Y-%m-%d %H:%M:%S"), "scenes": args.scenes,
              "timer": "time.thread_time", "trees": {}}
    first_labels = None
    for label, path in trees:
        labels = f"{args.frames}.{label}.labels.npz"
        load = os.getloadavg()[0]
        proc = subprocess.run([sys.executable, __file__, "--repeats", str(args.repeats), "--_measure", path,
                               args.frames, labels], check=True, env=env, cwd=path, capture_output=True, text=True)
        res = json.loads(proc.stdout.strip().splitlines()[-1])
        res["load_average_1min"] = load
        if first_labels is None:
            first_labels = labels
        else:
            res["same_labels_as_" + trees[0][0]] = compare_labels(first_labels, labels)
        result["trees"][label] = res
        print(label, json.dumps(res["cpu_s_per_frame"]), flush=True)
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
