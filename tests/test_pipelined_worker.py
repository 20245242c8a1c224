"""The pipelined ``SceneWorker`` (labels and the next scene computed on a background thread while Cycles renders)
writes the same shards, byte for byte, as the serial one, and fails the same way.

A tiny recipe with what the background thread computes: two people, procedural garments (outer surfaces in the
visibility test), a prop someone may sit on (scene contact), two cameras (one BVH cache per view), two shards.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from synth.io.shards import sha256_file
from synth.pipeline.job import run_local
from synth.pipeline.worker import SceneError, SceneWorker
from synth.recipe import parse_recipe

pytestmark = [pytest.mark.blender, pytest.mark.torch]

TINY = {
    "schema_version": 1, "name": "piped", "seed": 21, "scenes": 3, "frames_per_scene": 2, "fps": 10,
    "scenes_per_shard": 2, "image": {"width": 48, "height": 48}, "render": {"samples": 1},
    "people": {"count": 2, "clothing": {"source": "procedural"},
               "motion": {"source": {"choice": ["static", "walk"]}},
               "placement": {"area_radius_m": 1.0, "min_separation_m": 0.3}},
    "cameras": [{"name": "front", "fov_deg": 50, "distance_m": 4.5},
                {"name": "side", "fov_deg": 45, "distance_m": 5.0, "azimuth_deg": 90}],
    "environment": {"props": {"count": 1, "kinds": "box", "area_radius_m": 1.5, "sit_probability": 0.5}},
}


def _recipe(**overrides):
    return parse_recipe({**TINY, **overrides}, "piped")


#: the error tests only need scenes that render fast
PLAIN = {"people": {"count": 1, "anny_topology": "notoes_collapse5pc"}, "environment": {},
         "cameras": TINY["cameras"][:1]}


def _shard_digests(out: Path) -> dict[str, str]:
    return {p.name: sha256_file(str(p)) for p in sorted((out / "shards").glob("*.h5"))}


def test_pipelined_shards_equal_serial_shards_byte_for_byte(tmp_path):
    digests = {}
    for mode in (True, False):
        out = tmp_path / f"pipeline_{mode}"
        worker = SceneWorker(_recipe(), str(out), pipeline=mode)
        try:
            run_local(_recipe(), str(out), progress=False, worker=worker)
        finally:
            worker.close()
        digests[mode] = _shard_digests(out)
    assert len(digests[True]) == 2
    assert digests[True] == digests[False]


class FailingWorker(SceneWorker):
    """Raises inside the steps the background thread runs: the view labels of one scene, the preparation
    (sampling, posing, contact) of another."""

    def __init__(self, *args, fail_labels: int | None = None, fail_prepare: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fail_labels, self.fail_prepare = fail_labels, fail_prepare

    def _prepare(self, scene_index):
        if scene_index == self.fail_prepare:
            raise ValueError(f"prepare of scene {scene_index} broke")
        return super()._prepare(scene_index)

    def _frame_labels(self, prep, cam_t, out, t, bvh_cache):
        if prep.spec.scene_index == self.fail_labels:
            raise ValueError(f"labels of scene {prep.spec.scene_index} broke at frame {t}")
        return super()._frame_labels(prep, cam_t, out, t, bvh_cache)


@pytest.mark.parametrize("fail", [{"fail_labels": 1}, {"fail_prepare": 1}, {"fail_labels": 0, "fail_prepare": 1}])
def test_background_error_raises_the_first_failing_scene_like_the_serial_path(tmp_path, fail):
    messages = {}
    for mode in (True, False):
        out = tmp_path / f"pipeline_{mode}"
        (out / "shards").mkdir(parents=True)
        worker = FailingWorker(_recipe(**PLAIN), str(out), pipeline=mode, **fail)
        try:
            with pytest.raises(SceneError) as info:
                worker.run_shard(0, [0, 1])
            messages[mode] = str(info.value)
            assert info.value.scene_index == min(fail.values())
            assert "broke" in str(info.value) and isinstance(info.value.cause, ValueError)
            assert os.listdir(out / "shards") == []          # nothing published, as the serial path
            # the worker goes on after a failed shard: the next one renders and is published
            rec = worker.run_shard(1, [2])
            assert rec.n_scenes == 1 and (out / "shards" / rec.name).exists()
        finally:
            worker.close()
    assert messages[True] == messages[False]


def test_a_wrong_next_scene_hint_changes_nothing(tmp_path):
    """The prefetched scene is dropped when the next call starts with another one."""
    digests = {}
    for mode, hint in ((True, 2), (False, None)):
        out = tmp_path / f"pipeline_{mode}"
        (out / "shards").mkdir(parents=True)
        worker = SceneWorker(_recipe(**PLAIN), str(out), pipeline=mode)
        try:
            worker.run_shard(0, [0], next_scene=hint)     # says scene 2 comes next; scene 1 does
            worker.run_shard(1, [1])
        finally:
            worker.close()
        digests[mode] = _shard_digests(out)
    assert len(digests[True]) == 2 and digests[True] == digests[False]
