"""``synth train contact`` and ``synth evaluate contact``: ``add_task_commands(tsub, esub)`` adds them to the
``train`` / ``evaluate`` sub-parsers (``synth.estimators.cli`` wires it in). torch is imported only when a
command runs."""

from __future__ import annotations

import json

from synth.estimators.common import add_evaluation_arguments, add_training_arguments


def _summary(m: dict) -> str:
    geo = m.get("geodesic_fp_cm")
    return (f"F1 {m['f1']:.4f} P {m['precision']:.4f} R {m['recall']:.4f} (pooled F1 {m['pooled_f1']:.4f}), "
            f"geodesic {'n/a' if geo is None else f'{geo:.2f}'} cm")


def cmd_train_contact(args) -> int:
    from synth.estimators.common import parse_input_size
    from synth.estimators.contact import train_contact

    hist = train_contact(
        args.data, args.out, val=args.val, epochs=args.epochs, batch_size=args.batch,
        input_hw=parse_input_size(args.input), lr=args.lr, weight_decay=args.weight_decay,
        pretrained=not args.no_pretrained, augment=not args.no_augment, person_channel=args.person_channel,
        dice_weight=args.dice_weight, threads=args.threads, seed=args.seed, max_steps=args.max_steps,
        time_budget_s=args.max_minutes * 60.0 if args.max_minutes else None, flip_test=not args.no_flip_test)
    last = hist["epochs"][-1]
    line = (f"{args.out}/model.pt: {len(hist['epochs'])} epoch(s), {hist['total_steps']} steps, "
            f"{hist['train_people']} training crops, V={hist['config']['num_vertices']}, channels "
            f"{hist['config']['channels']}, {hist['train_images_per_s']} img/s, final loss {last['train_loss']:.5f}")
    if "val" in last:
        line += (f"; val ground {_summary(last['val']['ground'])} (baseline "
                 f"{_summary(hist['val_baseline']['ground'])})")
    print(line)
    return 0


def cmd_evaluate_contact(args) -> int:
    from synth.estimators.contact import evaluate_contact_model

    res = evaluate_contact_model(args.model, args.data, out=args.out, batch_size=args.batch,
                                 flip_test=not args.no_flip_test, threads=args.threads)
    for c in res["channels"]:
        print(f"{c:6s} model    {_summary(res['metrics'][c])}  ({res['metrics'][c]['people']} people)")
        print(f"{c:6s} baseline {_summary(res['baseline'][c])}")
    if args.out:
        print(args.out)
    elif args.json:
        print(json.dumps(res, indent=2))
    return 0


def add_task_commands(tsub, esub) -> None:
    """Add the ``contact`` task to the ``train`` (``tsub``) and ``evaluate`` (``esub``) sub-parsers."""
    s = tsub.add_parser("contact", help="dense per-vertex ground / person contact from a person crop (DECO / "
                                        "BSTRO-like): MobileNetV2 (ImageNet init) + MLP head")
    add_training_arguments(s, epochs=20, batch=32)
    s.add_argument("--input", default="128x96", help="crop HEIGHTxWIDTH, multiples of 32 (128x96, 160x128)")
    s.add_argument("--dice-weight", type=float, default=1.0, help="weight of the soft Dice term next to the BCE")
    s.add_argument("--person-channel", choices=["auto", "on", "off"], default="auto",
                   help="second output for person-person contact: auto = when the training labels have any")
    s.add_argument("--no-augment", action="store_true", help="no scale / shift / rotation / flip / colour jitter")
    s.add_argument("--no-flip-test", action="store_true", help="validate without the flip test")
    s.set_defaults(func=cmd_train_contact)

    s = esub.add_parser("contact", help="per-vertex contact precision / recall / F1 and geodesic error (cm), "
                                        "with the training-majority baseline")
    add_evaluation_arguments(s, "contact", batch=64)
    s.add_argument("--no-flip-test", action="store_true", help="no flip test (one pass per person)")
    s.set_defaults(func=cmd_evaluate_contact)
