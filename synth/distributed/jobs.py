"""Client side of distributed jobs: submit / status / logs / stop through the Ray Jobs API.

The address is the Ray dashboard's HTTP address (``http://HEAD:8265``). A job's
entrypoint is ``python -m synth.distributed.driver`` with the resolved recipe
inline, so the cluster needs synth installed (see jobs/ and docs/scaling.md)
but no copy of the recipe file. Job metadata records the output location;
``status`` reads progress from ``OUT/progress.json`` when this machine can
reach the output, else from the job's ``SYNTH_PROGRESS`` log lines, else from
``OUT/manifest.json``.
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
import time
from dataclasses import dataclass
from typing import Any, Callable

from synth.core.errors import JobError
from synth.io import fs
from synth.recipe.load import recipe_to_dict
from synth.recipe.schema import Recipe

from synth.distributed.policy import JobPolicy
from synth.distributed.progress import (format_duration, format_progress, parse_progress_from_logs, read_progress)

TERMINAL = ("SUCCEEDED", "FAILED", "STOPPED")
ADDRESS_ENV = ("SYNTH_RAY_ADDRESS", "RAY_ADDRESS")


def default_address() -> str | None:
    """``$SYNTH_RAY_ADDRESS`` or ``$RAY_ADDRESS`` when it is an http(s) address."""
    for k in ADDRESS_ENV:
        v = os.environ.get(k, "")
        if v.startswith(("http://", "https://")):
            return v
    return None


def client(address: str | None):
    """A ``JobSubmissionClient`` for ``address``; JobError with a fix when it cannot connect."""
    from ray.job_submission import JobSubmissionClient

    address = address or default_address()
    if not address:
        raise JobError("no Ray address: pass --address http://HEAD:8265 (the Ray dashboard / Jobs API) or set "
                       "SYNTH_RAY_ADDRESS")
    if "://" not in address:
        address = f"http://{address}"
    try:
        return JobSubmissionClient(address)
    except Exception as err:
        raise JobError(f"cannot reach the Ray Jobs API at {address}: {type(err).__name__}: {err}. Is the head "
                       "running with its dashboard (ray start --head --dashboard-host=0.0.0.0, port 8265), and is the "
                       "port reachable (ssh -L 8265:localhost:8265 HEAD, or kubectl port-forward)?") from None


def make_job_id(recipe_name: str) -> str:
    return f"synth-{recipe_name}-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"


@dataclass(frozen=True)
class SubmitOptions:
    """Everything ``synth submit`` sends besides the recipe and output."""

    workers: int = 0                 # 0 = as many as the cluster fits when the job starts
    cpus_per_worker: float = 2.0
    gpus_per_worker: float = 0.0
    threads: int | None = None
    memory_per_worker_gb: float | None = None
    policy: JobPolicy = JobPolicy()
    resume: bool = True
    python: str = "python"           # interpreter on the cluster


def build_entrypoint(recipe: Recipe, out: str, job_id: str, opts: SubmitOptions) -> str:
    """The shell command the Ray Job runs on the cluster."""
    rjson = json.dumps(recipe_to_dict(recipe), separators=(",", ":"), sort_keys=True)
    p = opts.policy
    args = [opts.python, "-m", "synth.distributed.driver", "--job-id", job_id, "--out", out,
            "--recipe-json", rjson, "--workers", str(opts.workers), "--cpus-per-worker", str(opts.cpus_per_worker),
            "--gpus-per-worker", str(opts.gpus_per_worker), "--max-shard-retries", str(p.max_shard_retries),
            "--on-error", p.on_error, "--recycle-after", str(p.recycle_after_scenes),
            "--shard-timeout", str(p.shard_timeout_s), "--worker-start-timeout", str(p.worker_start_timeout_s),
            "--manifest-flush", str(p.manifest_flush_s)]
    if opts.threads:
        args += ["--threads", str(opts.threads)]
    if opts.memory_per_worker_gb:
        args += ["--memory-per-worker-gb", str(opts.memory_per_worker_gb)]
    if not opts.resume:
        args.append("--no-resume")
    return " ".join(shlex.quote(a) for a in args)


def check_out_for_cluster(out: str) -> str:
    """The cluster resolves ``out`` on its nodes: it must be an absolute path or a URL."""
    if out.startswith("file://"):    # a plain path is what synth.io.fs treats as local
        out = out[len("file://"):]
    elif fs.is_remote(out):
        return out
    if not os.path.isabs(os.path.expanduser(out)):
        raise JobError(f"--out {out!r}: a relative path would be resolved on the cluster, in the job's scratch "
                       "folder; give an absolute path on storage every node shares (e.g. /mnt/shared/ds) or an "
                       "fsspec URL (s3://bucket/ds)")
    return os.path.expanduser(out)


def submit_generation(address: str | None, recipe: Recipe, out: str, *, opts: SubmitOptions | None = None,
                      job_id: str | None = None, runtime_env: dict | None = None,
                      entrypoint_resources: dict | None = None) -> str:
    """Submit a generation job; returns its id (the Ray submission id)."""
    opts = opts or SubmitOptions()
    out = check_out_for_cluster(out)
    job_id = job_id or make_job_id(recipe.name)
    c = client(address)
    metadata = {"synth": "generate", "synth_out": out, "synth_recipe": recipe.name,
                "synth_scenes": str(recipe.scenes), "synth_scenes_per_shard": str(recipe.scenes_per_shard)}
    kwargs: dict[str, Any] = {}
    if entrypoint_resources:
        kwargs["entrypoint_resources"] = entrypoint_resources
    try:
        return c.submit_job(entrypoint=build_entrypoint(recipe, out, job_id, opts), submission_id=job_id,
                            metadata=metadata, runtime_env=runtime_env or None, **kwargs)
    except Exception as err:
        raise JobError(f"submitting job {job_id} to {address}: {type(err).__name__}: {err}") from None


def _info(c, job_id: str):
    try:
        return c.get_job_info(job_id)
    except Exception as err:
        raise JobError(f"job {job_id!r}: {type(err).__name__}: {err}; list jobs with `synth jobs --address ...`"
                       ) from None


def _manifest_progress(out: str) -> dict[str, Any] | None:
    from synth.io.manifest import load_manifest

    try:
        m = load_manifest(out)
    except Exception:
        return None
    return {"scenes_done": sum(s.n_scenes for s in m.shards), "scenes_total": m.scenes,
            "shards_done": len(m.shards), "shards_total": m.shards_total, "state": "complete" if m.complete else "?"}


def job_status(address: str | None, job_id: str, *, use_logs: bool = True) -> dict[str, Any]:
    """Ray's view of the job plus synth's progress (scenes done / total, rate, ETA, workers, failures)."""
    c = client(address)
    info = _info(c, job_id)
    meta = dict(info.metadata or {})
    out = meta.get("synth_out")
    st: dict[str, Any] = {"job_id": job_id, "status": str(getattr(info.status, "value", info.status)),
                          "message": info.message, "out": out, "start_time": info.start_time,
                          "end_time": info.end_time, "progress": None, "progress_source": None}
    if out:
        p = read_progress(out)
        if p is not None and p.get("job_id") == job_id:
            st["progress"], st["progress_source"] = p, "output"
    if st["progress"] is None and use_logs:
        try:
            p = parse_progress_from_logs(c.get_job_logs(job_id))
        except Exception:
            p = None
        if p is not None:
            st["progress"], st["progress_source"] = p, "logs"
    if st["progress"] is None and out:
        p = _manifest_progress(out)
        if p is not None:
            st["progress"], st["progress_source"] = p, "manifest"
    return st


def format_status(st: dict[str, Any]) -> str:
    lines = [f"job {st['job_id']}: {st['status']}"]
    p = st.get("progress")
    if p and p.get("state") in ("incomplete", "failed", "interrupted"):
        lines[0] += f" ({p['state']})"
    if st.get("out"):
        lines.append(f"  output:   {st['out']}")
    if p:
        lines.append(f"  progress: {format_progress(p)}  [from {st['progress_source']}]")
        if p.get("message"):
            lines.append(f"  note:     {p['message']}")
        for f in (p.get("failures") or [])[-3:]:
            where = f"scene {f['scene_index']} (seed {f.get('scene_seed')})" if f.get("scene_index") is not None else ""
            lines.append(f"  failure:  shard {f['shard_index']} attempt {f['attempt']} {f['kind']} {where}: "
                         f"{str(f['message'])[:160]}")
    if st.get("start_time"):
        end = (st.get("end_time") or time.time() * 1000) / 1000.0
        lines.append(f"  elapsed:  {format_duration(end - st['start_time'] / 1000.0)}")
    if st["status"] in ("FAILED", "STOPPED") and st.get("message"):
        lines.append(f"  ray:      {st['message'][:500]}")
    return "\n".join(lines)


def wait_for_job(address: str | None, job_id: str, *, timeout_s: float | None = None, poll_s: float = 1.0,
                 on_update: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Poll until the job is SUCCEEDED / FAILED / STOPPED (or ``timeout_s``); returns the last status."""
    t0 = time.monotonic()
    while True:
        st = job_status(address, job_id, use_logs=False)
        if on_update is not None:
            on_update(st)
        if st["status"] in TERMINAL:
            return job_status(address, job_id)
        if timeout_s is not None and time.monotonic() - t0 > timeout_s:
            return st
        time.sleep(poll_s)


