"""``synth generate --device``: overrides the recipe's render.device; a GPU asked for on a machine
without one is one clear error line (the test suite stays on the CPU)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from synth.cli import build_parser, main, with_render_device
from synth.recipe import load_recipe

ROOT = Path(__file__).resolve().parents[1]


def test_device_option_overrides_recipe():
    recipe = load_recipe(ROOT / "scenes" / "demo.yaml")
    assert recipe.render.device == "auto"
    assert with_render_device(recipe, None) is recipe
    assert with_render_device(recipe, "cpu").render.device == "cpu"
    assert with_render_device(recipe, "cpu").render.samples == recipe.render.samples
    with pytest.raises(SystemExit):
        build_parser().parse_args(["generate", "x.yaml", "--out", "o", "--device", "tpu"])


def test_generate_device_cpu_renders_and_records_it(tmp_path, capsys):
    recipe_path = tmp_path / "tiny.yaml"
    text = (ROOT / "scenes" / "demo.yaml").read_text()
    text = text.replace("image: {width: 256, height: 256}", "image: {width: 48, height: 48}")
    text = text.replace("render: {samples: 16}", "render: {samples: 1}").replace("frames_per_scene: 2", "frames_per_scene: 1")
    recipe_path.write_text(text)
    out = tmp_path / "out"
    assert main(["generate", str(recipe_path), "--out", str(out), "--scenes", "1", "--device", "cpu", "--quiet"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["recipe"]["render"]["device"] == "cpu"
    assert len(manifest["shards"]) == 1
    # the device says how a job runs, not what it makes: the same dataset resumes with another device ...
    shard = out / "shards" / manifest["shards"][0]["name"]
    before = shard.stat().st_mtime_ns
    assert main(["generate", str(recipe_path), "--out", str(out), "--scenes", "1", "--device", "auto", "--quiet"]) == 0
    assert shard.stat().st_mtime_ns == before          # nothing redone
    # ... while another seed is another dataset, refused with one line
    capsys.readouterr()
    assert main(["generate", str(recipe_path), "--out", str(out), "--scenes", "1", "--seed", "8", "--quiet"]) == 2
    assert "different recipe" in capsys.readouterr().err


def test_generate_device_gpu_without_gpu_is_one_error_line(tmp_path, capsys):
    pytest.importorskip("bpy")
    import bpy

    prefs = bpy.context.preferences.addons["cycles"].preferences
    if any(prefs.get_devices_for_type(t) and any(d.type == t for d in prefs.get_devices_for_type(t))
           for t in ("OPTIX", "CUDA", "HIP", "ONEAPI", "METAL")
           if t in prefs.bl_rna.properties["compute_device_type"].enum_items):
        pytest.skip("this machine has a Cycles GPU device")
    rc = main(["generate", str(ROOT / "scenes" / "demo.yaml"), "--out", str(tmp_path / "o"), "--scenes", "1",
               "--device", "gpu", "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2
    assert err[0].startswith("error:") and "no Cycles GPU device found" in err[0] and "device='auto' or 'cpu'" in err[0]
