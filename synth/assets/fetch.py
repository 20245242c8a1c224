"""Fetch downloadable assets (``url_base`` in their manifest) into the cache, checking sha256.

``fetch_asset("makehuman_shoes01")`` downloads each listed file from
``url_base + name`` (a public URL at a pinned commit) into the asset's
``default_dir`` (``$SYNTH_CACHE_DIR/assets/...``), verifies its sha256 and
moves it into place atomically; files already there with the right checksum are
kept. On machines without network, a mirror replaces the download:
``$SYNTH_ASSETS_MIRROR`` (or the ``mirror=`` argument) is a folder or a
``file://`` URL whose ``<mirror_subdir>/<name>`` files are byte-exact copies.
Checksums are verified the same way for both sources.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Callable

from synth.assets.manifest import AssetEntry, load_manifest, sha256_of
from synth.core.errors import AssetError

MIRROR_ENV_VAR = "SYNTH_ASSETS_MIRROR"
_CHUNK = 1 << 16


def mirror_base(mirror: str | os.PathLike | None = None) -> str | None:
    """The mirror in use (``mirror`` or ``$SYNTH_ASSETS_MIRROR``) as a URL, or None."""
    m = mirror if mirror is not None else os.environ.get(MIRROR_ENV_VAR)
    if not m:
        return None
    m = str(m)
    if "://" in m:
        return m.rstrip("/")
    return Path(m).expanduser().resolve().as_uri()


def asset_dir(entry: AssetEntry) -> Path:
    """Where the cache keeps ``entry``'s files (its ``default_dir``)."""
    if not entry.default_dir:
        raise AssetError(f"asset {entry.id!r} ({entry.source}): no default_dir to fetch into")
    from synth.assets.manifest import synth_cache_dir

    return Path(entry.default_dir.replace("{cache}", str(synth_cache_dir()))).expanduser()


def _source_url(entry: AssetEntry, name: str, mirror: str | None) -> str:
    if mirror is not None:
        sub = f"{entry.mirror_subdir.strip('/')}/" if entry.mirror_subdir else ""
        return f"{mirror}/{sub}{urllib.parse.quote(name)}"
    return entry.url_base.rstrip("/") + "/" + urllib.parse.quote(name)


def _download(url: str, dest: Path, progress: Callable[[int, int | None], None] | None) -> None:
    tmp = dest.with_name(dest.name + ".tmp")
    dest.parent.mkdir(parents=True, exist_ok=True)
    with urllib.request.urlopen(url, timeout=30) as resp, open(tmp, "wb") as out:
        total = resp.headers.get("Content-Length")
        total = int(total) if total and total.isdigit() else None
        done = 0
        while True:
            chunk = resp.read(_CHUNK)
            if not chunk:
                break
            out.write(chunk)
            done += len(chunk)
            if progress is not None:
                progress(done, total)
    os.replace(tmp, dest)


def _terminal_progress(label: str) -> Callable[[int, int | None], None]:
    def show(done: int, total: int | None) -> None:
        frac = f" {100 * done / total:5.1f}%" if total else ""
        sys.stderr.write(f"\r  {label}: {done / 1024:8.1f} KiB{frac}")
        sys.stderr.flush()
    return show


def fetch_asset(asset_id: str, *, mirror: str | os.PathLike | None = None, progress: bool = False,
                manifest_dir: str | os.PathLike | None = None) -> dict[str, Path]:
    """Make every file of ``asset_id`` present and verified in the cache; returns {file name: path}.

    mirror : folder or file:// URL replacing the download (default ``$SYNTH_ASSETS_MIRROR``)
    progress : print per-file progress to stderr
    Raises ``AssetError`` naming the asset, the file, the URL tried and the fix when a file cannot be had.
    """
    entries = load_manifest(manifest_dir)
    if asset_id not in entries:
        import difflib

        close = difflib.get_close_matches(asset_id, list(entries), n=5, cutoff=0.6)
        hint = f"; did you mean {close[:5]}" if close else ""
        raise AssetError(f"asset {asset_id!r}: not in the asset manifest{hint}; "
                         f"`synth assets list` shows the {len(entries)} known assets")
    entry = entries[asset_id]
    if entry.user_supplied or not entry.url_base:
        raise AssetError(f"asset {asset_id!r}: cannot be fetched (user-supplied or built locally); "
                         f"{(entry.how_to_get or '').strip()}")
    base = mirror_base(mirror)
    root = asset_dir(entry)
    out: dict[str, Path] = {}
    n = len(entry.files)
    for i, f in enumerate(entry.files, 1):
        dest = root / f.name
        if dest.is_file() and (f.sha256 is None or sha256_of(dest) == f.sha256):
            out[f.name] = dest
            continue
        url = _source_url(entry, f.name, base)
        show = _terminal_progress(f"[{i}/{n}] {asset_id}/{f.name}") if progress else None
        try:
            _download(url, dest, show)
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            reason = getattr(exc, "reason", exc)
            if base is not None:
                fix = (f"check that the mirror {base} holds {entry.mirror_subdir or '.'}/{f.name} "
                       f"(a byte-exact copy of {entry.url_base}{f.name})")
            else:
                fix = (f"connect to the network, or on an offline machine set {MIRROR_ENV_VAR} to a folder or "
                       f"file:// URL holding a byte-exact mirror ({entry.mirror_subdir or '.'}/{f.name}), or copy "
                       f"the file to {dest}")
            raise AssetError(f"asset {asset_id!r}: {f.name} is not in the cache ({dest}) and fetching {url} "
                             f"failed ({reason}); {fix}") from None
        finally:
            if show is not None:
                sys.stderr.write("\n")
        if f.sha256 is not None:
            got = sha256_of(dest)
            if got != f.sha256:
                dest.unlink(missing_ok=True)
                raise AssetError(f"asset {asset_id!r}: {f.name} from {url} has sha256 {got}, the manifest "
                                 f"({entry.source}) expects {f.sha256}; the file was removed. The source or "
                                 "mirror is not the pinned version: fix the mirror or the manifest")
        out[f.name] = dest
    return out


def asset_file(asset_id: str, name: str, **kwargs) -> Path:
    """Path of one file of an asset, fetched on first use (``fetch_asset`` keywords apply)."""
    files = fetch_asset(asset_id, **kwargs)
    if name not in files:
        raise AssetError(f"asset {asset_id!r}: has no file {name!r}; it lists {sorted(files)}")
    return files[name]


def list_assets(manifest_dir: str | os.PathLike | None = None) -> list[tuple[str, str, str, bool]]:
    """(id, kind, licence, fetched) for every asset, sorted by id."""
    out = []
    for entry in load_manifest(manifest_dir).values():
        fetched = False
        if entry.url_base and entry.default_dir:
            root = asset_dir(entry)
            fetched = all((root / f.name).is_file() for f in entry.files)
        out.append((entry.id, entry.kind, entry.licence, fetched))
    return sorted(out)
