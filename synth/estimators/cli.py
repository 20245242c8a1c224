"""``synth train keypoints2d|camera`` and ``synth evaluate keypoints2d|camera`` (registered by ``add_commands``).

torch is imported only when a command runs, so ``synth --help`` stays fast.
"""

from __future__ import annotations

import json

from synth.estimators.common import add_evaluation_arguments, add_training_arguments


def cmd_train_keypoints2d(args) -> int:
    from synth.estimators.common import parse_input_size
    from synth.estimators.keypoints2d import train_keypoints2d

    hist = train_keypoints2d(
        args.data, args.out, val=args.val, epochs=args.epochs, batch_size=args.batch,
        input_hw=parse_input_size(args.input), lr=args.lr, weight_decay=args.weight_decay,
        num_keypoints=args.keypoints, pretrained=not args.no_pretrained, occluded_weight=args.occluded_weight,
        threads=args.threads, seed=args.seed, max_steps=args.max_steps,
        time_budget_s=args.max_minutes * 60.0 if args.max_minutes else None, flip_test=not args.no_flip_test,
        output_stride=args.output_stride)
    last = hist["epochs"][-1]
    line = (f"{args.out}/model.pt: {len(hist['epochs'])} epoch(s), {hist['total_steps']} steps, "
            f"{hist['train_people']} training crops, {hist['train_images_per_s']} img/s, "
            f"final loss {last['train_loss']:.5f}")
    if "val" in last:
        v = last["val"]
        line += (f"; val AP {v['AP']:.4f} AP50 {v['AP50']:.4f} AP75 {v['AP75']:.4f} "
                 f"PCK@0.2 {v['PCK@0.2']:.4f} EPE {v['EPE_px']:.2f} px")
    print(line)
    return 0


def cmd_evaluate_keypoints2d(args) -> int:
    from synth.estimators.keypoints2d import evaluate_keypoints2d

    res = evaluate_keypoints2d(args.model, args.data, out=args.out, batch_size=args.batch,
                               flip_test=not args.no_flip_test, threads=args.threads)
    m = res["metrics"]
    print(f"AP {m['AP']:.4f}  AP50 {m['AP50']:.4f}  AP75 {m['AP75']:.4f}  PCK@0.2 {m['PCK@0.2']:.4f}  "
          f"EPE {m['EPE_px']:.2f} px  ({m['persons']} people, {m['keypoints']} labelled keypoints)")
    if args.out:
        print(args.out)
    elif args.json:
        print(json.dumps(res, indent=2))
    return 0


def cmd_train_camera(args) -> int:
    from synth.estimators.camera import train_camera

    hist = train_camera(
        args.data, args.out, val=args.val, epochs=args.epochs, batch_size=args.batch, input_size=args.input,
        lr=args.lr, weight_decay=args.weight_decay, pretrained=not args.no_pretrained, augment=not args.no_augment,
        rotation_deg=args.rotate_deg, threads=args.threads, seed=args.seed, max_steps=args.max_steps,
        time_budget_s=args.max_minutes * 60.0 if args.max_minutes else None, flip_test=not args.no_flip_test)
    last = hist["epochs"][-1]
    line = (f"{args.out}/model.pt: {len(hist['epochs'])} epoch(s), {hist['total_steps']} steps, "
            f"{hist['train_views']} training views, {hist['train_images_per_s']} img/s, "
            f"final loss {last['train_loss']:.5f}")
    if "val" in last:
        v, b = last["val"], hist["val_baseline"]
        line += (f"; val mean |err| vfov {v['vfov_mean_abs_deg']:.2f} pitch {v['pitch_mean_abs_deg']:.2f} "
                 f"roll {v['roll_mean_abs_deg']:.2f} deg, focal rel {v['focal_rel_median']:.3f} (training-mean "
                 f"baseline {b['vfov_mean_abs_deg']:.2f} / {b['pitch_mean_abs_deg']:.2f} / "
                 f"{b['roll_mean_abs_deg']:.2f} deg, {b['focal_rel_median']:.3f})")
    print(line)
    return 0


