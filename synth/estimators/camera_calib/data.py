"""Camera calibration samples from synth datasets (read through ``synth.io`` only) and the torch-style Dataset.

``load_camera_samples(OUT)`` keeps every pinhole view (one decoded (H, W, 3) uint8 image each) with its
targets (vfov_deg, pitch_deg, roll_deg) from ``synth.estimators.camera_calib.geometry``; fisheye views are skipped
and counted (their fov and "pitch" mean something else). ``CameraCalibDataset`` letterboxes a view to the
S x S input; training adds label-consistent augmentation: a mirror flip (roll negated), a small content
rotation with the centred crop that leaves no empty corners (roll shifted, fov narrowed by the crop), an
optional centred zoom (fov narrowed) and colour jitter. No augmentation moves the image centre, so pitch and
the principal point stay put.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable

import numpy as np

from synth.estimators.camera_calib.geometry import (augmented_targets, calib_targets_from_camera, letterbox_affine,
                                                    letterbox_content_mask, max_inscribed_fraction)
from synth.estimators.engine.crops import EpochSeededDataset, sample_color_jitter, warp_crop
from synth.estimators.engine.datasets import dataset_paths, open_dataset_folder
from synth.estimators.engine.errors import EstimatorError

log = logging.getLogger(__name__)

#: Target order everywhere: (vfov_deg, pitch_deg, roll_deg).
TARGET_NAMES = ("vfov_deg", "pitch_deg", "roll_deg")


@dataclass
class CameraSamples:
    """Pinhole views of one or more datasets.

    images : per view (H, W, 3) uint8 RGB.
    targets_deg : (N, 3) float64, (vfov_deg, pitch_deg, roll_deg).
    focal_px : (N,) float64, K's fy.  sizes : (N, 2) int64, (width, height) px.
    skipped : views left out per camera model name (fisheyes).
    """

    images: list[np.ndarray]
    targets_deg: np.ndarray
    focal_px: np.ndarray
    sizes: np.ndarray
    keys: list[tuple[str, int, str]]
    sources: list[str]
    views_seen: int
    skipped: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.images)


def samples_from_frames(frames: Iterable, source: str) -> CameraSamples:
    """The pinhole views among ``frames`` (``synth.io`` Frame objects); EstimatorError when there are none."""
    images, targets, focal, sizes, keys = [], [], [], [], []
    skipped: Counter[str] = Counter()
    seen = 0
    for frame in frames:
        seen += 1
        cam = frame.camera
        if cam.model_name != "pinhole":
            skipped[cam.model_name] += 1
            continue
        targets.append(calib_targets_from_camera(cam.K, cam.T_cam_from_world, int(cam.height)))
        images.append(np.ascontiguousarray(frame.rgb))
        focal.append(float(cam.K[1, 1]))
        sizes.append((int(cam.width), int(cam.height)))
        keys.append((frame.scene_id, int(frame.frame_index), frame.view))
    if not images:
        found = ", ".join(f"{n} {m}" for m, n in sorted(skipped.items())) or "none"
        raise EstimatorError(
            f"{source}: no pinhole views to calibrate ({seen} views; camera models found: {found}); camera "
            "calibration predicts the vertical fov, pitch and roll of pinhole cameras. Fix: generate with a "
            "camera of 'model: pinhole' (the default), e.g. the 'orbit' rig")
    if skipped:
        log.info("%s: skipped %d non-pinhole views (%s)", source, sum(skipped.values()), dict(skipped))
    return CameraSamples(images, np.array(targets, np.float64).reshape(-1, 3), np.array(focal, np.float64),
                         np.array(sizes, np.int64).reshape(-1, 2), keys, [source], seen, dict(skipped))


def load_camera_samples(data: str | list[str]) -> CameraSamples:
    """Read the pinhole views of dataset folder(s) written by ``synth generate`` (skipping fisheyes, counted)."""
    paths = dataset_paths(data)
    parts = [samples_from_frames(open_dataset_folder(p), p) for p in paths]
    skipped: Counter[str] = Counter()
    for p in parts:
        skipped.update(p.skipped)
    out = CameraSamples(
        images=[im for p in parts for im in p.images],
        targets_deg=np.concatenate([p.targets_deg for p in parts]),
        focal_px=np.concatenate([p.focal_px for p in parts]),
        sizes=np.concatenate([p.sizes for p in parts]),
        keys=[k for p in parts for k in p.keys], sources=paths,
        views_seen=sum(p.views_seen for p in parts), skipped=dict(skipped))
    log.info("%s: %d pinhole views (%d views seen, skipped %s)", ", ".join(paths), len(out), out.views_seen,
             dict(skipped) or "none")
    return out


@dataclass(frozen=True)
class CalibAugmentation:
    """Training augmentation; every draw updates the labels (see ``geometry.augmented_targets``)."""

    flip_prob: float = 0.5
    rotation_prob: float = 0.5
    rotation_deg: float = 8.0
    zoom_prob: float = 0.3
    zoom_range: tuple[float, float] = (0.85, 1.0)
    color_prob: float = 0.8


NO_AUGMENTATION = CalibAugmentation(flip_prob=0.0, rotation_prob=0.0, zoom_prob=0.0, color_prob=0.0)


def make_calib_input(rgb: np.ndarray, input_size: int, *, crop_fraction: float = 1.0, rotation_deg: float = 0.0,
                     flip: bool = False) -> np.ndarray:
    """(S, S, 3) uint8 network input of an (H, W, 3) uint8 image: letterboxed (black bars), optionally cropped,
    turned counter-clockwise by ``rotation_deg`` and mirrored (the label update is ``augmented_targets``)."""
    h, w = rgb.shape[:2]
    M = letterbox_affine(w, h, input_size, crop_fraction=crop_fraction, rotation_rad=np.radians(rotation_deg),
                         flip=flip)
    out = warp_crop(rgb, M, (input_size, input_size))
    mask = letterbox_content_mask(w, h, input_size)
    if mask is not None:
        out[~mask] = 0
    return out


class CameraCalibDataset(EpochSeededDataset):
    """torch-style Dataset of letterboxed views. Item: ``image`` (S, S, 3) uint8, ``targets`` (3,) float32
    (vfov_deg, pitch_deg, roll_deg of what the image shows), ``index``. With ``train`` item i draws its
    augmentation from ``np.random.default_rng([seed, epoch, i])`` (call ``set_epoch`` each epoch)."""

    def __init__(self, data: CameraSamples, input_size: int, *, train: bool = False,
                 augmentation: CalibAugmentation = CalibAugmentation(), seed: int = 0):
        super().__init__(train=train, augmentation=augmentation, seed=seed)
        self.data = data
        self.input_size = int(input_size)

    def __len__(self) -> int:
        return len(self.data)

    def draw(self, index: int, rng: np.random.Generator) -> tuple[float, float, bool]:
        """(crop_fraction, rotation_deg, flip) of one training draw for view ``index``."""
        a = self.aug
        w, h = (int(v) for v in self.data.sizes[index])
        rot = float(rng.uniform(-a.rotation_deg, a.rotation_deg)) if rng.random() < a.rotation_prob else 0.0
        crop = max_inscribed_fraction(w, h, np.radians(rot))
        if rng.random() < a.zoom_prob:
            crop *= float(rng.uniform(*a.zoom_range))
        return crop, rot, bool(rng.random() < a.flip_prob)

    def __getitem__(self, index: int) -> dict:
        rgb = self.data.images[index]
        targets = self.data.targets_deg[index]
        rng = self.item_rng(index)
        if rng is not None:
            crop, rot, flip = self.draw(index, rng)
            image = make_calib_input(rgb, self.input_size, crop_fraction=crop, rotation_deg=rot, flip=flip)
            targets = augmented_targets(targets, crop_fraction=crop, rotation_deg=rot, flip=flip)
            if rng.random() < self.aug.color_prob:
                image = sample_color_jitter(image, rng=rng)
                h, w = rgb.shape[:2]
                mask = letterbox_content_mask(w, h, self.input_size)
                if mask is not None:   # keep the letterbox bars black
                    image[~mask] = 0
        else:
            image = make_calib_input(rgb, self.input_size)
        return {"image": np.ascontiguousarray(image), "targets": np.asarray(targets, np.float32), "index": index}
