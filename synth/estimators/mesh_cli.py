"""``synth train mesh`` and ``synth evaluate mesh``: ``add_task_commands(tsub, esub)`` adds the ``mesh`` task to
the ``train`` and ``evaluate`` sub-parsers built by ``synth.estimators.cli``.

torch is imported only when a command runs, so ``synth --help`` stays fast.
"""

from __future__ import annotations

import json


def cmd_train_mesh(args) -> int:
    from synth.estimators.mesh import train_mesh

    hist = train_mesh(
        args.data, args.out, val=args.val, epochs=args.epochs, batch_size=args.batch, input_size=args.input,
        lr=args.lr, weight_decay=args.weight_decay, pretrained=not args.no_pretrained, augment=not args.no_augment,
        threads=args.threads, seed=args.seed, max_steps=args.max_steps,
        time_budget_s=args.max_minutes * 60.0 if args.max_minutes else None)
    last = hist["epochs"][-1]
    line = (f"{args.out}/model.pt: {len(hist['epochs'])} epoch(s), {hist['total_steps']} steps, "
            f"{hist['train_people']} training crops, {hist['train_images_per_s']} img/s, "
            f"final loss {last['train_loss']:.5f}")
    if "val" in last:
        v, b = last["val"], hist["val_baseline"]
        line += (f"; val MPJPE {v['MPJPE_mm']:.1f} PA-MPJPE {v['PA_MPJPE_mm']:.1f} PVE {v['PVE_mm']:.1f} mm "
                 f"(training-mean baseline {b['MPJPE_mm']:.1f} / {b['PA_MPJPE_mm']:.1f} / {b['PVE_mm']:.1f} mm)")
    print(line)
    return 0


def cmd_evaluate_mesh(args) -> int:
    from synth.estimators.mesh import evaluate_mesh

    res = evaluate_mesh(args.model, args.data, out=args.out, batch_size=args.batch, threads=args.threads)
    for name, m in (("model", res["metrics"]), ("baseline", res["baseline"])):
        print(f"{name:8s} mean/median mm: MPJPE {m['MPJPE_mm']:.1f}/{m['MPJPE_mm_median']:.1f}  "
              f"PA-MPJPE {m['PA_MPJPE_mm']:.1f}/{m['PA_MPJPE_mm_median']:.1f}  "
              f"PVE {m['PVE_mm']:.1f}/{m['PVE_mm_median']:.1f}  PA-PVE {m['PA_PVE_mm']:.1f}  "
              f"({m['persons']} people, {m['keypoints']} COCO keypoints, {res['body']['num_vertices']} vertices)")
    if args.out:
        print(args.out)
    elif args.json:
        print(json.dumps(res, indent=2))
    return 0


def add_task_commands(tsub, esub) -> None:
    """Add the ``mesh`` parser to the ``train`` (``tsub``) and ``evaluate`` (``esub``) sub-parsers."""
    s = tsub.add_parser("mesh", help="3D body mesh from a person crop (HMR / CLIFF style): MobileNetV2 (ImageNet "
                                     "init) regressing Anny parameters, posed by Anny's differentiable forward")
    s.add_argument("--data", required=True, action="append", help="training dataset folder (repeat for several)")
    s.add_argument("--val", action="append", help="validation dataset folder, evaluated after every epoch")
    s.add_argument("--out", required=True, help="run folder: model.pt, metrics/epoch_NNN.json, history.json")
    s.add_argument("--epochs", type=int, default=30)
    s.add_argument("--batch", type=int, default=32)
    s.add_argument("--input", type=int, default=128, help="square crop side in px, a multiple of 32")
    s.add_argument("--lr", type=float, default=1e-3, help="AdamW peak learning rate (warm-up, cosine decay)")
    s.add_argument("--weight-decay", type=float, default=0.05)
    s.add_argument("--no-augment", action="store_true", help="no crop scale / shift / colour augmentation")
    s.add_argument("--max-steps", type=int, help="stop after this many optimiser steps")
    s.add_argument("--max-minutes", type=float, help="stop after this much training time (schedule follows it)")
    s.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--no-pretrained", action="store_true",
                   help="start from random weights instead of ImageNet (no weights package needed)")
    s.set_defaults(func=cmd_train_mesh)

    s = esub.add_parser("mesh", help="MPJPE / PA-MPJPE (17 COCO keypoints) and PVE / PA-PVE (all vertices), mm, "
                                     "with the training-mean baseline")
    s.add_argument("--model", required=True, help="RUN_DIR/model.pt written by 'synth train mesh'")
    s.add_argument("--data", required=True, action="append", help="dataset folder (repeat for several)")
    s.add_argument("--out", help="write the metrics JSON here")
    s.add_argument("--json", action="store_true", help="also print the full metrics JSON")
    s.add_argument("--batch", type=int, default=32)
    s.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    s.set_defaults(func=cmd_evaluate_mesh)
