"""Output locations: a local folder or any fsspec URL (s3://, gs://, ...).

Writes are atomic: a local file is written as ``*.tmp`` then ``os.replace``d; on
object stores a finished local file is uploaded in one ``put`` (objects appear
whole or not at all).
"""

from __future__ import annotations

import errno
import json
import os
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from synth.core.errors import DatasetError, JobError

LOCK_NAME = ".lock"


def is_remote(url: str) -> bool:
    return "://" in str(url) and not str(url).startswith("file://")


def local_path(url: str) -> str:
    """A local path for a local output given as a path or a ``file://`` URL."""
    u = str(url)
    return u[len("file://"):] if u.startswith("file://") else u


def _fs(url: str):
    try:
        import fsspec
    except ImportError as err:  # pragma: no cover - fsspec is a core dependency
        raise DatasetError(f"{url}: remote output needs fsspec; pip install fsspec") from err
    fs, path = fsspec.core.url_to_fs(url)
    return fs, path


def join(url: str, *parts: str) -> str:
    return "/".join([str(url).rstrip("/"), *parts]) if is_remote(url) else str(Path(local_path(url), *parts))


def makedirs(url: str) -> None:
    if is_remote(url):
        fs, path = _fs(url)
        fs.makedirs(path, exist_ok=True)
    else:
        Path(local_path(url)).mkdir(parents=True, exist_ok=True)


def exists(url: str) -> bool:
    if is_remote(url):
        fs, path = _fs(url)
        return fs.exists(path)
    return Path(local_path(url)).exists()


def local_scratch_dir(out_url: str) -> str:
    """A folder for temp files on the same filesystem as a local output (so os.replace is atomic)."""
    if is_remote(out_url):
        return tempfile.mkdtemp(prefix="synth-")
    d = Path(local_path(out_url)) / ".tmp"
    d.mkdir(parents=True, exist_ok=True)
    return str(d)


def publish_file(local_tmp: str, url: str) -> None:
    """Move a finished local file to ``url`` atomically."""
    if is_remote(url):
        fs, path = _fs(url)
        fs.put_file(local_tmp, path)
        os.remove(local_tmp)
        parent = os.path.dirname(local_tmp)
        if os.path.basename(parent).startswith("synth-"):   # a local_scratch_dir of a remote output
            try:
                os.rmdir(parent)
            except OSError:
                pass
    else:
        dest = Path(local_path(url))
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(local_tmp, dest)


def write_bytes_atomic(url: str, data: bytes) -> None:
    if is_remote(url):
        fd, tmp = tempfile.mkstemp(prefix="synth-", suffix=".tmp")
    else:
        dest = Path(local_path(url))
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=dest.name + ".", suffix=".tmp", dir=str(dest.parent))
    try:
        os.fchmod(fd, 0o644)  # readable by others on shared storage, like any written file
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        publish_file(tmp, url)
    except BaseException as err:
        try:
            os.remove(tmp)
        except OSError:
            pass
        if isinstance(err, OSError) and err.errno == errno.ENOSPC:
            raise DatasetError(f"disk full at {url}: no space left to write it; free space and run the same "
                               "command again to resume") from None
        raise


def write_json_atomic(url: str, obj: Any) -> None:
    write_bytes_atomic(url, json.dumps(obj, indent=2, sort_keys=False).encode("utf-8"))


def read_bytes(url: str) -> bytes:
    if is_remote(url):
        fs, path = _fs(url)
        with fs.open(path, "rb") as f:
            return f.read()
    return Path(local_path(url)).read_bytes()


def open_binary(url: str):
    if is_remote(url):
        fs, path = _fs(url)
        return fs.open(path, "rb")
    return open(local_path(url), "rb")


# ------------------------------------------------------------------------------- checks before a run
def check_output_location(url: str) -> None:
    """Fail early, creating nothing, when ``url`` cannot be an output folder: empty, an unknown URL
    scheme, an existing file, or a local place this process cannot create folders in."""
    u = str(url)
    if not u.strip():
        raise JobError("--out: got an empty path; give a folder for the dataset, e.g. --out out/demo")
    if is_remote(u):
        proto = u.split("://", 1)[0]
        try:
            import fsspec

            known = set(fsspec.available_protocols())
        except ImportError:  # pragma: no cover - fsspec is a core dependency
            known = set()
        if proto not in known:
            raise JobError(f"--out: unknown URL scheme {proto!r} in {u[:200]!r}; expected a local folder or an "
                           "fsspec URL such as s3://bucket/path, gs://bucket/path")
        return
    p = Path(local_path(u)).expanduser()
    if p.exists() and not p.is_dir():
        raise JobError(f"--out: {p} is an existing file, expected a folder (new or a dataset to resume); "
                       "choose another path")
    anc = p
    while not anc.exists():
        if anc.parent == anc:
            break
        anc = anc.parent
    if not anc.is_dir():
        raise JobError(f"--out: {anc} is a file, so {p} cannot be created; choose another path")
    try:   # what os.access cannot tell: a read-only mount, /proc, a full inode table
        probe = tempfile.mkdtemp(prefix=".synth-probe-", dir=str(anc))
        os.rmdir(probe)
    except OSError as err:
        raise JobError(f"--out: cannot create folders in {anc} ({err.strerror}); choose a writable path") from None


class OutputLock:
    """An exclusive advisory lock on an output folder (``OUT/.lock``, ``flock``): one run writes a dataset
    at a time. The lock goes with the process (a killed run leaves no stale lock); the file names the
    holder (pid, host, command) for the error a second run gets. Local folders only (no-op for URLs)."""

    def __init__(self, out: str):
        self.out = str(out)
        self.path = None if is_remote(self.out) else os.path.join(local_path(self.out), LOCK_NAME)
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        if self.path is None or self._fd is not None:
            return
        import fcntl

        for _ in range(10):
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as err:
                holder = _read_holder(fd)
                os.close(fd)
                if err.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    raise JobError(f"{self.out}: another synth run is writing this folder ({holder}); wait for it "
                                   "to finish or stop it, or choose another --out") from None
                raise
            try:   # the file may have been removed by its previous holder between open and flock: retry
                if os.fstat(fd).st_ino == os.stat(self.path).st_ino:
                    break
            except FileNotFoundError:
                pass
            os.close(fd)
        else:  # pragma: no cover - ten races in a row
            raise JobError(f"{self.out}: could not take the folder lock {self.path}; try again")
        info = (f"pid {os.getpid()} on {socket.gethostname()}, started {time.strftime('%Y-%m-%d %H:%M:%S')}, "
                f"command: {' '.join(sys.argv)[:300]}")
        os.ftruncate(fd, 0)
        os.pwrite(fd, info.encode("utf-8", "replace") + b"\n", 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is None:
            return
        try:
            os.remove(self.path)   # while still locked: a waiting run then opens a fresh file
        except OSError:
            pass
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> "OutputLock":
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def _read_holder(fd: int) -> str:
    try:
        text = os.pread(fd, 1000, 0).decode("utf-8", "replace").strip()
    except OSError:
        text = ""
    return text or "holder unknown"
