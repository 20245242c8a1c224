"""A generation job: plan shards, prepare/resume the output, run shards locally in-process.

The distributed runner (``synth.distributed``) uses the same planning, manifest
and ``SceneWorker``; only the scheduling differs.
"""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass
from typing import Callable, Iterable

from synth.core.errors import DatasetError, JobError
from synth.io import fs
from synth.io.manifest import Manifest, ShardRecord, load_manifest, manifest_url, recipe_sha256, save_manifest, software_versions
from synth.io.shards import sha256_file
from synth.recipe.load import recipe_to_dict
from synth.recipe.schema import Recipe

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ShardPlan:
    shard_index: int
    scene_indices: tuple[int, ...]


def plan_shards(n_scenes: int, scenes_per_shard: int) -> list[ShardPlan]:
    """Consecutive scenes grouped into shards; scene i always lands in shard i // scenes_per_shard."""
    return [ShardPlan(k, tuple(range(s, min(s + scenes_per_shard, n_scenes))))
            for k, s in enumerate(range(0, n_scenes, scenes_per_shard))]


def check_assets(recipe: Recipe) -> None:
    """Fail before anything is written when a file the recipe needs is missing (cheap checks only)."""
    if recipe.people.body_model == "smplx":
        from synth.bodies.smplx_model import find_smplx_file

        find_smplx_file(recipe.people.smplx_model_dir)


def prepare_output(recipe: Recipe, out: str, *, resume: bool = True) -> Manifest:
    """Create ``out`` with a fresh manifest, or load the existing one to resume.

    Refuses to mix recipes: an existing manifest from a different recipe raises
    JobError. Shards listed in the manifest whose files are missing or damaged
    are dropped from it (they will be redone).
    """
    check_assets(recipe)
    rdict = recipe_to_dict(recipe)
    digest = recipe_sha256(rdict)
    fs.makedirs(out)
    fs.makedirs(fs.join(out, "shards"))
    if fs.exists(manifest_url(out)):
        m = load_manifest(out)
        if m.recipe_sha256 != digest:
            raise JobError(f"{out}: holds a dataset made from a different recipe (sha256 {m.recipe_sha256[:12]}... vs "
                           f"{digest[:12]}...); choose a new --out folder, or delete this one to start over")
        if not resume:
            raise JobError(f"{out}: a dataset is already here; pass --resume to continue it or choose a new --out")
        kept = []
        for rec in m.shards:
            path = fs.join(out, "shards", rec.name)
            if not fs.is_remote(out):
                if fs.exists(path) and sha256_file(path) == rec.sha256:
                    kept.append(rec)
                else:
                    log.warning("shard %s is missing or damaged; it will be redone", rec.name)
            else:
                kept.append(rec) if fs.exists(path) else None
        m.shards = kept
        m.complete = len(kept) == m.shards_total
        save_manifest(out, m)
        return m
    plans = plan_shards(recipe.scenes, recipe.scenes_per_shard)
    m = Manifest(recipe=rdict, recipe_sha256=digest, seed=recipe.seed, scenes=recipe.scenes,
                 scenes_per_shard=recipe.scenes_per_shard, shards_total=len(plans), versions=software_versions())
    save_manifest(out, m)
    return m


def pending_shards(recipe: Recipe, manifest: Manifest) -> list[ShardPlan]:
    done = manifest.finished_indices()
    return [p for p in plan_shards(recipe.scenes, recipe.scenes_per_shard) if p.shard_index not in done]


class Progress:
    """Scenes done / total with rate and ETA; a tqdm bar on a terminal, log lines otherwise."""

    def __init__(self, total_scenes: int, done_scenes: int = 0, enabled: bool = True):
        self.total = total_scenes
        self.done = done_scenes
        self.t0 = time.perf_counter()
        self.start_done = done_scenes
        self.bar = None
        if enabled and sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=total_scenes, initial=done_scenes, unit="scene", desc="generate")

    def update(self, n: int) -> None:
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
        else:
            rate = (self.done - self.start_done) / max(time.perf_counter() - self.t0, 1e-9)
            eta = (self.total - self.done) / rate if rate > 0 else float("inf")
            log.info("scenes %d/%d, %.2f scenes/s, ETA %.0f s", self.done, self.total, rate, eta)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def record_shard(out: str, manifest: Manifest, rec: ShardRecord) -> None:
    manifest.add(rec)
    save_manifest(out, manifest)


def run_local(recipe: Recipe, out: str, *, resume: bool = True, progress: bool = True,
              worker=None, on_shard: Callable[[ShardRecord], None] | None = None,
              shards: Iterable[ShardPlan] | None = None) -> Manifest:
    """Run every pending shard in this process with one ``SceneWorker``."""
    from synth.pipeline.worker import SceneWorker

    manifest = prepare_output(recipe, out, resume=resume)
    todo = list(shards) if shards is not None else pending_shards(recipe, manifest)
    done_scenes = sum(r.n_scenes for r in manifest.shards)
    bar = Progress(recipe.scenes, done_scenes, enabled=progress)
    own_worker = worker is None
    worker = worker or SceneWorker(recipe, out)
    try:
        for plan in todo:
            rec = worker.run_shard(plan.shard_index, list(plan.scene_indices))
            record_shard(out, manifest, rec)
            bar.update(rec.n_scenes)
            if on_shard is not None:
                on_shard(rec)
    finally:
        bar.close()
        if own_worker:
            worker.close()
    if not manifest.complete and shards is None:
        raise DatasetError(f"{out}: job ended with {len(manifest.shards)}/{manifest.shards_total} shards")
    return manifest