def job_logs(address: str | None, job_id: str) -> str:
    c = client(address)
    _info(c, job_id)
    return c.get_job_logs(job_id)


def follow_logs(address: str | None, job_id: str, write: Callable[[str], None]) -> None:
    """Stream the job's logs until it ends."""
    import asyncio

    c = client(address)
    _info(c, job_id)

    async def tail() -> None:
        async for chunk in c.tail_job_logs(job_id):
            write(chunk)

    asyncio.run(tail())


def stop_job(address: str | None, job_id: str, *, wait: bool = False, timeout_s: float = 60.0) -> str:
    """Ask Ray to stop the job (SIGTERM to the driver, which saves the manifest); returns the status."""
    c = client(address)
    _info(c, job_id)
    c.stop_job(job_id)
    if wait:
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout_s:
            s = str(getattr(c.get_job_status(job_id), "value", c.get_job_status(job_id)))
            if s in TERMINAL:
                return s
            time.sleep(0.5)
    return str(getattr(c.get_job_status(job_id), "value", c.get_job_status(job_id)))


def list_synth_jobs(address: str | None) -> list[dict[str, Any]]:
    c = client(address)
    out = []
    for j in c.list_jobs():
        meta = j.metadata or {}
        if meta.get("synth") != "generate":
            continue
        out.append({"job_id": j.submission_id, "status": str(getattr(j.status, "value", j.status)),
                    "recipe": meta.get("synth_recipe"), "scenes": meta.get("synth_scenes"),
                    "out": meta.get("synth_out"), "start_time": j.start_time})
    return sorted(out, key=lambda d: d.get("start_time") or 0)
