"""``synth predict contact``: per-vertex contact of each person box in any image, as JSON and overlay PNGs.

Each box (``engine.predict_inputs``: ``--boxes FILE``, ``--box``, or the whole image) is cropped exactly as
evaluation crops a labelled person (the box expanded 1.25x, aspect-fixed to the model's input), the model
predicts a contact probability per rest-mesh vertex and channel (the mirrored crop averaged in with the flip
test), and a vertex is in contact at probability >= 0.5 (``task.THRESHOLD``).

``OUT/contact_results.json``: ``{"body_model", "topology", "num_vertices", "channels", "threshold",
"people": [...]}``, one entry per box with ``image_id``, ``file_name``, ``bbox`` ``[x, y, w, h]`` (px),
``score`` (the box's detector score), ``contact_vertices`` (channel -> the rest mesh's vertex indices in
contact), ``contact_vertex_count`` and, with ``probabilities``, ``probabilities`` (channel -> V values,
3 decimals). ``OUT/overlays/STEM.png``: per person the crop beside the rest mesh from the front, the back and
below with the contact vertices coloured (``contact.overlay``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from synth.estimators.engine.fit import set_threads
from synth.estimators.engine.predict_inputs import PhotoPerson, list_images, person_boxes, read_rgb


@dataclass
class BoxPeople:
    """Unlabelled people given by boxes, in the shape ``ContactCropDataset`` reads (labels all False)."""

    images: list[np.ndarray]
    instances: list[PhotoPerson]
    num_vertices: int

    def __len__(self) -> int:
        return len(self.instances)

    def labels(self, channels) -> np.ndarray:
        return np.zeros((len(self.instances), len(channels), self.num_vertices), bool)


def predict_contact(model_path: str, inputs: str, out_dir: str, *, boxes_file: str | None = None,
                    boxes: list[np.ndarray] | None = None, min_score: float = 0.0, flip_test: bool = True,
                    overlays: bool = True, probabilities: bool = False, threads: int | None = None,
                    device: str = "auto", batch_size: int = 64) -> dict[str, Any]:
    """Predict contact for every person box of the image(s) ``inputs``; write the JSON (and overlays) under
    ``out_dir``. Returns ``{"results": path, "overlays": [paths], "people": n, "images": n}``."""
    from synth.core.atomic import write_json_atomic
    from synth.estimators.contact.data import ContactCropDataset
    from synth.estimators.contact.overlay import contact_overlay
    from synth.estimators.contact.task import THRESHOLD, load_checkpoint, predict_probabilities
    from synth.estimators.engine.device import resolve_device

    set_threads(threads)
    model, _ = load_checkpoint(model_path, resolve_device(device))
    c = model.config
    items = person_boxes(list_images(inputs), boxes_file=boxes_file, boxes=boxes, min_score=min_score)
    images, people, owner, scores = [], [], [], []
    for ib in items:
        if not len(ib.boxes_xyxy):
            continue
        images.append(read_rgb(ib.path))
        for box, score in zip(ib.boxes_xyxy, ib.scores):
            people.append(PhotoPerson(len(images) - 1, np.asarray(box, np.float32)))
            owner.append(ib)
            scores.append(float(score))
    data = BoxPeople(images, people, int(c.num_vertices))
    prob = (predict_probabilities(model, data, batch_size=batch_size, flip_test=flip_test) if people
            else np.zeros((0, len(c.channels), c.num_vertices), np.float32))
    masks = prob >= THRESHOLD
    entries = []
    for n, (p, ib) in enumerate(zip(people, owner)):
        b = p.bbox_xyxy
        e = {"image_id": ib.image_id, "file_name": os.path.basename(ib.path), "category_id": 1,
             "bbox": [float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])], "score": scores[n],
             "contact_vertices": {ch: np.flatnonzero(masks[n, k]).tolist() for k, ch in enumerate(c.channels)},
             "contact_vertex_count": {ch: int(masks[n, k].sum()) for k, ch in enumerate(c.channels)}}
        if probabilities:
            e["probabilities"] = {ch: np.round(prob[n, k].astype(np.float64), 3).tolist()
                                  for k, ch in enumerate(c.channels)}
        entries.append(e)
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "contact_results.json")
    write_json_atomic(path, {"body_model": c.body_model, "topology": c.topology, "num_vertices": c.num_vertices,
                             "channels": list(c.channels), "threshold": THRESHOLD, "flip_test": bool(flip_test),
                             "people": entries})
    written = []
    if overlays and people:
        rest = model.rest_mesh()
        ds = ContactCropDataset(data, c.input_hw, c.channels)
        os.makedirs(os.path.join(out_dir, "overlays"), exist_ok=True)
        for i in range(len(images)):
            mine = [n for n, p in enumerate(people) if p.image_index == i]
            captions = [", ".join(f"{ch} {entries[n]['contact_vertex_count'][ch]} of {c.num_vertices} vertices"
                                  for ch in c.channels) for n in mine]
            contacts = [{ch: masks[n, k] for k, ch in enumerate(c.channels)} for n in mine]
            im = contact_overlay([ds.crop(n) for n in mine], contacts, rest.vertices_m, rest.faces,
                                 captions=captions)
            stem = os.path.splitext(os.path.basename(owner[mine[0]].path))[0]
            png = os.path.join(out_dir, "overlays", stem + ".png")
            im.save(png)
            written.append(png)
    return {"results": path, "overlays": written, "people": len(entries), "images": len(items)}
