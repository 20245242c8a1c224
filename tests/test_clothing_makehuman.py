"""MakeHuman CC0 assets: manifest, fetch through a mirror with sha256 checks, clear errors offline,
.mhclo fitting on the hm08 base mesh and binding to Anny.

The byte-exact mirror of the public files lives in the workspace's shared/assets folder (not in the
repository); tests that need it skip with the reason when it is absent.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from synth.assets.fetch import fetch_asset, list_assets, mirror_base
from synth.assets.manifest import load_manifest, manifest_dir, sha256_of
from synth.core.errors import AssetError

REPO = Path(__file__).resolve().parents[1]
COMMIT = "8cf9645b975a98eea056b140df11a1d278da0d10"


def _find_mirror() -> Path | None:
    env = os.environ.get("SYNTH_TEST_ASSETS_MIRROR")
    cands = [Path(env)] if env else []
    cands += [REPO.parent / "shared" / "assets", REPO.parent.parent / "shared" / "assets"]
    for c in cands:
        if (c / "makehuman" / "LICENSE.txt").is_file():
            return c
    return None


MIRROR = _find_mirror()
needs_mirror = pytest.mark.skipif(MIRROR is None, reason="no shared/assets MakeHuman mirror beside the repository "
                                                          "(set SYNTH_TEST_ASSETS_MIRROR)")


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SYNTH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("SYNTH_ASSETS_MIRROR", raising=False)
    return tmp_path / "cache"


def test_manifest_describes_the_makehuman_library():
    entries = {k: e for k, e in load_manifest().items() if k.startswith("makehuman_")}
    kinds = {}
    for e in entries.values():
        kinds.setdefault(e.kind, []).append(e.id)
        assert e.url_base == f"https://raw.githubusercontent.com/makehumancommunity/makehuman-assets/{COMMIT}/"
        assert e.licence.startswith("CC0-1.0") and not e.user_supplied and e.mirror_subdir == "makehuman"
        assert all(f.sha256 is not None and len(f.sha256) == 64 for f in e.files)
        assert any(f.name == "LICENSE.txt" for f in e.files)
    assert len(kinds["outfit"]) == 12 and len(kinds["shoes"]) == 6 and kinds["hat"] == ["makehuman_fedora01"]
    assert len(kinds["hair"]) == 10 and len(kinds["eyebrows"]) == 12 and kinds["eye_materials"] == ["makehuman_eyes"]
    for e in entries.values():
        if e.kind in ("outfit", "shoes", "hat", "hair", "eyebrows"):
            names = [f.name for f in e.files]
            assert any(n.endswith(".mhclo") for n in names) and any(n.endswith(".obj") for n in names), e.id


@needs_mirror
def test_manifest_checksums_match_the_mirror():
    for e in load_manifest().values():
        if e.mirror_subdir != "makehuman":
            continue
        for f in e.files:
            assert sha256_of(MIRROR / "makehuman" / f.name) == f.sha256, (e.id, f.name)


@needs_mirror
def test_fetch_from_a_mirror_folder_and_file_url(cache):
    files = fetch_asset("makehuman_shoes01", mirror=MIRROR)
    assert set(files) == {f.name for f in load_manifest()["makehuman_shoes01"].files}
    for name, path in files.items():
        assert path.is_file() and path.is_relative_to(cache)
        assert path.read_bytes() == (MIRROR / "makehuman" / name).read_bytes()
    mtimes = {n: p.stat().st_mtime_ns for n, p in files.items()}
    # a second fetch keeps verified files; a file:// mirror URL works as well
    again = fetch_asset("makehuman_shoes01", mirror=MIRROR.as_uri())
    assert {n: p.stat().st_mtime_ns for n, p in again.items()} == mtimes
    assert mirror_base(str(MIRROR)) == MIRROR.resolve().as_uri()


@needs_mirror
def test_fetch_rejects_a_corrupt_mirror_and_removes_the_file(cache, tmp_path):
    bad = tmp_path / "mirror"
    shutil.copytree(MIRROR / "makehuman" / "base" / "eyebrows" / "eyebrow001", bad / "makehuman/base/eyebrows/eyebrow001")
    shutil.copy(MIRROR / "makehuman" / "LICENSE.txt", bad / "makehuman" / "LICENSE.txt")
    obj = bad / "makehuman/base/eyebrows/eyebrow001/eyebrow001.obj"
    obj.write_bytes(obj.read_bytes().replace(b"v ", b"v  ", 1))
    with pytest.raises(AssetError, match=r"eyebrow001\.obj from .* has sha256 [0-9a-f]{64}, the manifest .* expects"):
        fetch_asset("makehuman_eyebrow001", mirror=bad)
    assert not (cache / "assets/makehuman/base/eyebrows/eyebrow001/eyebrow001.obj").exists()


def test_missing_asset_without_network_says_how_to_fix(cache, tmp_path):
    # a copy of the manifest whose public URL cannot be reached (nothing listens on the discard port)
    src = manifest_dir() / "makehuman" / "makehuman_eyebrow002.yaml"
    data = yaml.safe_load(src.read_text())
    data["url_base"] = "http://127.0.0.1:9/makehuman-assets/"
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "eb.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(AssetError) as err:
        fetch_asset("makehuman_eyebrow002", manifest_dir=tmp_path / "m")
    msg = str(err.value)
    assert "'makehuman_eyebrow002': LICENSE.txt is not in the cache" in msg
    assert "http://127.0.0.1:9/makehuman-assets/LICENSE.txt failed" in msg
    assert "SYNTH_ASSETS_MIRROR" in msg and "\n" not in msg
    # an empty mirror names the mirror in the fix
    (tmp_path / "empty").mkdir()
    with pytest.raises(AssetError, match="check that the mirror .*empty holds makehuman/LICENSE.txt"):
        fetch_asset("makehuman_eyebrow002", mirror=tmp_path / "empty")
    with pytest.raises(AssetError, match="'makehuman_shoes99': not in the asset manifest; did you mean"):
        fetch_asset("makehuman_shoes99")
    with pytest.raises(AssetError, match="'anny': cannot be fetched"):
        fetch_asset("anny")


@needs_mirror
def test_cli_fetch_and_list(cache):
    env = {**os.environ, "SYNTH_CACHE_DIR": str(cache), "PYTHONPATH": str(REPO)}
    env.pop("SYNTH_ASSETS_MIRROR", None)
    run = subprocess.run([sys.executable, "-m", "synth.cli", "assets", "fetch", "makehuman_eyebrow003",
                          "--mirror", str(MIRROR)], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "makehuman_eyebrow003: 4 file(s) verified in the cache" in run.stdout
    assert "[4/4] makehuman_eyebrow003/base/eyebrows/eyebrow003/eyebrow003.obj" in run.stderr  # progress
    run = subprocess.run([sys.executable, "-m", "synth.cli", "assets", "list"], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=120)
    line = next(ln for ln in run.stdout.splitlines() if ln.startswith("makehuman_eyebrow003"))
    assert "fetched" in line and "CC0-1.0" in line
    run = subprocess.run([sys.executable, "-m", "synth.cli", "assets", "fetch", "makehuman_nothing"], cwd=REPO,
                         env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and run.stderr.startswith("error: asset 'makehuman_nothing': not in the asset manifest")
    assert [a for a, *_ in list_assets() if a == "makehuman_eyebrow003"]


@needs_mirror
def test_mhclo_fit_reproduces_meshes_authored_on_the_base_mesh():
    from synth.clothing.makehuman import load_hm08_base_mesh, load_mhclo, load_obj, place_on_base_mesh

    base = load_hm08_base_mesh()
    assert base.shape == (19158, 3)
    for rel in ("base/clothes/fedora01/fedora.mhclo", "base/hair/short04/short04.mhclo"):
        clo = load_mhclo(MIRROR / "makehuman" / rel)
        v, f = load_obj((MIRROR / "makehuman" / rel).with_name(clo.obj_file))
        placed = place_on_base_mesh(clo, base)
        assert placed.shape == v.shape and f.max() < len(v)
        assert np.abs(placed - v).max() < 1e-3  # decimetres: 0.1 mm


@needs_mirror
def test_makehuman_garments_follow_anny_of_any_age(cache, monkeypatch):
    from synth.bodies.base import BodyParams
    from synth.bodies.parts import PART_INDEX
    from synth.bodies.registry import get_body_model
    from synth.clothing.binding import compute_signed_distances
    from synth.clothing.garment import pose_garments
    from synth.clothing.makehuman import MakeHumanError, load_makehuman_garment
    from synth.motion.sample import sample_motion

    monkeypatch.setenv("SYNTH_ASSETS_MIRROR", str(MIRROR))
    body = get_body_model("anny")
    ids = ["makehuman_male_casualsuit02", "makehuman_shoes01", "makehuman_short02", "makehuman_eyebrow001"]
    garments = [load_makehuman_garment(body, a) for a in ids]
    assert [g.segment for g in garments] == ["top", "shoes", "hair", "hair"]
    assert len(garments[0].params["hidden_body_vertices"]) > 1000      # delete_verts mapped to Anny vertices
    rng = np.random.default_rng(0)
    inside = total = 0
    parts = body.vertex_part_labels()
    for age in (6.0, 40.0):
        shape = body.sample_shape(rng, age_range=(age, age))
        rot, T = sample_motion(body, "walk", 3, 10.0, rng=rng, shape=shape)
        v = body.forward(BodyParams("anny", shape, rot, T)).vertices[1]
        xs = pose_garments(garments, v, body.faces)
        for g, x in zip(garments, xs):
            inside += int((compute_signed_distances(x, v, body.faces) < 0).sum())
            total += len(x)
        # shoes bound to the feet and shins, hair and eyebrows to the head, the outfit to neither
        for g, allowed in ((garments[1], {"left_foot", "right_foot", "left_shin", "right_shin"}),
                           (garments[2], {"head", "neck"}), (garments[3], {"head"})):
            bound = {body.part_names[p] for p in np.unique(parts[body.faces[g.binding.face[:, 0], 0]])}
            assert bound <= allowed, (g.name, bound)
        bound = {body.part_names[p] for p in np.unique(parts[body.faces[garments[0].binding.face[:, 0], 0]])}
        assert {"torso", "left_thigh", "right_forearm"} <= bound and "head" not in bound
        # and they sit where those parts are on the posed body
        head = v[parts == PART_INDEX["head"]]
        lo, hi = head.min(0) - 0.04, head.max(0) + 0.04        # hair around the head (short hair: 4 cm slack)
        assert np.all(xs[2].min(0) > lo) and np.all(xs[2].max(0) < hi)
        assert xs[2][:, 2].min() > head[:, 2].min() and xs[1][:, 2].max() < 0.3 * v[:, 2].max()
    assert inside / total < 0.005, inside / total
    # only Anny is built on the hm08 base mesh

    class NotAnny:
        name = "smplx"
    with pytest.raises(MakeHumanError, match="only Anny is built on"):
        load_makehuman_garment(NotAnny(), "makehuman_eyebrow001")
