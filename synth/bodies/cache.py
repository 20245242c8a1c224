"""On-disk cache for built body-model data: location, inter-process lock, atomic writes.

``$SYNTH_CACHE_DIR`` (default ``~/.cache/synth``) holds everything synth builds
once and reloads afterwards, e.g. ``anny/<topology>-<rig>.safetensors``.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path

logger = logging.getLogger(__name__)


def synth_cache_dir() -> Path:
    """``$SYNTH_CACHE_DIR`` or ``~/.cache/synth`` (not created)."""
    env = os.environ.get("SYNTH_CACHE_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "synth"


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Exclusive inter-process lock on ``path`` (created if needed), released on exit.

    Blocks while another process holds it (e.g. is building the same model);
    logs once when it has to wait.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            logger.info("waiting for another process holding %s", path)
            t0 = time.monotonic()
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            logger.info("got %s after %.1f s", path, time.monotonic() - t0)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


