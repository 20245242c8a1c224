"""``synth predict mesh``: the Anny body of each person box in any image, as JSON and as a rendered overlay.

The photo's camera is unknown, so the CLIFF box features use CLIFF's default camera (focal length
``sqrt(W^2 + H^2)`` px, principal point at the image centre). The model predicts a pelvis-relative body in the
camera frame and its root translation (CLIFF's weak-perspective crop camera turned into a camera-frame
translation through that focal length); the overlay places the body there. ``place_in_box`` is the other
placement (the body's height fills the box), for bodies without a translation. The overlay is rendered with pyrender on EGL
(as ``synth preview``) and blended over the image.

``OUT/mesh_results.json``: one entry per box with ``image_id``, ``file_name``, ``bbox`` ``[x, y, w, h]``,
``focal_length_px``, ``keypoints_3d_cam_m`` (17 COCO keypoints, pelvis-relative, camera frame: x right,
y down, z forward), ``translation_cam_m`` (the predicted pelvis position in that camera's frame, m; its
scale follows the assumed focal length) and ``phenotypes``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from synth.estimators.engine.fit import set_threads
from synth.estimators.engine.predict_inputs import PhotoPerson, list_images, person_boxes, read_rgb


@dataclass
class _People:
    images: list[np.ndarray]
    instances: list[PhotoPerson]

    def __len__(self) -> int:
        return len(self.instances)


def default_intrinsics(width: int, height: int) -> np.ndarray:
    """(3, 3) CLIFF's camera for an image of unknown camera: f = sqrt(W^2 + H^2) px, centred principal point."""
    f = float(np.hypot(width, height))
    return np.array([[f, 0.0, (width - 1) / 2.0], [0.0, f, (height - 1) / 2.0], [0.0, 0.0, 1.0]])


def place_in_box(vertices_rr: np.ndarray, box_xyxy: np.ndarray, K: np.ndarray) -> np.ndarray:
    """(3,) camera-frame translation (m) that puts pelvis-relative ``vertices_rr`` (V, 3) in the box: depth so the
    body's vertical extent spans the box height, its extent's centre on the ray through the box centre."""
    lo, hi = vertices_rr.min(axis=0), vertices_rr.max(axis=0)
    f, u0, v0 = float(K[1, 1]), float(K[0, 2]), float(K[1, 2])
    box_h = float(box_xyxy[3] - box_xyxy[1])
    z = f * float(hi[1] - lo[1]) / max(box_h, 1.0)
    cx, cy = (box_xyxy[0] + box_xyxy[2]) / 2.0 - 0.5, (box_xyxy[1] + box_xyxy[3]) / 2.0 - 0.5
    mid = (lo + hi) / 2.0
    return np.array([(cx - u0) * z / f - mid[0], (cy - v0) * z / f - mid[1], z - mid[2]])


def render_mesh_overlay(rgb: np.ndarray, meshes: list[np.ndarray], faces: np.ndarray, K: np.ndarray,
                        alpha: float = 0.7) -> np.ndarray:
    """(H, W, 3) uint8: camera-frame meshes (each (V, 3) m, OpenCV axes) rendered with pyrender (EGL) through
    ``K`` and blended over ``rgb`` where they cover it."""
    os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
    import pyrender
    import trimesh

    from synth.core.transforms import T_BLENDERCAM_FROM_CVCAM

    h, w = rgb.shape[:2]
    scene = pyrender.Scene(bg_color=np.zeros(4), ambient_light=np.full(3, 0.4))
    colours = [(0.55, 0.75, 1.0), (1.0, 0.7, 0.45), (0.6, 1.0, 0.6), (1.0, 0.6, 0.9)]
    for n, v in enumerate(meshes):
        m = trimesh.Trimesh(vertices=v, faces=faces, process=False)
        mat = pyrender.MetallicRoughnessMaterial(baseColorFactor=(*colours[n % len(colours)], 1.0),
                                                 metallicFactor=0.0, roughnessFactor=0.7)
        scene.add(pyrender.Mesh.from_trimesh(m, material=mat, smooth=True))
    cam = pyrender.IntrinsicsCamera(fx=K[0, 0], fy=K[1, 1], cx=K[0, 2] + 0.5, cy=K[1, 2] + 0.5, znear=0.05,
                                    zfar=1000.0)
    scene.add(cam, pose=T_BLENDERCAM_FROM_CVCAM)
    scene.add(pyrender.DirectionalLight(color=np.ones(3), intensity=3.0), pose=T_BLENDERCAM_FROM_CVCAM)
    r = pyrender.OffscreenRenderer(w, h)
    try:
        color, depth = r.render(scene)
    finally:
        r.delete()
    cover = (depth > 0)[..., None]
    blend = (1 - alpha) * rgb.astype(np.float32) + alpha * color[..., :3].astype(np.float32)
    return np.where(cover, blend, rgb).astype(np.uint8)


