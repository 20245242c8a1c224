"""Sim-to-real ablation of the 2D keypoint model: what each part of the synthetic data buys on real photos.

    .venv/bin/python benchmarks/sim2real.py [--work /tmp/synth-sim2real] [--scenes 240] [--budget-min 12]
        [--d-scale 3] [--variants a,b,c,d] [--threads 2] [--realdata ../shared/realdata]
        [--out benchmarks/results/sim2real.json]

Variants are recipe overrides of ``benchmarks/keypoints2d.py``'s recipe (same people, motions, cameras, image
size), each rendered with its own seed and trained with the same settings:

- (a) today's look: no clothing (``people.clothing.source: none``), plain ground, sun and sky;
- (b) (a) + clothing (``people.clothing.source: procedural``);
- (c) (b) + places (``environment.hdri``: photographed worlds for half the scenes, ``environment.props``);
- (d) everything: mixed clothing, places (with rooms), every ground pattern and light kind, and ``--d-scale``
  times the scenes and the training budget.

(a), (b), (c) get the same number of scenes (``--scenes``) and the same training budget (``--budget-min``).
A part whose recipe section this synth version does not have (``parse_recipe`` rejects it) is dropped and
recorded; a variant that then equals an earlier one is skipped, with the reason, rather than run twice.

Every model is evaluated on one synth validation set (``benchmarks/keypoints2d.py``'s, seed 202) and on the real photos of
``../shared/realdata`` (34 people, COCO-17 layout, evaluation only) with ``evaluate_keypoints2d_coco``: OKS AP
with ground-truth boxes and the share of the 12 limb joints within 0.1 x box height, beside each model's untrained
initialisation and the constant mean pose. MediaPipe Pose (real-trained, optional) on the same crops is the
yardstick. Each step is resumable: finished datasets and runs are reused.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]   # this checkout's synth, then the keypoints2d benchmark

from keypoints2d import RECIPE as BASE_RECIPE  # noqa: E402

REAL_SETS = ("coco", "mpii", "aic", "h36m", "crowdpose")
VAL_SEED = 202

#: Named recipe parts (deep-merged over the base recipe in order).
PARTS: dict[str, dict] = {
    "plain_look": {"people": {"clothing": {"source": "none"}},
                   "environment": {"ground": {"pattern": "plain"}, "lighting": {"kind": "sun_sky"}}},
    "plain_ground": {"environment": {"ground": {"pattern": "plain"}, "lighting": {"kind": "sun_sky"}}},
    "clothing": {"people": {"clothing": {"source": "procedural"}}},
    "places": {"environment": {"hdri": {"probability": 0.5, "ground": "shadow_catcher"},
                               "props": {"count": {"uniform": [0, 3]}}}},
    "clothing_mixed": {"people": {"clothing": {"source": "mixed"}}},
    "rooms": {"environment": {"room": {"probability": 0.25}}},
}
#: Variant -> (parts, scenes factor, budget factor, seed). (a)'s "plain_look" falls back to "plain_ground" when
#: the recipe has no clothing section (the look is then the same: no garments).
VARIANTS: dict[str, tuple[tuple[str, ...], str, int]] = {
    "a": (("plain_look",), "today's look: no clothing, plain ground, sun + sky", 1101),
    "b": (("plain_look", "clothing"), "+ clothing", 1102),
    "c": (("plain_look", "clothing", "places"), "+ clothing + places (HDRI worlds, props)", 1103),
    "d": (("clothing_mixed", "places", "rooms"), "everything (all grounds, lights, clothing, places, rooms) and "
                                                 "more data and training", BASE_RECIPE["seed"]),
}


def deep_merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in over.items():
        out[k] = deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else copy.deepcopy(v)
    return out


def parses(recipe: dict) -> str | None:
    """None when this synth version accepts ``recipe``, else the error's first line."""
    from synth.core.errors import SynthError
    from synth.recipe import parse_recipe

    try:
        parse_recipe(recipe, "sim2real")
        return None
    except (SynthError, ValueError) as err:
        return " ".join(str(err).split())[:240]


