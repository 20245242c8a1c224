"""Job-level policy and the shard book-keeping of a distributed run (plain Python, no Ray).

``ShardBook`` knows which shards wait, run, are done or skipped, counts failed
attempts per shard and decides, by ``JobPolicy``, whether a failure means
retry, skip or fail. The Ray scheduling loop (``scheduler.py``) only moves
shards between actors; every decision is made here, so it is unit-tested
without a cluster.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Literal

from synth.core.errors import JobError
from synth.pipeline.job import ShardPlan

ON_ERROR_CHOICES = ("fail", "skip")

#: kinds of ShardFailure
SCENE_ERROR = "scene_error"      # a scene raised (SceneError): carries scene index and seeds
SHARD_ERROR = "shard_error"      # the shard failed outside a scene (e.g. writing / uploading the file)
WORKER_LOST = "worker_lost"      # the actor process died (killed, OOM, segfault, node lost)
SHARD_TIMEOUT = "shard_timeout"  # the shard ran longer than JobPolicy.shard_timeout_s; its actor was killed


@dataclass(frozen=True)
class JobPolicy:
    """What a distributed job does about failures and long-lived workers.

    max_shard_retries : failed attempts of one shard that are retried before
        ``on_error`` applies (a shard runs at most ``1 + max_shard_retries`` times).
        Every kind of failure counts, a lost worker too.
    on_error : ``"fail"`` ends the job with a JobError once a shard has no retry
        left (shards already running are finished and recorded first);
        ``"skip"`` leaves that shard out and goes on; the manifest then stays
        incomplete and the run says which shards and scenes are missing.
    recycle_after_scenes : replace an actor (fresh process, fresh Blender) after
        it rendered this many scenes; 0 = never.
    shard_timeout_s : kill an actor whose shard runs longer than this (a hung
        Blender); the shard counts a ``shard_timeout`` failure; 0 = no limit.
    worker_start_timeout_s : fail when no worker actor at all could start for
        this long (the cluster cannot place one: too few CPUs/GPUs, no autoscaling).
    max_worker_start_failures : consecutive actor start failures (crash in the
        constructor, import errors on a node) before the job fails.
    manifest_flush_s : the driver saves ``manifest.json`` (and ``progress.json``)
        at most this often while shards finish, and always at the end or on
        interruption. Unsaved finished shards are redone on resume.
    poll_s : how long the loop waits for results before checking timeouts and
        publishing progress.
    """

    max_shard_retries: int = 2
    on_error: Literal["fail", "skip"] = "fail"
    recycle_after_scenes: int = 1000
    shard_timeout_s: float = 0.0
    worker_start_timeout_s: float = 900.0
    max_worker_start_failures: int = 3
    manifest_flush_s: float = 2.0
    poll_s: float = 1.0

    def __post_init__(self) -> None:
        if not isinstance(self.max_shard_retries, int) or self.max_shard_retries < 0:
            raise JobError(f"max_shard_retries: expected an int >= 0, got {self.max_shard_retries!r}")
        if self.on_error not in ON_ERROR_CHOICES:
            raise JobError(f"on_error: expected one of {ON_ERROR_CHOICES}, got {self.on_error!r}")
        if not isinstance(self.recycle_after_scenes, int) or self.recycle_after_scenes < 0:
            raise JobError(f"recycle_after_scenes: expected an int >= 0 (0 = never), got {self.recycle_after_scenes!r}")
        for name in ("shard_timeout_s", "manifest_flush_s"):
            if getattr(self, name) < 0:
                raise JobError(f"{name}: expected a number >= 0 (0 = off), got {getattr(self, name)!r}")
        if self.worker_start_timeout_s <= 0 or self.poll_s <= 0:
            raise JobError(f"worker_start_timeout_s and poll_s must be > 0, got {self.worker_start_timeout_s!r}, "
                           f"{self.poll_s!r}")
        if not isinstance(self.max_worker_start_failures, int) or self.max_worker_start_failures < 1:
            raise JobError(f"max_worker_start_failures: expected an int >= 1, got {self.max_worker_start_failures!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ShardFailure:
    """One failed attempt of a shard."""

    shard_index: int
    attempt: int            # 1 = first try
    kind: str               # SCENE_ERROR, SHARD_ERROR, WORKER_LOST, SHARD_TIMEOUT
    message: str
    scene_index: int | None = None
    job_seed: int | None = None
    scene_seed: int | None = None
    worker: str | None = None   # "pid 1234 on 10.0.0.5"
    traceback: str | None = None

    def describe(self) -> str:
        where = f"shard {self.shard_index} (attempt {self.attempt})"
        if self.scene_index is not None:
            where += f", scene {self.scene_index} (job seed {self.job_seed}, scene seed {self.scene_seed})"
        if self.worker:
            where += f", worker {self.worker}"
        return f"{where}: {self.kind}: {self.message}"

    def to_dict(self, with_traceback: bool = False) -> dict[str, Any]:
        d = asdict(self)
        if not with_traceback:
            d.pop("traceback")
        return d


Decision = Literal["retry", "skip", "fail"]


@dataclass
class ShardBook:
    """State of every shard of one run: waiting, running, done, skipped; retry decisions."""

    plans: Iterable[ShardPlan]
    policy: JobPolicy = field(default_factory=JobPolicy)

    def __post_init__(self) -> None:
        self.plans = list(self.plans)
        self.by_index = {p.shard_index: p for p in self.plans}
        if len(self.by_index) != len(self.plans):
            raise JobError("ShardBook: duplicate shard indices in the plan")
        self.queue: deque[ShardPlan] = deque(self.plans)
        self.running: set[int] = set()
        self.done: set[int] = set()
        self.skipped: set[int] = set()
        self.failed_attempts: Counter[int] = Counter()
        self.failures: list[ShardFailure] = []
        self.fatal: ShardFailure | None = None
        self.duplicates = 0

    # ------------------------------------------------------------------ queries
    @property
    def outstanding(self) -> int:
        """Shards not yet done or skipped (waiting or running)."""
        return len(self.queue) + len(self.running)

    def attempt_of(self, shard_index: int) -> int:
        """Attempt number of the next (or current) run of this shard, 1-based."""
        return self.failed_attempts[shard_index] + 1

    # ------------------------------------------------------------------ moves
    def take(self) -> ShardPlan | None:
        """Next shard to run (retries first), or None. Not while the job is failing."""
        if self.fatal is not None or not self.queue:
            return None
        plan = self.queue.popleft()
        self.running.add(plan.shard_index)
        return plan

    def finish(self, shard_index: int) -> bool:
        """A shard's result arrived. True if it is new; False for a duplicate (ignore it)."""
        if shard_index not in self.by_index:
            raise JobError(f"result for shard {shard_index}, which is not part of this run")
        self.running.discard(shard_index)
        if shard_index in self.done:
            self.duplicates += 1
            return False
        self.done.add(shard_index)
        self.skipped.discard(shard_index)
        return True

    def fail(self, failure: ShardFailure) -> Decision:
        """Record a failed attempt and decide: retry it, skip it, or fail the job."""
        k = failure.shard_index
        if k not in self.by_index:
            raise JobError(f"failure for shard {k}, which is not part of this run")
        self.running.discard(k)
        self.failures.append(failure)
        if k in self.done:          # a late failure of a shard that already succeeded elsewhere
            return "retry"
        self.failed_attempts[k] += 1
        if self.failed_attempts[k] <= self.policy.max_shard_retries:
            self.queue.appendleft(self.by_index[k])
            return "retry"
        if self.policy.on_error == "skip":
            self.skipped.add(k)
            return "skip"
        if self.fatal is None:
            self.fatal = failure
        return "fail"

    def put_back(self, shard_index: int) -> None:
        """Return a running shard to the front of the queue without counting a failure."""
        if shard_index in self.running:
            self.running.discard(shard_index)
            self.queue.appendleft(self.by_index[shard_index])

    def skipped_scene_indices(self) -> list[int]:
        return sorted(i for k in self.skipped for i in self.by_index[k].scene_indices)