def predict_mesh(model_path: str, inputs: str, out_dir: str, *, boxes_file: str | None = None,
                 boxes: list[np.ndarray] | None = None, min_score: float = 0.0, overlays: bool = True,
                 threads: int | None = None, device: str = "auto") -> dict[str, Any]:
    """Predict the body of every person box of the image(s) ``inputs``; write the JSON (and overlays)."""
    from PIL import Image

    from synth.core.atomic import write_json_atomic
    from synth.estimators.engine.device import resolve_device
    from synth.estimators.mesh.model import get_body
    from synth.estimators.mesh.task import load_checkpoint, predict_samples

    set_threads(threads)
    model, _ = load_checkpoint(model_path, resolve_device(device))
    items = person_boxes(list_images(inputs), boxes_file=boxes_file, boxes=boxes, min_score=min_score)
    images, people, owner = [], [], []
    for ib in items:
        if not len(ib.boxes_xyxy):
            continue
        rgb = read_rgb(ib.path)
        images.append(rgb)
        K = default_intrinsics(rgb.shape[1], rgb.shape[0])
        for box in ib.boxes_xyxy:
            people.append(PhotoPerson(len(images) - 1, np.asarray(box, np.float32), K))
            owner.append(ib)
    data = _People(images, people)
    pred = (predict_samples(model, data) if people else
            {"vertices": [], "keypoints": [], "phenotypes": [], "translation": []})
    results, placed = [], []
    for n, (p, ib) in enumerate(zip(people, owner)):
        t = pred["translation"][n].astype(np.float64)
        placed.append(pred["vertices"][n].astype(np.float64) + t)
        b = p.bbox_xyxy
        results.append({"image_id": ib.image_id, "file_name": os.path.basename(ib.path), "category_id": 1,
                        "bbox": [float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])],
                        "focal_length_px": float(p.K[0, 0]),
                        "keypoints_3d_cam_m": np.round(pred["keypoints"][n].astype(np.float64), 5).tolist(),
                        "translation_cam_m": np.round(t, 4).tolist(),
                        "phenotypes": np.round(pred["phenotypes"][n].astype(np.float64), 4).tolist()})
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "mesh_results.json")
    write_json_atomic(path, results)
    written = []
    if overlays and people:
        faces = get_body(model.config).faces
        os.makedirs(os.path.join(out_dir, "overlays"), exist_ok=True)
        for i, rgb in enumerate(images):
            mine = [v for v, p in zip(placed, people) if p.image_index == i]
            ib = owner[[p.image_index for p in people].index(i)]
            png = os.path.join(out_dir, "overlays", os.path.splitext(os.path.basename(ib.path))[0] + ".png")
            Image.fromarray(render_mesh_overlay(rgb, mine, faces, people[[p.image_index for p in people].index(i)].K)
                            ).save(png)
            written.append(png)
    return {"results": path, "overlays": written, "people": len(results), "images": len(items)}
