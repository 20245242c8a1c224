"""People with dense contact labels from synth datasets (read through ``synth.io`` only), and their crops.

``load_contact_samples(OUT)`` reads every frame once with ``synth.io.open_dataset`` and keeps the people worth a
crop (``engine.datasets.PersonScan``: a finite, non-empty amodal box, at least one body keypoint in the image,
at least ``min_area_px`` visible pixels), with their per-vertex labels for that frame:
``contact_ground`` (the vertex is within 2 cm of the ground) and ``contact_person >= 0`` (another person within
2 cm). Images are kept decoded in memory, one per view, shared by its people.

``ContactCropDataset`` crops a person exactly as the keypoint estimator does (``engine.crops``: the box expanded by
1.25, aspect-fixed, one affine in the pixel-centre convention) with the same training augmentation (random
scale, shift, rotation, mirror flip, colour jitter; ``engine.crops.Augmentation``). Contact labels are invariant to
the geometric changes except the mirror flip, which maps the person onto its mirror image: the label of vertex
v becomes that of ``mirror[v]`` (``geometry.mirror_correspondence``). Without a correspondence the
dataset never flips.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from synth.estimators.contact.geometry import body_topology
from synth.estimators.engine.crops import Augmentation, PersonCropDataset, sample_color_jitter, warp_crop
from synth.estimators.engine.datasets import PersonRef, PersonScan
from synth.estimators.engine.errors import EstimatorError

log = logging.getLogger(__name__)

#: Output channels a contact model can have, in this order.
CONTACT_CHANNELS = ("ground", "person")


@dataclass
class ContactInstance(PersonRef):
    """One labelled person in one view (``PersonRef``) and the dataset folder it comes from."""

    source: str


@dataclass
class ContactSamples:
    """Decoded images, their people and per-vertex labels, for one or more datasets.

    ground : (N, V) bool, vertex within 2 cm of the ground.  person : (N, V) bool, another person within 2 cm.
    faces : (F, 3) int64 of the body model (the same in every dataset).
    body_options : the body model's options as the shards store them (Anny: ``topology``, ``keypoint_set``).
    """

    images: list[np.ndarray]
    instances: list[ContactInstance]
    ground: np.ndarray
    person: np.ndarray
    faces: np.ndarray
    body_model: str
    sources: list[str]
    views: int
    people_seen: int
    body_options: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.instances)

    @property
    def topology(self) -> str:
        """Anny's topology name, or the body model's name."""
        return body_topology(self.body_model, self.body_options)

    @property
    def num_vertices(self) -> int:
        return int(self.ground.shape[1])

    def labels(self, channels: tuple[str, ...] | list[str]) -> np.ndarray:
        """(N, C, V) bool labels of the named channels (``CONTACT_CHANNELS``)."""
        by_name = {"ground": self.ground, "person": self.person}
        return np.stack([by_name[c] for c in channels], axis=1)


def _person_labels(path: str, frame, p: int) -> tuple[np.ndarray, np.ndarray]:
    """(ground (V,) bool, person (V,) bool) of person ``p`` of ``frame``; EstimatorError when unlabelled."""
    person = frame.people[p]
    cg, cp = person.get("contact_ground"), person.get("contact_person")
    if cg is None or cp is None:
        raise EstimatorError(
            f"{path}: scene {frame.scene_id} person {p} has no dense contact labels (contact_ground / "
            "contact_person in the shard, see docs/format.md); expected a dataset written by a synth that "
            "labels contact: regenerate it with this version of 'synth generate'")
    return np.asarray(cg, bool), np.asarray(cp) >= 0


def load_contact_samples(data: str | list[str], *, min_area_px: float = 64.0, min_keypoints: int = 1,
                         verify: bool = False) -> ContactSamples:
    """Read datasets written by ``synth generate`` and keep the people worth a crop, with their contact labels.

    Raises EstimatorError for a missing dataset, one without contact labels, datasets of different body
    models or vertex counts, or when nobody is left to train or evaluate on.
    """
    scan = PersonScan(data, min_keypoints=min_keypoints, min_area_px=min_area_px, verify=verify)
    instances: list[ContactInstance] = []
    ground: list[np.ndarray] = []
    touch: list[np.ndarray] = []
    faces = body = options = None
    for path, frame in scan.frames():
        for p, _, ref in scan.kept_people(frame):
            cg, cp = _person_labels(path, frame, p)
            f = np.asarray(frame.faces[p], np.int64)
            name = frame.people[p]["body_model"]
            if faces is None:
                faces, body, options = f, name, dict(frame.people[p].get("body_options") or {})
            elif name != body or f.shape != faces.shape or not np.array_equal(f, faces):
                raise EstimatorError(
                    f"{path}: scene {frame.scene_id} person {p} uses body model {name!r} with "
                    f"{len(cg)} vertices / {len(f)} faces, other people here use {body!r} with "
                    f"{ground[0].shape[0]} vertices / {len(faces)} faces; a contact model has one "
                    "topology: train or evaluate on datasets of one body model and topology")
            instances.append(ContactInstance(**vars(ref), source=path))
            ground.append(cg)
            touch.append(cp)
    if not instances:
        raise scan.nobody_error()
    log.info("%s: %d people from %d views (%d people seen)", ", ".join(scan.paths), len(instances), scan.views,
             scan.people_seen)
    return ContactSamples(scan.images, instances, np.stack(ground), np.stack(touch), faces, str(body), scan.paths,
                          scan.views, scan.people_seen, options)


class ContactCropDataset(PersonCropDataset):
    """torch-style Dataset of person crops and their contact labels.

    Item: ``image`` (H, W, 3) uint8 crop; ``labels`` (C, V) float32 (0 / 1, mirrored when flipped);
    ``flipped`` bool; ``index``. With ``train`` each item draws its augmentation from
    ``np.random.default_rng([seed, epoch, index])`` (call ``set_epoch`` each epoch); ``mirror`` (V,) int64
    enables flips (None: never flip).
    """

    def __init__(self, data: ContactSamples, input_hw: tuple[int, int], channels: tuple[str, ...], *,
                 mirror: np.ndarray | None = None, train: bool = False, padding: float = 1.25,
                 augmentation: Augmentation = Augmentation(), seed: int = 0):
        super().__init__([inst.bbox_xyxy for inst in data.instances], input_hw, train=train, padding=padding,
                         augmentation=augmentation, seed=seed)
        self.data = data
        self.labels = data.labels(channels)
        self.mirror = None if mirror is None else np.asarray(mirror, np.int64)
        if self.mirror is not None and self.mirror.shape != (data.num_vertices,):
            raise EstimatorError(f"mirror correspondence has {self.mirror.shape} entries for "
                                 f"{data.num_vertices} vertices; compute it from this topology's rest mesh")

    def crop(self, index: int, *, flip: bool = False) -> np.ndarray:
        """(H, W, 3) uint8 plain (evaluation) crop of instance ``index``, mirrored when ``flip``."""
        rgb = self.data.images[self.data.instances[index].image_index]
        return warp_crop(rgb, self.crop_affine(index, flip=flip), self.input_hw)

    def __getitem__(self, index: int) -> dict:
        rgb = self.data.images[self.data.instances[index].image_index]
        rng = self.item_rng(index)
        flip = bool(rng is not None and self.mirror is not None and rng.random() < self.aug.flip_prob)
        crop = warp_crop(rgb, self.crop_affine(index, flip=flip, rng=rng), self.input_hw)
        labels = self.labels[index]
        if flip:
            labels = labels[:, self.mirror]
        if rng is not None and rng.random() < self.aug.color_prob:
            crop = sample_color_jitter(crop, rng=rng)
        return {"image": np.ascontiguousarray(crop), "labels": labels.astype(np.float32), "flipped": flip,
                "index": index}
