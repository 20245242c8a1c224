"""A tiny real dataset shared by the io / export / browse tests: recipe -> Anny -> Blender -> HDF5.

3 scenes x 2 frames x 2 cameras (a pinhole and an equidistant fisheye), 64 px, 2 samples, 2, 1 and 2 people
(ages 22 + 6, 60, 8 + 63 with this seed), static or walking, COCO-WholeBody keypoints (133). Rendered once
per test session (a few seconds) and shared read-only.
"""

from __future__ import annotations

from pathlib import Path

from synth.pipeline.job import run_local
from synth.recipe import parse_recipe

TINY_WHOLEBODY = {
    "schema_version": 1, "name": "tinywb", "seed": 17, "scenes": 3, "frames_per_scene": 2, "fps": 10,
    "scenes_per_shard": 2, "image": {"width": 64, "height": 64}, "render": {"samples": 2},
    "people": {"count": {"choice": [1, 2]}, "anny_topology": "notoes_collapse5pc", "keypoint_set": "wholebody",
               "shape": {"child_fraction": 0.5},
               "motion": {"source": {"choice": ["static", "walk"]}}},
    "cameras": [{"name": "main", "fov_deg": 50, "distance_m": {"uniform": [4, 5]}},
                {"name": "fish", "model": "fisheye_equidistant", "fov_deg": 150,
                 "distance_m": {"uniform": [2.5, 3.0]}}],
}
N_SCENES, N_FRAMES, N_VIEWS = 3, 2, 2

_CACHE: dict[str, Path] = {}


def tiny_wholebody_dataset(tmp_path_factory) -> Path:
    """The dataset folder (rendered on first use in this session)."""
    if "wb" not in _CACHE:
        out = tmp_path_factory.mktemp("tinywb") / "ds"
        run_local(parse_recipe(TINY_WHOLEBODY, "tinywb"), str(out), progress=False)
        _CACHE["wb"] = out
    return _CACHE["wb"]
