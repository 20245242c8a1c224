"""Camera models (pinhole, fisheye variants) with project/unproject, and camera rigs."""

from synth.cameras.base import CAMERA_MODELS, CameraModel, intrinsics_matrix
from synth.cameras.pinhole import PinholeCamera

__all__ = ["CAMERA_MODELS", "CameraModel", "PinholeCamera", "intrinsics_matrix"]
