"""``synth train keypoints2d`` and ``synth evaluate keypoints2d``: ``add_task_commands(tsub, esub)`` adds them to
the ``train`` / ``evaluate`` sub-parsers (``synth.estimators.cli`` wires it in). torch is imported only when a
command runs."""

from __future__ import annotations

from synth.estimators.engine.options import (add_evaluation_arguments, add_training_arguments, parse_input_size,
                                             report_evaluation, report_training, training_kwargs)


def _summary(m: dict) -> str:
    return (f"AP {m['AP']:.4f}  AP50 {m['AP50']:.4f}  AP75 {m['AP75']:.4f}  PCK@0.2 {m['PCK@0.2']:.4f}  "
            f"EPE {m['EPE_px']:.2f} px  ({m['persons']} people, {m['keypoints']} labelled keypoints)")


def cmd_train_keypoints2d(args) -> int:
    from synth.estimators.keypoints2d.task import train_keypoints2d

    hist = train_keypoints2d(
        args.data, args.out, **training_kwargs(args), input_hw=parse_input_size(args.input),
        num_keypoints=args.keypoints, occluded_weight=args.occluded_weight, flip_test=not args.no_flip_test,
        output_stride=args.output_stride)
    return report_training(args, hist, f"{hist['train_people']} training crops", _summary)


def cmd_evaluate_keypoints2d(args) -> int:
    from synth.estimators.keypoints2d.task import evaluate_keypoints2d

    res = evaluate_keypoints2d(args.model, args.data, out=args.out, batch_size=args.batch,
                               flip_test=not args.no_flip_test, threads=args.threads)
    return report_evaluation(args, res, _summary)


def add_task_commands(tsub, esub) -> None:
    """Add the ``keypoints2d`` task to the ``train`` (``tsub``) and ``evaluate`` (``esub``) sub-parsers."""
    s = tsub.add_parser("keypoints2d", help="top-down 2D keypoints: MobileNetV2 (ImageNet init) + SimCC head")
    add_training_arguments(s, epochs=10, batch=32, flip_test=True)
    s.add_argument("--input", default="128x96", help="crop HEIGHTxWIDTH, multiples of 32 (128x96, 192x144, 256x192)")
    s.add_argument("--output-stride", type=int, choices=[16, 32], default=32,
                   help="backbone output stride: 32 (default, fastest) or 16 (dilated last stage, finer head tokens)")
    s.add_argument("--keypoints", type=int, choices=[17, 23, 133], default=17,
                   help="17 COCO body, 23 with feet, 133 COCO-WholeBody (needs wholebody labels)")
    s.add_argument("--occluded-weight", type=float, default=1.0,
                   help="loss weight of in-image occluded keypoints (visible ones weigh 1)")
    s.set_defaults(func=cmd_train_keypoints2d)

    s = esub.add_parser("keypoints2d", help="COCO OKS AP/AP50/AP75, PCK@0.2 and EPE with ground-truth boxes")
    add_evaluation_arguments(s, "keypoints2d", batch=64, flip_test="no flip test (one pass per person)")
    s.set_defaults(func=cmd_evaluate_keypoints2d)
