"""``OUT/manifest.json``: the resolved recipe, versions, and the list of finished shards.

A shard is listed only once its file is complete and published; its sha256 is
recorded. Resuming a job skips every listed shard whose file still matches.
"""

from __future__ import annotations

import hashlib
import json
import platform
import re
from dataclasses import MISSING, asdict, dataclass, field, fields
from typing import Any

import logging

from synth.core.errors import DatasetError
from synth.io import fs

log = logging.getLogger(__name__)

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


_SHARD_NAME = re.compile(r"^shard-[0-9]{6,}\.h5$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _check_fields(obj: Any, cls: type, where: str, url: str) -> None:
    """Exactly the dataclass's fields (optional ones may be left out), with JSON types that fit them."""
    if not isinstance(obj, dict):
        raise DatasetError(f"{url}: {where}: expected an object, got {type(obj).__name__}; the manifest is damaged")
    names = {f.name for f in fields(cls)}
    required = {f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING}
    unknown = sorted(set(obj) - names)
    if unknown:
        raise DatasetError(f"{url}: {where}: unknown key(s) {unknown[:5]}; expected only {sorted(names)}")
    missing = sorted(required - set(obj))
    if missing:
        raise DatasetError(f"{url}: {where}: missing key(s) {missing}; the manifest is damaged")
    kinds = {"str": str, "int": int, "float": (int, float), "bool": bool, "dict[str, Any]": dict,
             "dict[str, str]": dict, "list[int]": list, "list[ShardRecord]": list}
    for f in fields(cls):
        if f.name not in obj:
            continue
        v = obj[f.name]
        want = kinds.get(str(f.type))
        ok = want is None or (isinstance(v, want) and (want is bool or not isinstance(v, bool)))
        if ok and str(f.type) == "list[int]":
            ok = all(_is_int(x) for x in v)
        if not ok:
            raise DatasetError(f"{url}: {where}.{f.name}: expected {f.type}, got {str(v)[:60]!r}; the manifest "
                               "is damaged")


def record_problem(m: Manifest, rec: ShardRecord) -> str | None:
    """Why one shard record does not fit the manifest's plan (None when it does)."""
    from synth.io.shards import shard_name

    k = rec.shard_index
    if not 0 <= k < m.shards_total:
        return f"shard_index {k} is outside the plan's 0..{m.shards_total - 1}"
    if not _SHARD_NAME.match(rec.name) or rec.name != shard_name(k):
        return f"shard {k}: name {rec.name[:80]!r} is not {shard_name(k)!r} (shard files live in shards/)"
    if not _SHA256.match(rec.sha256):
        return f"shard {k}: sha256 {rec.sha256[:80]!r} is not 64 hex digits"
    want = list(range(k * m.scenes_per_shard, min((k + 1) * m.scenes_per_shard, m.scenes)))
    if rec.scene_indices != want:
        return f"shard {k}: scene_indices {str(rec.scene_indices)[:60]} are not its planned scenes {want[0]}..{want[-1]}"
    if rec.n_scenes != len(want):
        return f"shard {k}: n_scenes {rec.n_scenes}, expected {len(want)}"
    frames, cams = m.recipe.get("frames_per_scene"), m.recipe.get("cameras")
    if _is_int(frames) and isinstance(cams, list) and rec.n_frames != len(want) * frames * len(cams):
        return (f"shard {k}: n_frames {rec.n_frames}, expected {len(want) * frames * len(cams)} "
                f"({len(want)} scenes x {frames} frames x {len(cams)} views)")
    if rec.bytes < 0:
        return f"shard {k}: bytes {rec.bytes} < 0"
    return None


def _plan_problems(m: Manifest, url: str) -> None:
    """Problems of the whole manifest that no repair can fix (raise)."""
    for key in ("seed", "scenes", "scenes_per_shard"):
        if m.recipe.get(key) != getattr(m, key):
            raise DatasetError(f"{url}: {key} {getattr(m, key)!r} does not match its recipe's {m.recipe.get(key)!r}; "
                               "the manifest was edited — restore it or delete the folder to start over")
    if m.scenes < 1 or m.scenes_per_shard < 1:
        raise DatasetError(f"{url}: scenes {m.scenes} / scenes_per_shard {m.scenes_per_shard} must be >= 1")
    want_total = -(-m.scenes // m.scenes_per_shard)
    if m.shards_total != want_total:
        raise DatasetError(f"{url}: shards_total {m.shards_total}, expected {want_total} for {m.scenes} scenes in "
                           f"shards of {m.scenes_per_shard}; the manifest was edited")
    if m.recipe_sha256 != recipe_sha256(m.recipe):
        raise DatasetError(f"{url}: recipe_sha256 does not match the recorded recipe; the manifest was edited — "
                           "restore it or delete the folder to start over")


def manifest_problems(m: Manifest) -> list[str]:
    """Per-record structural problems: a record outside the plan, a duplicated shard (its scenes twice),
    counts that do not add up, a name outside ``shards/``; and a wrong ``complete`` flag."""
    out, seen = [], set()
    for rec in m.shards:
        why = record_problem(m, rec)
        if why is None and rec.shard_index in seen:
            why = f"shard {rec.shard_index} is listed twice (its scenes would be read twice)"
        if why:
            out.append(why)
        seen.add(rec.shard_index)
    if m.complete != (len(seen) == m.shards_total and not out):
        out.append(f"complete is {m.complete} but {len(seen)} of {m.shards_total} shards are listed")
    return out


def repair_manifest(m: Manifest) -> list[str]:
    """Drop the records that break the structure (their shards will be redone) and fix ``complete``;
    returns what was wrong (empty: nothing)."""
    problems = manifest_problems(m)
    if problems:
        kept, seen = [], set()
        for rec in m.shards:
            if record_problem(m, rec) is None and rec.shard_index not in seen:
                kept.append(rec)
                seen.add(rec.shard_index)
        m.shards = kept
        m.complete = len(kept) == m.shards_total
    return problems


def load_manifest(out: str, *, repair: bool = False) -> Manifest:
    """Read and check ``OUT/manifest.json``: the JSON structure, the plan (scenes, shards), and every
    record (its shard's planned scenes, counts, a name inside ``shards/``, no duplicates).

    repair : False raises DatasetError on a bad record; True drops such records (logged; the run
        that resumes redoes their shards). A damaged plan always raises.
    """
    url = manifest_url(out)
    if not fs.exists(url):
        raise DatasetError(f"{out}: no {MANIFEST_NAME} here; expected the output folder of `synth generate`")
    try:
        d = json.loads(fs.read_bytes(url))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DatasetError(f"{url}: not valid JSON ({str(err)[:120]}); the file is damaged — delete it to "
                           "regenerate") from None
    if not isinstance(d, dict):
        raise DatasetError(f"{url}: expected a JSON object, got {type(d).__name__}; the file is damaged")
    if d.get("format") != DATASET_FORMAT:
        raise DatasetError(f"{url}: format {str(d.get('format'))[:60]!r}, expected {DATASET_FORMAT!r}")
    if d.get("format_version") != DATASET_FORMAT_VERSION:
        raise DatasetError(f"{url}: format_version {str(d.get('format_version'))[:20]}, this synth reads "
                           f"{DATASET_FORMAT_VERSION}")
    _check_fields(d, Manifest, "manifest", url)
    for i, rec in enumerate(d["shards"]):
        _check_fields(rec, ShardRecord, f"shards[{i}]", url)
    shards = [ShardRecord(**s) for s in d.pop("shards")]
    m = Manifest(**d, shards=shards)
    _plan_problems(m, url)
    if repair:
        for problem in repair_manifest(m):
            log.warning("%s: %s; the record is dropped and its shard will be redone", url, problem)
    else:
        problems = manifest_problems(m)
        if problems:
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            raise DatasetError(f"{url}: {problems[0]}{more}; the manifest does not match its shards — run "
                               "`synth generate` with the same recipe and --out to repair it")
    return m


def save_manifest(out: str, manifest: Manifest) -> None:
    fs.write_json_atomic(manifest_url(out), manifest.to_json())
