"""The ``BodyModel`` interface every body model (Anny, SMPL-X) implements.

All outputs are numpy float32 in the *world* frame: Z-up, metres. A body's
pose is given as per-joint local rotations (axis-angle, radians, relative to
the parent joint, like SMPL) plus a root transform placing the body in the
world. Models whose native frame differs (SMPL-X is Y-up) convert once with a
named transform inside their implementation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np


@dataclass(frozen=True)
class PosedBody:
    """A body model's output for T frames.

    vertices : (T, V, 3) float32, metres, world frame
    joints : (T, J, 3) float32, metres, world frame (the model's native joints)
    keypoints : (T, K, 3) float32, metres, world frame (the standard keypoint set,
        ``BodyModel.keypoint_names``)
    """

    vertices: np.ndarray
    joints: np.ndarray
    keypoints: np.ndarray


@dataclass(frozen=True)
class BodyParams:
    """Everything needed to reproduce a body: model name, shape and pose parameters.

    shape : model-specific named arrays (Anny: phenotype values in [0, 1]; SMPL-X: betas)
    pose_rotvec : (T, J, 3) float32 radians, local joint rotations
    T_world_from_root : (T, 4, 4) float64, places the model's root in the world
    extra : model-native extras stored with the labels (e.g. SMPL-X expression)
    """

    model: str
    shape: dict[str, np.ndarray]
    pose_rotvec: np.ndarray
    T_world_from_root: np.ndarray
    extra: dict[str, np.ndarray] = field(default_factory=dict)


@runtime_checkable
class BodyModel(Protocol):
    """What the pipeline needs from a body model."""

    name: str
    faces: np.ndarray            # (F, 3) int32
    joint_names: list[str]       # native joints, len J
    joint_parents: np.ndarray    # (J,) int, -1 for the root
    keypoint_names: list[str]    # standard keypoints, len K (COCO-17 + 6 feet first)

    def sample_shape(self, rng: np.random.Generator, **distribution: Any) -> dict[str, np.ndarray]:
        """Draw one body shape."""

    def rest_pose(self) -> np.ndarray:
        """(J, 3) float32 axis-angle of the model's neutral standing pose."""

    def joint_limits(self) -> np.ndarray:
        """(J, 3, 2) float32 radians: per-joint lower/upper bound per rotation-vector axis."""

    def forward(self, params: BodyParams) -> PosedBody:
        """Pose the body for every frame of ``params``."""
