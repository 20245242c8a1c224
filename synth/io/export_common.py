"""What every export shares: image file names, the scene-level train/val split, image writing."""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from synth.core.errors import DatasetError

IMAGE_FORMATS = ("png", "jpg")


def check_image_format(image_format: str) -> None:
    if image_format not in IMAGE_FORMATS:
        raise DatasetError(f"export: image_format must be one of {list(IMAGE_FORMATS)}, got {image_format!r}")


def image_stem(scene_id: str, frame_index: int, view: str) -> str:
    """The file name (without extension) of one view of one frame, the same in every export."""
    return f"{scene_id}_f{frame_index:04d}_{view}"


def write_image(path: Path, rgb: np.ndarray, image_format: str) -> None:
    import imageio.v3 as iio

    path.parent.mkdir(parents=True, exist_ok=True)
    iio.imwrite(path, rgb, **({"quality": 95} if image_format == "jpg" else {}))


def val_scene_indices(scene_indices: Iterable[int], val_fraction: float) -> set[int]:
    """The scenes held out for validation: the last ``round(val_fraction * n)`` scene indices (at least one
    when ``val_fraction > 0`` and there are two scenes or more).

    Splitting by scene keeps every frame and view of a scene (same people, same motion) on one side.
    Scenes are drawn independently from their seeds, so the last ones are as random as any.
    """
    if not 0.0 <= float(val_fraction) < 1.0:
        raise DatasetError(f"export: val_fraction must be in [0, 1), got {val_fraction!r}")
    ids = sorted({int(i) for i in scene_indices})
    if val_fraction == 0 or len(ids) < 2:
        return set()
    n_val = min(len(ids) - 1, max(1, math.floor(val_fraction * len(ids) + 0.5)))
    return set(ids[-n_val:])
