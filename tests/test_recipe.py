"""Recipe validation: bad recipes fail with the field path, what was found and what was expected."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from synth.core.errors import RecipeError
from synth.recipe import load_recipe, load_recipe_text, parse_recipe, recipe_to_dict
from synth.recipe.distributions import Choice, Normal, Uniform

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "scenes" / "demo.yaml"


def demo_dict() -> dict:
    return yaml.safe_load(DEMO.read_text())


def test_demo_recipe_is_valid():
    r = load_recipe(DEMO)
    assert r.scenes == 6 and r.image.width == 256
    assert r.cameras[0].model == "pinhole"


def _error_for(d: dict) -> str:
    with pytest.raises(RecipeError) as info:
        parse_recipe(d, "bad.yaml")
    return str(info.value)


def test_unknown_key_names_path():
    d = demo_dict()
    d["people"]["shape"]["agee_years"] = {"uniform": [1, 2]}
    msg = _error_for(d)
    assert "people.shape.agee_years" in msg and "unknown key" in msg


def test_wrong_type_names_path_and_value():
    d = demo_dict()
    d["image"]["width"] = "wide"
    msg = _error_for(d)
    assert "image.width" in msg and "'wide'" in msg


def test_empty_range():
    d = demo_dict()
    d["cameras"][0]["distance_m"] = {"uniform": [6.0, 4.0]}
    msg = _error_for(d)
    assert "cameras[0].distance_m" in msg and "empty range" in msg
    # only the branch the user wrote is reported: one line, not one complaint per distribution kind
    assert msg.count("cameras[0].distance_m") == 1, msg


def test_misspelt_distribution_says_what_is_expected():
    d = demo_dict()
    d["cameras"][0]["distance_m"] = {"unifrom": [4.0, 6.0]}
    d["people"]["shape"]["age_years"] = {"normal": {"mean": 30}}
    lines = _error_for(d).splitlines()[1:]
    assert len(lines) == 2, lines
    assert any(ln.strip().startswith("cameras[0].distance_m: expected a number or a distribution: {uniform: [low, high]}")
               and "'unifrom'" in ln for ln in lines), lines
    assert any(ln.strip().startswith("people.shape.age_years.normal.std: required field is missing") for ln in lines)


def test_negative_size():
    d = demo_dict()
    d["image"]["height"] = -64
    msg = _error_for(d)
    assert "image.height" in msg and "greater than 0" in msg


def test_missing_file(tmp_path):
    d = demo_dict()
    d["people"]["motion"] = {"source": "bvh", "files": [str(tmp_path / "nope.bvh")]}
    msg = _error_for(d)
    assert "people.motion.files" in msg and "does not exist" in msg
    with pytest.raises(RecipeError, match="recipe file not found"):
        load_recipe(tmp_path / "missing.yaml")


def test_invalid_yaml_reports_line(tmp_path):
    bad = "schema_version: 1\nscenes: 3\nimage: {width: 64, height: 64\npeople:\n  count: 1\n"
    with pytest.raises(RecipeError) as info:
        load_recipe_text(bad, "broken.yaml")
    assert "invalid YAML at line" in str(info.value)


def test_schema_version_missing_or_wrong():
    d = demo_dict()
    del d["schema_version"]
    assert "schema_version" in _error_for(d)
    d["schema_version"] = 99
    assert "expected 1" in _error_for(d)


def test_out_of_range_distribution():
    d = demo_dict()
    d["people"]["count"] = {"uniform": [0, 20]}
    assert "people.count" in _error_for(d)
    d = demo_dict()
    d["people"]["motion"]["source"] = {"choice": ["walk", "moonwalk"]}
    assert "moonwalk" in _error_for(d)


def test_resolved_recipe_round_trips():
    r = load_recipe(DEMO)
    assert parse_recipe(recipe_to_dict(r)) == r


def test_distributions_sample_within_bounds():
    rng = np.random.default_rng(0)
    u = Uniform(uniform=(1.0, 2.0))
    xs = [u.sample(rng) for _ in range(200)]
    assert 1.0 <= min(xs) and max(xs) <= 2.0 and np.std(xs) > 0.2
    n = Normal(normal={"mean": 0.0, "std": 1.0, "clip": [-0.5, 0.5]})
    xs = [n.sample(rng) for _ in range(200)]
    assert -0.5 <= min(xs) and max(xs) <= 0.5
    c = Choice(choice=["a", "b"], weights=[0.0, 1.0])
    assert {c.sample(rng) for _ in range(50)} == {"b"}


def test_cli_validate_reports_error_and_exit_code(tmp_path):
    bad = tmp_path / "bad.yaml"
    d = demo_dict()
    d["render"]["samples"] = 0
    bad.write_text(yaml.safe_dump(d))
    res = subprocess.run([sys.executable, "-m", "synth.cli", "validate", str(bad)], capture_output=True, text=True)
    assert res.returncode == 2
    assert "render.samples" in res.stderr
    ok = subprocess.run([sys.executable, "-m", "synth.cli", "validate", str(DEMO)], capture_output=True, text=True)
    assert ok.returncode == 0 and "valid recipe 'demo'" in ok.stdout
