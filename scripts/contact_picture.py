"""Draw the contact estimator's per-vertex predictions against the labels for a few people of a dataset.

    .venv/bin/python scripts/contact_picture.py RUN/model.pt DATASET [--people 6] [--out docs/img/contact.png]

Each tile: the person's crop, then the rest mesh's feet (vertices below 15 cm) seen from below, each vertex
coloured by prediction and label: green both in contact, magenta predicted only (false positive), orange
labelled only (false negative), grey neither. People are picked over the range of labelled contact sizes,
the airborne ones (no contact) first.
"""

from __future__ import annotations

import argparse

import numpy as np
from PIL import Image, ImageDraw

from synth.estimators.contact.data import load_contact_samples
from synth.estimators.contact.task import load_checkpoint, predict_probabilities

COLOURS = {"tp": (40, 230, 60), "fp": (255, 0, 255), "fn": (255, 150, 0), "tn": (90, 90, 90)}


def feet_view(rest_m: np.ndarray, pred: np.ndarray, gt: np.ndarray, size: int) -> Image.Image:
    """(size x size) image of the rest-mesh vertices below 15 cm seen from below (x right, y up the image)."""
    sel = rest_m[:, 2] < 0.15
    xy = rest_m[sel, :2]
    lo, hi = xy.min(0), xy.max(0)
    s = 0.9 * size / float((hi - lo).max())
    centre = (lo + hi) / 2
    img = Image.new("RGB", (size, size), (0, 0, 0))
    d = ImageDraw.Draw(img)
    kinds = np.where(pred & gt, "tp", np.where(pred, "fp", np.where(gt, "fn", "tn")))[sel]
    order = np.argsort(kinds == "tn")[::-1]          # grey first, coloured on top
    for (x, y), k in zip(xy[order], kinds[order]):
        u = size / 2 + (x - centre[0]) * s           # seen from below: the body's +X (left side) on the right
        v = size / 2 + (y - centre[1]) * s           # toes (-Y, the facing direction) at the top
        d.point((u, v), fill=COLOURS[k])
    return img


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("data")
    ap.add_argument("--people", type=int, default=6)
    ap.add_argument("--tile", type=int, default=160)
    ap.add_argument("--out", default="docs/img/contact.png")
    args = ap.parse_args()

    model, _ = load_checkpoint(args.model)
    data = load_contact_samples(args.data)
    prob = predict_probabilities(model, data)[:, 0]          # ground channel
    pred = prob >= 0.5
    gt = data.ground
    rest = model.rest_vertices_m.numpy().astype(np.float64)
    counts = gt.sum(1)
    order = np.argsort(counts, kind="stable")
    airborne = [i for i in order if counts[i] == 0][:2]
    rest_pick = [order[int(k)] for k in np.linspace(len(airborne), len(order) - 1, args.people - len(airborne))]
    tiles = []
    from synth.estimators.engine.crops import compute_crop_affine, compute_crop_box, warp_crop

    for i in list(airborne) + rest_pick:
        inst = data.instances[i]
        box = compute_crop_box(np.asarray(inst.bbox_xyxy, np.float64), (args.tile, args.tile // 2 + 16))
        crop = warp_crop(data.images[inst.image_index], compute_crop_affine(box, (args.tile, args.tile // 2 + 16)),
                         (args.tile, args.tile // 2 + 16))
        tile = Image.new("RGB", (crop.shape[1] + args.tile, args.tile))
        tile.paste(Image.fromarray(crop), (0, 0))
        tile.paste(feet_view(rest, pred[i], gt[i], args.tile), (crop.shape[1], 0))
        ImageDraw.Draw(tile).text((2, 2), f"{int(counts[i])} / {int(pred[i].sum())}", fill=(255, 255, 255))
        tiles.append(tile)
    cols = min(3, len(tiles))
    rows = -(-len(tiles) // cols)
    tw, th = tiles[0].size
    sheet = Image.new("RGB", (cols * tw, rows * th))
    for k, t in enumerate(tiles):
        sheet.paste(t, ((k % cols) * tw, (k // cols) * th))
    sheet.save(args.out)
    print(args.out)


if __name__ == "__main__":
    main()
