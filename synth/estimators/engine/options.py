"""The command-line options every ``synth train TASK`` / ``synth evaluate TASK`` shares, and their use.

Each task's ``cli`` module adds its own options beside these; torch is not imported here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from synth.estimators.engine.errors import EstimatorError


def parse_input_size(text: str) -> tuple[int, int]:
    """'128x96' -> (128, 96) as (height, width); EstimatorError otherwise."""
    try:
        h, w = (int(v) for v in str(text).lower().split("x"))
    except ValueError:
        raise EstimatorError(
            f"--input: expected HEIGHTxWIDTH in pixels such as 128x96 or 256x192, got {text!r}") from None
    if h <= 0 or w <= 0 or h % 32 or w % 32:
        raise EstimatorError(f"--input {text}: both sides must be positive multiples of 32 (MobileNetV2's stride), "
                             "e.g. 128x96, 192x144 or 256x192")
    return h, w


def add_device_argument(s) -> None:
    """``--device auto|cpu|cuda`` (``synth.estimators.engine.device``)."""
    s.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"),
                   help="where torch runs: auto = the CUDA GPU when torch sees one, else the CPU")


def add_training_arguments(s, *, epochs: int, batch: int, flip_test: bool = False) -> None:
    """The options every ``synth train TASK`` shares (data, validation, run folder, schedule, threads, seed,
    device, ImageNet init; ``--no-flip-test`` for a task whose validation has a flip test); each task adds its own
    beside them."""
    s.add_argument("--data", required=True, action="append", help="training dataset folder (repeat for several)")
    s.add_argument("--val", action="append", help="validation dataset folder, evaluated after every epoch")
    s.add_argument("--out", required=True, help="run folder: model.pt, metrics/epoch_NNN.json, history.json")
    s.add_argument("--epochs", type=int, default=epochs)
    s.add_argument("--batch", type=int, default=batch)
    s.add_argument("--lr", type=float, default=1e-3, help="AdamW peak learning rate (warm-up, cosine decay)")
    s.add_argument("--weight-decay", type=float, default=0.05)
    s.add_argument("--max-steps", type=int, help="stop after this many optimiser steps")
    s.add_argument("--max-minutes", type=float, help="stop after this much training time (schedule follows it)")
    s.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    s.add_argument("--seed", type=int, default=0)
    add_device_argument(s)
    s.add_argument("--no-pretrained", action="store_true",
                   help="start from random weights instead of ImageNet (no weights package needed)")
    if flip_test:
        s.add_argument("--no-flip-test", action="store_true", help="validate without the flip test")


def training_kwargs(args) -> dict[str, Any]:
    """The keyword arguments every ``train_TASK`` function takes, from the shared options."""
    return {"val": args.val, "epochs": args.epochs, "batch_size": args.batch, "lr": args.lr,
            "weight_decay": args.weight_decay, "pretrained": not args.no_pretrained, "threads": args.threads,
            "seed": args.seed, "max_steps": args.max_steps, "device": args.device,
            "time_budget_s": args.max_minutes * 60.0 if args.max_minutes else None}


def report_training(args, hist: dict[str, Any], items: str, summary: Callable[[dict], str]) -> int:
    """Print the line ``synth train TASK`` ends with: epochs, steps, ``items``, speed, final loss and, with
    validation, the last epoch's metrics beside the untrained initialisation's and the constant baseline's
    (each formatted by ``summary``)."""
    last = hist["epochs"][-1]
    line = (f"{args.out}/model.pt: {len(hist['epochs'])} epoch(s), {hist['total_steps']} steps, {items}, "
            f"{hist['train_images_per_s']} img/s, final loss {last['train_loss']:.5f}")
    if "val" in last:
        line += f"; val {summary(last['val'])}"
        for name, key in (("untrained initialisation", "val_initial"), ("constant baseline", "val_baseline")):
            if hist.get(key):
                line += f"; {name} {summary(hist[key])}"
    print(line)
    return 0


def report_evaluation(args, result: dict[str, Any], summary: Callable[[dict], str]) -> int:
    """Print ``synth evaluate TASK``'s lines: the model, its untrained initialisation and the constant baseline
    (``result`` keys ``metrics``, ``initial``, ``baseline``; each formatted by ``summary``), then where the
    metrics went."""
    for name, key in (("model", "metrics"), ("initial", "initial"), ("baseline", "baseline")):
        print(f"{name:8s} {summary(result[key]) if result.get(key) else 'not stored in this checkpoint'}")
    print_result_location(args, result)
    return 0


def add_evaluation_arguments(s, task: str, *, batch: int, flip_test: str | None = None,
                             data_required: bool = True) -> None:
    """The options every ``synth evaluate TASK`` shares (checkpoint, data, output, batch, threads, device), and
    ``--no-flip-test`` (help: ``flip_test``) for a task with a flip test; ``data_required=False`` for a task that
    can evaluate on something else too (``keypoints2d --coco``)."""
    s.add_argument("--model", required=True, help=f"RUN_DIR/model.pt written by 'synth train {task}'")
    s.add_argument("--data", required=data_required, action="append", help="dataset folder (repeat for several)")
    s.add_argument("--out", help="write the metrics JSON here")
    s.add_argument("--json", action="store_true", help="also print the full metrics JSON")
    s.add_argument("--batch", type=int, default=batch)
    s.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    add_device_argument(s)
    if flip_test:
        s.add_argument("--no-flip-test", action="store_true", help=flip_test)


def print_result_location(args, result: dict[str, Any]) -> None:
    """After ``synth evaluate TASK``'s summary: the metrics file's path, or with ``--json`` the whole result."""
    if args.out:
        print(args.out)
    elif args.json:
        print(json.dumps(result, indent=2))
