"""Benchmark reading a dataset through synth.io.torch, the exports and synth browse.

    .venv/bin/python benchmarks/io_torch.py [--dataset OUT] [--work /tmp/synth-io-bench] [--out benchmarks/results/io_torch.json]

Without ``--dataset`` it renders scenes/demo.yaml at 128 px with 8 scenes (2 frames, the demo's pinhole and a
ceiling fisheye: 32 views). Measures, per sample, the CPU time of ``FrameDataset`` (image + keypoints + boxes)
and ``PersonCropDataset`` (256 x 192 crops), the wall-clock throughput of a ``DataLoader`` with 0 and 2
workers, and the wall time of each ``synth export`` format and of ``synth browse``. CPU times are the robust
numbers on a shared machine; the wall-clock ones depend on its load (recorded with the results).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _render(work: Path) -> str:
    import yaml

    from synth.pipeline.job import run_local
    from synth.recipe import parse_recipe

    d = yaml.safe_load((ROOT / "scenes" / "demo.yaml").read_text())
    d.update(scenes=8, image={"width": 128, "height": 128}, render={"samples": 8}, scenes_per_shard=4)
    d["cameras"].append({"name": "ceiling", "rig": "overhead", "model": "fisheye_equidistant", "fov_deg": 180,
                         "height_m": 3.0})
    out = work / "ds"
    run_local(parse_recipe(d, "demo-io-bench"), str(out), progress=False)
    return str(out)


def _cpu_ms_per_sample(ds) -> float:
    ds[0]
    t = time.process_time()
    for i in range(len(ds)):
        ds[i]
    return 1000.0 * (time.process_time() - t) / len(ds)


def _loader_rate(ds, workers: int) -> float:
    from torch.utils.data import DataLoader

    from synth.io.torch import collate

    t = time.perf_counter()
    n = sum(len(b["index"]) for b in DataLoader(ds, batch_size=8, num_workers=workers, collate_fn=collate))
    return n / (time.perf_counter() - t)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset")
    ap.add_argument("--work", default="/tmp/synth-io-bench")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "io_torch.json"))
    args = ap.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    out = args.dataset or _render(work)

    from synth.io.torch import FrameDataset, PersonCropDataset

    frames = FrameDataset(out, fields=("image", "keypoints", "boxes"))
    crops = PersonCropDataset(out, crop_size=(256, 192), fields=("image", "keypoints", "boxes"))
    res = {
        "dataset": {"path": out, "views": len(frames), "people_crops": len(crops),
                    "image_px": list(frames[0]["image"].shape[1:])},
        "frame_cpu_ms_per_sample": round(_cpu_ms_per_sample(frames), 2),
        "crop_256x192_cpu_ms_per_sample": round(_cpu_ms_per_sample(crops), 2),
        "crop_loader_samples_per_s": {f"workers_{w}": round(_loader_rate(crops, w), 1) for w in (0, 2)},
    }
    for fmt in ("coco-wholebody", "yolo-pose", "npz"):
        dest = work / f"export-{fmt}"
        shutil.rmtree(dest, ignore_errors=True)
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "synth.cli", "export", out, "--format", fmt, "--dest", str(dest)],
                       check=True, capture_output=True, cwd=ROOT)
        res[f"export_{fmt}_s"] = round(time.perf_counter() - t, 2)
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "synth.cli", "browse", out, "--dest", str(work / "browse"), "--quiet"],
                   check=True, capture_output=True, cwd=ROOT)
    res["browse_s"] = round(time.perf_counter() - t, 2)
    res["machine"] = {"cpus": os.cpu_count(), "load_avg_1min": round(os.getloadavg()[0], 2),
                      "python": platform.python_version(), "platform": platform.platform()}
    res["note"] = ("export / browse times include starting the interpreter (about 1 s); wall-clock rates depend on "
                   "the machine's load (load_avg_1min)")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(res, indent=2) + "\n")
    print(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
