"""MediaPipe Pose (trained on real photos; optional, ``pip install mediapipe``) on the same person crops as our
model, as a yardstick for real-photo numbers: how far a real-trained model gets under the same protocol.

Each person is cropped like the keypoint model's input (box x1.25, aspect-fixed; here 384 x 288 px so MediaPipe
has pixels to work with), MediaPipe Pose (``static_image_mode``, model complexity 1) runs on the crop, and its 33
landmarks are mapped to COCO-17 (nose, eyes, ears, the 12 limb joints) and back to the image through the inverse
crop affine. A person MediaPipe finds nobody in counts with every joint wrong (``people_not_found``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from synth.estimators.engine.crops import PersonCropDataset, apply_affine, invert_affine, warp_crop
from synth.estimators.engine.errors import EstimatorError
from synth.estimators.keypoints2d.coco import limb_accuracy
from synth.estimators.keypoints2d.data import PersonInstances

#: MediaPipe Pose landmark of each COCO-17 point (both use the person's own left / right).
MEDIAPIPE_OF_COCO17: tuple[int, ...] = (0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28)
#: Crop size MediaPipe gets (height, width).
CROP_HW = (384, 288)


def mediapipe_predictions(data: PersonInstances) -> tuple[np.ndarray, int]:
    """(N, 17, 2) px pixel-centre predictions of MediaPipe Pose for every person (NaN-free: a person not found
    gets points far outside the image) and how many people it found nobody for."""
    try:
        import mediapipe as mp
    except ImportError:
        raise EstimatorError("MediaPipe is not installed: pip install mediapipe (optional; only the real-photo "
                             "yardstick uses it)") from None
    ds = PersonCropDataset([i.bbox_xyxy for i in data.instances], CROP_HW, padding=1.25)
    pred = np.full((len(data), 17, 2), -1e6)
    missed = 0
    with mp.solutions.pose.Pose(static_image_mode=True, model_complexity=1) as pose:
        for n, inst in enumerate(data.instances):
            M = ds.crop_affine(n)
            crop = warp_crop(data.images[inst.image_index], M, CROP_HW)
            res = pose.process(np.ascontiguousarray(crop))
            if res.pose_landmarks is None:
                missed += 1
                continue
            lm = res.pose_landmarks.landmark
            uv = np.array([[lm[j].x * CROP_HW[1] - 0.5, lm[j].y * CROP_HW[0] - 0.5] for j in MEDIAPIPE_OF_COCO17])
            pred[n] = apply_affine(invert_affine(M), uv)
    return pred, missed


def mediapipe_limb_accuracy(data: PersonInstances) -> dict[str, Any]:
    """``limb_accuracy`` of MediaPipe Pose on ``data``'s people (see the module doc), with ``people_not_found``."""
    import mediapipe as mp

    pred, missed = mediapipe_predictions(data)
    gt = np.stack([i.keypoints[:17] for i in data.instances]).astype(np.float64)
    flags = np.stack([i.flags[:17] for i in data.instances])
    h = np.array([i.bbox_xyxy[3] - i.bbox_xyxy[1] for i in data.instances], np.float64)
    out = limb_accuracy(pred, gt, flags, h)
    out["people_not_found"] = missed
    out["mediapipe"] = getattr(mp, "__version__", "?")
    out["crop_hw"] = list(CROP_HW)
    return out
