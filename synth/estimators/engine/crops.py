"""Top-down person crops: box -> crop affine (pixel-centre convention), warping, keypoint transforms.

All image coordinates follow the dataset's convention: integer (u, v) are pixel
**centres**, so a W-pixel-wide image spans u in [-0.5, W - 0.5]. Boxes are in
pixel-edge coordinates ``[x0, y0, x1, y1]`` (a box around pixel u spans
u - 0.5 … u + 0.5). ``cv2.warpAffine`` samples destination pixel centre (x, y)
at ``M⁻¹ (x, y)`` with the same centre convention, so a keypoint mapped with
``M`` lands exactly where its pixel lands in the warped crop.

Training augmentation (``Augmentation``, ``sample_color_jitter``) and the bases of the task datasets
(``EpochSeededDataset``: one reproducible generator per item and epoch; ``PersonCropDataset``: a crop box per
person) live here too, so every task crops and augments the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from synth.core.errors import SynthError


@dataclass(frozen=True)
class CropBox:
    """A crop region in the source image.

    center : (2,) float64, px, pixel-centre coordinates of the region's centre.
    size : (2,) float64, px, (width, height) of the region, already aspect-fixed to the crop's.
    """

    center: np.ndarray
    size: np.ndarray


def compute_crop_box(bbox_xyxy: np.ndarray, input_hw: tuple[int, int], padding: float = 1.25) -> CropBox:
    """The region a top-down crop covers: the box expanded by ``padding`` and widened or heightened to the
    crop's aspect ratio (never shrunk), as RTMPose / MMPose's ``bbox_xyxy2cs`` + ``fix_aspect_ratio``.

    bbox_xyxy : (4,) float, px, pixel-edge box.  input_hw : (H, W) of the crop in pixels.
    """
    x0, y0, x1, y1 = (float(v) for v in np.asarray(bbox_xyxy, np.float64).reshape(4))
    if not np.all(np.isfinite([x0, y0, x1, y1])) or x1 <= x0 or y1 <= y0:
        raise SynthError(f"compute_crop_box: expected a finite box [x0, y0, x1, y1] with x1 > x0 and y1 > y0, "
                         f"got {[x0, y0, x1, y1]}; skip people without a box")
    h_in, w_in = input_hw
    aspect = w_in / h_in
    w, h = (x1 - x0) * padding, (y1 - y0) * padding
    if w > h * aspect:
        h = w / aspect
    else:
        w = h * aspect
    # edge-coordinate centre (x0 + x1) / 2 is pixel-centre coordinate (x0 + x1) / 2 - 0.5
    center = np.array([(x0 + x1) / 2.0 - 0.5, (y0 + y1) / 2.0 - 0.5])
    return CropBox(center=center, size=np.array([w, h]))


def compute_crop_affine(box: CropBox, input_hw: tuple[int, int], *, rotation_rad: float = 0.0,
                        flip: bool = False) -> np.ndarray:
    """(2, 3) float64 affine taking source pixel-centre coordinates to crop pixel-centre coordinates.

    The region ``box`` (width ``box.size[0]`` source px) maps onto the crop's W pixels, its centre onto the
    crop's centre ((W - 1) / 2, (H - 1) / 2); the content is rotated by ``rotation_rad`` (counter-clockwise
    on screen, about the centre), then mirrored left-right when ``flip``.
    """
    h_in, w_in = input_hw
    s = w_in / float(box.size[0])
    c, si = np.cos(rotation_rad), np.sin(rotation_rad)
    # image y points down: a counter-clockwise screen rotation is [[c, s], [-s, c]]
    R = s * np.array([[c, si], [-si, c]])
    dst_c = np.array([(w_in - 1) / 2.0, (h_in - 1) / 2.0])
    M = np.zeros((2, 3))
    M[:, :2] = R
    M[:, 2] = dst_c - R @ np.asarray(box.center, np.float64)
    if flip:
        F = np.array([[-1.0, 0.0, w_in - 1.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
        M = (F @ np.vstack([M, [0.0, 0.0, 1.0]]))[:2]
    return M


def invert_affine(M: np.ndarray) -> np.ndarray:
    """(2, 3) inverse of a (2, 3) affine."""
    A = np.vstack([np.asarray(M, np.float64), [0.0, 0.0, 1.0]])
    return np.linalg.inv(A)[:2]


def apply_affine(M: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Map points: M (2, 3), points (..., 2) px -> (..., 2) float64 px (NaN stays NaN)."""
    p = np.asarray(points, np.float64)
    return p @ M[:, :2].T + M[:, 2]


