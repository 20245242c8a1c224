"""The contact network (MobileNetV2 + pooled-and-spatial head -> per-vertex logits) and its loss; see
``synth.estimators.contact.task`` for the whole method."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F

from synth.estimators.contact.geometry import RestMesh
from synth.estimators.engine.backbone import (IMAGENET_MEAN_RGB, IMAGENET_STD_RGB, ImageNetBackboneNet, MobileNetV2,
                                              mlp_head, pooled_and_spatial, spatial_branch)
from synth.estimators.engine.config import ConfigRecord, check_input_size


@dataclass
class ContactConfig(ConfigRecord):
    """What a checkpoint needs to rebuild and use the model."""

    input_hw: tuple[int, int] = (128, 96)
    num_vertices: int = 13718
    channels: tuple[str, ...] = ("ground",)
    body_model: str = "anny"
    topology: str = "default"
    hidden_dims: int = 512
    spatial_channels: int = 32
    #: training-set mean contact rate per channel (initial output bias)
    prior: tuple[float, ...] = (0.02,)
    dice_weight: float = 1.0
    flip: bool = True
    mean_rgb: tuple[float, float, float] = IMAGENET_MEAN_RGB
    std_rgb: tuple[float, float, float] = IMAGENET_STD_RGB
    pretrained: str = "imagenet"



class ContactNet(ImageNetBackboneNet):
    """MobileNetV2 + pooled-and-spatial head. forward(x (B, 3, H, W)) -> (B, C, V) contact logits.

    Buffers (saved in the state dict): ``mirror`` (V,) int64 (identity when flips are off),
    ``rest_vertices_m`` (V, 3) float32, ``faces`` (F, 3) int64, ``train_frequency`` (C, V) float32.
    """

    DATA_BUFFERS = ("mirror", "rest_vertices_m", "faces", "train_frequency")

    def __init__(self, config: ContactConfig, num_faces: int):
        super().__init__()
        check_input_size(config.input_hw)
        h, w = (int(v) for v in config.input_hw)
        c_out, v = len(config.channels), int(config.num_vertices)
        self.init_backbone(config)
        self.spatial = spatial_branch(config.spatial_channels)
        self.head = mlp_head(MobileNetV2.out_channels + config.spatial_channels * (h // 32) * (w // 32),
                             config.hidden_dims, c_out * v)
        prior = np.clip(np.asarray(config.prior, np.float64), 1e-4, 0.5)
        with torch.no_grad():
            self.head[-1].bias.copy_(torch.from_numpy(np.repeat(np.log(prior / (1 - prior)), v)).float())
        self.register_buffer("mirror", torch.arange(v, dtype=torch.int64))
        self.register_buffer("rest_vertices_m", torch.zeros(v, 3))
        self.register_buffer("faces", torch.zeros(num_faces, 3, dtype=torch.int64))
        self.register_buffer("train_frequency", torch.zeros(c_out, v))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.head(pooled_and_spatial(self.backbone.forward_features(x), self.spatial))
        return out.view(len(x), len(self.config.channels), self.config.num_vertices)

    def rest_mesh(self) -> RestMesh:
        """The rest mesh stored with the model."""
        c = self.config
        return RestMesh(self.rest_vertices_m.cpu().numpy().astype(np.float64), self.faces.cpu().numpy(), c.body_model,
                        c.topology)


def contact_loss(logits: torch.Tensor, labels: torch.Tensor, dice_weight: float = 1.0) -> torch.Tensor:
    """BCE (mean over people, channels, vertices) + ``dice_weight`` x soft Dice loss (mean over people and
    channels) of (B, C, V) logits against (B, C, V) 0/1 labels."""
    bce = F.binary_cross_entropy_with_logits(logits, labels)
    p = torch.sigmoid(logits)
    dice = 1.0 - (2.0 * (p * labels).sum(-1) + 1.0) / (p.sum(-1) + labels.sum(-1) + 1.0)
    return bce + dice_weight * dice.mean()
