"""The README's demo pictures from a generated demo dataset.

    synth generate scenes/demo.yaml --out out/demo && synth view out/demo
    python scripts/readme_pictures.py out/demo

writes docs/img/demo_rgb.png (frame 0 of every scene, as rendered) and docs/img/demo_overlays.png (the
overlays `synth view` drew for the first three scenes).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]


def main(out: str) -> None:
    from synth.io import open_dataset

    frames = [f for f in open_dataset(out) if f.frame_index == 0]
    strip = np.concatenate([f.rgb for f in frames], axis=1)
    Image.fromarray(strip).save(ROOT / "docs" / "img" / "demo_rgb.png")
    overlays = sorted((Path(out) / "overlays").glob("*_f000_*.png"))[:3]
    if overlays:
        tiles = [np.asarray(Image.open(p).convert("RGB")) for p in overlays]
        h = min(t.shape[0] for t in tiles)
        Image.fromarray(np.concatenate([t[:h] for t in tiles], axis=1)).save(ROOT / "docs" / "img" / "demo_overlays.png")
    print(f"wrote docs/img/demo_rgb.png ({len(frames)} scenes) and docs/img/demo_overlays.png ({len(overlays)} overlays)")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "out/demo")