def warp_crop(rgb: np.ndarray, M: np.ndarray, input_hw: tuple[int, int]) -> np.ndarray:
    """(H, W, 3) uint8 crop of ``rgb`` (H0, W0, 3) uint8 through affine M (bilinear, black outside)."""
    import cv2

    h_in, w_in = input_hw
    return cv2.warpAffine(rgb, np.asarray(M, np.float64), (int(w_in), int(h_in)), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))


def flip_keypoint_order(values: np.ndarray, flip_index: np.ndarray) -> np.ndarray:
    """Reorder per-keypoint values (K, ...) after a mirror flip so that row k again holds keypoint k:
    ``out[k] = values[flip_index[k]]`` (the left wrist's label becomes the one drawn where the right was)."""
    return np.asarray(values)[np.asarray(flip_index)]


def sample_color_jitter(rgb: np.ndarray, *, rng: np.random.Generator, brightness: float = 0.3,
                        contrast: float = 0.3, saturation: float = 0.3, hue_deg: float = 8.0) -> np.ndarray:
    """Random brightness, contrast, saturation and hue changes of an (H, W, 3) uint8 image."""
    import cv2

    img = rgb.astype(np.float32)
    img *= rng.uniform(1 - brightness, 1 + brightness)
    mean = img.mean()
    img = (img - mean) * rng.uniform(1 - contrast, 1 + contrast) + mean
    img = np.clip(img, 0, 255).astype(np.uint8)
    hsv = cv2.cvtColor(img, cv2.COLOR_RGB2HSV).astype(np.float32)
    hsv[..., 1] = np.clip(hsv[..., 1] * rng.uniform(1 - saturation, 1 + saturation), 0, 255)
    hsv[..., 0] = (hsv[..., 0] + rng.uniform(-hue_deg, hue_deg) / 2.0) % 180.0   # OpenCV hue is degrees / 2
    return cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2RGB)


def sample_degradation(rgb: np.ndarray, aug, *, rng: np.random.Generator) -> np.ndarray:
    """Camera-like degradations of an (H, W, 3) uint8 image, each with its probability in ``aug``, in this
    order: Gaussian blur (sigma 0.4-1.5 px), grayscale, Gaussian noise (std 2-10 grey levels), JPEG compression
    (quality 30-90). Pixels stay where they are, so keypoint labels are unchanged."""
    import cv2

    img = rgb
    if rng.random() < aug.blur_prob:
        img = cv2.GaussianBlur(img, (0, 0), sigmaX=float(rng.uniform(0.4, 1.5)))
    if rng.random() < aug.gray_prob:
        img = np.repeat(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=-1)
    if rng.random() < aug.noise_prob:
        noise = rng.normal(0.0, rng.uniform(2.0, 10.0), img.shape)
        img = np.clip(img.astype(np.float32) + noise, 0, 255).astype(np.uint8)
    if rng.random() < aug.jpeg_prob:
        ok, buf = cv2.imencode(".jpg", img[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(30, 91))])
        img = cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1]
    return np.ascontiguousarray(img)


