"""Draw docs/img/contact_touch_pairs.png: the three pair touches (``people.touch``) with their person contact.

    .venv/bin/python scripts/touch_figure.py [--dest docs/img]

Two adults of the default Anny topology (13,718 vertices) posed by ``synth.motion.pair_touch.pose_touch`` (the
sampler's code path), labelled by ``compute_person_contact`` (the dataset's ground truth, 2 cm), drawn flat-shaded
(``scripts/contact_figures.draw``): the toucher's contact vertices red, the touched person's blue. Each panel's
title gives the measured gap and the labelled vertex counts.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

VIEWS = {"hand_on_shoulder": (0.35, 1.0, -0.25), "handshake": (1.0, 0.15, -0.2), "hold_hands": (0.2, 1.0, -0.2)}
LAYOUT = {"hand_on_shoulder": (0.85, 0.1), "handshake": (0.75, 0.0), "hold_hands": (0.8, 0.0)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dest", default=str(ROOT / "docs" / "img"))
    args = ap.parse_args()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from contact_figures import draw, face_colors

    from synth.bodies.registry import get_body_model
    from synth.groundtruth.contact import compute_person_contact
    from synth.motion.interactions import fingers_of
    from synth.motion.pair_touch import TOUCH_KINDS, pose_touch

    body = get_body_model("anny")
    F = np.asarray(body.faces)
    rng = np.random.default_rng(4)
    shapes = tuple(dict(body.sample_shape(rng, age_range=(a, a))) for a in (34.0, 41.0))
    rest = np.asarray(body.rest_pose(), np.float32).reshape(-1, 3)[fingers_of(body)]
    fig, axes = plt.subplots(1, 3, figsize=(12, 5.2))
    for ax, kind in zip(axes, TOUCH_KINDS):
        spacing, offset = LAYOUT[kind]
        p = pose_touch(body, shapes, (rest, rest), kind, side="R", spacing_m=spacing, offset_m=offset, idle_seed=2)
        v = [np.asarray(x, dtype=np.float64) for x in p.vertices]
        labels = compute_person_contact(v, [F, F])
        meshes = []
        for k, (colour, base) in enumerate((((0.85, 0.1, 0.1), (0.80, 0.72, 0.66)), ((0.1, 0.3, 0.9), (0.66, 0.70, 0.78)))):
            rgb = np.tile(np.array(base), (len(v[k]), 1))
            rgb[labels[k] >= 0] = colour
            meshes.append((v[k], F, face_colors(F, rgb)))
        draw(ax, meshes, VIEWS[kind], title=f"{kind}: gap {p.gap_m * 1000:.1f} mm, penetration "
             f"{p.penetration_m * 1000:.0f} mm\ncontact vertices {int((labels[0] >= 0).sum())} "
             f"({p.touching_part}) / {int((labels[1] >= 0).sum())} ({p.touched_part})")
    fig.tight_layout()
    out = Path(args.dest) / "contact_touch_pairs.png"
    fig.savefig(out, dpi=90)
    print(out)


if __name__ == "__main__":
    main()
