"""``synth train camera`` and ``synth evaluate camera``: ``add_task_commands(tsub, esub)`` adds them to the
``train`` / ``evaluate`` sub-parsers (``synth.estimators.cli`` wires it in). torch is imported only when a
command runs."""

from __future__ import annotations

from synth.estimators.engine.options import (add_evaluation_arguments, add_training_arguments, report_evaluation,
                                             report_training, training_kwargs)


def _summary(m: dict) -> str:
    return (f"|err| mean/median: vfov {m['vfov_mean_abs_deg']:.2f}/{m['vfov_median_abs_deg']:.2f}  "
            f"pitch {m['pitch_mean_abs_deg']:.2f}/{m['pitch_median_abs_deg']:.2f}  "
            f"roll {m['roll_mean_abs_deg']:.2f}/{m['roll_median_abs_deg']:.2f} deg  "
            f"focal rel median {m['focal_rel_median']:.4f}  ({m['views']} views)")


def cmd_train_camera(args) -> int:
    from synth.estimators.camera_calib.task import train_camera

    hist = train_camera(
        args.data, args.out, **training_kwargs(args), input_size=args.input, augment=not args.no_augment,
        rotation_deg=args.rotate_deg, flip_test=not args.no_flip_test)
    return report_training(args, hist, f"{hist['train_views']} training views", _summary)


def cmd_evaluate_camera(args) -> int:
    from synth.estimators.camera_calib.task import evaluate_camera

    res = evaluate_camera(args.model, args.data, out=args.out, batch_size=args.batch,
                          flip_test=not args.no_flip_test, threads=args.threads, device=args.device)
    return report_evaluation(args, res, _summary)


def add_task_commands(tsub, esub) -> None:
    """Add the ``camera`` task to the ``train`` (``tsub``) and ``evaluate`` (``esub``) sub-parsers."""
    s = tsub.add_parser("camera", help="single-image camera calibration (vfov, pitch, roll): MobileNetV2 "
                                       "(ImageNet init) + regression head on the letterboxed image")
    add_training_arguments(s, epochs=30, batch=32, flip_test=True)
    s.add_argument("--input", type=int, default=160, help="square input side in px, a multiple of 32 (the image "
                                                         "is letterboxed, keeping its aspect ratio and fov)")
    s.add_argument("--rotate-deg", type=float, default=8.0,
                   help="max content rotation of the roll augmentation (labels updated; 0 turns it off)")
    s.add_argument("--no-augment", action="store_true", help="no flip / rotation / zoom / colour augmentation")
    s.set_defaults(func=cmd_train_camera)

    s = esub.add_parser("camera", help="vfov / pitch / roll errors (deg) and relative focal error, with the "
                                       "training-mean baseline")
    add_evaluation_arguments(s, "camera", batch=64, flip_test="no flip test (one pass per image)")
    s.set_defaults(func=cmd_evaluate_camera)
