"""Draw the body mesh estimator's predictions over a few people of a dataset.

    .venv/bin/python scripts/mesh_picture.py RUN/model.pt DATASET [--people 8] [--out docs/img/body_mesh.png]

Each tile is one person's crop, twice: left the labels (green skeleton, mesh vertices), right the prediction
(magenta). The estimator predicts the root-relative mesh in the camera frame, so the prediction is placed at
the labelled pelvis position and projected with the stored camera (its lens model included).
"""

from __future__ import annotations

import argparse

import numpy as np
from PIL import Image, ImageDraw

from synth.estimators.mesh.data import load_mesh_samples
from synth.estimators.mesh.task import load_checkpoint, predict_samples

# COCO-17 limbs (keypoint indices)
LIMBS = [(5, 7), (7, 9), (6, 8), (8, 10), (5, 6), (11, 12), (5, 11), (6, 12), (11, 13), (13, 15), (12, 14),
         (14, 16), (0, 5), (0, 6)]


def project_cam_points(camera, X_cam: np.ndarray) -> np.ndarray:
    """(N, 2) px of (N, 3) camera-frame points through the stored camera (``project`` takes world points)."""
    T_world_from_cam = np.linalg.inv(np.asarray(camera.T_cam_from_world, np.float64))
    X_world = X_cam.astype(np.float64) @ T_world_from_cam[:3, :3].T + T_world_from_cam[:3, 3]
    return camera.project(X_world)


def draw_person(img: Image.Image, uv_kp: np.ndarray, uv_verts: np.ndarray, colour, origin, scale: int) -> None:
    d = ImageDraw.Draw(img)
    ox, oy = origin

    def px(p):
        return ((p[0] + 0.5 - ox) * scale, (p[1] + 0.5 - oy) * scale)

    for p in uv_verts:
        x, y = px(p)
        d.point((x, y), fill=tuple(int(c * 0.6) for c in colour))
    for a, b in LIMBS:
        d.line([px(uv_kp[a]), px(uv_kp[b])], fill=colour, width=2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("data")
    ap.add_argument("--people", type=int, default=8)
    ap.add_argument("--tile", type=int, default=160, help="tile height in px")
    ap.add_argument("--out", default="docs/img/body_mesh.png")
    args = ap.parse_args()

    from synth.io import open_dataset

    model, _ = load_checkpoint(args.model)
    data = load_mesh_samples(args.data)
    pick = np.linspace(0, len(data) - 1, min(args.people, len(data))).round().astype(int)
    frames = {(f.scene_id, int(f.frame_index), f.view): f for f in open_dataset(args.data)}
    pred = predict_samples(model, data)
    every = max(1, data.vertices_rr.shape[1] // 1500)
    tiles = []
    for i in pick:
        inst = data.instances[i]
        frame = frames[(inst.scene_id, int(inst.frame_index), inst.view)]
        kp_cam = np.asarray(frame.labels["keypoints_3d_cam"][inst.person][:17], np.float64)
        pelvis = 0.5 * (kp_cam[11] + kp_cam[12])
        x0, y0, x1, y1 = (float(v) for v in inst.bbox_xyxy)
        side = 1.15 * max(x1 - x0, y1 - y0)
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        origin = (cx - side / 2, cy - side / 2)
        scale = max(1, int(round(args.tile / side)))
        crop = Image.fromarray(frame.rgb).crop((int(np.floor(origin[0])), int(np.floor(origin[1])),
                                                int(np.ceil(origin[0] + side)), int(np.ceil(origin[1] + side))))
        origin = (int(np.floor(origin[0])), int(np.floor(origin[1])))
        crop = crop.resize((crop.width * scale, crop.height * scale), Image.NEAREST)
        pair = []
        for kp_rr, v_rr, colour in ((data.keypoints_rr[i], data.vertices_rr[i], (40, 230, 60)),
                                    (pred["keypoints"][i], pred["vertices"][i], (255, 0, 255))):
            img = crop.copy()
            draw_person(img, project_cam_points(frame.camera, kp_rr + pelvis),
                        project_cam_points(frame.camera, v_rr[::every] + pelvis), colour, origin, scale)
            pair.append(img)
        tile = Image.new("RGB", (pair[0].width * 2, pair[0].height))
        tile.paste(pair[0], (0, 0))
        tile.paste(pair[1], (pair[0].width, 0))
        tiles.append(tile.resize((args.tile * 2, args.tile)))
    cols = min(4, len(tiles))
    rows = -(-len(tiles) // cols)
    sheet = Image.new("RGB", (cols * args.tile * 2, rows * args.tile), (0, 0, 0))
    for k, tile in enumerate(tiles):
        sheet.paste(tile, ((k % cols) * args.tile * 2, (k // cols) * args.tile))
    sheet.save(args.out)
    print(args.out)


if __name__ == "__main__":
    main()
