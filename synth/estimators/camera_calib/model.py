"""The camera calibration network (MobileNetV2 + pooled-and-spatial regression head), its target encoding and
loss; see ``synth.estimators.camera_calib.task`` for the whole method."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F

from synth.estimators.engine.backbone import (IMAGENET_MEAN_RGB, IMAGENET_STD_RGB, ImageNetBackboneNet, MobileNetV2,
                                              mlp_head, pooled_and_spatial, spatial_branch)
from synth.estimators.engine.config import ConfigRecord, check_input_size

#: Lower bounds of the target normalisation scales: log tan(vfov / 2), pitch (deg), roll (deg).
TARGET_SCALE_FLOOR = (0.05, 5.0, 5.0)


@dataclass
class CameraCalibConfig(ConfigRecord):
    """What a checkpoint needs to rebuild and use the model (angles in degrees)."""

    input_size: int = 160
    hidden_dims: int = 256
    spatial_channels: int = 32
    #: normalisation of (log tan(vfov / 2), pitch_deg, roll_deg): training means and (floored) std devs
    target_center: tuple[float, float, float] = (-0.45, 0.0, 0.0)
    target_scale: tuple[float, float, float] = (0.3, 10.0, 10.0)
    #: the constant baseline: training-set mean (vfov_deg, pitch_deg, roll_deg)
    baseline_deg: tuple[float, float, float] = (50.0, 0.0, 0.0)
    mean_rgb: tuple[float, float, float] = IMAGENET_MEAN_RGB
    std_rgb: tuple[float, float, float] = IMAGENET_STD_RGB
    pretrained: str = "imagenet"



def encode_targets(targets_deg: torch.Tensor, config: CameraCalibConfig) -> torch.Tensor:
    """(B, 3) (vfov_deg, pitch_deg, roll_deg) -> (B, 3) normalised regression targets."""
    t = targets_deg.to(torch.float64)
    raw = torch.stack([torch.log(torch.tan(torch.deg2rad(t[:, 0]) / 2)), t[:, 1], t[:, 2]], dim=1)
    center = torch.tensor(config.target_center, dtype=torch.float64, device=t.device)
    scale = torch.tensor(config.target_scale, dtype=torch.float64, device=t.device)
    return ((raw - center) / scale).to(torch.float32)


def decode_outputs(out: torch.Tensor, config: CameraCalibConfig) -> torch.Tensor:
    """(B, 3) normalised network outputs -> (B, 3) float64 (vfov_deg, pitch_deg, roll_deg)."""
    center = torch.tensor(config.target_center, dtype=torch.float64, device=out.device)
    scale = torch.tensor(config.target_scale, dtype=torch.float64, device=out.device)
    raw = out.to(torch.float64) * scale + center
    vfov = torch.rad2deg(2 * torch.atan(torch.exp(raw[:, 0])))
    return torch.stack([vfov, raw[:, 1], raw[:, 2]], dim=1)


def target_statistics(targets_deg: np.ndarray) -> tuple[tuple[float, ...], tuple[float, ...], tuple[float, ...]]:
    """(center, scale, baseline_deg) of (N, 3) training targets in degrees (see ``CameraCalibConfig``)."""
    t = np.asarray(targets_deg, np.float64)
    raw = np.stack([np.log(np.tan(np.radians(t[:, 0]) / 2)), t[:, 1], t[:, 2]], axis=1)
    center = tuple(float(v) for v in raw.mean(axis=0))
    scale = tuple(float(max(s, f)) for s, f in zip(raw.std(axis=0), TARGET_SCALE_FLOOR))
    baseline = tuple(float(v) for v in t.mean(axis=0))
    return center, scale, baseline


class CameraCalibNet(ImageNetBackboneNet):
    """MobileNetV2 + pooled-and-spatial regression head. forward(x (B, 3, S, S)) -> (B, 3) normalised targets."""

    def __init__(self, config: CameraCalibConfig):
        super().__init__()
        s = int(config.input_size)
        check_input_size((s, s))
        self.init_backbone(config)
        g = s // 32
        self.spatial = spatial_branch(config.spatial_channels)
        # the last layer starts at zero: the untrained model predicts the training mean
        self.head = mlp_head(MobileNetV2.out_channels + config.spatial_channels * g * g, config.hidden_dims, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(pooled_and_spatial(self.backbone.forward_features(x), self.spatial))


def calib_loss(out: torch.Tensor, targets_norm: torch.Tensor, beta: float = 0.5) -> torch.Tensor:
    """Smooth L1 of (B, 3) outputs against (B, 3) normalised targets, summed over targets, mean over the batch."""
    return F.smooth_l1_loss(out, targets_norm, beta=beta, reduction="none").sum(dim=1).mean()
