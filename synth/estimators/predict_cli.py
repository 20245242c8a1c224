"""``synth predict TASK --model M IMAGE_OR_DIR``: run a trained estimator on any images (real photos included).

``keypoints2d`` predicts from person boxes (``--boxes FILE``: a COCO dataset object or a COCO detection-results
list, see ``synth.estimators.engine.predict_inputs``; ``--box X,Y,W,H``; or the whole image as one person),
``mesh`` (pyrender overlays) and ``contact`` (per-vertex contact drawn on the rest mesh) from the same boxes,
``camera`` from the whole image. ``--device auto|cpu|cuda`` picks where torch runs. torch is imported only
when a command runs.
"""

from __future__ import annotations

from synth.estimators.engine.options import add_device_argument

#: The tasks ``synth predict`` knows.
PREDICT_TASKS = ("keypoints2d", "camera", "mesh", "contact")


def _common(s, task: str) -> None:
    s.add_argument("inputs", metavar="IMAGE_OR_DIR", help="an image file (JPEG/PNG) or a folder of them")
    s.add_argument("--model", required=True, help=f"RUN_DIR/model.pt written by 'synth train {task}'")
    s.add_argument("--out", required=True, help="output folder: the results JSON and overlays/")
    s.add_argument("--no-overlays", action="store_true", help="write only the results JSON")
    s.add_argument("--no-flip-test", action="store_true", help="one pass per input instead of plain + mirrored")
    s.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    add_device_argument(s)


def _boxes(s) -> None:
    s.add_argument("--boxes", help="person boxes: a COCO JSON (images + annotations) or a COCO detection-results "
                                   "list [{image_id, bbox [x,y,w,h], score, category_id}] (Detectron2, MMDetection, "
                                   "Ultralytics save_json); default: the whole image is one person")
    s.add_argument("--box", action="append", help="a person box X,Y,W,H in pixels (repeat for several)")
    s.add_argument("--min-score", type=float, default=0.0, help="skip detections scored below this")


def cmd_predict_keypoints2d(args) -> int:
    from synth.estimators.engine.predict_inputs import parse_box
    from synth.estimators.keypoints2d.predict import predict_keypoints2d

    res = predict_keypoints2d(args.model, args.inputs, args.out, boxes_file=args.boxes,
                              boxes=[parse_box(b) for b in args.box] if args.box else None, min_score=args.min_score,
                              flip_test=not args.no_flip_test, overlays=not args.no_overlays, threads=args.threads,
                              device=args.device)
    print(f"{res['people']} people in {res['images']} image(s): {res['results']}"
          + (f", {len(res['overlays'])} overlays in {args.out}/overlays" if res["overlays"] else ""))
    return 0


def cmd_predict_camera(args) -> int:
    from synth.estimators.camera_calib.predict import predict_camera

    res = predict_camera(args.model, args.inputs, args.out, flip_test=not args.no_flip_test,
                         overlays=not args.no_overlays, threads=args.threads, device=args.device)
    print(f"{res['images']} image(s): {res['results']}")
    return 0


def cmd_predict_mesh(args) -> int:
    from synth.estimators.engine.predict_inputs import parse_box
    from synth.estimators.mesh.predict import predict_mesh

    res = predict_mesh(args.model, args.inputs, args.out, boxes_file=args.boxes,
                       boxes=[parse_box(b) for b in args.box] if args.box else None, min_score=args.min_score,
                       overlays=not args.no_overlays, threads=args.threads, device=args.device)
    print(f"{res['people']} people in {res['images']} image(s): {res['results']}"
          + (f", {len(res['overlays'])} overlays in {args.out}/overlays" if res["overlays"] else ""))
    return 0


def cmd_predict_contact(args) -> int:
    from synth.estimators.contact.predict import predict_contact
    from synth.estimators.engine.predict_inputs import parse_box

    res = predict_contact(args.model, args.inputs, args.out, boxes_file=args.boxes,
                          boxes=[parse_box(b) for b in args.box] if args.box else None, min_score=args.min_score,
                          flip_test=not args.no_flip_test, overlays=not args.no_overlays,
                          probabilities=args.probabilities, threads=args.threads, device=args.device)
    print(f"{res['people']} people in {res['images']} image(s): {res['results']}"
          + (f", {len(res['overlays'])} overlays in {args.out}/overlays" if res["overlays"] else ""))
    return 0


def add_commands(subparsers) -> None:
    """Add ``predict`` with its tasks to the ``synth`` subcommands."""
    p = subparsers.add_parser("predict", help="run a trained estimator on images (photos or renders)")
    sub = p.add_subparsers(dest="task", required=True)
    s = sub.add_parser("keypoints2d", help="2D keypoints of the people in given boxes -> COCO results JSON + overlays")
    _common(s, "keypoints2d")
    _boxes(s)
    s.set_defaults(func=cmd_predict_keypoints2d)
    s = sub.add_parser("mesh", help="Anny body of the people in given boxes -> JSON + pyrender overlays")
    _common(s, "mesh")
    _boxes(s)
    s.set_defaults(func=cmd_predict_mesh)
    s = sub.add_parser("camera", help="vertical fov, pitch and roll of each whole image -> JSON + horizon overlays")
    _common(s, "camera")
    s.set_defaults(func=cmd_predict_camera)
    s = sub.add_parser("contact", help="per-vertex contact of the people in given boxes -> JSON + rest-mesh overlays")
    _common(s, "contact")
    _boxes(s)
    s.add_argument("--probabilities", action="store_true",
                   help="also write every vertex's contact probability per channel")
    s.set_defaults(func=cmd_predict_contact)
