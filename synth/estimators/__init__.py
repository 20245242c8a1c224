"""Bundled estimators trained and evaluated on synth data (read only through ``synth.io``).

``keypoints2d``: top-down 2D human keypoints, MobileNetV2 (ImageNet init) + RTMPose-style SimCC head;
``metrics``: COCO OKS / AP, PCK, EPE (numpy). ``camera``: single-image camera calibration (vertical fov,
pitch, roll; SPEC's CamCalib task), MobileNetV2 + regression head; ``camera_geometry``: its targets, label
updates and error metrics (numpy). CLI: ``synth train keypoints2d|camera`` / ``synth evaluate
keypoints2d|camera`` (``synth.estimators.cli.add_commands``). Importing this package does not import torch.
"""

from synth.estimators.common import EstimatorError

__all__ = ["EstimatorError"]
