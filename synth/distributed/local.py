"""``synth generate --workers N``: the distributed scheduler on an embedded Ray on this machine.

Ray here is private and loopback-only: ``ray.init(address="local")`` with its
own temp dir, node IP 127.0.0.1, no dashboard, a small object store (shard
files go straight to the output, not through Ray), and the environment a
loopback-only box needs (usage stats off, no auth). Every listening socket of
its processes is on 127.0.0.1 (``tests/test_hardening_ray.py`` lists them): Ray
binds its servers to the node IP, and only turns 127.0.0.1 into the host's
address when ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER`` is on, so it is forced off
here (also in Ray's already-imported constants). The dashboard agent's HTTP
port, fixed at 52365 by Ray, is moved to a free port so two embedded runs on
one host do not collide. A watchdog process (``reaper.py``) takes the Ray
processes down if this process dies without ``ray.shutdown`` (kill -9).
Ray's processes keep their temp files (Blender's scratch folders among them)
inside the Ray temp dir, removed on every exit path.

It never attaches to another Ray running on the host; if this process
already called ``ray.init`` the existing connection is used and left open.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import sys
import tempfile
import time

from synth.core.errors import JobError
from synth.io.manifest import Manifest
from synth.recipe.schema import Recipe

from synth.distributed.policy import JobPolicy

log = logging.getLogger(__name__)

#: environment for Ray on a loopback-only machine (shared/reference/render-and-ray.md)
RAY_LOOPBACK_ENV = {
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_AUTH_MODE": "disabled",
}

MIN_OBJECT_STORE_BYTES = 80 * 2**20   # Ray's floor is ~75 MiB


def apply_ray_env() -> None:
    """Set the loopback Ray environment variables in this process (and so in the Ray it starts).

    ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`` is what keeps node IP 127.0.0.1 (else Ray swaps it for the
    host's address and its agents listen there), so it is forced, in the environment and, when ``ray``
    was imported already, in the constant Ray read at import."""
    for k, v in RAY_LOOPBACK_ENV.items():
        if k == "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER":
            os.environ[k] = v
        else:
            os.environ.setdefault(k, v)
    consts = sys.modules.get("ray._private.ray_constants")
    if consts is not None:
        consts.ENABLE_RAY_CLUSTER = False


def free_loopback_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _with_agent_port(port: int):
    """Ray's ``RayParams`` with ``dashboard_agent_listen_port`` defaulting to ``port`` (``ray.init`` offers no
    argument for it; the default 52365 makes a second embedded Ray on the host fight for it)."""
    import contextlib

    from ray._private import parameter

    @contextlib.contextmanager
    def patched():
        init = parameter.RayParams.__init__
        code = init.__code__
        names = code.co_varnames[1:code.co_argcount]
        defaults = list(init.__defaults__ or ())
        i = names.index("dashboard_agent_listen_port") - (len(names) - len(defaults)) \
            if "dashboard_agent_listen_port" in names else -1
        if not 0 <= i < len(defaults):   # another Ray version: leave it (the port may then clash)
            log.warning("cannot move Ray's dashboard agent port on this Ray version; two embedded runs may clash")
            yield
            return
        saved = init.__defaults__
        defaults[i] = port
        init.__defaults__ = tuple(defaults)
        try:
            yield
        finally:
            init.__defaults__ = saved

    return patched()


def default_cpus_per_worker(workers: int, cpus: int | None = None) -> int:
    """This machine's cores split between the workers (at least 1 each)."""
    return max(1, (cpus or os.cpu_count() or 1) // max(1, workers))


def init_local_ray(*, num_cpus: int, num_gpus: int | None = None, object_store_bytes: int = MIN_OBJECT_STORE_BYTES,
                   temp_dir: str | None = None, log_to_driver: bool = False) -> str:
    """Start a private single-node Ray in this process; returns its temp dir (the caller removes it)."""
    apply_ray_env()   # before importing ray: its constants read the environment once
    import ray

    apply_ray_env()
    temp_dir = temp_dir or tempfile.mkdtemp(prefix="synth-ray-", dir="/tmp")  # short: Ray puts sockets there
    kwargs = dict(address="local", num_cpus=num_cpus, object_store_memory=max(object_store_bytes,
                                                                              MIN_OBJECT_STORE_BYTES),
                  include_dashboard=False, log_to_driver=log_to_driver, _temp_dir=temp_dir,
                  _node_ip_address="127.0.0.1", configure_logging=False)
    if num_gpus is not None:
        kwargs["num_gpus"] = num_gpus
    # the Ray processes inherit this environment: their temp files (Blender's) go inside the Ray temp dir
    work_tmp = os.path.join(temp_dir, "tmp")
    os.makedirs(work_tmp, exist_ok=True)
    saved_tmpdir = os.environ.get("TMPDIR")
    os.environ["TMPDIR"] = work_tmp
    t0 = time.perf_counter()
    try:
        with _with_agent_port(free_loopback_port()):
            ray.init(**kwargs)
    finally:
        if saved_tmpdir is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = saved_tmpdir
    log.info("local Ray up in %.1f s (%s CPUs, temp %s)", time.perf_counter() - t0, num_cpus, temp_dir)
    return temp_dir


def run_local_ray_report(recipe: Recipe, out: str, *, workers: int = 2, resume: bool = True, progress: bool = True,
                         cpus_per_worker: int | None = None, gpus_per_worker: float = 0.0,
                         policy: JobPolicy | None = None, object_store_bytes: int = MIN_OBJECT_STORE_BYTES,
                         job_id: str | None = None, keep_ray_temp: bool = False, log_to_driver: bool = False):
    """Like ``run_on_local_ray`` but returns the full ``RunReport`` (timings, failures, workers)."""
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise JobError(f"workers: expected an int >= 1, got {workers!r}")
    apply_ray_env()   # before the first import of ray (the scheduler imports it)
    import ray

    from synth.distributed.reaper import start_reaper, stop_reaper
    from synth.distributed.scheduler import WorkerSpec, run_shards_on_ray
    from synth.pipeline.job import install_stop_handlers, stop_requested

    cpus = cpus_per_worker or default_cpus_per_worker(workers)
    spec = WorkerSpec(cpus=cpus, gpus=gpus_per_worker)
    own = not ray.is_initialized()
    temp_dir = None
    reaper = None
    ok = False
    if own:
        import signal

        total_cpus = max(os.cpu_count() or 1, workers * cpus)
        temp_dir = tempfile.mkdtemp(prefix="synth-ray-", dir="/tmp")
        reaper = start_reaper(temp_dir, keep_temp=keep_ray_temp)
        ours = signal.getsignal(signal.SIGTERM)
        try:
            init_local_ray(num_cpus=total_cpus, num_gpus=None, object_store_bytes=object_store_bytes,
                           log_to_driver=log_to_driver, temp_dir=temp_dir)
        except BaseException:
            stop_reaper(reaper)
            raise
        if ours is not signal.getsignal(signal.SIGTERM) and stop_requested() is None and \
                getattr(ours, "__name__", "") == "_on_stop_signal":
            install_stop_handlers()   # ray.init replaced our SIGTERM handler with its own (sys.exit)
    try:
        report = run_shards_on_ray(recipe, out, workers=workers, worker=spec, policy=policy, resume=resume,
                                   progress=progress, job_id=job_id)
        ok = True
        return report
    finally:
        if own:
            ray.shutdown()
            stop_reaper(reaper)
            if temp_dir and not keep_ray_temp:
                shutil.rmtree(temp_dir, ignore_errors=True)
            elif temp_dir:
                log.warning("Ray logs of this run (%s) are in %s/session_latest/logs",
                            "finished" if ok else "failed", temp_dir)


def run_on_local_ray(recipe: Recipe, out: str, workers: int = 2, resume: bool = True, progress: bool = True, *,
                     cpus_per_worker: int | None = None, gpus_per_worker: float = 0.0, policy: JobPolicy | None = None,
                     max_shard_retries: int | None = None, on_error: str | None = None,
                     recycle_after_scenes: int | None = None, object_store_bytes: int = MIN_OBJECT_STORE_BYTES,
                     keep_ray_temp: bool = False) -> Manifest:
    """Render ``recipe`` into ``out`` with ``workers`` Ray actors (one Blender each) on this machine.

    Each worker gets ``cpus_per_worker`` cores (default: cores / workers) as
    Cycles threads. Resumes an existing output (skips its finished shards)
    when ``resume``. ``max_shard_retries`` / ``on_error`` / ``recycle_after_scenes``
    override the matching fields of ``policy`` (see ``JobPolicy``).

    Returns the manifest. With ``on_error="skip"`` it may be incomplete
    (``manifest.complete`` False; the skipped shards and scenes are logged and
    written to ``OUT/progress.json``). Raises JobError when a shard has no
    retry left under ``on_error="fail"``.
    """
    from dataclasses import replace

    policy = policy or JobPolicy()
    over = {k: v for k, v in (("max_shard_retries", max_shard_retries), ("on_error", on_error),
                              ("recycle_after_scenes", recycle_after_scenes)) if v is not None}
    if over:
        policy = replace(policy, **over)
    report = run_local_ray_report(recipe, out, workers=workers, resume=resume, progress=progress,
                                  cpus_per_worker=cpus_per_worker, gpus_per_worker=gpus_per_worker, policy=policy,
                                  object_store_bytes=object_store_bytes, keep_ray_temp=keep_ray_temp)
    return report.manifest
