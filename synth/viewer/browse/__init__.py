"""``synth browse OUT``: a static HTML page (no server) to look through a dataset: thumbnails with overlays,
filters, one frame with its labels, and the ``synth stats`` plots when present."""


def write_browser(out: str, dest: str | None = None, limit: int | None = 2000, stats_dir: str | None = None,
                  progress: bool = False) -> str:
    from synth.viewer.browse.build import write_browser as _write

    return _write(out, dest=dest, limit=limit, stats_dir=stats_dir, progress=progress)


__all__ = ["write_browser"]
