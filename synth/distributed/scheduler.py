"""The scheduling loop of a distributed run: a pool of Ray actors, one ``SceneWorker`` (one Blender) each.

Used by the embedded local Ray (``local.py``) and by the Ray Job driver on a
cluster (``driver.py``); Ray must already be initialised (``ray.init``).

How it works:

- The driver prepares the output (``prepare_output``: creates or resumes
  ``OUT/manifest.json``) and lists the pending shards.
- It keeps up to ``workers`` actors (``ShardActor``), each asking Ray for
  ``WorkerSpec.cpus`` CPUs / ``gpus`` GPUs. An actor gets work only once it
  reported ready (an actor the cluster cannot place yet holds no shard; on an
  autoscaling cluster its resource demand is what brings a node up).
- Each ready actor runs one shard at a time (work in flight = live actors).
- An actor publishes its shard file itself (atomic: temp file + ``os.replace``
  or one object-store ``put``; same shard index -> same file name) and returns
  the ``ShardRecord``. Only this driver writes ``manifest.json``: a shard is
  recorded once, when its result arrives.
- Failures: a scene error (``SceneError``: scene index and seed) or any error
  inside the shard comes back as data; a dead actor (kill -9, OOM, segfault,
  lost node) surfaces as ``RayActorError``: the actor is replaced and its shard
  goes back to the front of the queue. ``JobPolicy`` decides retry / skip / fail.
- Actors are recycled (fresh process and Blender) after
  ``policy.recycle_after_scenes`` scenes.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import traceback
from dataclasses import asdict, dataclass, field
from typing import Any

import ray
from ray.exceptions import RayActorError, RayError, RayTaskError

from synth.core.errors import JobError
from synth.core.rng import scene_seed_int
from synth.io import fs
from synth.io.manifest import Manifest, ShardRecord, save_manifest
from synth.pipeline.job import ShardPlan, check_stop, open_output, pending_shards
from synth.recipe.load import recipe_to_dict
from synth.recipe.schema import Recipe

from synth.distributed.policy import (SCENE_ERROR, SHARD_ERROR, SHARD_TIMEOUT, WORKER_LOST, JobPolicy, ShardBook,
                                      ShardFailure)
from synth.distributed.progress import FAILED, INCOMPLETE, INTERRUPTED, RUNNING, SUCCEEDED, JobProgress

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------------- the actor
def describe_shard_error(err: BaseException, out: str) -> str:
    """One line for an error outside a scene; a full disk says so and where (not a bare OSError)."""
    import errno

    chain = [err, err.__cause__, err.__context__]
    for e in chain:
        if isinstance(e, OSError) and e.errno == errno.ENOSPC:
            return f"disk full at {e.filename or out}: no space left to write the shard; free space and resume"
    return f"{type(err).__name__}: {err}"


class ShardActor:
    """One worker process: a ``SceneWorker`` with its persistent Blender, rendering whole shards.

    Every outcome of ``run_shard`` comes back as a plain dict (never a raised
    exception), so errors keep their scene index, seeds and traceback whatever
    can or cannot be pickled.
    """

    def __init__(self, recipe_dict: dict, out: str, threads: int | None, slot: int, force_threads: bool = False):
        from synth.pipeline.worker import SceneWorker
        from synth.recipe.load import parse_recipe

        # Cycles threads: this actor's share of the node, unless the recipe sets them (force_threads: the
        # job's --threads wins). Only this process's copy changes; the manifest keeps the job's recipe.
        d = {**recipe_dict, "render": dict(recipe_dict.get("render", {}))}
        if threads and (force_threads or d["render"].get("threads") is None):
            d["render"]["threads"] = int(threads)
        self.recipe = parse_recipe(d, "<recipe shipped to a Ray actor>")
        self.out = out
        self.slot = slot
        self.worker = SceneWorker(self.recipe, out)
        self.pid = os.getpid()
        self.shards = 0

    def info(self) -> dict[str, Any]:
        # the node id, not ray.util.get_node_ip_address(): that one guesses an IP by routing towards the
        # internet, which a loopback-only node must not do
        return {"pid": self.pid, "host": socket.gethostname(), "node": ray.get_runtime_context().get_node_id()[:12],
                "slot": self.slot, "threads": self.recipe.render.threads,
                "gpu_ids": [str(g) for g in ray.get_gpu_ids()]}

    def warmup(self) -> dict[str, Any]:
        """Start Blender now (a node that cannot run it fails here, as a worker start failure, instead of
        burning shard retries); returns ``info()`` plus the device Cycles uses and the time it took."""
        t0 = time.perf_counter()
        renderer = self.worker.renderer
        return {**self.info(), "device": str(getattr(renderer, "device_used", "?")),
                "warmup_s": time.perf_counter() - t0}

    def ping(self) -> int:
        """A no-op call (used to measure scheduling overhead)."""
        return self.pid

    def run_shard(self, shard_index: int, scene_indices: list[int]) -> dict[str, Any]:
        from synth.pipeline.worker import SceneError

        t0 = time.perf_counter()
        base = {"pid": self.pid, "slot": self.slot}
        try:
            rec = self.worker.run_shard(shard_index, list(scene_indices))
        except SceneError as err:
            return {**base, "status": SCENE_ERROR, "message": str(err), "scene_index": int(err.scene_index),
                    "job_seed": int(self.recipe.seed),
                    "scene_seed": int(scene_seed_int(self.recipe.seed, err.scene_index)),
                    "traceback": traceback.format_exc(), "seconds": time.perf_counter() - t0}
        except Exception as err:  # writing / uploading / anything outside a scene
            return {**base, "status": SHARD_ERROR, "message": describe_shard_error(err, self.out),
                    "traceback": traceback.format_exc(), "seconds": time.perf_counter() - t0}
        self.shards += 1
        return {**base, "status": "ok", "record": asdict(rec), "seconds": time.perf_counter() - t0,
                "stats": self.worker.stats()}

    def close(self) -> bool:
        self.worker.close()
        return True


RemoteShardActor = ray.remote(ShardActor)


# --------------------------------------------------------------------------------------------- the run
@dataclass(frozen=True)
class WorkerSpec:
    """What each worker actor asks Ray for.

    cpus : Ray CPU resource per actor (also Cycles' thread count, unless
        ``threads`` is given or the recipe sets ``render.threads``).
    gpus : GPUs per actor (1 = one Blender per GPU; Ray sets CUDA_VISIBLE_DEVICES
        and Cycles picks that GPU).
    threads : Cycles CPU threads, overriding the recipe's ``render.threads``;
        None = the recipe's value, else ``max(1, round(cpus))``.
    memory_bytes : Ray memory resource per actor (scheduling only), None = not requested.
    resources : extra custom resources per actor (e.g. ``{"render_node": 1}``).
    """

    cpus: float = 1.0
    gpus: float = 0.0
    threads: int | None = None
    memory_bytes: int | None = None
    resources: dict[str, float] | None = None

    def __post_init__(self) -> None:
        if self.cpus < 0 or self.gpus < 0 or (self.cpus == 0 and self.gpus == 0):
            raise JobError(f"WorkerSpec: cpus={self.cpus}, gpus={self.gpus}; give each worker > 0 CPUs or GPUs")
        if self.threads is not None and self.threads < 1:
            raise JobError(f"WorkerSpec.threads: expected None or an int >= 1, got {self.threads!r}")

    @property
    def cycles_threads(self) -> int:
        return int(self.threads) if self.threads else max(1, int(round(self.cpus)))

    def actor_options(self) -> dict[str, Any]:
        opts: dict[str, Any] = {"num_cpus": self.cpus, "num_gpus": self.gpus, "max_restarts": 0,
                                "max_task_retries": 0, "max_concurrency": 1}
        if self.memory_bytes:
            opts["memory"] = int(self.memory_bytes)
        if self.resources:
            opts["resources"] = dict(self.resources)
        return opts


@dataclass
class RunReport:
    """What one call of ``run_shards_on_ray`` did."""

    manifest: Manifest
    state: str                   # SUCCEEDED or INCOMPLETE (FAILED / INTERRUPTED raise)
    job_id: str
    shards_run: int = 0          # shards finished in this run
    scenes_run: int = 0
    wall_s: float = 0.0
    failures: list[ShardFailure] = field(default_factory=list)
    skipped_shards: list[int] = field(default_factory=list)
    skipped_scenes: list[int] = field(default_factory=list)
    workers_started: int = 0
    workers_lost: int = 0
    workers_recycled: int = 0
    duplicates_ignored: int = 0
    actor_busy_s: float = 0.0    # sum over shards of the time inside ShardActor.run_shard
    roundtrip_s: float = 0.0     # sum over shards of submit -> result seen by the driver
    driver_s: float = 0.0        # driver time spent handling results (manifest, progress)
    first_result_s: float | None = None  # from the start of the run to the first finished shard
    last_result_s: float | None = None   # ... to the last finished shard
    first_result_scenes: int = 0          # scenes in that first shard
    worker_pids: list[int] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("manifest")
        d["failures"] = [f.to_dict() for f in self.failures]
        d["scenes_per_s"] = self.scenes_run / self.wall_s if self.wall_s > 0 else 0.0
        d["overhead_per_shard_s"] = ((self.roundtrip_s - self.actor_busy_s) / self.shards_run
                                     if self.shards_run else None)
        span = (self.last_result_s or 0.0) - (self.first_result_s or 0.0)
        d["steady_scenes_per_s"] = ((self.scenes_run - self.first_result_scenes) / span
                                    if span > 0 and self.shards_run > 1 else None)
        return d


@dataclass
class _Slot:
    ident: int
    actor: Any
    ready_ref: Any
    created: float
    info: dict[str, Any] | None = None
    scenes: int = 0
    plan: ShardPlan | None = None
    task_ref: Any = None
    submitted: float = 0.0
    timed_out: bool = False

    @property
    def ready(self) -> bool:
        return self.info is not None

    def label(self) -> str:
        if self.info is None:
            return f"actor #{self.ident} (starting)"
        return f"actor #{self.ident} pid {self.info['pid']} on {self.info['host']} (node {self.info['node']})"


def _kill(actor) -> None:
    try:
        ray.kill(actor, no_restart=True)
    except Exception as err:  # already gone
        log.debug("ray.kill: %s", err)


def cleanup_stale_temp_files(out: str) -> int:
    """Remove ``OUT/.tmp/shard-*.tmp`` left by killed workers (local outputs; call with no worker running)."""
    if fs.is_remote(out):
        return 0
    d = os.path.join(out, ".tmp")
    n = 0
    if os.path.isdir(d):
        for name in os.listdir(d):
            if name.startswith("shard-") and name.endswith(".tmp"):
                try:
                    os.remove(os.path.join(d, name))
                    n += 1
                except OSError:
                    pass
    return n


def run_shards_on_ray(recipe: Recipe, out: str, *, workers: int, worker: WorkerSpec | None = None,
                      policy: JobPolicy | None = None, resume: bool = True, progress: bool = False,
                      log_progress_lines: bool = False, job_id: str | None = None) -> RunReport:
    """Render every pending shard of ``recipe`` into ``out`` on the Ray cluster this process is connected to.

    out : local folder (made absolute here, so every actor writes the same place;
        on a multi-node cluster it must be shared storage) or fsspec URL.
    workers : number of worker actors (>= 1).
    progress : a terminal bar / log lines while running.
    log_progress_lines : print ``SYNTH_PROGRESS {json}`` lines (Ray Job logs).

    Returns a RunReport whose state is SUCCEEDED, or INCOMPLETE when
    ``policy.on_error == "skip"`` skipped shards (the manifest then stays
    incomplete). Raises JobError when a shard exhausts its retries under
    ``on_error="fail"`` or no worker can start. On KeyboardInterrupt the
    finished shards are saved in the manifest before re-raising.
    """
    if not ray.is_initialized():
        raise JobError("run_shards_on_ray: Ray is not initialised; call ray.init(...) first "
                       "(or use synth.distributed.local.run_on_local_ray)")
    if not isinstance(workers, int) or workers < 1:
        raise JobError(f"workers: expected an int >= 1, got {workers!r}")
    worker = worker or WorkerSpec()
    policy = policy or JobPolicy()
    out = str(out)
    if out.startswith("file://"):
        out = out[len("file://"):]
    if not fs.is_remote(out):
        out = os.path.abspath(os.path.expanduser(out))
    job_id = job_id or f"local-{time.strftime('%Y%m%d-%H%M%S')}"
    t_start = time.perf_counter()

    with open_output(recipe, out, resume=resume) as run:
        return _schedule(recipe, out, run, workers=workers, worker=worker, policy=policy, progress=progress,
                         log_progress_lines=log_progress_lines, job_id=job_id, t_start=t_start)


def _schedule(recipe: Recipe, out: str, run, *, workers: int, worker: WorkerSpec, policy: JobPolicy,
              progress: bool, log_progress_lines: bool, job_id: str, t_start: float) -> RunReport:
    """The scheduling loop of ``run_shards_on_ray`` on a locked, prepared output (``run``: an ``OutputRun``)."""
    manifest = run.manifest
    todo = pending_shards(recipe, manifest)
    book = ShardBook(todo, policy)
    tracker = JobProgress(out, job_id=job_id, scenes_total=recipe.scenes, shards_total=manifest.shards_total,
                          scenes_done=sum(r.n_scenes for r in manifest.shards), shards_done=len(manifest.shards),
                          bar=progress, log_lines=log_progress_lines)
    tracker.workers_target = workers
    report = RunReport(manifest=manifest, state=RUNNING, job_id=job_id)
    rdict = recipe_to_dict(recipe)
    log.info("job %s: %d of %d shards to render (%d scenes/shard) into %s with %d worker(s) of %s CPU / %s GPU",
             job_id, len(todo), manifest.shards_total, recipe.scenes_per_shard, out, workers, worker.cpus, worker.gpus)

    slots: dict[int, _Slot] = {}
    owner: dict[Any, tuple[int, str]] = {}   # ObjectRef -> (slot id, "ready" | "task")
    next_id = 0
    start_failures = 0
    last_start_error = ""
    last_flush = time.monotonic()
    dirty = False
    no_ready_since = time.monotonic()

    def spawn() -> None:
        nonlocal next_id
        actor = RemoteShardActor.options(**worker.actor_options()).remote(rdict, out, worker.cycles_threads, next_id,
                                                                          worker.threads is not None)
        ref = actor.warmup.remote()
        slots[next_id] = _Slot(next_id, actor, ref, time.monotonic())
        owner[ref] = (next_id, "ready")
        report.workers_started += 1
        next_id += 1

    closing: list[Any] = []   # close() calls of retired actors

    def drop(slot: _Slot, graceful: bool) -> None:
        slots.pop(slot.ident, None)
        for ref, (sid, _) in list(owner.items()):
            if sid == slot.ident:
                owner.pop(ref, None)
        if graceful and slot.ready and slot.plan is None:
            closing.append(slot.actor.close.remote())   # Blender closes, temp files go
            slot.actor.__ray_terminate__.remote()        # then the process exits cleanly
            del closing[:-64]
        else:
            _kill(slot.actor)

    def submit(slot: _Slot, plan: ShardPlan) -> None:
        run.work_started = True
        slot.plan = plan
        slot.submitted = time.perf_counter()
        slot.task_ref = slot.actor.run_shard.remote(plan.shard_index, list(plan.scene_indices))
        owner[slot.task_ref] = (slot.ident, "task")

    def flush(state: str = RUNNING, force: bool = False) -> None:
        nonlocal last_flush, dirty
        now = time.monotonic()
        if force or now - last_flush >= max(policy.manifest_flush_s, 0.0):
            if dirty or force:
                save_manifest(out, manifest)
                dirty = False
            tracker.workers_alive = sum(1 for s in slots.values() if s.ready)
            tracker.publish(state)
            last_flush = now

    def failed(slot: _Slot, plan: ShardPlan, kind: str, message: str, res: dict | None = None) -> None:
        f = ShardFailure(shard_index=plan.shard_index, attempt=book.attempt_of(plan.shard_index), kind=kind,
                         message=message, worker=slot.label())
        if res:
            f.scene_index = res.get("scene_index")
            f.job_seed = res.get("job_seed")
            f.scene_seed = res.get("scene_seed")
            f.traceback = res.get("traceback")
        decision = book.fail(f)
        report.failures.append(f)
        tracker.failures.append(f.to_dict())
        if decision == "retry":
            tracker.retries += 1
            log.warning("%s -> retrying (attempt %d of %d)", f.describe(), f.attempt + 1, 1 + policy.max_shard_retries)
        elif decision == "skip":
            tracker.skipped_shards = sorted(book.skipped)
            tracker.skipped_scenes = book.skipped_scene_indices()
            log.error("%s -> no retry left, SKIPPED (on_error=skip); the dataset will be incomplete", f.describe())
        else:
            log.error("%s -> no retry left; failing the job (on_error=fail) after the running shards finish",
                      f.describe())
        if f.traceback and decision != "retry":
            log.error("traceback of the failed attempt:\n%s", f.traceback)

    state = FAILED
    try:
        tracker.publish(RUNNING)
        while book.outstanding and not (book.fatal is not None and not book.running):
            # ---- pool size: never more actors than shards left, never more than asked for
            if book.fatal is None:
                want = min(workers, book.outstanding)
                while len(slots) < want:
                    spawn()
                # idle or still-starting actors at the tail of the job: release their resources
                if not book.queue:
                    for s in list(slots.values()):
                        if s.plan is None:
                            drop(s, graceful=True)
            # ---- feed ready, idle actors
            for s in list(slots.values()):
                if s.ready and s.plan is None:
                    plan = book.take()
                    if plan is None:
                        break
                    submit(s, plan)
            # ---- wait for one event
            refs = list(owner)
            ready, _ = ray.wait(refs, num_returns=1, timeout=policy.poll_s) if refs else ([], [])
            check_stop()   # a stop request whose KeyboardInterrupt was swallowed inside a Ray call
            now = time.monotonic()
            for ref in ready:
                sid, kind = owner.pop(ref)
                slot = slots.get(sid)
                if slot is None:
                    continue
                if kind == "ready":
                    try:
                        slot.info = ray.get(ref)
                        slot.ready_ref = None
                        start_failures = 0
                        report.worker_pids.append(int(slot.info["pid"]))
                        log.info("worker %s ready in %.1f s (Cycles on %s, %s threads, GPUs %s)", slot.label(),
                                 now - slot.created, slot.info["device"], slot.info["threads"],
                                 slot.info["gpu_ids"] or "none")
                    except RayError as err:
                        start_failures += 1
                        last_start_error = f"{type(err).__name__}: {err}"
                        log.warning("worker actor #%d failed to start (%d in a row): %s", sid, start_failures,
                                    last_start_error[:2000])
                        drop(slot, graceful=False)
                        if start_failures >= policy.max_worker_start_failures:
                            raise JobError(f"{start_failures} worker actors in a row failed to start; last error: "
                                           f"{last_start_error[:4000]}\nCheck that synth and its dependencies "
                                           "are installed on every node (see docs/scaling.md)") from None
                    continue
                # ---- a shard result
                plan = slot.plan
                t_res = time.perf_counter()
                slot.plan, slot.task_ref = None, None
                try:
                    res = ray.get(ref)
                except RayTaskError as err:   # an error our actor did not turn into data (should not happen)
                    failed(slot, plan, SHARD_ERROR, f"{type(err).__name__}: {err}")
                    continue
                except (RayActorError, RayError) as err:
                    # the actor process is gone (kill -9, OOM killer, segfault in Blender, node lost)
                    drop(slot, graceful=False)
                    report.workers_lost += 1
                    tracker.workers_lost += 1
                    if slot.timed_out:
                        failed(slot, plan, SHARD_TIMEOUT,
                               f"ran over shard_timeout_s={policy.shard_timeout_s}; its actor was killed")
                    else:
                        msg = str(err).strip().splitlines()
                        failed(slot, plan, WORKER_LOST, f"{type(err).__name__}: {' '.join(msg[:3])[:600]}")
                    continue
                if res["status"] != "ok":
                    failed(slot, plan, res["status"], res["message"], res)
                    continue
                rec = ShardRecord(**res["record"])
                if book.finish(rec.shard_index):
                    manifest.add(rec)
                    dirty = True
                    tracker.shard_done(rec.n_scenes)
                    report.shards_run += 1
                    report.scenes_run += rec.n_scenes
                    report.actor_busy_s += float(res["seconds"])
                    report.roundtrip_s += t_res - slot.submitted
                    report.last_result_s = time.perf_counter() - t_start
                    if report.first_result_s is None:
                        report.first_result_s = report.last_result_s
                        report.first_result_scenes = rec.n_scenes
                else:
                    report.duplicates_ignored += 1
                    log.warning("shard %d finished twice; the second result is ignored", rec.shard_index)
                slot.scenes += rec.n_scenes
                if policy.recycle_after_scenes and slot.scenes >= policy.recycle_after_scenes:
                    log.info("recycling %s after %d scenes", slot.label(), slot.scenes)
                    drop(slot, graceful=True)
                    report.workers_recycled += 1
                    tracker.workers_recycled += 1
                report.driver_s += time.perf_counter() - t_res
            # ---- timeouts
            if policy.shard_timeout_s:
                for s in slots.values():
                    if s.plan is not None and not s.timed_out and \
                            time.perf_counter() - s.submitted > policy.shard_timeout_s:
                        log.error("shard %d on %s exceeded shard_timeout_s=%s; killing the actor",
                                  s.plan.shard_index, s.label(), policy.shard_timeout_s)
                        s.timed_out = True
                        _kill(s.actor)
            if any(s.ready for s in slots.values()):
                no_ready_since = now
            elif now - no_ready_since > policy.worker_start_timeout_s:
                raise JobError(
                    f"no worker actor could start for {policy.worker_start_timeout_s:.0f} s; each asks for "
                    f"{worker.actor_options()} and the cluster has {ray.cluster_resources()} in total "
                    f"({ray.available_resources()} free). Lower --cpus-per-worker/--gpus-per-worker, add nodes, or "
                    "enable autoscaling")
            t_flush = time.perf_counter()
            flush()
            report.driver_s += time.perf_counter() - t_flush
        # ---- the end
        if book.fatal is not None:
            f = book.fatal
            tracker.message = f"failed: {f.describe()}"
            raise JobError(f"{f.describe()} (no retry left; max_shard_retries={policy.max_shard_retries}). "
                           f"{len(manifest.shards)}/{manifest.shards_total} shards are saved in {out}; fix the cause "
                           "and run the same job again to resume, or use on_error=skip to leave such shards out")
        state = INCOMPLETE if book.skipped else SUCCEEDED
        if book.skipped:
            tracker.message = (f"incomplete: {len(book.skipped)} shard(s) skipped after failures: shards "
                               f"{sorted(book.skipped)}, scenes {book.skipped_scene_indices()}")
            log.error("%s: %s; run the same job again to retry them", out, tracker.message)
    except (KeyboardInterrupt, SystemExit):   # Ctrl-C, or SIGTERM (ray job stop) turned into one of these
        state = INTERRUPTED
        tracker.message = "interrupted; finished shards are saved, run the same job again to resume"
        raise
    except BaseException as err:
        state = FAILED
        if not tracker.message:
            tracker.message = f"failed: {type(err).__name__}: {err}"[:2000]
        raise
    finally:
        graceful = state in (SUCCEEDED, INCOMPLETE)
        try:    # first, in case the process is killed soon (ray job stop: SIGKILL 3 s after SIGTERM)
            flush(state, force=True)
        except Exception as err:
            log.error("could not save the manifest of %s: %s", out, err)
        for s in list(slots.values()):
            drop(s, graceful=True)      # idle actors close Blender cleanly; busy ones (interrupted) are killed
        if closing:
            try:
                ray.wait(closing, num_returns=len(closing), timeout=30 if graceful else 2)
            except BaseException as err:   # noqa: BLE001 - a second Ctrl-C must not escape the cleanup
                log.debug("waiting for workers to close: %s", err)
        tracker.close()
        report.wall_s = time.perf_counter() - t_start
        report.state = state
        report.skipped_shards = sorted(book.skipped)
        report.skipped_scenes = book.skipped_scene_indices()
    if graceful:
        cleanup_stale_temp_files(out)
    return report


def measure_call_overhead(n: int = 200, cpus: float = 0.01) -> dict[str, float]:
    """Round-trip time of no-op actor calls on the connected cluster: sequential (one at a time, like a
    worker waiting for its next shard) and batched."""
    @ray.remote(num_cpus=cpus)
    class _Noop:
        def ping(self) -> int:
            return 0

    a = _Noop.remote()
    ray.get(a.ping.remote())
    t0 = time.perf_counter()
    for _ in range(n):
        ray.get(a.ping.remote())
    seq = (time.perf_counter() - t0) / n
    t0 = time.perf_counter()
    ray.get([a.ping.remote() for _ in range(n)])
    batched = (time.perf_counter() - t0) / n
    _kill(a)
    return {"sequential_call_s": seq, "batched_call_s": batched, "calls": n}


__all__ = ["ShardActor", "WorkerSpec", "RunReport", "run_shards_on_ray", "measure_call_overhead",
           "cleanup_stale_temp_files"]
