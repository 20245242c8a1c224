"""``synth train contact`` and ``synth evaluate contact``: ``add_task_commands(tsub, esub)`` adds them to the
``train`` / ``evaluate`` sub-parsers (``synth.estimators.cli`` wires it in). torch is imported only when a
command runs."""

from __future__ import annotations

from synth.estimators.engine.options import (add_evaluation_arguments, add_training_arguments, parse_input_size,
                                             report_evaluation, report_training, training_kwargs)


def _summary(m: dict) -> str:
    geo = m.get("geodesic_fp_cm")
    return (f"F1 {m['f1']:.4f} P {m['precision']:.4f} R {m['recall']:.4f} (pooled F1 {m['pooled_f1']:.4f}), "
            f"{m['people_missed']} of {m['people_with_contact']} people with contact predicted none, "
            f"{m['people_false_contact']} predicted where there is none, geodesic "
            f"{'n/a' if geo is None else f'{geo:.2f} cm'} over the {m.get('geodesic_people', 0)} people with both "
            f"({m['people']} people)")


def _channels_summary(block: dict) -> str:
    return "; ".join(f"{c} {_summary(m)}" for c, m in block.items())


def cmd_train_contact(args) -> int:
    from synth.estimators.contact.task import train_contact

    hist = train_contact(
        args.data, args.out, **training_kwargs(args), input_hw=parse_input_size(args.input),
        augment=not args.no_augment, person_channel=args.person_channel, dice_weight=args.dice_weight,
        flip_test=not args.no_flip_test)
    return report_training(args, hist, f"{hist['train_people']} training crops, V={hist['config']['num_vertices']}, "
                                       f"channels {hist['config']['channels']}", _channels_summary)


def cmd_evaluate_contact(args) -> int:
    from synth.estimators.contact.task import evaluate_contact_model

    res = evaluate_contact_model(args.model, args.data, out=args.out, batch_size=args.batch,
                                 flip_test=not args.no_flip_test, threads=args.threads, device=args.device)
    return report_evaluation(args, res, _channels_summary)


def add_task_commands(tsub, esub) -> None:
    """Add the ``contact`` task to the ``train`` (``tsub``) and ``evaluate`` (``esub``) sub-parsers."""
    s = tsub.add_parser("contact", help="dense per-vertex ground / person contact from a person crop (DECO / "
                                        "BSTRO-like): MobileNetV2 (ImageNet init) + MLP head")
    add_training_arguments(s, epochs=20, batch=32, flip_test=True)
    s.add_argument("--input", default="128x96", help="crop HEIGHTxWIDTH, multiples of 32 (128x96, 160x128)")
    s.add_argument("--dice-weight", type=float, default=1.0, help="weight of the soft Dice term next to the BCE")
    s.add_argument("--person-channel", choices=["auto", "on", "off"], default="auto",
                   help="second output for person-person contact: auto = when the training labels have any")
    s.add_argument("--no-augment", action="store_true", help="no scale / shift / rotation / flip / colour jitter")
    s.set_defaults(func=cmd_train_contact)

    s = esub.add_parser("contact", help="per-vertex contact precision / recall / F1 and geodesic error (cm), "
                                        "with the training-majority baseline")
    add_evaluation_arguments(s, "contact", batch=64, flip_test="no flip test (one pass per person)")
    s.set_defaults(func=cmd_evaluate_contact)
