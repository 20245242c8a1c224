"""A generation job: plan shards, prepare/resume the output, run shards locally in-process.

The distributed runner (``synth.distributed``) uses the same planning, manifest
and ``SceneWorker``; only the scheduling differs.
"""

from __future__ import annotations

import json

import contextlib
import logging
import os
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

from synth.core.errors import DatasetError, JobError
from synth.io import fs
from synth.io.manifest import (Manifest, ShardRecord, load_manifest, manifest_url, recipe_sha256, save_manifest,
                               software_versions)
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

        # the file's contents are checked when a worker loads it (SmplxBody refuses anything but plain arrays)
        find_smplx_file(recipe.people.smplx_model_dir)


#: Recipe fields that say how a job runs, not what it makes: a dataset may be resumed with other values.
EXECUTION_ONLY_FIELDS = (("render", "threads"), ("render", "device"))


def dataset_identity_sha256(recipe_dict: dict) -> str:
    """sha256 of the recipe without its execution-only fields (threads, device): what decides the dataset."""
    d = json.loads(json.dumps(recipe_dict))
    for section, key in EXECUTION_ONLY_FIELDS:
        if isinstance(d.get(section), dict):
            d[section].pop(key, None)
    return recipe_sha256(d)


def prepare_output(recipe: Recipe, out: str, *, resume: bool = True) -> Manifest:
    """Create ``out`` with a fresh manifest, or load the existing one to resume.

    Refuses to mix recipes: an existing manifest from a different recipe raises
    JobError (a run that failed before its first shard leaves no manifest: see
    ``open_output``). Records that break the manifest's structure (a duplicated or
    foreign scene range, counts that do not add up, a name outside ``shards/``)
    and shards whose files are missing or damaged are dropped from it (they
    will be redone). Call it while holding the folder's lock (``open_output``).
    """
    check_assets(recipe)
    rdict = recipe_to_dict(recipe)
    digest = recipe_sha256(rdict)
    fs.makedirs(out)
    fs.makedirs(fs.join(out, "shards"))
    if fs.exists(manifest_url(out)):
        m = load_manifest(out, repair=True)
        if dataset_identity_sha256(m.recipe) != dataset_identity_sha256(rdict):
            raise JobError(f"{out}: holds a dataset made from a different recipe (sha256 {m.recipe_sha256[:12]}... vs "
                           f"{digest[:12]}...); choose a new --out folder, or delete this one to start over")
        elif not resume:
            raise JobError(f"{out}: a dataset is already here; run without --no-resume to continue it, or choose a "
                           "new --out")
        else:
            return _resume(out, m)
    plans = plan_shards(recipe.scenes, recipe.scenes_per_shard)
    m = Manifest(recipe=rdict, recipe_sha256=digest, seed=recipe.seed, scenes=recipe.scenes,
                 scenes_per_shard=recipe.scenes_per_shard, shards_total=len(plans), versions=software_versions())
    save_manifest(out, m)
    return m


def _resume(out: str, m: Manifest) -> Manifest:
    """Keep the (structurally sound, see ``load_manifest(repair=True)``) records whose files match."""
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


def sweep_stale_temp(out: str) -> int:
    """Remove what killed runs left in a local output: ``OUT/.tmp/*`` (shard temp files, run temp folders)
    and ``*.tmp`` next to the manifest. Only call it while holding the folder's lock."""
    if fs.is_remote(out):
        return 0
    root = fs.local_path(out)
    n = 0
    tmp = os.path.join(root, ".tmp")
    if os.path.isdir(tmp):
        for name in os.listdir(tmp):
            p = os.path.join(tmp, name)
            with contextlib.suppress(OSError):
                shutil.rmtree(p) if os.path.isdir(p) and not os.path.islink(p) else os.remove(p)
                n += 1
    if os.path.isdir(root):
        for name in os.listdir(root):
            if name.endswith(".tmp") and name.split(".", 1)[0] in ("manifest", "progress"):
                with contextlib.suppress(OSError):
                    os.remove(os.path.join(root, name))
                    n += 1
    if n:
        log.info("%s: removed %d temp file(s) left by an earlier run", out, n)
    return n


def _first_missing_ancestor(path: str) -> str | None:
    """The top folder of ``path`` that does not exist yet (what creating ``path`` creates), or None."""
    p = os.path.abspath(path)
    top = None
    while not os.path.lexists(p):
        top = p
        parent = os.path.dirname(p)
        if parent == p:
            break
        p = parent
    return top


class OutputRun:
    """What ``open_output`` yields: the manifest, and whether shard work has started (set by the runner
    right before it hands out the first shard)."""

    def __init__(self, manifest: Manifest):
        self.manifest = manifest
        self.work_started = False


@contextlib.contextmanager
def open_output(recipe: Recipe, out: str, *, resume: bool = True) -> Iterator[OutputRun]:
    """Lock ``out`` for this run, sweep stale temp files, prepare (or resume) its manifest, and yield an
    ``OutputRun``.

    Exactly one run writes a folder at a time (``fs.OutputLock``; a second run fails at once naming the
    first). A new run that fails (or is interrupted) before any shard work started, e.g. while starting
    Blender or Ray, removes what it created: the folder itself when it made it, else the files it added.
    Once shards were attempted the folder stays, with the failure recorded (``progress.json`` of a Ray
    run) and the finished shards kept for a resume.
    """
    check_assets(recipe)
    fs.check_output_location(out)
    remote = fs.is_remote(out)
    created_top = None if remote else _first_missing_ancestor(fs.local_path(out))
    before = set() if remote or created_top else set(os.listdir(fs.local_path(out)))
    lock = fs.OutputLock(out)
    fs.makedirs(out)
    lock.acquire()   # a busy folder: fail, touching nothing (the other run may have just created it)
    run = None
    fresh = not fs.exists(manifest_url(out))
    try:
        sweep_stale_temp(out)
        run = OutputRun(prepare_output(recipe, out, resume=resume))
        with run_temp_dir(out):
            yield run
    except BaseException:
        if not remote and fresh and (run is None or (not run.work_started and not run.manifest.shards)):
            _remove_created(fs.local_path(out), created_top, before)
        raise
    finally:
        lock.release()


