"""The train / val datasets that the body-mesh and contact estimator benchmarks share.

    .venv/bin/python benchmarks/person_datasets.py [--work /tmp/synth-person-bench]   # render (resumable)

    from person_datasets import ensure_person_datasets            # in a benchmark script
    train_dir, val_dir, seconds = ensure_person_datasets("/tmp/synth-person-bench")

A demo-like recipe at 224x224 px, 8 spp: 1-3 people (a quarter of them children) with nine motion sources
(walks, runs, jumps, squats: feet on and off the ground), orbit pinhole camera 2.5-4.5 m away, the default
Anny topology (13,718 vertices) with dense contact labels. Train and val use different seeds.
"""

from __future__ import annotations

import argparse
import copy
import os
import time

RECIPE = {
    "schema_version": 1, "name": "persons", "seed": 501, "scenes": 240, "frames_per_scene": 2, "fps": 10,
    "scenes_per_shard": 8, "image": {"width": 224, "height": 224}, "render": {"samples": 8, "threads": 1},
    "people": {
        "count": {"uniform": [1, 3]}, "body_model": "anny",
        "shape": {"age_years": {"uniform": [16, 75]}, "child_fraction": 0.25,
                  "child_age_years": {"uniform": [3, 12]}},
        "motion": {"source": {"choice": ["static", "walk", "run", "idle", "wave", "squat", "reach", "jump", "turn"]},
                   "speed_mps": {"uniform": [0.8, 1.5]}},
        "placement": {"area_radius_m": 1.0, "min_separation_m": 0.3},
    },
    "cameras": [{"name": "main", "rig": "orbit", "model": "pinhole", "fov_deg": {"uniform": [40, 60]},
                 "distance_m": {"uniform": [2.5, 4.5]}, "azimuth_deg": {"uniform": [-180, 180]},
                 "elevation_deg": {"uniform": [2, 25]}, "look_at_height_m": 0.9, "look_at_jitter_m": 0.1}],
    "environment": {"ground": {"pattern": {"choice": ["plain", "checker", "noise"]}},
                    "lighting": {"kind": {"choice": ["sun_sky", "area"], "weights": [3, 1]}}},
}
TRAIN_SEED, VAL_SEED = 501, 602
TRAIN_SCENES, VAL_SCENES = 240, 40


def person_recipe(scenes: int, seed: int):
    from synth.recipe import parse_recipe

    d = copy.deepcopy(RECIPE)
    d["scenes"], d["seed"] = int(scenes), int(seed)
    return parse_recipe(d, f"benchmarks/person_datasets.py (seed {seed})")


def ensure_person_datasets(work: str, train_scenes: int = TRAIN_SCENES,
                           val_scenes: int = VAL_SCENES) -> tuple[str, str, dict[str, float]]:
    """Render (or resume, or reuse) WORK/train and WORK/val; returns their paths and the seconds spent here."""
    from synth.pipeline.job import run_local

    out = {}
    seconds = {}
    for name, scenes, seed in (("train", train_scenes, TRAIN_SEED), ("val", val_scenes, VAL_SEED)):
        path = os.path.join(work, name)
        t0 = time.perf_counter()
        run_local(person_recipe(scenes, seed), path, progress=True)
        seconds[name] = round(time.perf_counter() - t0, 1)
        out[name] = path
    return out["train"], out["val"], seconds


def dataset_summary(out: str) -> dict:
    """Path, scenes, seed, labelled views and render seconds of a finished dataset (from its manifest)."""
    from synth.io import open_dataset

    ds = open_dataset(out)
    m = ds.manifest
    return {"path": out, "scenes": m.scenes, "seed": m.seed, "labelled_views": len(ds),
            "render_seconds": round(sum(s.seconds for s in m.shards), 1)}


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", default="/tmp/synth-person-bench")
    args = ap.parse_args()
    import logging

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    print(ensure_person_datasets(args.work))
