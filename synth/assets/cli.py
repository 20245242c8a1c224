"""``synth assets``: list the asset manifest and fetch downloadable assets into the cache."""

from __future__ import annotations

import argparse


def cmd_assets_list(args) -> int:
    from synth.assets.fetch import list_assets

    for aid, kind, licence, fetched in list_assets():
        print(f"{aid:36s} {kind:14s} {'fetched' if fetched else '-':8s} {licence.split(' ')[0]}")
    return 0


def cmd_assets_fetch(args) -> int:
    from synth.assets.fetch import fetch_asset, list_assets

    names = list(args.names)
    if names == ["all"]:
        names = [a for a, *_ in list_assets() if a.startswith("makehuman_")]
    for name in names:
        files = fetch_asset(name, mirror=args.mirror, progress=not args.quiet)
        root = next(iter(files.values())).parent if files else None
        print(f"{name}: {len(files)} file(s) verified in the cache" + (f" ({root})" if root else ""))
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("assets", help="list / fetch external assets (MakeHuman CC0 clothes, hair, eyebrows)")
    asub = s.add_subparsers(dest="assets_command", required=True)
    a = asub.add_parser("list", help="every asset in assets_manifest/, its kind, licence and whether it is cached")
    a.set_defaults(func=cmd_assets_list)
    a = asub.add_parser("fetch", help="download assets into the cache (sha256-checked); 'all' = every MakeHuman one")
    a.add_argument("names", nargs="+", help="asset ids (see `synth assets list`) or 'all'")
    a.add_argument("--mirror", help="folder or file:// URL of a byte-exact mirror to copy from instead of the "
                                    "network (default $SYNTH_ASSETS_MIRROR)")
    a.add_argument("--quiet", action="store_true", help="no progress lines")
    a.set_defaults(func=cmd_assets_fetch)
