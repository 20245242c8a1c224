"""Camera models (pinhole, fisheye variants) with project/unproject, and camera rigs."""

from synth.cameras.base import CAMERA_MODELS, CameraModel, intrinsics_matrix, register_camera_model
from synth.cameras.fisheye import (
    FisheyeCamera,
    FisheyeEquidistantCamera,
    FisheyeEquisolidCamera,
    FisheyeKBCamera,
)
from synth.cameras.pinhole import PinholeCamera
from synth.cameras.rigs import CameraTrack

__all__ = [
    "CAMERA_MODELS", "CameraModel", "CameraTrack", "FisheyeCamera", "FisheyeEquidistantCamera", "FisheyeEquisolidCamera",
    "FisheyeKBCamera", "PinholeCamera", "intrinsics_matrix", "register_camera_model",
]
