"""Read ``assets_manifest/*.yaml``: what external assets synth uses, their licences, where user files live.

One YAML file per asset::

    id: smplx                      # unique
    name: ...                      # human-readable
    kind: body_model | data | ...
    licence: ...                   # short licence statement
    licence_url: ...
    homepage: ...
    user_supplied: true            # the user must obtain the files (synth never downloads them)
    how_to_get: ...                # instructions shown when files are missing
    env_var: SYNTH_SMPLX_DIR       # optional folder override (or null)
    default_dir: "{cache}/smplx"   # {cache} = $SYNTH_CACHE_DIR (default ~/.cache/synth), or null
    url_base: https://...          # optional: downloadable assets; file URL = url_base + files[i].name
    mirror_subdir: makehuman       # optional: <mirror>/<mirror_subdir>/<name> replaces the download
    files:                         # expected files (may be empty); a name may be a relative path
      - {name: SMPLX_NEUTRAL.npz, required: true, sha256: null}   # null: unknown, not verified

Manifests may sit in subfolders (``assets_manifest/makehuman/*.yaml``).

``check_assets()`` reports, per asset file, whether and where it was found.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import yaml

from synth.core.errors import AssetError

_REQUIRED_KEYS = ("id", "name", "kind", "licence", "user_supplied", "files")


@dataclass(frozen=True)
class AssetFile:
    name: str
    required: bool
    sha256: str | None


@dataclass(frozen=True)
class AssetEntry:
    id: str
    name: str
    kind: str
    licence: str
    licence_url: str | None
    homepage: str | None
    user_supplied: bool
    how_to_get: str | None
    env_var: str | None
    default_dir: str | None
    files: tuple[AssetFile, ...]
    source: Path
    url_base: str | None = None
    mirror_subdir: str | None = None

    def search_dirs(self) -> list[Path]:
        """Folders where this asset's files are looked for: ``$env_var`` first, then ``default_dir``."""
        dirs = []
        if self.env_var and os.environ.get(self.env_var):
            dirs.append(Path(os.environ[self.env_var]).expanduser())
        if self.default_dir:
            dirs.append(Path(self.default_dir.replace("{cache}", str(synth_cache_dir()))).expanduser())
        return dirs

    def find_file(self, name: str) -> Path | None:
        """First existing ``<dir>/<name>`` or ``<dir>/<id>/<name>`` over ``search_dirs()``."""
        for d in self.search_dirs():
            for cand in (d / name, d / self.id / name):
                if cand.is_file():
                    return cand
        return None


@dataclass(frozen=True)
class AssetStatus:
    asset: str
    file: str
    required: bool
    path: Path | None           # None: not found
    sha256_ok: bool | None      # None: no checksum known (or file missing)


def synth_cache_dir() -> Path:
    """``$SYNTH_CACHE_DIR`` or ``~/.cache/synth``."""
    env = os.environ.get("SYNTH_CACHE_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "synth"


def manifest_dir() -> Path:
    """``$SYNTH_ASSETS_MANIFEST_DIR`` or the repository's ``assets_manifest/``."""
    env = os.environ.get("SYNTH_ASSETS_MANIFEST_DIR")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "assets_manifest"


def _parse(path: Path) -> AssetEntry:
    try:
        data = yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (OSError, yaml.YAMLError) as exc:
        raise AssetError(f"asset manifest {path}: cannot read/parse YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise AssetError(f"asset manifest {path}: expected a mapping at top level, got {type(data).__name__}")
    missing = [k for k in _REQUIRED_KEYS if k not in data]
    if missing:
        raise AssetError(f"asset manifest {path}: missing keys {missing}; required: {list(_REQUIRED_KEYS)}")
    files = []
    for i, f in enumerate(data["files"] or []):
        if not isinstance(f, dict) or "name" not in f:
            raise AssetError(f"asset manifest {path}: files[{i}] must be a mapping with a 'name', got {f!r}")
        sha = f.get("sha256")
        if sha is not None and (not isinstance(sha, str) or len(sha) != 64):
            raise AssetError(f"asset manifest {path}: files[{i}].sha256 must be 64 hex digits or null, got {sha!r}")
        files.append(AssetFile(name=str(f["name"]), required=bool(f.get("required", True)), sha256=sha))
    return AssetEntry(
        id=str(data["id"]), name=str(data["name"]), kind=str(data["kind"]), licence=str(data["licence"]),
        licence_url=data.get("licence_url"), homepage=data.get("homepage"), user_supplied=bool(data["user_supplied"]),
        how_to_get=data.get("how_to_get"), env_var=data.get("env_var"), default_dir=data.get("default_dir"),
        files=tuple(files), source=path, url_base=data.get("url_base"), mirror_subdir=data.get("mirror_subdir"),
    )


def load_manifest(directory: str | os.PathLike | None = None) -> dict[str, AssetEntry]:
    """All entries of ``directory`` (default ``manifest_dir()``), keyed by id."""
    d = Path(directory) if directory is not None else manifest_dir()
    if not d.is_dir():
        raise AssetError(f"asset manifest folder {d} not found; set SYNTH_ASSETS_MANIFEST_DIR to the repository's assets_manifest/")
    out: dict[str, AssetEntry] = {}
    for path in sorted(d.rglob("*.yaml")):
        entry = _parse(path)
        if entry.id in out:
            raise AssetError(f"asset manifest: id {entry.id!r} defined twice ({out[entry.id].source}, {path})")
        out[entry.id] = entry
    return out


def sha256_of(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def check_assets(directory: str | os.PathLike | None = None) -> list[AssetStatus]:
    """Where each listed asset file is (or that it is missing), verifying known checksums."""
    out = []
    for entry in load_manifest(directory).values():
        for f in entry.files:
            path = entry.find_file(f.name)
            ok = None if (path is None or f.sha256 is None) else sha256_of(path) == f.sha256
            out.append(AssetStatus(asset=entry.id, file=f.name, required=f.required, path=path, sha256_ok=ok))
    return out
