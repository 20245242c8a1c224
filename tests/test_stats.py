"""``synth stats`` on a tiny dataset rendered in the test: numbers match the labels, plots and card are written,
and a dataset behind an fsspec URL (memory://) gives the same report."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from synth.cli import main
from synth.io import open_dataset
from synth.pipeline.job import run_local
from synth.recipe import parse_recipe

pytestmark = pytest.mark.blender

TINY = {
    "schema_version": 1, "name": "tiny-stats", "seed": 5, "scenes": 3, "frames_per_scene": 2, "fps": 10,
    "scenes_per_shard": 2, "image": {"width": 64, "height": 64}, "render": {"samples": 2},
    "people": {"count": {"uniform": [1, 2]}, "anny_topology": "notoes_collapse5pc",
               "shape": {"child_fraction": 0.5}, "motion": {"source": {"choice": ["static", "walk"]}}},
    "cameras": [{"name": "main", "fov_deg": 50, "distance_m": {"uniform": [4, 5]}}],
}


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("stats") / "tiny"
    run_local(parse_recipe(TINY, "tiny-stats"), str(out), progress=False)
    return out


def test_stats_report_matches_the_labels(tiny_dataset, tmp_path, capsys):
    dest = tmp_path / "report"
    assert main(["stats", str(tiny_dataset), "--dest", str(dest), "--quiet"]) == 0
    written = capsys.readouterr().out.split()
    for name in ("people.png", "cameras.png", "keypoints.png", "contact.png", "motions.png", "dataset_card.md",
                 "stats.json"):
        assert str(dest / name) in written and os.path.getsize(dest / name) > 500, name
    num = json.loads((dest / "stats.json").read_text())
    frames = list(open_dataset(str(tiny_dataset)))
    people_scenes = {f.scene_index: f.people for f in frames}
    n_people = sum(len(p) for p in people_scenes.values())
    assert num["scenes"] == 3 and num["views"] == len(frames) == 6 and num["people"] == n_people
    assert num["person_frames"] == 2 * n_people
    assert sum(num["sex"].values()) == n_people and sum(num["motions"].values()) == n_people
    ages = sorted(float(p["shape"]["age_years"]) for ps in people_scenes.values() for p in ps)
    assert num["age_years"].startswith(f"{np.median(ages):.3g} ")
    # keypoint visibility: the fraction of person-views whose keypoint is visible, from the reader's labels
    vis = np.concatenate([f.labels["keypoints_visible"] for f in frames])              # (person-views, K)
    names = frames[0].keypoint_names
    for k in (0, 5, len(names) - 1):
        assert num["keypoints"][names[k]]["visible"] == pytest.approx(vis[:, k].mean(), abs=1e-4)
    # feet touch the ground in (nearly) every frame, the head never
    ground = num["contact"]["contact_ground"]
    assert ground["person_frames_with_contact"] >= num["person_frames"] - 1
    feet = max(ground["per_part_fraction"][p] for p in ("left_foot", "left_toes", "right_foot", "right_toes"))
    assert feet > 0.5 and ground["per_part_fraction"]["head"] == 0.0
    # camera: 50 degree horizontal field of view everywhere, people 4-5 m away (+- their offset from the centre)
    assert num["camera_fov_deg"].startswith("50 ")
    assert 2.0 < float(num["camera_distance_m"].split()[0]) < 7.0
    # the worker stores self-contact too (standing and walking people: none or a little, never on the feet alone)
    assert "contact_self" in num["contact"] and "contact_self" in frames[0].people[0]
    assert frames[0].people[0]["contact_self"].shape == frames[0].people[0]["contact_ground"].shape
    card = (dest / "dataset_card.md").read_text()
    assert "## People" in card and "![people](people.png)" in card and "contact_ground" in card


def test_stats_reads_a_dataset_behind_a_url(tiny_dataset, tmp_path):
    import fsspec

    from synth.stats import collect_stats
    from synth.stats.report import report_numbers

    mem = fsspec.filesystem("memory")
    for root, _, files in os.walk(tiny_dataset):
        for name in files:
            rel = Path(root, name).relative_to(tiny_dataset)
            mem.pipe(f"/tiny-url/{rel.as_posix()}", Path(root, name).read_bytes())
    local = report_numbers(collect_stats(str(tiny_dataset), progress=False))
    remote = report_numbers(collect_stats("memory://tiny-url", progress=False))
    local.pop("source"), remote.pop("source")
    assert remote == local
    with pytest.raises(SystemExit):
        main(["stats"])
    assert main(["stats", "memory://tiny-url", "--quiet"]) == 2          # a URL needs --dest: one clear error


def test_stats_counts_scene_contact_per_object(tiny_dataset, tmp_path):
    """Scene-contact labels (as the worker writes them for scenes with props) are counted per object and part."""
    import shutil

    import h5py

    from synth.bodies.parts import SEGMENT_INDEX, vertex_segment_labels
    from synth.bodies.registry import get_body_model
    from synth.stats import collect_stats
    from synth.stats.report import report_numbers

    ds = tmp_path / "ds"
    shutil.copytree(tiny_dataset, ds)
    shard = sorted((ds / "shards").iterdir())[0]
    seg = vertex_segment_labels(get_body_model("anny", topology="notoes_collapse5pc"))
    with h5py.File(shard, "r+") as f:
        sid = sorted(f["scenes"])[0]
        g = f["scenes"][sid]
        env = json.loads(g.attrs["environment"])
        g.attrs["environment"] = json.dumps(env | {"contact_objects": ["synth_room_floor", "synth_prop_chair"]})
        pg = g["people"]["0"]
        T, V = pg["contact_ground"].shape
        lab = np.full((T, V), -1, dtype=np.int32)
        lab[0, seg == SEGMENT_INDEX["buttocks"]] = 1         # frame 0: seated on the chair
        lab[:, seg == SEGMENT_INDEX["left_foot"]] = 0         # every frame: feet on the room's floor
        pg.create_dataset("contact_scene", data=lab)
    num = report_numbers(collect_stats(str(ds), progress=False))
    assert num["contact_objects_person_frames"] == {"synth_prop_chair": 1, "synth_room_floor": T}
    frac = num["contact"]["contact_scene"]["per_part_fraction"]
    assert frac["buttocks"] == pytest.approx(1 / num["person_frames"]) and frac["head"] == 0
    assert frac["left_foot"] == pytest.approx(T / num["person_frames"])
