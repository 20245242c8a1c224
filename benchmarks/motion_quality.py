"""Motion quality on Anny: foot skate and joint-limit violations of every procedural action and DeepMimic clip.

    .venv/bin/python benchmarks/motion_quality.py [--topology default] [--fps 30] [--seconds 10]
        [--out benchmarks/results/motion_quality.json]

Foot skate (synth.motion.quality.compute_foot_skate): mean horizontal speed of the
heel and toe-tip sole vertices of both feet over the samples where the point is in
contact with the ground (height < 2 cm and slower than 1 m/s). Joint-limit
violations: fraction of pose-parameter samples (frame x joint x axis) outside
``AnnyBody.joint_limits()``. Each entry is one clip of ``--seconds`` at ``--fps``
(non-cyclic DeepMimic clips: their own length), mean shape, seed 0.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from synth.core.machine import machine_info

ROOT = Path(__file__).resolve().parents[1]

PROCEDURAL = [
    ("static", {}), ("idle", {}), ("walk", {"speed_mps": 0.8}), ("walk", {"speed_mps": 1.3}),
    ("walk", {"speed_mps": 1.8}), ("walk", {"speed_mps": 1.3, "turn_rate_deg_s": 30.0}),
    ("run", {"speed_mps": 3.2}), ("turn", {"angle_deg": 180.0}), ("wave", {}), ("squat", {}), ("reach", {}),
    ("jump", {}),
]




def evaluate(body, shape, skel, cfg: dict, n_frames: int, fps: float, seed: int) -> dict:
    from synth.motion import sample_motion_clip
    from synth.motion.quality import compute_foot_skate, compute_joint_limit_violations

    t0 = time.perf_counter()
    clip = sample_motion_clip(body, cfg, n_frames, fps, np.random.default_rng(seed), shape=shape)
    gen_s = time.perf_counter() - t0
    posed = body.forward(clip.to_body_params(body.name, shape))
    soles = np.asarray(posed.vertices)[:, skel.sole_vertices]
    skate = compute_foot_skate(soles, fps)
    lim = compute_joint_limit_violations(clip.rotvec, body.joint_limits())
    worst = {skel.joint_names[j]: n for j, n in lim["worst_joints"].items()}
    tr = clip.root_translation_m
    lowest = np.asarray(posed.vertices)[..., 2].min(axis=1)
    return {
        "source": cfg["source"], "params": {k: v for k, v in cfg.items() if k != "source"},
        "frames": clip.n_frames, "fps": fps, "generate_s": round(gen_s, 3),
        "skate_mps": round(skate["skate_mps"], 4), "skate_p95_mps": round(skate["skate_p95_mps"], 4),
        "skate_mm_per_frame": round(skate["skate_mm_per_frame"], 3), "skate_ratio": round(skate["skate_ratio"], 3),
        "contact_fraction": round(skate["contact_fraction"], 3),
        "limit_violation_fraction": round(lim["fraction"], 5), "limit_max_excess_rad": round(lim["max_excess_rad"], 3),
        "limit_worst_joints": worst,
        "root_speed_mps": round(float(np.linalg.norm(tr[-1, :2] - tr[0, :2]) / max(clip.duration_s, 1e-9)), 3),
        "lowest_point_m": {"min": round(float(lowest.min()), 4), "max": round(float(lowest.max()), 4)},
        "meta": {k: v for k, v in clip.meta.items() if isinstance(v, (int, float, str, bool))},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--topology", default="default")
    ap.add_argument("--fps", type=float, default=30.0)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "motion_quality.json"))
    args = ap.parse_args()

    from synth.bodies.registry import get_body_model
    from synth.motion.retarget import DEEPMIMIC_CLIPS, load_deepmimic
    from synth.motion.skeleton import BodySkeleton

    body = get_body_model("anny", topology=args.topology)
    shape = body.mean_shape()
    skel = BodySkeleton.from_body(body, shape)
    n = int(round(args.seconds * args.fps))
    results = {"procedural": [], "pybullet": []}
    for name, params in PROCEDURAL:
        r = evaluate(body, shape, skel, {"source": name, **params}, n, args.fps, args.seed)
        results["procedural"].append(r)
        print(f"{name:7s} {json.dumps(params):40s} skate {r['skate_mps'] * 100:6.2f} cm/s (p95 "
              f"{r['skate_p95_mps'] * 100:5.1f})  limits {100 * r['limit_violation_fraction']:5.2f} %  "
              f"{r['generate_s']:.2f} s", flush=True)
    try:
        clips = list(DEEPMIMIC_CLIPS)
        load_deepmimic("walk")
    except Exception as exc:  # pybullet missing
        clips = []
        results["pybullet_error"] = str(exc)
    for c in clips:
        src = load_deepmimic(c)
        frames = n if src.loop else min(n, int(src.n_frames / src.fps * args.fps))
        r = evaluate(body, shape, skel, {"source": "pybullet", "clips": [f"humanoid3d_{c}"]}, frames, args.fps,
                     args.seed)
        r["clip"] = c
        results["pybullet"].append(r)
        print(f"pybullet {c:15s} skate {r['skate_mps'] * 100:6.2f} cm/s (p95 {r['skate_p95_mps'] * 100:5.1f})  "
              f"limits {100 * r['limit_violation_fraction']:5.2f} %  {r['generate_s']:.2f} s", flush=True)
    out = {
        "description": "Foot skate (mean horizontal speed of heel/toe sole vertices while within 2 cm of the "
                       "ground and slower than 1 m/s) and joint-limit violations (fraction of pose parameters "
                       "outside AnnyBody.joint_limits()) of synth.motion sources on Anny.",
        "body": {"model": "anny", "topology": args.topology, "shape": "mean adult"},
        "settings": {"fps": args.fps, "seconds": args.seconds, "seed": args.seed,
                     "contact_height_m": 0.02, "max_contact_speed_mps": 1.0},
        "machine": machine_info(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        **results,
    }
    path = Path(args.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(out, indent=1))
    os.replace(tmp, path)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
