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
from synth.estimators.engine.crops import (Augmentation, PersonCropDataset, apply_affine, compute_crop_box,
                                           flip_keypoint_order, jittered_crop_affine, sample_color_jitter,
                                           sample_degradation, warp_crop)
from synth.estimators.engine.datasets import PersonRef, PersonScan
from synth.estimators.engine.errors import EstimatorError

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
class PersonInstance(PersonRef):
    """One labelled person in one view (``PersonRef``: image, scene, frame, view, person, amodal box ``bbox_xyxy``
    (4,) float32 px clipped to the image, visible mask area ``area_px``, COCO's segment ``area`` used by OKS).

    keypoints : (K, 2) float32, px, pixel-centre image coordinates (NaN where not imageable).
    flags : (K,) int8, COCO flags (2 visible, 1 in image but occluded, 0 outside).
    """

    keypoints: np.ndarray
    flags: np.ndarray
    #: (4,) float32 px box of the visible mask (pixel edges; NaN when unknown): tight on what one sees, like a
    #: real annotation box
    bbox_visible_xyxy: np.ndarray | None = None


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


def _keypoint_selection(path: str, dataset_names: list[str], keypoint_names: list[str]) -> np.ndarray:
    """(K,) int64 indices of ``keypoint_names`` in a dataset's keypoint order; EstimatorError when some lack."""
    missing = [n for n in keypoint_names if n not in dataset_names]
    if missing:
        raise EstimatorError(
            f"{path}: its labels have {len(dataset_names)} keypoints and lack {missing[:3]}... "
            f"needed for a {len(keypoint_names)}-keypoint model; use --keypoints 17 or 23, or "
            "generate with people.keypoint_set: wholebody")
    idx = {n: i for i, n in enumerate(dataset_names)}
    return np.array([idx[n] for n in keypoint_names], dtype=np.int64)


def load_person_instances(data: str | list[str], keypoint_names: list[str], *, min_keypoints: int = 1,
                          min_area_px: float = 64.0, verify: bool = False) -> PersonInstances:
    """Read datasets written by ``synth generate`` and keep the people worth a crop.

    A person is kept when its amodal box is finite and non-empty, at least ``min_keypoints`` of the selected
    keypoints lie in the image, and at least ``min_area_px`` of its pixels are visible (COCO annotates people
    one can see; OKS divides by this area). Raises EstimatorError when a dataset lacks the requested
    keypoints or holds nobody to train or evaluate on.
    """
    scan = PersonScan(data, min_keypoints=min_keypoints, min_area_px=min_area_px, verify=verify)
    instances: list[PersonInstance] = []
    sel, sel_path = None, None
    for path, frame in scan.frames():
        if path != sel_path:
            sel, sel_path = _keypoint_selection(path, frame.keypoint_names, keypoint_names), path
        lab = frame.labels
        for p, _, ref in scan.kept_people(frame, sel):
            kp = np.asarray(lab["keypoints_2d"][p][sel], np.float32)
            in_img = np.asarray(lab["keypoints_in_image"][p][sel], bool) & np.all(np.isfinite(kp), axis=-1)
            vis = np.asarray(lab["keypoints_visible"][p][sel], bool) & in_img
            flags = np.where(vis, 2, np.where(in_img, 1, 0)).astype(np.int8)
            vis_box = (np.asarray(lab["bbox_visible_xyxy"][p], np.float32) if "bbox_visible_xyxy" in lab
                       else np.full(4, np.nan, np.float32))
            instances.append(PersonInstance(**vars(ref), keypoints=kp, flags=flags, bbox_visible_xyxy=vis_box))
    if not instances:
        raise scan.nobody_error()
    log.info("%s: %d people from %d views (%d people seen)", ", ".join(scan.paths), len(instances), scan.views,
             scan.people_seen)
    return PersonInstances(scan.images, instances, list(keypoint_names), scan.paths, scan.views, scan.people_seen)


#: The keypoint model's training augmentation: the shared crop jitter, flips and colour, plus camera-like
#: degradations (real photos are blurred, noisy, compressed, sometimes grey; renders are clean).
KEYPOINT_AUGMENTATION = Augmentation(blur_prob=0.2, noise_prob=0.2, jpeg_prob=0.3, gray_prob=0.05)


def _valid_box(b) -> bool:
    b = np.asarray(b, np.float64)
    return b.shape == (4,) and bool(np.all(np.isfinite(b))) and b[2] > b[0] + 1 and b[3] > b[1] + 1


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


class TopDownKeypointDataset(PersonCropDataset):
    """torch-style Dataset of top-down crops (``__len__``, ``__getitem__``).

    Item: ``image`` (H, W, 3) uint8 crop; ``keypoints`` (K, 2) float32 crop px; ``weights`` (K,) float32;
    ``affine`` (2, 3) float64 image -> crop (with the flip when one was drawn); ``flipped`` bool; ``index``.
    With ``train`` each item draws its augmentation from ``np.random.default_rng([seed, epoch, index])``
    (reproducible and independent of loader order; call ``set_epoch`` each epoch).
    """

    def __init__(self, data: PersonInstances, input_hw: tuple[int, int], flip_index: np.ndarray, *,
                 train: bool = False, padding: float = 1.25, occluded_weight: float = 1.0,
                 augmentation: Augmentation = Augmentation(), seed: int = 0, visible_box_prob: float = 0.0):
        super().__init__([inst.bbox_xyxy for inst in data.instances], input_hw, train=train, padding=padding,
                         augmentation=augmentation, seed=seed)
        # training may crop around the tight box of the visible mask instead (real annotation boxes are tight
        # on the visible person; the amodal box also covers hidden and cut-off parts)
        self.visible_box_prob = float(visible_box_prob)
        self.visible_boxes = [compute_crop_box(b, self.input_hw, padding) if _valid_box(b) else None
                              for b in (inst.bbox_visible_xyxy for inst in data.instances)]
        self.data = data
        self.flip_index = np.asarray(flip_index, np.int64)
        if len(self.flip_index) != len(data.keypoint_names):
            raise EstimatorError(f"flip index has {len(self.flip_index)} entries for {len(data.keypoint_names)} "
                                 "keypoints; use select_keypoints() for both")
        self.occluded_weight = occluded_weight

    def __getitem__(self, index: int) -> dict:
        inst = self.data.instances[index]
        rgb = self.data.images[inst.image_index]
        rng = self.item_rng(index)
        flip = bool(rng is not None and rng.random() < self.aug.flip_prob)
        if rng is not None and self.visible_box_prob > 0 and rng.random() < self.visible_box_prob \
                and self.visible_boxes[index] is not None:
            M = jittered_crop_affine(self.visible_boxes[index], self.input_hw, self.aug, flip=flip, rng=rng)
        else:
            M = self.crop_affine(index, flip=flip, rng=rng)
        crop = warp_crop(rgb, M, self.input_hw)
        kp = apply_affine(M, inst.keypoints).astype(np.float32)
        flags = inst.flags
        if flip:
            kp = flip_keypoint_order(kp, self.flip_index)
            flags = flip_keypoint_order(flags, self.flip_index)
        if rng is not None and rng.random() < self.aug.color_prob:
            crop = sample_color_jitter(crop, rng=rng)
        if rng is not None and self.aug.degrades:
            crop = sample_degradation(crop, self.aug, rng=rng)
        w = compute_keypoint_weights(flags, kp, self.input_hw, self.occluded_weight)
        return {"image": np.ascontiguousarray(crop), "keypoints": np.nan_to_num(kp), "weights": w,
                "affine": M, "flipped": flip, "index": index}
