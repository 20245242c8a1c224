"""`synth browse`: the static page, loaded in a real headless Chromium (skipped when Chromium is absent)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from chromium_cdp import Chromium, find_chromium
from tiny_dataset_util import N_FRAMES, N_SCENES, N_VIEWS, tiny_wholebody_dataset

from synth.io import open_dataset

pytestmark = pytest.mark.blender
ROOT = Path(__file__).resolve().parents[1]
N_VIEWS_TOTAL = N_SCENES * N_FRAMES * N_VIEWS


def _write_stats(stats: Path) -> None:
    """A stats folder as `synth stats` leaves it: PNG plots and a Markdown dataset card."""
    from PIL import Image, ImageDraw

    stats.mkdir(parents=True)
    img = Image.new("RGB", (320, 200), "white")
    d = ImageDraw.Draw(img)
    for k, h in enumerate([40, 120, 80, 20]):
        d.rectangle([20 + 70 * k, 180 - h, 70 + 70 * k, 180], fill=(60, 120, 200))
    img.save(stats / "age_years.png")
    (stats / "dataset_card.md").write_text("# Dataset card\n\n12 views, 3 scenes\n")


@pytest.fixture(scope="module")
def browser_page(tmp_path_factory):
    ds = tiny_wholebody_dataset(tmp_path_factory)
    work = tmp_path_factory.mktemp("browse")
    _write_stats(work / "stats")
    dest = work / "site"
    res = subprocess.run([sys.executable, "-m", "synth.cli", "browse", str(ds), "--dest", str(dest),
                          "--stats", str(work / "stats"), "--quiet"],
                         capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == str(dest / "index.html")
    return ds, dest


def _expected_counts(ds) -> dict[tuple[str, str], int]:
    """(filter, value) -> number of views, computed from the dataset itself."""
    counts: dict[tuple[str, str], int] = {}
    for f in open_dataset(str(ds)):
        tags = {("camera", f.camera.model_name)}
        for p, person in enumerate(f.people):
            if f.labels["mask_area_px"][p] == 0:
                continue
            age = float(person["shape"]["age_years"])
            tags.add(("age", "child (0-12)" if age < 13 else "teen (13-17)" if age < 18
                      else "adult (18-64)" if age < 65 else "senior (65+)"))
            vis = float(np.mean(f.labels["keypoints_visible"][p][:17]))
            tags.add(("visibility", "mostly visible (>= 75%)" if vis >= 0.75 else
                      "partly occluded (25-75%)" if vis >= 0.25 else "mostly hidden (< 25%)"))
            tags.add(("motion", person["motion"]["source"]))
        for t in tags:
            counts[t] = counts.get(t, 0) + 1
    return counts


def test_page_embeds_every_view_with_its_labels(browser_page):
    ds, dest = browser_page
    html = (dest / "index.html").read_text()
    data = json.loads(re.search(r'<script id="synth-data" type="application/json">(.*?)</script>', html, re.DOTALL)[1])
    frames = list(open_dataset(str(ds)))
    assert len(data["frames"]) == data["frames_total"] == len(frames) == N_VIEWS_TOTAL
    for rec, f in zip(data["frames"], frames):
        assert (rec["scene_id"], rec["frame"], rec["view"]) == (f.scene_id, f.frame_index, f.view)
        assert [p["mask_area_px"] for p in rec["people"]] == f.labels["mask_area_px"].tolist()
        for key in ("thumb", "overlay", "image"):
            assert (dest / rec[key]).is_file()
    assert data["stats"]["plots"] == [{"file": "stats/age_years.png", "title": "age years"}]
    assert (dest / "stats" / "age_years.png").is_file()


def test_page_in_headless_chromium(browser_page, tmp_path):
    binary = find_chromium()
    if binary is None:
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium chromium-driver)")
    ds, dest = browser_page
    expected = _expected_counts(ds)
    # the tiny recipe covers every filter with more than one value: children and adults, both lenses, walk and static
    assert 0 < expected[("age", "child (0-12)")] < N_VIEWS_TOTAL and expected[("age", "adult (18-64)")] > 0
    assert 0 < expected[("motion", "walk")] < N_VIEWS_TOTAL and 0 < expected[("motion", "static")] < N_VIEWS_TOTAL
    url = (dest / "index.html").resolve().as_uri()
    with Chromium(binary) as page:
        page.navigate(url)
        assert page.evaluate("document.body.dataset.ready") == "1"
        # every thumbnail decoded (a missing file would be a zero-width image and a console error)
        loaded = page.evaluate("""Promise.all(Array.from(document.querySelectorAll('.thumb img')).map(
            (img) => img.complete ? img : new Promise((ok) => { img.onload = img.onerror = () => ok(img); })))
            .then((imgs) => imgs.filter((img) => img.naturalWidth === 192).length)""")
        assert loaded == N_VIEWS_TOTAL
        assert page.evaluate("document.querySelectorAll('.thumb:not(.hidden)').length") == N_VIEWS_TOTAL
        assert page.evaluate("document.getElementById('count').textContent") == str(N_VIEWS_TOTAL)

        def shown(**filters) -> int:
            js = "".join(f"document.getElementById('filter-{k}').value = {json.dumps(v)};" for k, v in
                         {"age": "", "camera": "", "visibility": "", "motion": "", **filters}.items())
            js += "document.getElementById('filter-age').dispatchEvent(new Event('change'));"
            js += "[document.querySelectorAll('.thumb:not(.hidden)').length, document.getElementById('count').textContent]"
            n, text = page.evaluate(js)
            assert text == str(n)
            return n

        for (tag, value), n in expected.items():
            assert shown(**{tag: value}) == n, (tag, value)
        assert shown(camera="fisheye_equidistant") == N_VIEWS_TOTAL // 2
        both = shown(camera="pinhole", age="child (0-12)")
        assert 0 < both < expected[("age", "child (0-12)")]
        assert shown() == N_VIEWS_TOTAL

        # click-through: one view with its labels, then back
        frames = list(open_dataset(str(ds)))
        i = next(k for k, f in enumerate(frames) if len(f.people) == 2)
        page.evaluate(f"document.getElementById('thumb-{i}').click()")
        assert page.evaluate("!document.getElementById('detail').classList.contains('hidden')")
        assert page.evaluate("location.hash") == f"#frame-{i}"
        title = page.evaluate("document.getElementById('detail-title').textContent")
        assert frames[i].scene_id in title and f"view {frames[i].view}" in title
        assert page.evaluate("document.querySelectorAll('#detail-people tr').length") == 1 + 2
        assert page.evaluate("""new Promise((ok) => { const img = document.getElementById('detail-overlay');
            if (img.complete) ok(img.naturalWidth); else img.onload = () => ok(img.naturalWidth); })""") == 512
        page.screenshot_png()  # renders the open frame (a failed paint would show up as a protocol error)
        page.evaluate("document.dispatchEvent(new KeyboardEvent('keydown', {key: 'Escape'}))")
        assert page.evaluate("document.getElementById('detail').classList.contains('hidden')")
        # the stats plots
        assert page.evaluate("!document.getElementById('stats').classList.contains('hidden')")
        assert page.evaluate("document.querySelector('#stats-plots img').naturalWidth") == 320
        assert "Dataset card" in page.evaluate("document.getElementById('stats-card').textContent")
        assert page.console_errors() == []

        # a link to one frame opens it directly (a fresh load: a fragment change alone fires no load event)
        page.navigate("about:blank")
        page.navigate(url + "#frame-3")
        assert page.evaluate("document.getElementById('detail-title').textContent").startswith(frames[3].scene_id)
        assert page.console_errors() == []

        # the check itself catches errors: a page with a missing image reports one
        broken = tmp_path / "broken.html"
        broken.write_text('<!DOCTYPE html><link rel="icon" href="data:,"><img src="missing.png">')
        page.navigate(broken.as_uri())
        assert any("missing.png" in e for e in page.console_errors())
