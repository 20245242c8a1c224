"""``synth predict camera``: vertical field of view, pitch and roll of whole images (no boxes).

Writes ``OUT/camera_results.json``: one entry per image with ``file_name``, ``image_id``, ``width``,
``height``, ``vfov_deg``, ``pitch_deg``, ``roll_deg`` (conventions of ``camera_calib.geometry``) and
``focal_length_px`` (square pixels); with overlays, ``OUT/overlays/NAME.png`` draws the predicted horizon
(magenta) assuming the principal point at the image centre.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from synth.estimators.camera_calib.geometry import focal_px_from_vfov, rotation_from_pitch_roll
from synth.estimators.engine.fit import set_threads
from synth.estimators.engine.predict_inputs import list_images, read_rgb
from synth.core.atomic import write_json_atomic

WORLD_UP = np.array([0.0, 0.0, 1.0])


@dataclass
class _Images:
    images: list[np.ndarray]

    def __len__(self) -> int:
        return len(self.images)


def horizon_segment(K: np.ndarray, up_cam: np.ndarray, width: int, height: int) -> list[tuple[float, float]]:
    """End points (u, v) px (pixel centres) of the horizon line inside the image (empty when it misses it):
    the image line of directions perpendicular to ``up_cam`` (world up in camera coordinates)."""
    a, b, c = up_cam @ np.linalg.inv(K)
    pts = []
    for u in (-0.5, width - 0.5):
        if abs(b) > 1e-12:
            v = -(a * u + c) / b
            if -0.5 <= v <= height - 0.5:
                pts.append((u, v))
    for v in (-0.5, height - 0.5):
        if abs(a) > 1e-12:
            u = -(b * v + c) / a
            if -0.5 <= u <= width - 0.5:
                pts.append((u, v))
    return pts[:2]


def predict_camera(model_path: str, inputs: str, out_dir: str, *, flip_test: bool = True, overlays: bool = True,
                   threads: int | None = None, device: str = "auto") -> dict[str, Any]:
    """Predict the camera of every image of ``inputs``; write the results JSON (and overlays) in ``out_dir``."""
    from PIL import Image, ImageDraw

    from synth.estimators.camera_calib.task import load_checkpoint, predict_samples
    from synth.estimators.engine.device import resolve_device

    set_threads(threads)
    model, _ = load_checkpoint(model_path, resolve_device(device))
    paths = list_images(inputs)
    images = [read_rgb(p) for p in paths]
    pred = predict_samples(model, _Images(images), flip_test=flip_test)
    results, written = [], []
    os.makedirs(out_dir, exist_ok=True)
    for i, (path, rgb, (vfov, pitch, roll)) in enumerate(zip(paths, images, pred)):
        h, w = rgb.shape[:2]
        f = float(focal_px_from_vfov(vfov, h))
        results.append({"image_id": i, "file_name": os.path.basename(path), "width": w, "height": h,
                        "vfov_deg": round(float(vfov), 3), "pitch_deg": round(float(pitch), 3),
                        "roll_deg": round(float(roll), 3), "focal_length_px": round(f, 2)})
        if overlays:
            K = np.array([[f, 0.0, (w - 1) / 2.0], [0.0, f, (h - 1) / 2.0], [0.0, 0.0, 1.0]])
            up = rotation_from_pitch_roll(pitch, roll) @ WORLD_UP
            im = Image.fromarray(rgb)
            d = ImageDraw.Draw(im)
            seg = horizon_segment(K, up, w, h)
            if len(seg) == 2:
                d.line([(u + 0.5, v + 0.5) for u, v in seg], fill=(255, 0, 255), width=max(1, round(max(w, h) / 250)))
            d.text((4, 2), f"vfov {vfov:.1f}  pitch {pitch:.1f}  roll {roll:.1f} deg", fill=(255, 255, 255))
            os.makedirs(os.path.join(out_dir, "overlays"), exist_ok=True)
            png = os.path.join(out_dir, "overlays", os.path.splitext(os.path.basename(path))[0] + ".png")
            im.save(png)
            written.append(png)
    res_path = os.path.join(out_dir, "camera_results.json")
    write_json_atomic(res_path, results)
    return {"results": res_path, "overlays": written, "images": len(results)}
