"""``synth train keypoints2d`` and ``synth evaluate keypoints2d``: ``add_task_commands(tsub, esub)`` adds them to
the ``train`` / ``evaluate`` sub-parsers (``synth.estimators.cli`` wires it in). torch is imported only when a
command runs."""

from __future__ import annotations

import argparse

from synth.estimators.engine.options import (add_evaluation_arguments, add_training_arguments, parse_input_size,
                                             print_result_location, report_evaluation, report_training,
                                             training_kwargs)


def _summary(m: dict) -> str:
    return (f"AP {m['AP']:.4f}  AP50 {m['AP50']:.4f}  AP75 {m['AP75']:.4f}  PCK@0.2 {m['PCK@0.2']:.4f}  "
            f"EPE {m['EPE_px']:.2f} px  ({m['persons']} people, {m['keypoints']} labelled keypoints)")


def cmd_train_keypoints2d(args) -> int:
    from synth.estimators.keypoints2d.task import train_keypoints2d

    hist = train_keypoints2d(
        args.data, args.out, **training_kwargs(args), input_hw=parse_input_size(args.input),
        num_keypoints=args.keypoints, occluded_weight=args.occluded_weight, flip_test=not args.no_flip_test,
        output_stride=args.output_stride, frozen_blocks=args.frozen_blocks, visible_box_prob=args.visible_box_prob,
        degrade=not args.no_degrade)
    return report_training(args, hist, f"{hist['train_people']} training crops", _summary)


def _limbs(m: dict) -> str:
    la = m.get("limb_accuracy") or {}
    lj = la.get("limb_joints") or {}
    if lj.get("accuracy") is None:
        return ""
    return f"  limb joints within 0.1 box height {lj['accuracy']:.3f} ({lj['joints']} joints)"


def _coco_summary(m: dict) -> str:
    return _summary(m) + _limbs(m)


def cmd_evaluate_keypoints2d(args) -> int:
    from synth.estimators.engine.errors import EstimatorError
    from synth.estimators.keypoints2d.task import evaluate_keypoints2d, evaluate_keypoints2d_coco

    if args.coco:
        if args.data:
            raise EstimatorError("synth evaluate keypoints2d: give --data (synth datasets) or --coco (COCO sets), "
                                 "not both")
        res = evaluate_keypoints2d_coco(args.model, args.coco, images=args.images, out=args.out,
                                        batch_size=args.batch, flip_test=not args.no_flip_test, threads=args.threads,
                                        device=args.device)
        for name, part in list(res["sets"].items()) + [("pooled", res["pooled"])]:
            print(f"--- {name}: {part['people']} people in {part['images']} images")
            report_evaluation(argparse.Namespace(out=None, json=False), part, _coco_summary)
        print_result_location(args, res)
        return 0
    if not args.data:
        raise EstimatorError("synth evaluate keypoints2d: give --data DATASET (synth) or --coco ANNOTATIONS.json")

    res = evaluate_keypoints2d(args.model, args.data, out=args.out, batch_size=args.batch,
                               flip_test=not args.no_flip_test, threads=args.threads, device=args.device)
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
    s.add_argument("--frozen-blocks", type=int, default=4,
                   help="first MobileNetV2 blocks kept at ImageNet, weights and batch-norm statistics (0..18; "
                        "default 4: ~1.5x the crops per second on a CPU)")
    s.add_argument("--visible-box-prob", type=float, default=0.5,
                   help="share of training crops cut around the tight visible-mask box instead of the amodal box "
                        "(real annotation boxes are tight on the visible person)")
    s.add_argument("--no-degrade", action="store_true",
                   help="no blur / noise / JPEG / grayscale augmentation")
    s.set_defaults(func=cmd_train_keypoints2d)

    s = esub.add_parser("keypoints2d", help="COCO OKS AP/AP50/AP75, PCK@0.2 and EPE with ground-truth boxes")
    add_evaluation_arguments(s, "keypoints2d", batch=64, flip_test="no flip test (one pass per person)",
                             data_required=False)
    s.add_argument("--coco", action="append",
                   help="COCO person-keypoints annotations JSON (real photos or 'synth export'); repeat for several "
                        "sets; scored only on the keypoints each set labels, with limb-joint accuracy")
    s.add_argument("--images", action="append",
                   help="image folder of each --coco file, in the same order (default: 'images' beside it)")
    s.set_defaults(func=cmd_evaluate_keypoints2d)
