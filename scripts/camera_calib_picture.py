"""Draw the camera estimator's horizon against the true one on a few views of a dataset.

    .venv/bin/python scripts/camera_calib_picture.py RUN/model.pt DATASET [--views 8] [--out docs/img/camera_calib.png]

Green: the horizon of the stored camera (K, T_cam_from_world); magenta: the horizon of the predicted camera
(vertical fov, pitch, roll; principal point at the stored one, square pixels). The horizon is the image line
of the directions with no vertical component, ``up_cam . K^-1 [u, v, 1] = 0`` with ``up_cam`` the world's
+Z in camera coordinates (pixel-centre coordinates, undistorted pinhole).
"""

from __future__ import annotations

import argparse

import numpy as np
from PIL import Image, ImageDraw

from synth.estimators.camera_calib.data import load_camera_samples
from synth.estimators.camera_calib.geometry import focal_px_from_vfov, rotation_from_pitch_roll
from synth.estimators.camera_calib.task import load_checkpoint, predict_samples

UP = np.array([0.0, 0.0, 1.0])


def horizon_segment(K: np.ndarray, up_cam: np.ndarray, width: int, height: int) -> list[tuple[float, float]]:
    """End points (u, v) px of the horizon line inside the image (empty when it misses the image)."""
    a, b, c = up_cam @ np.linalg.inv(K)
    pts = []
    for u in (-0.5, width - 0.5):                 # left and right image edges
        if abs(b) > 1e-12:
            v = -(a * u + c) / b
            if -0.5 <= v <= height - 0.5:
                pts.append((u, v))
    for v in (-0.5, height - 0.5):                # top and bottom edges
        if abs(a) > 1e-12:
            u = -(b * v + c) / a
            if -0.5 <= u <= width - 0.5:
                pts.append((u, v))
    return pts[:2]


def predicted_camera(vfov_deg: float, pitch_deg: float, roll_deg: float, K_true: np.ndarray,
                     height: int) -> tuple[np.ndarray, np.ndarray]:
    """(K (3, 3), up_cam (3,)) of a predicted camera: square pixels, the true principal point."""
    f = float(focal_px_from_vfov(vfov_deg, height))
    K = np.array([[f, 0.0, K_true[0, 2]], [0.0, f, K_true[1, 2]], [0.0, 0.0, 1.0]])
    return K, rotation_from_pitch_roll(pitch_deg, roll_deg) @ UP


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("data")
    ap.add_argument("--views", type=int, default=8)
    ap.add_argument("--scale", type=int, default=2, help="upscale each view for legibility")
    ap.add_argument("--out", default="docs/img/camera_calib.png")
    args = ap.parse_args()

    model, _ = load_checkpoint(args.model)
    data = load_camera_samples(args.data)
    pred = predict_samples(model, data)
    from synth.io import open_dataset

    Ks, ups = {}, {}
    for frame in open_dataset(args.data):
        key = (frame.scene_id, int(frame.frame_index), frame.view)
        Ks[key] = np.asarray(frame.camera.K, np.float64)
        ups[key] = np.asarray(frame.camera.T_cam_from_world, np.float64)[:3, :3] @ UP
    n = min(args.views, len(data))
    tiles = []
    for i in np.linspace(0, len(data) - 1, n).round().astype(int):
        w, h = (int(x) for x in data.sizes[i])
        K_true, up_true = Ks[data.keys[i]], ups[data.keys[i]]
        K_pred, up_pred = predicted_camera(*pred[i], K_true, h)
        s = args.scale
        img = Image.fromarray(data.images[i]).resize((w * s, h * s), Image.NEAREST)
        d = ImageDraw.Draw(img)
        for (K, up, colour) in ((K_true, up_true, (40, 230, 60)), (K_pred, up_pred, (255, 0, 255))):
            seg = horizon_segment(K, up, w, h)
            if len(seg) == 2:
                d.line([((u + 0.5) * s, (v + 0.5) * s) for u, v in seg], fill=colour, width=2)
        t = data.targets_deg[i]
        d.text((4, 2), f"fov {t[0]:.0f} / {pred[i, 0]:.0f}", fill=(255, 255, 255))
        d.text((4, 14), f"pitch {t[1]:.0f} / {pred[i, 1]:.0f}", fill=(255, 255, 255))
        d.text((4, 26), f"roll {t[2]:.1f} / {pred[i, 2]:.1f}", fill=(255, 255, 255))
        tiles.append(img)
    cols = min(4, n)
    rows = -(-n // cols)
    tw, th = tiles[0].size
    sheet = Image.new("RGB", (cols * tw, rows * th))
    for k, tile in enumerate(tiles):
        sheet.paste(tile, ((k % cols) * tw, (k // cols) * th))
    sheet.save(args.out)
    print(args.out)


if __name__ == "__main__":
    main()
