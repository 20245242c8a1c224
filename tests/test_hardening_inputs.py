"""Bad recipes and bad command lines fail before any work: one message naming the field or argument, what
was found and what was expected; no traceback; no output folder left behind.

Each row runs the real ``synth`` command line in-process (``synth.cli.main``), so nothing renders: every
row must be refused before Blender or Ray would start. A few rows run it as a real subprocess too.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from synth.cli import main

ROOT = Path(__file__).resolve().parents[1]

BASE = textwrap.dedent("""\
    schema_version: 1
    name: t
    scenes: 2
    scenes_per_shard: 1
    image: {width: 64, height: 48}
    render: {samples: 1}
    """)


def _with(extra: str) -> str:
    return BASE + textwrap.dedent(extra)


def _bvh_not_bvh(tmp: Path) -> str:
    p = tmp / "walk.bvh"
    p.write_text("this is not motion capture\n")
    return _with(f"""\
        people:
          motion: {{source: bvh, files: ['{p}']}}
        """)


def _empty_smplx(tmp: Path) -> str:
    d = tmp / "smplx_empty"
    d.mkdir()
    return _with(f"people: {{body_model: smplx, smplx_model_dir: '{d}'}}\n")


def _alias_bomb() -> str:
    lines = ['a0: &a0 ["xxxxxxxxxxxxxxxx", "xxxxxxxxxxxxxxxx", "xxxxxxxxxxxxxxxx", "xxxxxxxxxxxxxxxx"]']
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    return BASE + "bogus:\n" + "\n".join("  " + ln for ln in lines) + "\n"


# (id, recipe text / bytes / callable(tmp) -> text, what the message must contain)
RECIPE_ROWS = [
    ("non_utf8", BASE.encode() + b"name: caf\xe9\n", ["line 7", "not UTF-8"]),
    ("utf16", BASE.encode("utf-16"), ["UTF-16", "expected UTF-8"]),
    ("deep_nesting", BASE + "x: " + "[" * 5000 + "]" * 5000 + "\n", ["nesting"]),
    ("deep_nesting_block", BASE + "".join("  " * i + f"k{i}:\n" for i in range(60)) + "  " * 60 + "v: 1\n",
     ["nesting deeper than 32"]),
    ("alias_bomb", _alias_bomb(), ["expands to over 100000 values"]),
    ("too_big", BASE + "# " + "x" * (1 << 20) + "\n", ["bytes, expected at most 1048576"]),
    ("duplicate_key", BASE + "image: {width: 4096, height: 48}\n", ["duplicate key 'image' at lines 5 and 7"]),
    ("duplicate_nested_key", _with("render:\n  samples: 1\n  samples: 8\n"), ["duplicate key"]),
    ("scenes_bool", BASE.replace("scenes: 2", "scenes: true"), ["scenes", "valid integer", "True"]),
    ("scenes_string", BASE.replace("scenes: 2", "scenes: '2'"), ["scenes", "valid integer"]),
    ("scenes_float", BASE.replace("scenes: 2", "scenes: 2.5"), ["scenes", "valid integer"]),
    ("scenes_huge", BASE.replace("scenes: 2", "scenes: 1000000000"), ["scenes", "less than or equal to 1000000"]),
    ("scenes_zero", BASE.replace("scenes: 2", "scenes: 0"), ["scenes", "greater than 0"]),
    ("seed_negative", _with("seed: -1\n"), ["seed", "greater than or equal to 0"]),
    ("width_float", BASE.replace("width: 64", "width: 64.5"), ["image.width", "valid integer"]),
    ("width_bool", BASE.replace("width: 64", "width: yes"), ["image.width", "valid integer"]),
    ("fov_nan", _with("cameras: [{fov_deg: .nan}]\n"), ["cameras[0].fov_deg", "finite number"]),
    ("distance_inf", _with("cameras: [{distance_m: .inf}]\n"), ["cameras[0].distance_m"]),
    ("uniform_inf", _with("cameras: [{distance_m: {uniform: [1, .inf]}}]\n"), ["distance_m", "finite number"]),
    ("fps_nan", _with("fps: .nan\n"), ["fps", "finite number"]),
    ("ground_size_nan", _with("environment: {ground: {size_m: .nan}}\n"), ["environment.ground.size_m", "finite"]),
    ("shake_nan", _with("cameras: [{shake_m: .nan}]\n"), ["cameras[0].shake_m", "finite"]),
    ("weights_nan", _with("people: {count: {choice: [1, 2], weights: [.nan, 1]}}\n"), ["people.count", "finite"]),
    ("area_power_negative", _with("environment: {lighting: {area_power_w: -5}}\n"),
     ["environment.lighting.area_power_w", "below the minimum 0"]),
    ("walk_speed_negative", _with("people: {motion: {speed_mps: -1}}\n"), ["people.motion.speed_mps", "minimum"]),
    ("area_count_negative", _with("environment: {lighting: {area_count: -3}}\n"), ["area_count", "minimum 0"]),
    ("kelvin_negative", _with("environment: {lighting: {color_temperature_k: -500}}\n"),
     ["color_temperature_k", "minimum 1000"]),
    ("placement_impossible", _with("people: {count: 10, placement: {area_radius_m: 0.1, min_separation_m: 1.0}}\n"),
     ["people: ", "cannot fit within area_radius_m 0.1"]),
    ("bvh_not_bvh", _bvh_not_bvh, ["people.motion.files", "not a BVH motion file"]),
    ("motion_file_missing", _with("people: {motion: {source: bvh, files: [/nonexistent/walk.bvh]}}\n"),
     ["people.motion.files", "does not exist"]),
    ("smplx_dir_missing", _with("people: {body_model: smplx, smplx_model_dir: /nonexistent/smplx}\n"),
     ["people.smplx_model_dir", "does not exist"]),
    ("smplx_dir_empty", _empty_smplx, ["SMPLX_NEUTRAL.npz not found"]),
    ("smplx_children", _with("people: {body_model: smplx, shape: {child_fraction: 1.0}}\n"),
     ["shape.child_fraction", "adult shapes only"]),
    ("unknown_key", _with("renderr: {samples: 1}\n"), ["renderr: unknown key"]),
    ("missing_image", BASE.replace("image: {width: 64, height: 48}\n", ""), ["image: required field is missing"]),
    ("schema_version", BASE.replace("schema_version: 1", "schema_version: 2"), ["schema_version: expected 1"]),
    ("schema_version_bool", BASE.replace("schema_version: 1", "schema_version: true"),
     ["schema_version: expected 1"]),
    ("top_level_list", "- a\n- b\n", ["expected a mapping at the top level"]),
    ("empty_range", _with("cameras: [{distance_m: {uniform: [5, 3]}}]\n"), ["cameras[0].distance_m", "empty range"]),
    ("count_bool_in_range", _with("people: {count: {uniform: [true, 2]}}\n"), ["people.count", "valid number"]),
    ("name_with_slash", BASE.replace("name: t", "name: a/b"), ["name", "pattern"]),
    ("yaml_syntax", BASE + "image: [\n", ["invalid YAML at line"]),
]


def _write_recipe(tmp: Path, content) -> Path:
    if callable(content):
        content = content(tmp)
    p = tmp / "recipe.yaml"
    p.write_bytes(content if isinstance(content, bytes) else content.encode())
    return p


def _run(argv: list[str], capsys) -> tuple[int, str]:
    try:
        rc = main(argv)
    except SystemExit as e:   # argparse
        rc = e.code
    err = capsys.readouterr().err
    return rc, err


def _assert_one_clear_error(rc: int, err: str, expect: list[str]) -> None:
    assert rc == 2, err
    assert "Traceback" not in err
    assert err.count("error:") == 1, err
    assert len(err) < 2000, err[:500]
    for piece in expect:
        assert piece in err, f"{piece!r} not in {err!r}"


@pytest.mark.parametrize("content,expect", [r[1:] for r in RECIPE_ROWS], ids=[r[0] for r in RECIPE_ROWS])
def test_bad_recipe_fails_validate_and_generate_before_any_work(tmp_path, capsys, content, expect):
    recipe = _write_recipe(tmp_path, content)
    rc, err = _run(["validate", str(recipe)], capsys)
    _assert_one_clear_error(rc, err, expect)
    out = tmp_path / "out"
    rc, err = _run(["generate", str(recipe), "--out", str(out), "--quiet"], capsys)
    _assert_one_clear_error(rc, err, expect)
    assert not out.exists()


def _cli_rows(tmp: Path) -> list[tuple[str, list[str], list[str]]]:
    good = _write_recipe(tmp, BASE)
    a_file = tmp / "a_file"
    a_file.write_text("x")
    return [
        ("out_empty", ["generate", str(good), "--out", ""], ["--out: got an empty path"]),
        ("out_is_file", ["generate", str(good), "--out", str(a_file)], ["is an existing file, expected a folder"]),
        ("out_under_file", ["generate", str(good), "--out", str(a_file / "sub")], ["is a file"]),
        ("out_unknown_scheme", ["generate", str(good), "--out", "nosuchscheme://bucket/x"],
         ["unknown URL scheme 'nosuchscheme'"]),
        ("out_unwritable", ["generate", str(good), "--out", "/proc/synth-out"], ["cannot create folders in /proc"]),
        ("workers_zero", ["generate", str(good), "--out", str(tmp / "o"), "--workers", "0"],
         ["argument --workers", "expected an integer >= 1, got 0"]),
        ("workers_negative", ["generate", str(good), "--out", str(tmp / "o"), "--workers", "-3"],
         ["argument --workers", "got -3"]),
        ("workers_text", ["generate", str(good), "--out", str(tmp / "o"), "--workers", "two"],
         ["argument --workers", "got 'two'"]),
        ("scenes_zero", ["generate", str(good), "--out", str(tmp / "o"), "--scenes", "0"], ["argument --scenes"]),
        ("scenes_huge", ["generate", str(good), "--out", str(tmp / "o"), "--scenes", "1000000000"],
         ["scenes", "less than or equal to 1000000"]),
        ("seed_negative", ["generate", str(good), "--out", str(tmp / "o"), "--seed", "-1"], ["argument --seed"]),
        ("retries_negative", ["generate", str(good), "--out", str(tmp / "o"), "--workers", "2",
                              "--max-shard-retries", "-1"], ["argument --max-shard-retries"]),
        ("retries_without_workers", ["generate", str(good), "--out", str(tmp / "o"), "--on-error", "skip"],
         ["--on-error apply only with --workers > 1"]),
        ("recipe_missing", ["generate", str(tmp / "nope.yaml"), "--out", str(tmp / "o")], ["recipe file not found"]),
        ("recipe_is_folder", ["validate", str(tmp)], ["is a folder, not a file"]),
        ("recipe_empty_path", ["validate", ""], ["got an empty path"]),
        ("view_not_a_dataset", ["view", str(tmp)], ["no manifest.json here"]),
        ("view_limit_zero", ["view", str(tmp), "--limit", "0"], ["argument --limit"]),
        ("preview_scenes_zero", ["preview", str(good), "--scenes", "0"], ["argument --scenes"]),
    ]





@pytest.mark.parametrize("row", range(19))
def test_bad_command_line_fails_before_any_work(tmp_path, capsys, row):
    name, argv, expect = _cli_rows(tmp_path)[row]
    before = set(os.listdir(tmp_path))
    rc, err = _run(argv, capsys)
    assert rc == 2, (name, err)
    assert "Traceback" not in err, name
    assert err.count("error:") == 1, (name, err)
    for piece in expect:
        assert piece in err, (name, piece, err)
    assert set(os.listdir(tmp_path)) == before, name   # nothing created
    assert not os.path.exists("/proc/synth-out")


def test_table_has_at_least_40_rows(tmp_path):
    assert len(RECIPE_ROWS) + len(_cli_rows(tmp_path)) >= 40


@pytest.mark.parametrize("command", [["validate"], ["submit", "--address", "http://127.0.0.1:1", "--out", "/tmp/x"]])
def test_non_utf8_recipe_real_process(tmp_path, command):
    """The same through a real ``python -m synth.cli`` process (the path a user takes), incl. ``synth submit``."""
    recipe = tmp_path / "r.yaml"
    recipe.write_bytes(BASE.encode() + b"name: \xff\xfe\n")
    argv = [sys.executable, "-m", "synth.cli", command[0], str(recipe), *command[1:]]
    res = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr
    assert "not UTF-8" in res.stderr and "line 7" in res.stderr


def test_disk_full_anywhere_is_one_line(tmp_path, capsys, monkeypatch):
    """An ENOSPC raised (or wrapped, as h5py does) inside a command is one line naming the path."""
    import errno

    import synth.cli as cli

    def fill_disk(args):
        try:
            raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "out" / "shard.tmp"))
        except OSError as inner:
            raise RuntimeError("Unable to synchronously write data") from inner

    recipe = _write_recipe(tmp_path, BASE)
    monkeypatch.setattr(cli, "cmd_validate", fill_disk)
    rc, err = _run(["validate", str(recipe)], capsys)
    assert rc == 2 and "Traceback" not in err
    assert err.strip() == (f"error: disk full at {tmp_path / 'out' / 'shard.tmp'}: no space left on the device; "
                           "free space and run the same command again to resume")
