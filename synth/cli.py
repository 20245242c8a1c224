"""The ``synth`` command."""

from __future__ import annotations

import argparse
import logging
import sys

from synth.core.errors import SynthError


def _load(path: str, scenes: int | None = None, seed: int | None = None):
    from synth.recipe.load import load_recipe_with_overrides

    return load_recipe_with_overrides(path, scenes, seed)


def cmd_validate(args) -> int:
    recipe = _load(args.recipe)
    print(f"{args.recipe}: valid recipe '{recipe.name}' (schema v{recipe.schema_version}): "
          f"{recipe.scenes} scenes x {recipe.frames_per_scene} frames x {len(recipe.cameras)} camera(s), "
          f"{recipe.image.width}x{recipe.image.height} px")
    return 0


def cmd_generate(args) -> int:
    recipe = _load(args.recipe, args.scenes, args.seed)
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
    from synth.io.coco import export_coco

    print(export_coco(args.out, args.dest, image_format=args.image_format))
    return 0


def cmd_preview(args) -> int:
    from synth.pipeline.preview import write_contact_sheet

    recipe = _load(args.recipe)
    path = write_contact_sheet(recipe, args.output, n_scenes=args.scenes)
    print(path)
    return 0


def _add_distributed(sub) -> None:
    from synth.distributed import cli as dcli

    dcli.add_commands(sub)


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
    s.add_argument("--scenes", type=int, help="override the recipe's number of scenes")
    s.add_argument("--seed", type=int, help="override the recipe's seed")
    s.add_argument("--workers", type=int, default=1, help="parallel workers (>1 runs an embedded Ray)")
    s.add_argument("--no-resume", action="store_true", help="refuse to continue an existing output folder")
    s.add_argument("--max-shard-retries", type=int, default=None,
                   help="with --workers > 1: retries of a failed shard before --on-error applies (default 2)")
    s.add_argument("--on-error", choices=["fail", "skip"], default=None,
                   help="with --workers > 1: fail the job, or skip a shard that keeps failing (default fail)")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.set_defaults(func=cmd_generate)

    s = sub.add_parser("view", help="write overlay PNGs (keypoints, boxes, masks) of a dataset")
    s.add_argument("out", help="dataset folder")
    s.add_argument("--dest", help="where to write PNGs (default OUT/overlays)")
    s.add_argument("--limit", type=int, default=8, help="number of views to draw")
    s.set_defaults(func=cmd_view)

    s = sub.add_parser("export", help="export a dataset as COCO keypoints JSON + images (COCO-WholeBody layout)")
    s.add_argument("out", help="dataset folder")
    s.add_argument("--dest", required=True, help="folder for annotations.json and images/")
    s.add_argument("--image-format", choices=["png", "jpg"], default="png")
    s.set_defaults(func=cmd_export)

    s = sub.add_parser("preview", help="fast contact sheet of sampled scenes (pyrender, pinhole)")
    s.add_argument("recipe")
    s.add_argument("--output", default="preview.png")
    s.add_argument("--scenes", type=int, default=6)
    s.set_defaults(func=cmd_preview)

    _add_distributed(sub)
    _add_estimators(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s %(message)s")
    try:
        return int(args.func(args) or 0)
    except SynthError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: finished shards are kept; run the same command again to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
