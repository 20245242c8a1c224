"""Output locations: a local folder or any fsspec URL (s3://, gs://, ...).

Writes are atomic: a local file is written as ``*.tmp`` then ``os.replace``d; on
object stores a finished local file is uploaded in one ``put`` (objects appear
whole or not at all).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from synth.core.errors import DatasetError


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
    os.fchmod(fd, 0o644)  # readable by others on shared storage, like any written file
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    publish_file(tmp, url)


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
