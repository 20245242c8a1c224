"""Atomic writes of local files: write a temp file beside the target, then ``os.replace`` it.

Readers never see a half-written file; a crash leaves at most a ``*.tmp`` beside the target, which the
next write of the same target replaces. (Writes to a remote URL go through ``synth.io.fs``, which
stages the file locally with these helpers first.)
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable


def atomic_write(path: str | os.PathLike, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp_path)`` to fill a temp file, then move it onto ``path`` atomically.

    The temp file sits in the target's folder (same filesystem, so the rename is atomic) and carries the
    process id, so two processes writing the same target never share a temp file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_bytes_atomic(path: str | os.PathLike, data: bytes, *, fsync: bool = True) -> None:
    """Write ``data`` to ``path`` atomically; ``fsync``: flushed to disk before the rename (turn it off for many
    small files whose loss on a power cut is harmless, e.g. per-image label files of an export)."""
    def _write(tmp: Path) -> None:
        with open(tmp, "wb") as f:
            f.write(data)
            if fsync:
                f.flush()
                os.fsync(f.fileno())

    atomic_write(path, _write)


def write_text_atomic(path: str | os.PathLike, text: str, *, fsync: bool = True) -> None:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    write_bytes_atomic(path, text.encode("utf-8"), fsync=fsync)


def write_json_atomic(path: str | os.PathLike, data: Any) -> None:
    """Write ``data`` as indented JSON (with a final newline) to ``path`` atomically."""
    write_text_atomic(path, json.dumps(data, indent=2, sort_keys=False) + "\n")
