"""Training throughput of the 2D keypoint model on CPU: crops per second of data loading alone and of whole
optimiser steps, for a few ways of running the same network.

    .venv/bin/python benchmarks/keypoints2d_throughput.py DATASET [--threads 2] [--steps 8]
        [--out benchmarks/results/keypoints2d_throughput.json]

DATASET is any folder written by ``synth generate`` (e.g. the keypoints2d benchmark's validation set). Each
configuration trains ``--steps`` steps of batch 32 from the ImageNet initialisation on augmented crops of it
(the training dataset, ``KEYPOINT_AUGMENTATION``), the first two steps not timed; the median step is reported.
The machine's load average is recorded: on a shared machine the numbers move with it.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("data")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "keypoints2d_throughput.json"))
    args = ap.parse_args()

    import numpy as np
    import torch

    from synth.core.atomic import write_json_atomic
    from synth.core.machine import machine_info
    from synth.estimators.keypoints2d.data import (KEYPOINT_AUGMENTATION, TopDownKeypointDataset,
                                                   load_person_instances, select_keypoints)
    from synth.estimators.keypoints2d.model import (Keypoints2DConfig, build_model, default_sigma_bins,
                                                    kl_discrete_loss, make_simcc_targets)
    from synth.estimators.keypoints2d.task import _collate

    torch.set_num_threads(args.threads)
    names, flip_index = select_keypoints(17)
    data = load_person_instances(args.data, names, min_keypoints=3)
    batch = 32

    def loader(hw):
        ds = TopDownKeypointDataset(data, hw, flip_index, train=True, augmentation=KEYPOINT_AUGMENTATION,
                                    visible_box_prob=0.5)
        rng = np.random.default_rng(0)
        while True:
            yield _collate([ds[int(i)] for i in rng.integers(0, len(ds), batch)])

    def measure(hw=(128, 96), frozen_blocks=0, channels_last=False) -> dict:
        cfg = Keypoints2DConfig(keypoint_names=names, input_hw=hw, sigma_bins=default_sigma_bins(hw),
                                flip_index=flip_index.tolist(), frozen_blocks=frozen_blocks)
        torch.manual_seed(0)
        net = build_model(cfg, pretrained=True)
        if channels_last:
            net = net.to(memory_format=torch.channels_last)
        net.train()
        opt = torch.optim.AdamW([p for p in net.parameters() if p.requires_grad], lr=1e-3)
        it = loader(hw)
        load_s, step_s = [], []
        for _ in range(args.steps):
            t0 = time.perf_counter()
            b = next(it)
            t1 = time.perf_counter()
            x = net.normalize(b["image"])
            if channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            tx, ty = make_simcc_targets(b["keypoints"], hw, cfg.split_ratio, cfg.sigma_bins)
            lx, ly = net(x)
            loss = kl_discrete_loss(lx, ly, tx, ty, b["weights"])
            opt.zero_grad()
            loss.backward()
            opt.step()
            load_s.append(t1 - t0)
            step_s.append(time.perf_counter() - t0)
        ld, st = float(np.median(load_s[2:])), float(np.median(step_s[2:]))
        return {"input_hw": list(hw), "frozen_blocks": frozen_blocks, "channels_last": channels_last,
                "data_ms_per_batch": round(ld * 1e3, 1), "step_ms": round(st * 1e3, 1),
                "crops_per_s": round(batch / st, 1), "data_share": round(ld / st, 3),
                "load_avg_1min": round(os.getloadavg()[0], 2)}

    runs = [measure(), measure(channels_last=True), measure(frozen_blocks=4), measure(frozen_blocks=7),
            measure(hw=(160, 128), frozen_blocks=4)]
    for r in runs:
        print(r)
    write_json_atomic(args.out, {"benchmark": "keypoints2d_throughput", "data": os.path.abspath(args.data),
                                 "people": len(data), "batch": batch, "threads": args.threads,
                                 "steps_timed": args.steps - 2, "runs": runs, "machine": machine_info(),
                                 "torch": torch.__version__, "date": time.strftime("%Y-%m-%d")})
    print(args.out)


if __name__ == "__main__":
    main()
