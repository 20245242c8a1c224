"""Person instances from a synth dataset (read through ``synth.io`` only) and the top-down torch Dataset.

``load_person_instances(OUT)`` reads every frame once with
``synth.io.open_dataset`` and keeps, per labelled person, the amodal box, the
selected keypoints with COCO flags (2 visible, 1 in the image but occluded,
0 outside the image or not imageable) and the visible mask area; images are
kept decoded in memory (one (H, W, 3) uint8 array per view, shared by its
people; e.g. 480 views at 192 px are 53 MB).

``TopDownKeypointDataset`` turns an instance into a crop: the box expanded by
1.25 and aspect-fixed to the input size, warped with one affine (pixel-centre
convention) that also maps the keypoints. Training adds random scale, shift,
rotation, mirror flip (left/right labels swapped with the keypoint set's flip
index) and colour jitter. Keypoint weights: 1 for visible points, the
``occluded_weight`` (default 1: synth labels occluded points exactly) for
in-image occluded ones, 0 for points outside the image or outside the crop.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from synth.bodies.keypoints import (KEYPOINT_FLIP_INDEX, KEYPOINT_NAMES, NUM_COCO_KEYPOINTS, WHOLEBODY_FLIP_INDEX,
                                    WHOLEBODY_KEYPOINT_NAMES)
from synth.estimators.common import EstimatorError
from synth.estimators.crops import (apply_affine, compute_crop_box, flip_keypoint_order, jittered_crop_affine,
                                    sample_color_jitter, warp_crop)

log = logging.getLogger(__name__)

#: Supported keypoint counts -> (names, flip index).
KEYPOINT_CHOICES = (17, 23, 133)


def select_keypoints(num_keypoints: int) -> tuple[list[str], np.ndarray]:
    """Names and (K,) int32 flip index of the first 17 (COCO body), 23 (+ feet) or all 133 (whole body) points."""
    if num_keypoints == NUM_COCO_KEYPOINTS:
        return list(KEYPOINT_NAMES[:17]), KEYPOINT_FLIP_INDEX[:17].copy()
    if num_keypoints == len(KEYPOINT_NAMES):
        return list(KEYPOINT_NAMES), KEYPOINT_FLIP_INDEX.copy()
    if num_keypoints == len(WHOLEBODY_KEYPOINT_NAMES):
        return list(WHOLEBODY_KEYPOINT_NAMES), WHOLEBODY_FLIP_INDEX.copy()
    raise EstimatorError(f"--keypoints: expected one of {list(KEYPOINT_CHOICES)} (COCO body, + feet, "
                         f"COCO-WholeBody), got {num_keypoints}")


@dataclass
class PersonInstance:
    """One labelled person in one view.

    keypoints : (K, 2) float32, px, pixel-centre image coordinates (NaN where not imageable).
    flags : (K,) int8, COCO flags (2 visible, 1 in image but occluded, 0 outside).
    bbox_xyxy : (4,) float32, px, amodal box (pixel edges, clipped to the image).
    area_px : visible mask area in pixels (COCO's segment ``area``, used by OKS).
    """

    image_index: int
    scene_id: str
    frame_index: int
    view: str
    person: int
    keypoints: np.ndarray
    flags: np.ndarray
    bbox_xyxy: np.ndarray
    area_px: float


@dataclass
class PersonInstances:
    """Decoded images and their people, for one or more datasets."""

    images: list[np.ndarray]
    instances: list[PersonInstance]
    keypoint_names: list[str]
    sources: list[str]
    views: int
    people_seen: int

    def __len__(self) -> int:
        return len(self.instances)


def load_person_instances(data: str | list[str], keypoint_names: list[str], *, min_keypoints: int = 1,
                          min_area_px: float = 64.0, verify: bool = False) -> PersonInstances:
    """Read datasets written by ``synth generate`` and keep the people worth a crop.

    A person is kept when its amodal box is finite and non-empty, at least ``min_keypoints`` of the selected
    keypoints lie in the image, and at least ``min_area_px`` of its pixels are visible (COCO annotates people
    one can see; OKS divides by this area). Raises EstimatorError when a dataset lacks the requested
    keypoints or holds nobody to train or evaluate on.
    """
    from synth.io import open_dataset

    paths = [data] if isinstance(data, str) else list(data)
    images: list[np.ndarray] = []
    instances: list[PersonInstance] = []
    views = people_seen = 0
    for path in paths:
        ds = open_dataset(str(path), verify=verify)
        sel = None
        for frame in ds:
            if sel is None:
                missing = [n for n in keypoint_names if n not in frame.keypoint_names]
                if missing:
                    raise EstimatorError(
                        f"{path}: its labels have {len(frame.keypoint_names)} keypoints and lack {missing[:3]}... "
                        f"needed for a {len(keypoint_names)}-keypoint model; use --keypoints 17 or 23, or "
                        "generate with people.keypoint_set: wholebody")
                idx = {n: i for i, n in enumerate(frame.keypoint_names)}
                sel = np.array([idx[n] for n in keypoint_names], dtype=np.int64)
            views += 1
            lab = frame.labels
            P = lab["keypoints_2d"].shape[0]
            people_seen += P
            image_index = len(images)
            kept = 0
            for p in range(P):
                box = np.asarray(lab["bbox_xyxy"][p], np.float32)
                if not np.all(np.isfinite(box)) or box[2] <= box[0] or box[3] <= box[1]:
                    continue
                kp = np.asarray(lab["keypoints_2d"][p][sel], np.float32)
                in_img = np.asarray(lab["keypoints_in_image"][p][sel], bool) & np.all(np.isfinite(kp), axis=-1)
                vis = np.asarray(lab["keypoints_visible"][p][sel], bool) & in_img
                area = float(lab["mask_area_px"][p])
                if in_img.sum() < min_keypoints or area < min_area_px:
                    continue
                flags = np.where(vis, 2, np.where(in_img, 1, 0)).astype(np.int8)
                instances.append(PersonInstance(image_index, frame.scene_id, frame.frame_index, frame.view, p,
                                                kp, flags, box, area))
                kept += 1
            if kept:
                images.append(np.ascontiguousarray(frame.rgb))
    if not instances:
        raise EstimatorError(f"{paths}: no person with a box, >= {min_keypoints} keypoints in the image and >= "
                             f"{min_area_px:g} visible pixels among {people_seen} people in {views} views; "
                             "generate more scenes or bigger images")
    log.info("%s: %d people from %d views (%d people seen)", ", ".join(map(str, paths)), len(instances), views,
             people_seen)
    return PersonInstances(images, instances, list(keypoint_names), [str(p) for p in paths], views, people_seen)


@dataclass(frozen=True)
class Augmentation:
    """Training-time augmentation ranges (RTMPose-like, milder rotations for small synthetic sets)."""

    scale_range: tuple[float, float] = (0.75, 1.25)
    shift_fraction: float = 0.1
    shift_prob: float = 0.3
    rotation_deg: float = 40.0
    rotation_prob: float = 0.6
    flip_prob: float = 0.5
    color_prob: float = 0.8


def compute_keypoint_weights(flags: np.ndarray, keypoints_crop: np.ndarray, input_hw: tuple[int, int],
                             occluded_weight: float = 1.0) -> np.ndarray:
    """(K,) float32 loss weights: 1 visible, ``occluded_weight`` occluded-in-image, 0 unlabelled or off the crop.

    flags : (K,) COCO flags.  keypoints_crop : (K, 2) px, crop pixel-centre coordinates.
    """
    h, w = input_hw
    x, y = keypoints_crop[:, 0], keypoints_crop[:, 1]
    with np.errstate(invalid="ignore"):
        inside = (x >= -0.5) & (x <= w - 0.5) & (y >= -0.5) & (y <= h - 0.5)
    wts = np.where(flags == 2, 1.0, np.where(flags == 1, occluded_weight, 0.0))
    return (wts * inside).astype(np.float32)


class TopDownKeypointDataset:
    """torch-style Dataset of top-down crops (``__len__``, ``__getitem__``).

    Item: ``image`` (H, W, 3) uint8 crop; ``keypoints`` (K, 2) float32 crop px; ``weights`` (K,) float32;
    ``affine`` (2, 3) float64 image -> crop (with the flip when one was drawn); ``flipped`` bool; ``index``.
    With ``train`` each item draws its augmentation from ``np.random.default_rng([seed, epoch, index])``
    (reproducible and independent of loader order; call ``set_epoch`` each epoch).
    """

    def __init__(self, data: PersonInstances, input_hw: tuple[int, int], flip_index: np.ndarray, *,
                 train: bool = False, padding: float = 1.25, occluded_weight: float = 1.0,
                 augmentation: Augmentation = Augmentation(), seed: int = 0):
        self.data = data
        self.input_hw = (int(input_hw[0]), int(input_hw[1]))
        self.flip_index = np.asarray(flip_index, np.int64)
        if len(self.flip_index) != len(data.keypoint_names):
            raise EstimatorError(f"flip index has {len(self.flip_index)} entries for {len(data.keypoint_names)} "
                                 "keypoints; use select_keypoints() for both")
        self.train = train
        self.padding = padding
        self.occluded_weight = occluded_weight
        self.aug = augmentation
        self.seed = seed
        self.epoch = 0
        self.boxes = [compute_crop_box(inst.bbox_xyxy, self.input_hw, padding) for inst in data.instances]

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.data.instances)

    def crop_affine(self, index: int, *, flip: bool = False, rng: np.random.Generator | None = None) -> np.ndarray:
        """(2, 3) affine of instance ``index``: the plain crop, or an augmented one drawn from ``rng``."""
        return jittered_crop_affine(self.boxes[index], self.input_hw, self.aug, flip=flip, rng=rng)

    def __getitem__(self, index: int) -> dict:
        inst = self.data.instances[index]
        rgb = self.data.images[inst.image_index]
        rng = np.random.default_rng([self.seed, self.epoch, index]) if self.train else None
        flip = bool(rng is not None and rng.random() < self.aug.flip_prob)
        M = self.crop_affine(index, flip=flip, rng=rng)
        crop = warp_crop(rgb, M, self.input_hw)
        kp = apply_affine(M, inst.keypoints).astype(np.float32)
        flags = inst.flags
        if flip:
            kp = flip_keypoint_order(kp, self.flip_index)
            flags = flip_keypoint_order(flags, self.flip_index)
        if rng is not None and rng.random() < self.aug.color_prob:
            crop = sample_color_jitter(crop, rng=rng)
        w = compute_keypoint_weights(flags, kp, self.input_hw, self.occluded_weight)
        return {"image": np.ascontiguousarray(crop), "keypoints": np.nan_to_num(kp), "weights": w,
                "affine": M, "flipped": flip, "index": index}
