"""The ``synth`` command."""

from __future__ import annotations

import argparse
import errno
import logging
import os
import sys

from synth.core.errors import SynthError


def int_at_least(low: int):
    """An argparse type: an integer >= ``low`` (the error names the argument, what it got and what it wants)."""

    def parse(text: str) -> int:
        try:
            value = int(text, 10)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer >= {low}, got {text[:40]!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"expected an integer >= {low}, got {value}")
        return value

    parse.__name__ = f"int>={low}"
    return parse


def _load(path: str, scenes: int | None = None, seed: int | None = None):
    from synth.recipe.load import load_recipe_with_overrides

    return load_recipe_with_overrides(path, scenes, seed)


def cmd_validate(args) -> int:
    from synth.pipeline.job import check_assets

    recipe = _load(args.recipe)
    check_assets(recipe)
    print(f"{args.recipe}: valid recipe '{recipe.name}' (schema v{recipe.schema_version}): "
          f"{recipe.scenes} scenes x {recipe.frames_per_scene} frames x {len(recipe.cameras)} camera(s), "
          f"{recipe.image.width}x{recipe.image.height} px")
    return 0


def with_render_device(recipe, device: str | None):
    """The recipe with ``render.device`` set to ``device`` (``auto`` / ``cpu`` / ``gpu``); None keeps it."""
    if device is None or device == recipe.render.device:
        return recipe
    from synth.recipe.load import parse_recipe, recipe_to_dict

    d = recipe_to_dict(recipe)
    d["render"] = {**d["render"], "device": device}
    return parse_recipe(d, f"{recipe.name} (--device {device})")


def cmd_generate(args) -> int:
    from synth.io.fs import check_output_location
    from synth.pipeline.job import check_assets, stop_on_signals

    recipe = with_render_device(_load(args.recipe, args.scenes, args.seed), args.device)
    check_output_location(args.out)
    check_assets(recipe)
    if args.workers == 1 and (args.max_shard_retries is not None or args.on_error is not None):
        raise SynthError("--max-shard-retries and --on-error apply only with --workers > 1 (a local run stops at "
                         "the first failing shard); drop them or add --workers 2")
    with stop_on_signals():
        if args.workers > 1:
            from synth.distributed.local import run_on_local_ray

            manifest = run_on_local_ray(recipe, args.out, workers=args.workers, resume=not args.no_resume,
                                        progress=not args.quiet, max_shard_retries=args.max_shard_retries,
                                        on_error=args.on_error)
        else:
            from synth.pipeline.job import run_local

            manifest = run_local(recipe, args.out, resume=not args.no_resume, progress=not args.quiet)
    n_frames = sum(s.n_frames for s in manifest.shards)
    print(f"{args.out}: {manifest.scenes} scenes, {n_frames} labelled views in {len(manifest.shards)} shard(s)")
    return 0


def cmd_view(args) -> int:
    from synth.viewer.overlay import write_overlays

    paths = write_overlays(args.out, args.dest, limit=args.limit)
    for p in paths:
        print(p)
    return 0


def cmd_export(args) -> int:
    from pathlib import Path

    from synth.io.export import export_dataset

    dest = args.dest or str(Path(args.out) / "exports" / args.format)
    for path in export_dataset(args.out, dest, args.format, image_format=args.image_format,
                               val_fraction=args.val_fraction, keypoints=args.keypoints,
                               with_vertices=args.with_vertices):
        print(path)
    return 0


def cmd_browse(args) -> int:
    from synth.viewer.browse import write_browser

    print(write_browser(args.out, dest=args.dest, limit=args.limit, stats_dir=args.stats,
                        progress=not args.quiet and sys.stderr.isatty()))
    return 0


def cmd_preview(args) -> int:
    from synth.pipeline.preview import write_contact_sheet

    recipe = _load(args.recipe)
    path = write_contact_sheet(recipe, args.output, n_scenes=args.scenes)
    print(path)
    return 0


def cmd_stats(args) -> int:
    from synth.stats import collect_stats, write_report

    dest = args.dest or (args.out.rstrip("/") + "/report" if "://" not in args.out else None)
    if dest is None:
        raise SynthError(f"stats: {args.out} is a URL; give --dest, a local folder for the report")
    for p in write_report(collect_stats(args.out, progress=not args.quiet), dest):
        print(p)
    return 0


def _add_distributed(sub) -> None:
    from synth.distributed import cli as dcli

    dcli.add_commands(sub)


def _add_assets(sub) -> None:
    from synth.assets import cli as acli

    acli.add_commands(sub)


