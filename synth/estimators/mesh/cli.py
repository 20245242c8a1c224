"""``synth train mesh`` and ``synth evaluate mesh``: ``add_task_commands(tsub, esub)`` adds the ``mesh`` task to
the ``train`` and ``evaluate`` sub-parsers built by ``synth.estimators.cli``.

torch is imported only when a command runs, so ``synth --help`` stays fast.
"""

from __future__ import annotations

from synth.estimators.engine.options import (add_evaluation_arguments, add_training_arguments, report_evaluation,
                                             report_training, training_kwargs)


def _summary(m: dict) -> str:
    return (f"mean/median mm: MPJPE {m['MPJPE_mm']:.1f}/{m['MPJPE_mm_median']:.1f}  "
            f"PA-MPJPE {m['PA_MPJPE_mm']:.1f}/{m['PA_MPJPE_mm_median']:.1f}  "
            f"PVE {m['PVE_mm']:.1f}/{m['PVE_mm_median']:.1f}  PA-PVE {m['PA_PVE_mm']:.1f}  "
            f"({m['persons']} people, {m['keypoints']} COCO keypoints)")


def cmd_train_mesh(args) -> int:
    from synth.estimators.mesh.task import train_mesh

    hist = train_mesh(args.data, args.out, **training_kwargs(args), input_size=args.input,
                      augment=not args.no_augment)
    return report_training(args, hist, f"{hist['train_people']} training crops", _summary)


def _real_summary(m: dict) -> str:
    return (f"PA-MPJPE mean/median {m['PA_MPJPE_mm']:.1f}/{m['PA_MPJPE_mm_median']:.1f} mm  ({m['persons']} people, "
            f"{m['joints']} labelled 3D joints)")


def cmd_evaluate_mesh(args) -> int:
    from synth.estimators.engine.errors import EstimatorError
    from synth.estimators.mesh.task import evaluate_mesh

    if args.coco:
        from synth.estimators.mesh.real_eval import evaluate_mesh_coco

        res = evaluate_mesh_coco(args.model, args.coco, out=args.out, threads=args.threads, device=args.device)
        return report_evaluation(args, res, _real_summary)
    if not args.data:
        raise EstimatorError("synth evaluate mesh: give --data DATASET (synth) or --coco ANNOTATIONS.json (with "
                             "keypoints_3d)")

    res = evaluate_mesh(args.model, args.data, out=args.out, batch_size=args.batch, threads=args.threads,
                        device=args.device)
    return report_evaluation(args, res, _summary)


def add_task_commands(tsub, esub) -> None:
    """Add the ``mesh`` parser to the ``train`` (``tsub``) and ``evaluate`` (``esub``) sub-parsers."""
    s = tsub.add_parser("mesh", help="3D body mesh from a person crop (HMR / CLIFF style): MobileNetV2 (ImageNet "
                                     "init) regressing Anny parameters, posed by Anny's differentiable forward")
    add_training_arguments(s, epochs=30, batch=32)
    s.add_argument("--input", type=int, default=128, help="square crop side in px, a multiple of 32")
    s.add_argument("--no-augment", action="store_true", help="no crop scale / shift / colour augmentation")
    s.set_defaults(func=cmd_train_mesh)

    s = esub.add_parser("mesh", help="MPJPE / PA-MPJPE (17 COCO keypoints) and PVE / PA-PVE (all vertices), mm, "
                                     "with the untrained initialisation and the mean-pose baseline")
    add_evaluation_arguments(s, "mesh", batch=32, data_required=False)
    s.add_argument("--coco", action="append", help="COCO annotations with keypoints_3d (e.g. ../shared/realdata/h36m"
                                                   "/annotations.json): PA-MPJPE of the 17 keypoints on real photos")
    s.set_defaults(func=cmd_evaluate_mesh)
