"""Progress of a distributed run: ``OUT/progress.json`` and ``SYNTH_PROGRESS`` log lines.

The driver publishes a snapshot (scenes done / total, rate, ETA, workers,
failures) whenever it saves the manifest: as ``OUT/progress.json`` (atomic
write, local folder or fsspec URL) and, in a Ray Job, as one log line
``SYNTH_PROGRESS {json}``. ``synth status`` reads the file when it can reach
the output, else the last such line of the job's logs.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from synth.io import fs

log = logging.getLogger(__name__)

PROGRESS_NAME = "progress.json"
LOG_MARKER = "SYNTH_PROGRESS "

#: run states written to progress.json
RUNNING, SUCCEEDED, INCOMPLETE, FAILED, INTERRUPTED = "running", "succeeded", "incomplete", "failed", "interrupted"


def progress_url(out: str) -> str:
    return fs.join(out, PROGRESS_NAME)


def read_progress(out: str) -> dict[str, Any] | None:
    """The last snapshot written to ``OUT/progress.json``, or None if there is none / it is unreadable."""
    try:
        url = progress_url(out)
        if not fs.exists(url):
            return None
        return json.loads(fs.read_bytes(url))
    except Exception as err:  # unreachable storage, partial credentials, damaged file: status falls back to logs
        log.debug("cannot read %s: %s", out, err)
        return None


def parse_progress_from_logs(text: str) -> dict[str, Any] | None:
    """The last ``SYNTH_PROGRESS {json}`` line of a job's logs, or None."""
    for line in reversed(text.splitlines()):
        i = line.find(LOG_MARKER)
        if i >= 0:
            try:
                return json.loads(line[i + len(LOG_MARKER):])
            except json.JSONDecodeError:
                continue
    return None


def format_duration(seconds: float | None) -> str:
    if seconds is None or seconds != seconds or seconds == float("inf"):
        return "?"
    s = int(round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{(s % 3600) // 60:02d}m"


def format_progress(p: dict[str, Any]) -> str:
    """One human line: ``scenes 12/100 (12.0%), 0.52 scenes/s, ETA 2m49s, workers 2/2, ...``."""
    done, total = p.get("scenes_done", 0), p.get("scenes_total", 0)
    pct = 100.0 * done / total if total else 0.0
    parts = [f"scenes {done}/{total} ({pct:.1f}%)"]
    rate = p.get("rate_scenes_per_s")
    if rate:
        parts.append(f"{rate:.3g} scenes/s")
    if p.get("state") == RUNNING:
        parts.append(f"ETA {format_duration(p.get('eta_s'))}")
    parts.append(f"shards {p.get('shards_done', 0)}/{p.get('shards_total', 0)}")
    if "workers_alive" in p and p.get("state") == RUNNING:
        parts.append(f"workers {p['workers_alive']}/{p.get('workers_target', '?')}")
    if p.get("workers_lost"):
        parts.append(f"workers lost {p['workers_lost']}")
    if p.get("retries"):
        parts.append(f"retries {p['retries']}")
    if p.get("skipped_shards"):
        parts.append(f"SKIPPED shards {p['skipped_shards']} (scenes {p.get('skipped_scenes')})")
    return ", ".join(parts)


class JobProgress:
    """Counts scenes and publishes snapshots; optionally drives a terminal bar (``synth.pipeline.job.Progress``)."""

    def __init__(self, out: str, *, job_id: str, scenes_total: int, shards_total: int, scenes_done: int,
                 shards_done: int, bar: bool = False, log_lines: bool = False, write_file: bool = True):
        self.out = out
        self.job_id = job_id
        self.scenes_total = scenes_total
        self.shards_total = shards_total
        self.scenes_done = scenes_done
        self.shards_done = shards_done
        self.scenes_at_start = scenes_done
        self.t0 = time.time()
        self.log_lines = log_lines
        self.write_file = write_file
        self.workers_alive = 0
        self.workers_target = 0
        self.workers_lost = 0
        self.workers_recycled = 0
        self.retries = 0
        self.failures: list[dict[str, Any]] = []
        self.skipped_shards: list[int] = []
        self.skipped_scenes: list[int] = []
        self.message = ""
        self._bar = None
        if bar:
            from synth.pipeline.job import Progress

            self._bar = Progress(scenes_total, scenes_done, enabled=True)

    def shard_done(self, n_scenes: int) -> None:
        self.scenes_done += n_scenes
        self.shards_done += 1
        if self._bar is not None:
            self._bar.update(n_scenes)

    def rate(self) -> float:
        dt = time.time() - self.t0
        return (self.scenes_done - self.scenes_at_start) / dt if dt > 0 else 0.0

    def snapshot(self, state: str = RUNNING) -> dict[str, Any]:
        rate = self.rate()
        left = self.scenes_total - self.scenes_done - len(self.skipped_scenes)
        now = time.time()
        return {
            "job_id": self.job_id, "state": state, "message": self.message,
            "scenes_done": self.scenes_done, "scenes_total": self.scenes_total,
            "scenes_done_this_run": self.scenes_done - self.scenes_at_start,
            "shards_done": self.shards_done, "shards_total": self.shards_total,
            "rate_scenes_per_s": round(rate, 6), "eta_s": (left / rate) if rate > 0 else None,
            "elapsed_s": round(now - self.t0, 3), "started_at": self.t0, "updated_at": now,
            "workers_alive": self.workers_alive, "workers_target": self.workers_target,
            "workers_lost": self.workers_lost, "workers_recycled": self.workers_recycled,
            "retries": self.retries, "failures": self.failures[-20:], "n_failures": len(self.failures),
            "skipped_shards": self.skipped_shards, "skipped_scenes": self.skipped_scenes,
        }

    def publish(self, state: str = RUNNING) -> dict[str, Any]:
        snap = self.snapshot(state)
        if self.write_file:
            try:
                fs.write_json_atomic(progress_url(self.out), snap)
            except Exception as err:  # progress is advisory; never fail a job over it
                log.warning("could not write %s: %s", progress_url(self.out), err)
        if self.log_lines:
            print(LOG_MARKER + json.dumps(snap, separators=(",", ":")), flush=True)
        return snap

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
