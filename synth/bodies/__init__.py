"""Body models behind one interface: Anny (free default) and SMPL-X (user files).

Importing this package does not import torch; ``get_body_model`` builds models
(and imports torch) on first use.
"""

from synth.bodies.base import BodyModel, BodyParams, PosedBody, compute_floor_height
from synth.bodies.keypoints import KEYPOINT_NAMES, SKELETON_EDGES, keypoint_surface_vertices
from synth.bodies.parts import PART_NAMES
from synth.bodies.registry import get_body_model

__all__ = [
    "BodyModel", "BodyParams", "PosedBody", "compute_floor_height", "get_body_model",
    "KEYPOINT_NAMES", "SKELETON_EDGES", "PART_NAMES", "keypoint_surface_vertices",
]
