"""``OUT/manifest.json``: the resolved recipe, versions, and the list of finished shards.

A shard is listed only once its file is complete and published; its sha256 is
recorded. Resuming a job skips every listed shard whose file still matches.
"""

from __future__ import annotations

import hashlib
import json
import platform
from dataclasses import asdict, dataclass, field
from typing import Any

from synth.core.errors import DatasetError
from synth.io import fs

DATASET_FORMAT = "synth-dataset"
DATASET_FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"


@dataclass
class ShardRecord:
    name: str
    shard_index: int
    sha256: str
    bytes: int
    scene_indices: list[int]
    n_scenes: int
    n_frames: int          # frames x views summed over the shard's scenes
    seconds: float = 0.0   # wall time to make it


@dataclass
class Manifest:
    recipe: dict[str, Any]
    recipe_sha256: str
    seed: int
    scenes: int
    scenes_per_shard: int
    shards_total: int
    versions: dict[str, str]
    shards: list[ShardRecord] = field(default_factory=list)
    complete: bool = False
    format: str = DATASET_FORMAT
    format_version: int = DATASET_FORMAT_VERSION

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["shards"] = sorted(d["shards"], key=lambda s: s["shard_index"])
        return d

    def finished_indices(self) -> set[int]:
        return {s.shard_index for s in self.shards}

    def add(self, rec: ShardRecord) -> None:
        self.shards = [s for s in self.shards if s.shard_index != rec.shard_index] + [rec]
        self.complete = len(self.shards) == self.shards_total


def recipe_sha256(recipe_dict: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(recipe_dict, sort_keys=True).encode()).hexdigest()


def software_versions() -> dict[str, str]:
    from importlib import metadata

    import synth

    out = {"synth": synth.__version__, "python": platform.python_version()}
    for pkg in ("bpy", "anny", "smplx", "numpy", "h5py", "torch", "ray"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    return out


def manifest_url(out: str) -> str:
    return fs.join(out, MANIFEST_NAME)


def load_manifest(out: str) -> Manifest:
    url = manifest_url(out)
    if not fs.exists(url):
        raise DatasetError(f"{out}: no {MANIFEST_NAME} here; expected the output folder of `synth generate`")
    try:
        d = json.loads(fs.read_bytes(url))
    except json.JSONDecodeError as err:
        raise DatasetError(f"{url}: not valid JSON ({err}); the file is damaged — delete it to regenerate") from None
    if d.get("format") != DATASET_FORMAT:
        raise DatasetError(f"{url}: format {d.get('format')!r}, expected {DATASET_FORMAT!r}")
    if d.get("format_version") != DATASET_FORMAT_VERSION:
        raise DatasetError(f"{url}: format_version {d.get('format_version')}, this synth reads {DATASET_FORMAT_VERSION}")
    shards = [ShardRecord(**s) for s in d.pop("shards")]
    return Manifest(**d, shards=shards)


def save_manifest(out: str, manifest: Manifest) -> None:
    fs.write_json_atomic(manifest_url(out), manifest.to_json())
