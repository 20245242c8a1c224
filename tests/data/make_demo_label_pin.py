"""Write ``demo_label_pin.npz``: the label arrays of the demo recipe's first scenes, as rendered today.

``tests/test_demo_label_pin.py`` renders the same scenes and compares. Regenerate this file ONLY when a
change is meant to move labels (say so in the commit): ``python tests/data/make_demo_label_pin.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
PIN_SCENES = (0, 1, 2)
PIN_PATH = Path(__file__).with_name("demo_label_pin.npz")


def demo_label_arrays(scenes=PIN_SCENES) -> dict[str, np.ndarray]:
    """Render demo scenes with the production worker; return their label arrays by name."""
    from synth.pipeline.worker import SceneWorker
    from synth.recipe import load_recipe

    recipe = load_recipe(ROOT / "scenes" / "demo.yaml")
    worker = SceneWorker(recipe, out="/nonexistent-not-written")
    out: dict[str, np.ndarray] = {}
    try:
        for i in scenes:
            s = worker.run_scene(i)
            for v in s.views:
                for k, a in v.labels.items():
                    out[f"s{i}/{v.name}/{k}"] = np.asarray(a)
                out[f"s{i}/{v.name}/K"] = v.K
                out[f"s{i}/{v.name}/T_cam_from_world"] = v.T_cam_from_world
                out[f"s{i}/{v.name}/instance"] = v.instance
            for k, p in enumerate(s.people):
                out[f"s{i}/p{k}/keypoints_world"] = p.keypoints_world
                out[f"s{i}/p{k}/joints_world"] = p.joints_world
                out[f"s{i}/p{k}/contact_ground"] = np.asarray(p.contact_ground)
    finally:
        worker.close()
    return out


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    arrays = demo_label_arrays()
    np.savez_compressed(PIN_PATH, **arrays)
    print(f"wrote {PIN_PATH} ({len(arrays)} arrays)")