def variant_recipe(name: str, scenes: int) -> tuple[dict, list[str], dict[str, str]]:
    """(recipe dict, parts used, parts dropped -> why) of a variant."""
    parts, _, seed = VARIANTS[name]
    recipe = copy.deepcopy(BASE_RECIPE)
    recipe["seed"], recipe["scenes"] = seed, int(scenes)   # (d) without new parts = the keypoints2d benchmark's set
    used, dropped = [], {}
    for part in parts:
        trial = deep_merge(recipe, PARTS[part])
        err = parses(trial)
        if err and part == "plain_look":
            trial, err2 = deep_merge(recipe, PARTS["plain_ground"]), None
            err2 = parses(trial)
            if err2 is None:
                dropped["plain_look.clothing"] = err
                recipe, err = trial, None
                used.append("plain_ground")
                continue
        if err:
            dropped[part] = err
            continue
        recipe = trial
        used.append(part)
    return recipe, used, dropped


def realdata_dir(given: str | None) -> Path | None:
    if given:
        return Path(given)
    if os.environ.get("SYNTH_REALDATA"):
        return Path(os.environ["SYNTH_REALDATA"])
    for base in (ROOT.parent, ROOT.parent.parent):
        if (base / "shared" / "realdata").is_dir():
            return base / "shared" / "realdata"
    return None


def generate(recipe: dict, out: str, render_threads: int | None = None) -> float:
    from synth.pipeline.job import run_local
    from synth.recipe import parse_recipe

    if render_threads:   # how fast Blender renders, not what it renders
        recipe = deep_merge(recipe, {"render": {"threads": int(render_threads)}})
    t0 = time.perf_counter()
    run_local(parse_recipe(recipe, recipe["name"]), out, progress=True)
    return time.perf_counter() - t0


def _short(m: dict) -> dict:
    keep = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in m.items()
            if k in ("AP", "AP50", "AP75", "PCK@0.2", "EPE_px", "persons", "keypoints")}
    la = m.get("limb_accuracy") or {}
    keep["limb_accuracy"] = {g: (None if v["accuracy"] is None else round(v["accuracy"], 4), v["joints"])
                             for g, v in la.items() if isinstance(v, dict)}
    return keep


def table(result: dict) -> str:
    """The Markdown table of docs/estimators.md."""
    lines = ["| variant | scenes (people) | training | synth val AP / limb joints | real AP | real limb joints "
             "(of 361) | real limb joints: initialisation / mean pose |",
             "|---|---|---|---|---|---|---|"]
    for name, v in sorted(result["variants"].items()):
        lacks = sorted({p.split(".")[-1] for p in v.get("dropped_parts", {})})
        what = v["description"] + (f" — this checkout's recipe lacks: {', '.join(lacks)}" if lacks else "")
        if "skipped" in v:
            lines.append(f"| ({name}) {what} | skipped: same recipe as an earlier variant | | | | | |")
            continue
        r, s = v["real"]["pooled"], v["synth_val"]
        lines.append(
            f"| ({name}) {what} | {v['train_set']['scenes']} ({v['train_set']['people']}) | "
            f"{v['training']['steps']} steps, {v['training']['minutes']:.1f} min wall / "
            f"{v['training'].get('cpu_minutes', float('nan')):.1f} CPU-min | "
            f"{s['metrics']['AP']:.3f} / {s['metrics']['limb_accuracy']['limb_joints'][0]:.2f} | "
            f"{r['metrics']['AP']:.3f} | {r['metrics']['limb_accuracy']['limb_joints'][0]:.2f} | "
            f"{r['initial']['limb_accuracy']['limb_joints'][0]:.2f} / "
            f"{r['baseline']['limb_accuracy']['limb_joints'][0]:.2f} |")
    mp = result.get("mediapipe")
    if mp and "limb_joints" in mp:
        lines.append(f"| MediaPipe Pose 0.10 (trained on real photos), same crops | | | | | "
                     f"{mp['limb_joints']['accuracy']:.2f} | |")
    return "\n".join(lines)


