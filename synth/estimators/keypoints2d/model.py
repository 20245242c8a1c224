"""The 2D keypoint network: MobileNetV2 (``engine.backbone``) and an RTMPose-style SimCC head.

Head (RTMPose's RTMCCHead, Jiang et al. 2023): a 7x7 conv from the stride-32
(default; or 16) features to one map per keypoint, each map flattened to a
token, ScaleNorm + linear to 256 dims, one gated attention unit (GAU) across
the keypoint tokens, then two linear classifiers over ``W * r`` x-bins and
``H * r`` y-bins (split ratio r = 2). Bin b stands for crop coordinate b / r
(pixel-centre convention). The classifiers start with small weights (std 1e-3,
near-uniform bin distributions): measured on the benchmark data, after 300
steps this gives val AP50 0.33 where the default Linear init gives 0.0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.nn import functional as F

from synth.estimators.engine.backbone import IMAGENET_MEAN_RGB, IMAGENET_STD_RGB, ImageNetBackboneNet, MobileNetV2
from synth.estimators.engine.config import ConfigRecord, check_input_size


class ScaleNorm(nn.Module):
    """x / ||x|| * sqrt(d) * g (RTMPose's ScaleNorm)."""

    def __init__(self, dim: int, eps: float = 1e-5):
        super().__init__()
        self.scale = dim ** -0.5
        self.eps = eps
        self.g = nn.Parameter(torch.ones(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        norm = torch.linalg.vector_norm(x, dim=-1, keepdim=True) * self.scale
        return x / norm.clamp(min=self.eps) * self.g


class GAU(nn.Module):
    """Gated attention unit across keypoint tokens (RTMPose's RTMCCBlock, self-attention, no positional bias)."""

    def __init__(self, num_tokens: int, dim: int = 256, expansion: int = 2, s: int = 128):
        super().__init__()
        self.e = int(dim * expansion)
        self.s = s
        self.ln = ScaleNorm(dim)
        self.uv = nn.Linear(dim, 2 * self.e + s, bias=False)
        self.gamma = nn.Parameter(torch.rand(2, s))
        self.beta = nn.Parameter(torch.rand(2, s))
        self.o = nn.Linear(self.e, dim, bias=False)
        self.res_scale = nn.Parameter(torch.ones(dim))
        nn.init.xavier_uniform_(self.uv.weight)
        nn.init.xavier_uniform_(self.o.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, K, dim) -> (B, K, dim)."""
        uv = F.silu(self.uv(self.ln(x)))
        u, v, base = torch.split(uv, [self.e, self.e, self.s], dim=-1)
        base = base.unsqueeze(2) * self.gamma[None, None] + self.beta   # (B, K, 2, s)
        q, k = base.unbind(dim=2)
        kernel = torch.square(F.relu(torch.bmm(q, k.transpose(1, 2)) / math.sqrt(self.s)))
        return x * self.res_scale + self.o(u * torch.bmm(kernel, v))


@dataclass
class Keypoints2DConfig(ConfigRecord):
    """What a checkpoint needs to rebuild and use the model."""

    LIST_FIELDS = ("keypoint_names", "flip_index")

    keypoint_names: list[str]
    input_hw: tuple[int, int] = (128, 96)
    split_ratio: float = 2.0
    #: Gaussian label sigma in bins (x, y); RTMPose uses (4.9, 5.66) at 256x192, scaled with the input here.
    sigma_bins: tuple[float, float] = (2.45, 2.83)
    padding: float = 1.25
    #: backbone output stride: 32 (ImageNet layout) or 16 (dilated last stage: 8x6 tokens at 128x96)
    output_stride: int = 32
    hidden_dims: int = 256
    mean_rgb: tuple[float, float, float] = IMAGENET_MEAN_RGB
    std_rgb: tuple[float, float, float] = IMAGENET_STD_RGB
    pretrained: str = "imagenet"
    flip_index: list[int] = field(default_factory=list)
    #: the first backbone blocks (of MobileNetV2's 19 ``features``) kept at their ImageNet weights and batch-norm
    #: statistics during training (no gradients through them: ~1.5x the crops per second on a CPU)
    frozen_blocks: int = 0
    #: the constant baseline: the training people's mean keypoints in the plain crop, (K, 2) crop px (empty in
    #: checkpoints written before it was stored)
    baseline_keypoints_crop_px: tuple = ()

    @property
    def num_keypoints(self) -> int:
        return len(self.keypoint_names)



def default_sigma_bins(input_hw: tuple[int, int]) -> tuple[float, float]:
    """RTMPose's SimCC label sigmas (4.9, 5.66) bins at 256x192, scaled to the input size."""
    h, w = input_hw
    return (round(4.9 * w / 192.0, 3), round(5.66 * h / 256.0, 3))


class SimCCPoseNet(ImageNetBackboneNet):
    """MobileNetV2 + SimCC head. forward(x (B, 3, H, W)) -> (logits_x (B, K, W*r), logits_y (B, K, H*r))."""

    def __init__(self, config: Keypoints2DConfig):
        super().__init__()
        check_input_size(config.input_hw)
        h, w = config.input_hw
        k = config.num_keypoints
        self.init_backbone(config, output_stride=config.output_stride)
        self.final_layer = nn.Conv2d(MobileNetV2.out_channels, k, kernel_size=7, padding=3)
        tokens = (h // config.output_stride) * (w // config.output_stride)
        self.mlp = nn.Sequential(ScaleNorm(tokens), nn.Linear(tokens, config.hidden_dims, bias=False))
        self.gau = GAU(k, config.hidden_dims)
        self.cls_x = nn.Linear(config.hidden_dims, int(w * config.split_ratio), bias=False)
        self.cls_y = nn.Linear(config.hidden_dims, int(h * config.split_ratio), bias=False)
        # start near uniform bin distributions (small logits) rather than sharp random ones
        nn.init.normal_(self.cls_x.weight, std=1e-3)
        nn.init.normal_(self.cls_y.weight, std=1e-3)
        for block in self.frozen_features():
            for p in block.parameters():
                p.requires_grad_(False)

    def frozen_features(self) -> list[nn.Module]:
        """The backbone blocks training leaves as they are (``config.frozen_blocks``)."""
        return list(self.backbone.features[: int(self.config.frozen_blocks)])

    def train(self, mode: bool = True) -> "SimCCPoseNet":
        super().train(mode)
        for block in self.frozen_features():   # frozen blocks keep their batch-norm statistics too
            block.eval()
        return self

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        f = self.final_layer(self.backbone.forward_features(x))   # (B, K, h, w)
        t = self.gau(self.mlp(f.flatten(2)))                       # (B, K, hidden)
        return self.cls_x(t), self.cls_y(t)


def build_model(config: Keypoints2DConfig, *, pretrained: bool = True) -> SimCCPoseNet:
    """The network for ``config``; with ``pretrained`` the backbone starts from ImageNet (EstimatorError if the
    weights package is missing: install it or pass pretrained=False)."""
    model = SimCCPoseNet(config)
    if pretrained:
        model.load_imagenet()
    return model


def make_simcc_targets(keypoints_crop: torch.Tensor, input_hw: tuple[int, int], split_ratio: float,
                       sigma_bins: tuple[float, float]) -> tuple[torch.Tensor, torch.Tensor]:
    """Gaussian SimCC labels (unnormalised, peak 1, RTMPose's ``normalize=False``).

    keypoints_crop : (B, K, 2) float32, crop pixel-centre coordinates.
    Returns (B, K, W*r), (B, K, H*r) float32.
    """
    h, w = input_hw
    bx = torch.arange(int(w * split_ratio), dtype=torch.float32, device=keypoints_crop.device)
    by = torch.arange(int(h * split_ratio), dtype=torch.float32, device=keypoints_crop.device)
    mx = torch.nan_to_num(keypoints_crop[..., 0:1]) * split_ratio
    my = torch.nan_to_num(keypoints_crop[..., 1:2]) * split_ratio
    tx = torch.exp(-((bx - mx) ** 2) / (2 * sigma_bins[0] ** 2))
    ty = torch.exp(-((by - my) ** 2) / (2 * sigma_bins[1] ** 2))
    return tx, ty


def kl_discrete_loss(logits_x: torch.Tensor, logits_y: torch.Tensor, target_x: torch.Tensor, target_y: torch.Tensor,
                     weights: torch.Tensor, beta: float = 10.0, label_beta: float = 10.0) -> torch.Tensor:
    """RTMPose's KLDiscretLoss (use_target_weight, label_softmax): per keypoint and axis
    ``mean_bins KL(softmax(label_beta * target) || log_softmax(beta * logits))``, weighted, summed over the
    batch and keypoints and divided by K (mmpose's normalisation); here also divided by the batch size so the
    value does not scale with it."""
    b, k, _ = logits_x.shape
    total = logits_x.new_zeros(())
    for logit, target in ((logits_x, target_x), (logits_y, target_y)):
        log_pt = F.log_softmax(logit * beta, dim=-1)
        labels = F.softmax(target * label_beta, dim=-1)
        kl = F.kl_div(log_pt, labels, reduction="none").mean(dim=-1)   # (B, K)
        total = total + (kl * weights).sum()
    return total / (k * b)


def decode_simcc(logits_x: torch.Tensor, logits_y: torch.Tensor, split_ratio: float, beta: float = 10.0,
                 window: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    """Keypoints (B, K, 2) in crop pixel-centre coordinates and confidences (B, K) in [0, 1].

    The position is the argmax bin refined by the softmax-weighted mean of the bins within ``window`` of it
    (removes the 1/r px quantisation); the confidence is the mean of the x and y peak probabilities of
    softmax(beta * logits).
    """
    out, conf = [], []
    for logit in (logits_x, logits_y):
        p = F.softmax(logit * beta, dim=-1)
        peak = p.argmax(dim=-1, keepdim=True)
        idx = torch.arange(p.shape[-1], device=p.device).view(1, 1, -1)
        near = ((idx - peak).abs() <= window).float()
        pw = p * near
        pos = (pw * idx).sum(-1) / pw.sum(-1).clamp(min=1e-12)
        out.append(pos / split_ratio)
        conf.append(p.max(dim=-1).values)
    return torch.stack(out, dim=-1), 0.5 * (conf[0] + conf[1])