def _remove_created(root: str, created_top: str | None, before: set[str]) -> None:
    """Undo an output folder this run made (or the entries it added to an existing folder)."""
    if created_top:
        shutil.rmtree(created_top, ignore_errors=True)
        log.info("removed %s: the run failed before its first shard", created_top)
        return
    with contextlib.suppress(OSError):
        for name in set(os.listdir(root)) - before:
            p = os.path.join(root, name)
            shutil.rmtree(p, ignore_errors=True) if os.path.isdir(p) and not os.path.islink(p) else os.remove(p)


@contextlib.contextmanager
def run_temp_dir(out: str) -> Iterator[str | None]:
    """Point this process's temp files (Blender's scratch folders among them) into ``OUT/.tmp/run-<pid>``
    for the run, and remove it afterwards; a run killed with SIGKILL leaves it for the next run's
    ``sweep_stale_temp``. Remote outputs keep the system temp folder."""
    if fs.is_remote(out):
        yield None
        return
    d = os.path.join(os.path.abspath(fs.local_path(out)), ".tmp", f"run-{os.getpid()}")
    os.makedirs(d, exist_ok=True)
    saved_env, saved_tempdir = os.environ.get("TMPDIR"), tempfile.tempdir
    os.environ["TMPDIR"] = d
    tempfile.tempdir = d
    try:
        yield d
    finally:
        tempfile.tempdir = saved_tempdir
        if saved_env is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = saved_env
        shutil.rmtree(d, ignore_errors=True)
        with contextlib.suppress(OSError):
            os.rmdir(os.path.dirname(d))   # OUT/.tmp, when nothing else is left in it


# ------------------------------------------------------------------------------------------ interrupts
class JobInterrupted(KeyboardInterrupt):
    """The run was stopped by SIGINT / SIGTERM; finished shards are saved. ``exit_code`` is 128 + signal."""

    def __init__(self, signum: int = signal.SIGINT):
        super().__init__(signal.Signals(signum).name)
        self.signum = int(signum)

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


_stop_signal: int | None = None


def stop_requested() -> int | None:
    """The signal number of a pending stop request (first SIGINT/SIGTERM), or None."""
    return _stop_signal


def check_stop() -> None:
    """Raise JobInterrupted if a stop was requested (also when a library swallowed the KeyboardInterrupt)."""
    if _stop_signal is not None:
        raise JobInterrupted(_stop_signal)


def _on_stop_signal(signum, frame) -> None:  # noqa: ARG001 - signal handler signature
    global _stop_signal
    if _stop_signal is not None:   # the second one: abort now
        os.write(2, f"\n{signal.Signals(signum).name} again: aborting without cleanup\n".encode())
        os._exit(128 + signum)
    _stop_signal = signum
    raise JobInterrupted(signum)


def install_stop_handlers() -> None:
    """(Re)install the SIGINT/SIGTERM handlers of ``stop_on_signals`` (e.g. after ``ray.init`` replaced them)."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _on_stop_signal)


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """While inside: the first SIGINT or SIGTERM raises ``JobInterrupted`` (finished shards stay saved, the
    run unwinds and cleans up); a second one exits at once. Main thread only; a no-op elsewhere."""
    global _stop_signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    saved_hook = sys.unraisablehook

    def quiet_interrupt(unraisable) -> None:
        # the signal landed in a weakref callback or __del__, where Python cannot raise it: the stop flag
        # is set, so the run stops at its next check (between shards); do not print a traceback for it
        if isinstance(unraisable.exc_value, JobInterrupted):
            log.debug("stop request arrived inside %r; stopping at the next shard boundary", unraisable.object)
            return
        saved_hook(unraisable)

    _stop_signal = None
    sys.unraisablehook = quiet_interrupt
    install_stop_handlers()
    try:
        yield
    finally:
        for sig, h in saved.items():
            signal.signal(sig, h)
        sys.unraisablehook = saved_hook
        _stop_signal = None


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

    with open_output(recipe, out, resume=resume) as run:
        manifest = run.manifest
        todo = list(shards) if shards is not None else pending_shards(recipe, manifest)
        done_scenes = sum(r.n_scenes for r in manifest.shards)
        bar = Progress(recipe.scenes, done_scenes, enabled=progress)
        own_worker = worker is None
        interrupted = False
        try:
            worker = worker or SceneWorker(recipe, out)
            for n, plan in enumerate(todo):
                check_stop()
                run.work_started = True
                following = todo[n + 1].scene_indices[0] if n + 1 < len(todo) and todo[n + 1].scene_indices else None
                rec = worker.run_shard(plan.shard_index, list(plan.scene_indices), next_scene=following)
                record_shard(out, manifest, rec)
                bar.update(rec.n_scenes)
                if on_shard is not None:
                    on_shard(rec)
                check_stop()   # a Ctrl-C that Blender swallowed during the shard stops here
        except JobInterrupted:
            interrupted = True
            raise
        finally:
            bar.close()
            # after a signal Blender may be mid-render: closing it can crash the process, and the process is
            # about to exit anyway (its temp folder goes with OUT/.tmp/run-<pid>)
            if own_worker and worker is not None and not interrupted:
                worker.close()
    if not manifest.complete and shards is None:
        raise DatasetError(f"{out}: job ended with {len(manifest.shards)}/{manifest.shards_total} shards")
    return manifest