def write_figure(model: str, real: Path, out_png: str, work: str,
                 picks=(("h36m", 0), ("coco", 0), ("mpii", 1), ("aic", 0))) -> str:
    """docs/img/predict_keypoints2d.png: ``synth predict keypoints2d`` overlays (annotation boxes) of a few real
    photos, each cut to its first person's box x1.4 and scaled to 240 px high (a derived picture, not the photo)."""
    from PIL import Image

    from synth.estimators.keypoints2d.predict import predict_keypoints2d

    tiles = []
    for name, k in picks:
        files = sorted(os.listdir(real / name / "images"))
        img = real / name / "images" / files[k]
        out = os.path.join(work, "figure", name)
        predict_keypoints2d(model, str(img), out, boxes_file=str(real / name / "annotations.json"))
        res = json.load(open(os.path.join(out, "keypoints2d_results.json")))
        x, y, w, h = res[0]["bbox"]
        cx, cy, half = x + w / 2, y + h / 2, 0.7 * max(w, h)
        im = Image.open(os.path.join(out, "overlays", Path(img).stem + ".png"))
        im = im.crop((int(cx - half), int(cy - half), int(cx + half), int(cy + half)))
        tiles.append(im.resize((240, 240)))
    sheet = Image.new("RGB", (240 * len(tiles), 240))
    for i, t in enumerate(tiles):
        sheet.paste(t, (240 * i, 0))
    sheet.save(out_png)
    return out_png


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", default="/tmp/synth-sim2real")
    ap.add_argument("--scenes", type=int, default=240, help="training scenes of (a), (b), (c)")
    ap.add_argument("--val-scenes", type=int, default=40)
    ap.add_argument("--budget-min", type=float, default=12.0, help="training minutes of (a), (b), (c)")
    ap.add_argument("--max-steps", type=int, help="also stop (a)-(c) after this many optimiser steps ((d): times "
                                                  "--d-scale); on a shared machine a step budget keeps variants fair")
    ap.add_argument("--d-scale", type=float, default=3.0, help="(d) gets this many times the scenes and minutes")
    ap.add_argument("--d-budget-min", type=float, help="(d)'s training minutes (default --budget-min x --d-scale)")
    ap.add_argument("--d-max-steps", type=int, help="(d)'s step limit (default --max-steps x --d-scale; give a large "
                                                    "number to let (d) train for its whole time budget)")
    ap.add_argument("--variants", default="a,b,c,d")
    ap.add_argument("--input", default="128x96")
    ap.add_argument("--threads", type=int, default=2, help="torch threads for training and evaluation")
    ap.add_argument("--render-threads", type=int, default=2, help="Blender threads while rendering the sets")
    ap.add_argument("--val-dir", help="an already rendered synth validation set to use as is (default: render "
                                      "WORK/val from the keypoints2d benchmark's recipe, seed 202)")
    ap.add_argument("--realdata", help="folder of the real COCO-layout sets (default ../shared/realdata)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "sim2real.json"))
    ap.add_argument("--figure", default=str(ROOT / "docs" / "img" / "predict_keypoints2d.png"),
                    help="overlays of real photos by the last variant's model ('' for none)")
    args = ap.parse_args()

    # idle OpenMP threads sleep instead of spinning: on a machine shared with other jobs spinning threads
    # burned most of the CPU time (259 steps in 27 minutes, 5 crops/s, against ~25 crops/s per run with this)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import logging

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    from synth.core.machine import machine_info
    from synth.estimators.engine.options import parse_input_size
    from synth.core.atomic import write_json_atomic
    from synth.estimators.keypoints2d.task import (evaluate_keypoints2d, evaluate_keypoints2d_coco,
                                                   train_keypoints2d)

    real = realdata_dir(args.realdata)
    if real is None or not real.is_dir():
        raise SystemExit("sim2real: ../shared/realdata (real photos, evaluation only) not found; pass --realdata")
    coco = [str(real / s / "annotations.json") for s in REAL_SETS]

    val_recipe = copy.deepcopy(BASE_RECIPE)    # the keypoints2d benchmark's validation look and seed
    val_recipe["seed"], val_recipe["scenes"] = VAL_SEED, int(args.val_scenes)
    val_dir = args.val_dir or os.path.join(args.work, "val")
    if not args.val_dir:
        generate(val_recipe, val_dir, args.render_threads)

    result = {"benchmark": "sim2real", "protocol": "top-down keypoints2d (benchmarks/keypoints2d.py model and "
              "recipe), ground-truth boxes, flip test; real: ../shared/realdata pooled (5 sets, 34 people), only the "
              "points each set labels; limb joints = the 12 shoulders..ankles within 0.1 x box height",
              "scenes": args.scenes, "budget_min": args.budget_min, "d_scale": args.d_scale,
              "input_hw": list(parse_input_size(args.input)), "threads": args.threads, "variants": {}}
    seen_recipes: dict[str, str] = {}
    for name in args.variants.split(","):
        parts, description, _ = VARIANTS[name]
        scale = args.d_scale if name == "d" else 1.0
        scenes = int(round(args.scenes * scale))
        recipe, used, dropped = variant_recipe(name, scenes)
        entry: dict = {"description": description, "parts": used, "dropped_parts": dropped}
        look = json.dumps({k: recipe[k] for k in ("people", "environment")}, sort_keys=True)
        if name != "d" and look in seen_recipes:
            entry["skipped"] = (f"same recipe as ({seen_recipes[look]}): "
                                + "; ".join(f"{p}: {e}" for p, e in dropped.items()))
            result["variants"][name] = entry
            continue
        seen_recipes[look] = name
        train_dir = os.path.join(args.work, name, "train")
        gen_s = generate(recipe, train_dir, args.render_threads)
        run_dir = os.path.join(args.work, name, "run")
        max_steps = int(args.max_steps * scale) if args.max_steps else None
        budget_min = args.budget_min * scale
        if name == "d" and args.d_budget_min:
            budget_min = float(args.d_budget_min)
        if name == "d" and args.d_max_steps:
            max_steps = int(args.d_max_steps)
        if not os.path.isfile(os.path.join(run_dir, "done.json")):
            cpu0 = time.process_time()
            hist = train_keypoints2d(train_dir, run_dir, epochs=1000, input_hw=parse_input_size(args.input),
                                     threads=args.threads, time_budget_s=budget_min * 60.0, seed=0,
                                     max_steps=max_steps)
            write_json_atomic(os.path.join(run_dir, "done.json"),
                              {"steps": hist["total_steps"], "epochs": len(hist["epochs"]),
                               "train_seconds": hist["train_seconds"],
                               "cpu_seconds": round(time.process_time() - cpu0, 1),
                               "crops_per_s": hist["train_images_per_s"], "hyper": hist["hyper"], "people": hist["train_people"],
                               "views": hist["train_views"]})
        done = json.load(open(os.path.join(run_dir, "done.json")))
        model = os.path.join(run_dir, "model.pt")
        # evaluations are kept beside the run (resumable, like the datasets and runs)
        val_json, real_json = os.path.join(run_dir, "eval_val.json"), os.path.join(run_dir, "eval_real.json")
        ev = (json.load(open(val_json)) if os.path.isfile(val_json) else
              evaluate_keypoints2d(model, val_dir, threads=args.threads, out=val_json))
        ev_real = (json.load(open(real_json)) if os.path.isfile(real_json) else
                   evaluate_keypoints2d_coco(model, coco, threads=args.threads, out=real_json))
        entry |= {
            "train_set": {"scenes": scenes, "views": done["views"], "people": done["people"],
                          "generate_seconds_this_run": round(gen_s, 1)},
            "training": {"minutes": round(done["train_seconds"] / 60.0, 2), "steps": done["steps"],
                         "epochs": done["epochs"], "budget_min": budget_min,
                         "max_steps": max_steps,
                         "cpu_minutes": round(done.get("cpu_seconds", float("nan")) / 60.0, 2),
                         "crops_per_s": done.get("crops_per_s"), "hyper": done.get("hyper")},
            "synth_val": {k: _short(ev[k]) for k in ("metrics", "initial", "baseline")} | {
                "people": ev["metrics"]["persons"]},
            "real": {"pooled": {k: _short(ev_real["pooled"][k]) for k in ("metrics", "initial", "baseline")}
                     | {"people": ev_real["pooled"]["people"], "images": ev_real["pooled"]["images"]},
                     "sets": {s: {"people": v["people"], "AP": round(v["metrics"]["AP"], 4),
                                  "limb_joints": _short(v["metrics"])["limb_accuracy"]["limb_joints"]}
                              for s, v in ev_real["sets"].items()}},
        }
        result["variants"][name] = entry
        write_json_atomic(args.out, result)
    try:
        from synth.estimators.keypoints2d.coco import load_coco_instances
        from synth.estimators.keypoints2d.mediapipe_yardstick import mediapipe_limb_accuracy
        from synth.estimators.keypoints2d.task import concat_instances

        result["mediapipe"] = mediapipe_limb_accuracy(concat_instances([load_coco_instances(c) for c in coco]))
    except Exception as err:   # optional yardstick: record why it is missing
        result["mediapipe"] = {"missing": str(err).splitlines()[0]}
    ran = [n for n in args.variants.split(",") if "skipped" not in result["variants"][n]]
    last = "d" if "d" in ran else ran[-1]
    if args.figure:
        result["figure"] = {"png": os.path.relpath(write_figure(os.path.join(args.work, last, "run", "model.pt"), real,
                                                                args.figure, args.work), ROOT), "model": last}
    result["machine"] = machine_info()
    result["date"] = time.strftime("%Y-%m-%d")
    result["command"] = "python " + " ".join([os.path.relpath(__file__, ROOT)] + sys.argv[1:])
    result["table_markdown"] = table(result)
    write_json_atomic(args.out, result)
    print(result["table_markdown"])
    print(args.out)


if __name__ == "__main__":
    main()
