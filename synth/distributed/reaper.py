"""A watchdog that takes the embedded Ray down with the process that started it.

``ray.init(address="local")`` starts a GCS, a raylet, two agents and worker
processes. When the driver ends normally, ``ray.shutdown()`` stops them; when it
is killed (``kill -9``, the OOM killer) some of them (the dashboard and
runtime-env agents) outlive it. ``start_reaper()`` launches this module as a
small separate process (own session, so a terminal's Ctrl-C does not reach it)
that:

- every ``poll_s`` records the Ray processes of this driver: its children whose
  command line names the Ray temp folder, and their descendants (pid + start
  time, read from ``/proc``: Linux only; elsewhere no reaper is started),
- notices the driver's end as end-of-file on a pipe only the driver holds,
- then SIGTERMs the recorded processes still alive (same pid *and* start
  time, so a reused pid is never hit), SIGKILLs what is left after a grace
  period, and removes the Ray temp folder (unless told to keep it).

It only ever signals processes that were descendants of its own driver.
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import sys
import time


def _proc_table() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, start time in clock ticks as text) for every process we can read."""
    out: dict[int, tuple[int, str]] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat", "rb") as f:
                tail = f.read().rsplit(b")", 1)[1].split()
            out[int(d)] = (int(tail[1]), tail[19].decode())
        except (OSError, IndexError, ValueError):
            continue
    return out


def descendants(pid: int, table: dict[int, tuple[int, str]] | None = None) -> dict[int, str]:
    """{pid: start time} of every descendant of ``pid``."""
    table = table if table is not None else _proc_table()
    kids: dict[int, list[int]] = {}
    for p, (pp, _) in table.items():
        kids.setdefault(pp, []).append(p)
    found: dict[int, str] = {}
    todo = [pid]
    while todo:
        for c in kids.get(todo.pop(), []):
            if c not in found:
                found[c] = table[c][1]
                todo.append(c)
    return found


def ray_processes(parent: int, temp_dir: str) -> dict[int, str]:
    """{pid: start time} of the Ray processes ``parent`` started with ``temp_dir`` and their descendants."""
    table = _proc_table()
    key = temp_dir.encode()
    found: dict[int, str] = {}
    for pid, (pp, start) in table.items():
        if pp != parent:
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if key not in f.read():
                    continue
        except OSError:
            continue
        found[pid] = start
        found.update(descendants(pid, table))
    return found


def _alive(pid: int, start: str) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            tail = f.read().rsplit(b")", 1)[1].split()
        return tail[19].decode() == start and tail[0] != b"Z"
    except (OSError, IndexError):
        return False


def reap(tracked: dict[int, str], grace_s: float = 3.0) -> int:
    """SIGTERM the tracked processes still alive, SIGKILL them after ``grace_s``; returns how many were alive."""
    table = _proc_table()
    # processes the tracked ones started since the last poll are theirs too
    for pid in list(tracked):
        tracked.update(descendants(pid, table))
    alive = {p: s for p, s in tracked.items() if _alive(p, s)}
    for p in alive:
        try:
            os.kill(p, signal.SIGTERM)
        except OSError:
            pass
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and any(_alive(p, s) for p, s in alive.items()):
        time.sleep(0.1)
    for p, s in alive.items():
        if _alive(p, s):
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass
    return len(alive)


def watch(parent: int, temp_dir: str, keep_temp: bool, poll_s: float = 0.5) -> None:
    """Track ``parent``'s Ray processes until stdin reaches end-of-file (the parent is gone), then reap them."""
    tracked: dict[int, str] = {}
    while True:
        ready, _, _ = select.select([sys.stdin.buffer], [], [], poll_s)
        if ready and not os.read(sys.stdin.fileno(), 4096):
            break
        tracked = {p: s for p, s in tracked.items() if _alive(p, s)}
        tracked.update(ray_processes(parent, temp_dir))
    tracked.pop(os.getpid(), None)
    reap(tracked)
    if temp_dir and not keep_temp:
        shutil.rmtree(temp_dir, ignore_errors=True)


def start_reaper(temp_dir: str, keep_temp: bool = False) -> subprocess.Popen | None:
    """Start the watchdog for this process (None where ``/proc`` is missing). Keep the returned object
    alive as long as the embedded Ray runs; ``stop_reaper`` ends it after a normal ``ray.shutdown``."""
    if not os.path.isdir("/proc/self"):
        return None
    # run as a plain script (-P: without its folder on sys.path): it needs only the standard library
    return subprocess.Popen([sys.executable, "-P", os.path.abspath(__file__), str(os.getpid()), temp_dir,
                             "1" if keep_temp else "0"], stdin=subprocess.PIPE, start_new_session=True,
                            close_fds=True)


def stop_reaper(proc: subprocess.Popen | None, timeout_s: float = 10.0) -> None:
    """Close the pipe (the reaper then cleans whatever is left and exits) and wait for it."""
    if proc is None:
        return
    try:
        proc.stdin.close()
        proc.wait(timeout=timeout_s)
    except (OSError, subprocess.TimeoutExpired):
        proc.kill()


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    watch(int(sys.argv[1]), sys.argv[2], sys.argv[3] == "1")
