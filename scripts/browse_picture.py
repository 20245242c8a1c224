"""Screenshot of `synth browse` for the docs: render a small demo dataset, build the page, photograph it in
headless Chromium.

    .venv/bin/python scripts/browse_picture.py [--out docs/img/browse.png] [--work /tmp/synth-browse-picture]

The dataset is scenes/demo.yaml at 128 px with a second, fisheye camera (so the camera filter has two values);
the picture shows the grid and, below it, one frame opened with its labels.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]  # this checkout's synth and the test helper

from chromium_cdp import Chromium, find_chromium

from synth.viewer.browse import write_browser
from synth.pipeline.job import run_local
from synth.recipe import parse_recipe


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "docs" / "img" / "browse.png"))
    ap.add_argument("--work", default="/tmp/synth-browse-picture")
    ap.add_argument("--scenes", type=int, default=8)
    args = ap.parse_args()
    binary = find_chromium()
    if binary is None:
        print("Chromium is not installed (Debian: apt-get install chromium)", file=sys.stderr)
        return 1
    d = yaml.safe_load((ROOT / "scenes" / "demo.yaml").read_text())
    d.update(scenes=args.scenes, image={"width": 128, "height": 128}, render={"samples": 8}, scenes_per_shard=4)
    d["cameras"].append({"name": "ceiling", "rig": "overhead", "model": "fisheye_equidistant",
                         "fov_deg": 180, "height_m": 3.0})
    out = Path(args.work) / "ds"
    run_local(parse_recipe(d, "demo-browse"), str(out), progress=True)
    page_path = write_browser(str(out), dest=str(Path(args.work) / "browse"))
    with Chromium(binary, width=1280, height=760) as page:
        page.navigate(Path(page_path).resolve().as_uri())
        page.evaluate("""Promise.all(Array.from(document.querySelectorAll('.thumb img')).map((img) => img.complete
            ? img : new Promise((ok) => { img.onload = img.onerror = () => ok(img); })))""")
        grid_png = page.screenshot_png()
        page.evaluate("document.querySelector('.thumb:nth-child(3)').click()")
        page.evaluate("""new Promise((ok) => { const img = document.getElementById('detail-overlay');
            if (img.complete) ok(0); else img.onload = () => ok(0); })""")
        detail_png = page.screenshot_png()
        errors = page.console_errors()
    if errors:
        print("\n".join(errors), file=sys.stderr)
        return 1
    import io

    import imageio.v3 as iio

    a, b = iio.imread(io.BytesIO(grid_png)), iio.imread(io.BytesIO(detail_png))
    a, b = a[..., :3], b[..., :3]
    sep = np.full((6, a.shape[1], 3), 255, np.uint8)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    iio.imwrite(args.out, np.concatenate([a, sep, b], axis=0))
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
