"""Bundled estimators trained and evaluated on synth data (read only through ``synth.io``).

``keypoints2d``: top-down 2D human keypoints, MobileNetV2 (ImageNet init) + RTMPose-style SimCC head;
``metrics``: COCO OKS / AP, PCK, EPE (numpy). CLI: ``synth train keypoints2d`` / ``synth evaluate keypoints2d``
(``synth.estimators.cli.add_commands``). Importing this package does not import torch.
"""

from synth.estimators.common import EstimatorError

__all__ = ["EstimatorError"]