def cmd_evaluate_camera(args) -> int:
    from synth.estimators.camera import evaluate_camera

    res = evaluate_camera(args.model, args.data, out=args.out, batch_size=args.batch,
                          flip_test=not args.no_flip_test, threads=args.threads)
    for name, m in (("model", res["metrics"]), ("baseline", res["baseline"])):
        print(f"{name:8s} |err| mean/median: vfov {m['vfov_mean_abs_deg']:.2f}/{m['vfov_median_abs_deg']:.2f}  "
              f"pitch {m['pitch_mean_abs_deg']:.2f}/{m['pitch_median_abs_deg']:.2f}  "
              f"roll {m['roll_mean_abs_deg']:.2f}/{m['roll_median_abs_deg']:.2f} deg  "
              f"focal rel median {m['focal_rel_median']:.4f}  ({m['views']} views)")
    if args.out:
        print(args.out)
    elif args.json:
        print(json.dumps(res, indent=2))
    return 0


def _add_camera_commands(tsub, esub) -> None:
    s = tsub.add_parser("camera", help="single-image camera calibration (vfov, pitch, roll): MobileNetV2 "
                                       "(ImageNet init) + regression head on the letterboxed image")
    add_training_arguments(s, epochs=30, batch=32)
    s.add_argument("--input", type=int, default=160, help="square input side in px, a multiple of 32 (the image "
                                                         "is letterboxed, keeping its aspect ratio and fov)")
    s.add_argument("--rotate-deg", type=float, default=8.0,
                   help="max content rotation of the roll augmentation (labels updated; 0 turns it off)")
    s.add_argument("--no-augment", action="store_true", help="no flip / rotation / zoom / colour augmentation")
    s.add_argument("--no-flip-test", action="store_true", help="validate without the flip test")
    s.set_defaults(func=cmd_train_camera)

    s = esub.add_parser("camera", help="vfov / pitch / roll errors (deg) and relative focal error, with the "
                                       "training-mean baseline")
    add_evaluation_arguments(s, "camera", batch=64)
    s.add_argument("--no-flip-test", action="store_true", help="no flip test (one pass per image)")
    s.set_defaults(func=cmd_evaluate_camera)


def add_commands(subparsers) -> None:
    """Add ``train`` and ``evaluate`` (each with the ``keypoints2d``, ``camera``, ``contact`` and ``mesh`` tasks) to the
    ``synth`` subcommands."""
    p_train = subparsers.add_parser("train", help="train a bundled estimator on synth datasets")
    tsub = p_train.add_subparsers(dest="task", required=True)
    s = tsub.add_parser("keypoints2d", help="top-down 2D keypoints: MobileNetV2 (ImageNet init) + SimCC head")
    add_training_arguments(s, epochs=10, batch=32)
    s.add_argument("--input", default="128x96", help="crop HEIGHTxWIDTH, multiples of 32 (128x96, 192x144, 256x192)")
    s.add_argument("--output-stride", type=int, choices=[16, 32], default=32,
                   help="backbone output stride: 32 (default, fastest) or 16 (dilated last stage, finer head tokens)")
    s.add_argument("--keypoints", type=int, choices=[17, 23, 133], default=17,
                   help="17 COCO body, 23 with feet, 133 COCO-WholeBody (needs wholebody labels)")
    s.add_argument("--occluded-weight", type=float, default=1.0,
                   help="loss weight of in-image occluded keypoints (visible ones weigh 1)")
    s.add_argument("--no-flip-test", action="store_true", help="validate without the flip test")
    s.set_defaults(func=cmd_train_keypoints2d)

    p_eval = subparsers.add_parser("evaluate", help="evaluate a trained estimator on synth datasets")
    esub = p_eval.add_subparsers(dest="task", required=True)
    s = esub.add_parser("keypoints2d", help="COCO OKS AP/AP50/AP75, PCK@0.2 and EPE with ground-truth boxes")
    add_evaluation_arguments(s, "keypoints2d", batch=64)
    s.add_argument("--no-flip-test", action="store_true", help="no flip test (one pass per person)")
    s.set_defaults(func=cmd_evaluate_keypoints2d)
    _add_camera_commands(tsub, esub)
    from synth.estimators import contact_cli, mesh_cli

    contact_cli.add_task_commands(tsub, esub)
    mesh_cli.add_task_commands(tsub, esub)
