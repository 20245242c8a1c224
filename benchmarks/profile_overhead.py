"""Where a demo frame's time goes: py-spy samples of ``benchmarks/demo_throughput.py --no-peer --passes serial``
(the serial worker: every step on the main thread, one after the other, so each sample's stack says which
step the time went to), sorted into stages by the functions on each sampled stack.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/profile_overhead.py [--scenes 6] [--rate 100]
                                                   [--out benchmarks/results/overhead_profile.json]

Needs py-spy (``pip install py-spy``). Only samples taken inside ``SceneWorker.run_shard`` count (the
timed loop); idle samples are kept (``--idle``) so the Cycles render, native code that waits on its own
threads, is seen. Each sample goes to the first stage (in the order of ``STAGES``) whose marker appears
on its stack; seconds = samples / rate. The machine may be shared: the load average is recorded.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from synth.core.machine import machine_info

ROOT = Path(__file__).resolve().parents[1]

# (stage, markers): a sample belongs to the first stage with any marker on its stack
STAGES = [
    ("cycles_render", ["bpy/ops.py"]),
    ("render_pass_read", ["read_passes ("]),
    ("render_camera_finish", ["finish (synth/render/blender/camera.py"]),
    ("render_scene_setup", ["setup_scene ("]),
    ("render_other (vertex update, camera plan)", ["render (synth/render/blender/renderer.py"]),
    ("gt_keypoint_visibility (segment crossings)", ["segment_crossings (", "SegmentFan."]),
    ("gt_point_visibility_other", ["compute_point_visibility ("]),
    ("gt_vertex_visibility", ["compute_vertex_visibility ("]),
    ("gt_contact_self", ["compute_self_contact (", "geodesic_bound_for ("]),
    ("gt_contact_scene", ["compute_scene_contact (", "SceneContactIndex"]),
    ("gt_contact_ground_person", ["compute_ground_contact (", "compute_person_contact ("]),
    ("gt_contact_other", ["compute_contact_labels ("]),
    ("gt_labels_other", ["compute_view_labels ("]),
    ("sampling", ["sample_scene ("]),
    ("body_forward", ["forward ("]),
    ("appearance", ["compute_appearance ("]),
    ("camera_tracks", ["compute_camera_tracks ("]),
    ("native_params", ["compute_native_params ("]),
    ("shard_write", ["write_shard ("]),
    ("shard_sha256", ["sha256_file ("]),
    ("posed_scene_other", ["build_posed_scene ("]),
]


def classify(stack: str) -> str:
    for stage, markers in STAGES:
        if any(m in stack for m in markers):
            return stage
    return "other"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenes", type=int, default=6)
    ap.add_argument("--rate", type=int, default=100, help="py-spy samples per second")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "overhead_profile.json"))
    args = ap.parse_args()
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(py_spy).exists():
        raise SystemExit("py-spy not found: pip install py-spy")
    tmp = tempfile.mkdtemp(prefix="synth-prof-")
    raw, bench_json = os.path.join(tmp, "raw.txt"), os.path.join(tmp, "bench.json")
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    load0 = os.getloadavg()
    try:
        subprocess.run([py_spy, "record", "--idle", "-r", str(args.rate), "-f", "raw", "-o", raw, "--",
                        sys.executable, str(ROOT / "benchmarks" / "demo_throughput.py"), "--scenes", str(args.scenes),
                        "--no-peer", "--passes", "serial", "--out", bench_json], cwd=ROOT, env=env, check=True, capture_output=True)
        bench = json.loads(Path(bench_json).read_text())
        counts: collections.Counter = collections.Counter()
        inner: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
        for line in Path(raw).read_text().splitlines():
            stack, _, n = line.rpartition(" ")
            if "run_shard (" in stack:
                stage = classify(stack)
                counts[stage] += int(n)
                frames_synth = [f.split(" (")[0] + " (" + f.split(" (")[1].split(":")[0] + ")"
                                for f in stack.split(";") if "(synth/" in f]
                inner[stage][frames_synth[-1] if frames_synth else "?"] += int(n)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    total = sum(counts.values())
    frames = bench["labelled_views"]
    stages = {k: {"seconds_per_frame": round(v / args.rate / frames, 4), "fraction": round(v / total, 4),
                  "innermost_synth_functions": {f: round(c / args.rate / frames, 4)
                                                for f, c in inner[k].most_common(4)}}
              for k, v in counts.most_common()}
    result = {
        "benchmark": "overhead_profile", "date": time.strftime("%Y-%m-%d %H:%M:%S"), "tool": "py-spy record --idle",
        "rate_hz": args.rate, "samples_in_run_shard": total, "labelled_views": frames,
        "image": bench["image"], "samples": bench["samples"], "scenes": args.scenes,
        "seconds_per_frame_sampled": round(total / args.rate / frames, 4),
        "worker": "serial (pipeline=False)",
        "benchmark_seconds_per_frame": bench["seconds_per_frame_total"],
        "benchmark_overhead_fraction_median": bench["overhead_fraction_median"],
        "non_cycles_fraction_sampled": round(1 - counts.get("cycles_render", 0) / max(total, 1), 4),
        "stages": stages, "loadavg_start": load0, "loadavg_end": os.getloadavg(), "machine": machine_info(),
        "note": "shared machine: other jobs run at the same time; sampled seconds include waiting for the CPU",
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