def _add_estimators(sub) -> None:
    from synth.estimators import cli as ecli

    ecli.add_commands(sub)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="synth", description="Synthetic data engine for human pose and shape research.")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("validate", help="check a recipe and print what it will make")
    s.add_argument("recipe")
    s.set_defaults(func=cmd_validate)

    s = sub.add_parser("generate", help="render a dataset from a recipe on this machine")
    s.add_argument("recipe")
    s.add_argument("--out", required=True, help="output folder (or fsspec URL)")
    s.add_argument("--scenes", type=int_at_least(1), help="override the recipe's number of scenes")
    s.add_argument("--seed", type=int_at_least(0), help="override the recipe's seed")
    s.add_argument("--workers", type=int_at_least(1), default=1, help="parallel workers (>1 runs an embedded Ray)")
    s.add_argument("--no-resume", action="store_true", help="refuse to continue an existing output folder")
    s.add_argument("--max-shard-retries", type=int_at_least(0), default=None,
                   help="with --workers > 1: retries of a failed shard before --on-error applies (default 2)")
    s.add_argument("--on-error", choices=["fail", "skip"], default=None,
                   help="with --workers > 1: fail the job, or skip a shard that keeps failing (default fail)")
    s.add_argument("--device", choices=["auto", "cpu", "gpu"], default=None,
                   help="override the recipe's render.device: auto (a GPU when Cycles finds one, else the CPU), "
                        "cpu, or gpu (OptiX/CUDA/HIP/oneAPI/Metal; an error when none is found)")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.set_defaults(func=cmd_generate)

    s = sub.add_parser("view", help="write overlay PNGs (keypoints, boxes, masks) of a dataset")
    s.add_argument("out", help="dataset folder")
    s.add_argument("--dest", help="where to write PNGs (default OUT/overlays)")
    s.add_argument("--limit", type=int_at_least(1), default=8, help="number of views to draw")
    s.set_defaults(func=cmd_view)

    s = sub.add_parser("export", help="export a dataset for other toolkits: COCO-WholeBody JSON, Ultralytics "
                                      "YOLO-pose, per-person npz (docs/exports.md)")
    s.add_argument("out", help="dataset folder")
    s.add_argument("--format", choices=["coco-wholebody", "yolo-pose", "npz"], default="coco-wholebody")
    s.add_argument("--dest", help="output folder (default OUT/exports/FORMAT)")
    s.add_argument("--image-format", choices=["png", "jpg"], default="png")
    s.add_argument("--val-fraction", type=float, default=None,
                   help="share of scenes held out as a val split (default 0 for coco-wholebody, 0.1 otherwise)")
    s.add_argument("--keypoints", choices=["all", "body_feet", "body"], default="all",
                   help="yolo-pose: all keypoints of the dataset, the 23 body+feet or the 17 COCO body points")
    s.add_argument("--with-vertices", action="store_true", help="npz: add vertices_cam (N, V, 3) per record")
    s.set_defaults(func=cmd_export)

    s = sub.add_parser("browse", help="write a static HTML page to browse a dataset (thumbnails, filters, labels)")
    s.add_argument("out", help="dataset folder")
    s.add_argument("--dest", help="folder for index.html and its images (default OUT/browse)")
    s.add_argument("--limit", type=int, default=2000, help="at most this many views (default 2000)")
    s.add_argument("--stats", help="folder of `synth stats` plots to include (default OUT/report, where synth stats writes, when present)")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.set_defaults(func=cmd_browse)

    s = sub.add_parser("preview", help="fast contact sheet of sampled scenes (pyrender, pinhole)")
    s.add_argument("recipe")
    s.add_argument("--output", default="preview.png")
    s.add_argument("--scenes", type=int_at_least(1), default=6)
    s.set_defaults(func=cmd_preview)

    s = sub.add_parser("stats", help="dataset report from the labels: plots (PNG) and a Markdown dataset card")
    s.add_argument("out", help="dataset folder or fsspec URL")
    s.add_argument("--dest", help="report folder (default OUT/report; required for a URL)")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.set_defaults(func=cmd_stats)

    _add_distributed(sub)
    _add_estimators(sub)
    _add_assets(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s %(message)s")
    try:
        return int(args.func(args) or 0)
    except SynthError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as err:
        code = int(getattr(err, "exit_code", 130))
        name = {130: "SIGINT (Ctrl-C)", 143: "SIGTERM"}.get(code, f"signal {code - 128}")
        out = getattr(args, "out", None)
        where = f" in {out}" if out and args.command == "generate" else ""
        print(f"interrupted by {name}: finished shards are saved{where}; run the same command again to resume",
              file=sys.stderr)
        if type(err).__name__ == "JobInterrupted":
            # a real signal stopped a run: everything is saved and cleaned; skip interpreter teardown, where
            # an interrupted Blender (bpy is in this process) can crash
            sys.stdout.flush()
            sys.stderr.flush()
            logging.shutdown()
            os._exit(code)
        return code
    except Exception as err:   # a full disk anywhere (also wrapped, e.g. by h5py): one line, not a traceback
        full = _disk_full(err)
        if full is None:
            raise
        where = f" at {full.filename}" if full.filename else ""
        print(f"error: disk full{where}: no space left on the device; free space and run the same command again "
              "to resume", file=sys.stderr)
        return 2


def _disk_full(err: BaseException) -> OSError | None:
    """The ENOSPC OSError in ``err``'s cause/context chain, if any."""
    seen = set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        if isinstance(err, OSError) and err.errno == errno.ENOSPC:
            return err
        err = err.__cause__ or err.__context__
    return None


if __name__ == "__main__":
    sys.exit(main())
