"""Overlay PNGs for checking a dataset by eye: masks, boxes, keypoints with visibility.

Visible keypoints are filled dots; in-image but occluded ones are hollow rings; the
amodal box is drawn in the person's colour, the visible-pixel box in white; mesh vertices
in contact with the ground are cyan dots.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from synth.bodies.keypoints import WHOLEBODY_SKELETON_EDGE_NAMES
from synth.io.reader import Frame, open_dataset

PERSON_COLORS = np.array([
    [230, 25, 75], [60, 180, 75], [0, 130, 200], [245, 130, 48], [145, 30, 180],
    [70, 240, 240], [240, 50, 230], [210, 245, 60], [250, 190, 212], [0, 128, 128],
], dtype=np.uint8)


def draw_overlay(frame: Frame, scale: int = 2) -> np.ndarray:
    """(H*scale, W*scale, 3) uint8 image: RGB with tinted masks, boxes, skeleton and keypoints."""
    from PIL import Image, ImageDraw

    rgb = frame.rgb.astype(np.float32)
    inst = frame.instance
    for k in range(1, int(inst.max()) + 1):
        m = inst == k
        rgb[m] = 0.65 * rgb[m] + 0.35 * PERSON_COLORS[(k - 1) % len(PERSON_COLORS)]
    H, W = inst.shape
    img = Image.fromarray(rgb.clip(0, 255).astype(np.uint8)).resize((W * scale, H * scale), Image.NEAREST)
    d = ImageDraw.Draw(img)

    def px(u, v):  # pixel-centre coordinates -> upscaled canvas coordinates
        return ((u + 0.5) * scale, (v + 0.5) * scale)

    # vertices in contact with the ground (dense contact labels), as small cyan dots
    for person in frame.people:
        cg = person.get("contact_ground")
        if cg is not None and np.any(cg):
            uv = frame.camera.project(np.asarray(person["vertices_world"])[np.asarray(cg)])
            for u, v in uv[frame.camera.in_image(uv)]:
                x, y = px(u, v)
                d.point((x, y), fill=(0, 255, 255))

    names = frame.keypoint_names
    index = {n: i for i, n in enumerate(names)}
    kp = frame.labels["keypoints_2d"]
    vis = frame.labels["keypoints_visible"]
    inimg = frame.labels["keypoints_in_image"]
    for p in range(kp.shape[0]):
        c = tuple(int(x) for x in PERSON_COLORS[p % len(PERSON_COLORS)])
        box = frame.labels["bbox_xyxy"][p]
        if np.all(np.isfinite(box)):
            d.rectangle([(box[0] + 0.5) * scale, (box[1] + 0.5) * scale, (box[2] + 0.5) * scale,
                         (box[3] + 0.5) * scale], outline=c, width=1)
        vbox = frame.labels["bbox_visible_xyxy"][p]
        if np.all(np.isfinite(vbox)):
            d.rectangle([(vbox[0] + 0.5) * scale, (vbox[1] + 0.5) * scale, (vbox[2] + 0.5) * scale,
                         (vbox[3] + 0.5) * scale], outline=(255, 255, 255), width=1)
        for a, b in WHOLEBODY_SKELETON_EDGE_NAMES:
            if a in index and b in index:
                i, j = index[a], index[b]
                if inimg[p, i] and inimg[p, j]:
                    d.line([px(*kp[p, i]), px(*kp[p, j])], fill=c, width=2 if max(i, j) < 23 else 1)
        for i in range(kp.shape[1]):
            if not inimg[p, i]:
                continue
            x, y = px(*kp[p, i])
            r = (2.5 if scale <= 2 else 3.5) if i < 23 else 1.2  # face and hand points drawn small
            if vis[p, i]:
                d.ellipse([x - r, y - r, x + r, y + r], fill=(255, 255, 255), outline=c)
            else:
                d.ellipse([x - r, y - r, x + r, y + r], outline=(255, 255, 0), width=1)
    d.text((4, 4), f"{frame.scene_id} f{frame.frame_index} {frame.view} ({frame.camera.model_name})",
           fill=(255, 255, 255))
    return np.asarray(img)


def write_overlays(out: str, dest: str | None = None, limit: int = 8, scale: int = 2) -> list[str]:
    """Draw the first ``limit`` views of the dataset in ``out`` to PNGs; returns their paths."""
    import imageio.v3 as iio

    ds = open_dataset(out)
    dest_dir = Path(dest) if dest else Path(out) / "overlays"
    dest_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for frame in ds:
        if len(paths) >= limit:
            break
        path = dest_dir / f"{frame.scene_id}_f{frame.frame_index:03d}_{frame.view}.png"
        iio.imwrite(path, draw_overlay(frame, scale=scale))
        paths.append(str(path))
    return paths
