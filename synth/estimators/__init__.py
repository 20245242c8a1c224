"""Bundled estimators trained and evaluated on synth data (read only through ``synth.io``).

``engine``: what every task shares (MobileNetV2 backbone, the one ``fit`` training loop, checkpoints, crops and
augmentation, dataset access, shared CLI options). One subpackage per task, each with ``model``, ``data``,
``metrics``, ``task`` (train / evaluate) and ``cli``: ``keypoints2d`` (top-down 2D keypoints, SimCC head),
``mesh`` (Anny body mesh from a person crop), ``contact`` (dense per-vertex body-scene contact) and
``camera_calib`` (single-image vfov, pitch, roll). CLI: ``synth train|evaluate keypoints2d|mesh|contact|camera``
(``synth.estimators.cli.add_commands``). Importing this package does not import torch.
"""

from synth.estimators.engine.errors import EstimatorError

__all__ = ["EstimatorError"]