def jittered_crop_affine(box: CropBox, input_hw: tuple[int, int], aug, *, flip: bool = False,
                         rng: np.random.Generator | None = None) -> np.ndarray:
    """(2, 3) affine of a crop of ``box``: the plain one without ``rng``; with it, scaled by
    ``aug.scale_range``, shifted by up to ``aug.shift_fraction`` of the box (probability ``aug.shift_prob``)
    and turned by up to ``aug.rotation_deg`` degrees (probability ``aug.rotation_prob``), drawn in that order."""
    rot = 0.0
    if rng is not None:
        size = box.size * rng.uniform(*aug.scale_range)
        center = box.center.copy()
        if rng.random() < aug.shift_prob:
            center = center + rng.uniform(-aug.shift_fraction, aug.shift_fraction, 2) * box.size
        if rng.random() < aug.rotation_prob:
            rot = np.deg2rad(rng.uniform(-aug.rotation_deg, aug.rotation_deg))
        box = type(box)(center=center, size=size)
    return compute_crop_affine(box, input_hw, rotation_rad=rot, flip=flip)


@dataclass(frozen=True)
class Augmentation:
    """Training-time augmentation ranges of a top-down person crop (RTMPose-like, milder rotations for small
    synthetic sets): box scale, shift, rotation, mirror flip and colour jitter."""

    scale_range: tuple[float, float] = (0.75, 1.25)
    shift_fraction: float = 0.1
    shift_prob: float = 0.3
    rotation_deg: float = 40.0
    rotation_prob: float = 0.6
    flip_prob: float = 0.5
    color_prob: float = 0.8
    #: image degradations (``sample_degradation``), each drawn with its probability; off by default
    blur_prob: float = 0.0
    noise_prob: float = 0.0
    jpeg_prob: float = 0.0
    gray_prob: float = 0.0

    @property
    def degrades(self) -> bool:
        return max(self.blur_prob, self.noise_prob, self.jpeg_prob, self.gray_prob) > 0.0


#: No augmentation at all (the plain crop every epoch).
NO_AUGMENTATION = Augmentation(scale_range=(1.0, 1.0), shift_prob=0.0, rotation_prob=0.0, flip_prob=0.0,
                               color_prob=0.0)


class EpochSeededDataset:
    """Base of the torch-style datasets: with ``train``, item i of epoch e draws its augmentation from
    ``np.random.default_rng([seed, e, i])`` (reproducible and independent of the loader's order; the training
    loop calls ``set_epoch`` every epoch); without it, ``item_rng`` is None (the plain input)."""

    def __init__(self, *, train: bool, augmentation, seed: int):
        self.train = train
        self.aug = augmentation
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def item_rng(self, index: int) -> np.random.Generator | None:
        """The generator of item ``index`` this epoch (None when not training)."""
        return np.random.default_rng([self.seed, self.epoch, index]) if self.train else None


class PersonCropDataset(EpochSeededDataset):
    """Base of the person-crop datasets: one crop box per person (the box expanded by ``padding`` and
    aspect-fixed to ``input_hw``) and its jittered affine (``jittered_crop_affine`` with ``augmentation``)."""

    def __init__(self, bboxes_xyxy, input_hw: tuple[int, int], *, train: bool = False, padding: float = 1.25,
                 augmentation=Augmentation(), seed: int = 0):
        super().__init__(train=train, augmentation=augmentation, seed=seed)
        self.input_hw = (int(input_hw[0]), int(input_hw[1]))
        self.padding = padding
        self.boxes = [compute_crop_box(b, self.input_hw, padding) for b in bboxes_xyxy]

    def __len__(self) -> int:
        return len(self.boxes)

    def crop_affine(self, index: int, *, flip: bool = False, rng: np.random.Generator | None = None) -> np.ndarray:
        """(2, 3) affine of person ``index``: the plain crop, or an augmented one drawn from ``rng``."""
        return jittered_crop_affine(self.boxes[index], self.input_hw, self.aug, flip=flip, rng=rng)
