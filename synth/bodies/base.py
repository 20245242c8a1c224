"""The ``BodyModel`` interface every body model (Anny, SMPL-X) implements.

All outputs are numpy float32 in the *world* frame: Z-up, metres. A body's
pose is given as per-joint local rotations (axis-angle, radians, relative to
the parent joint, like SMPL) plus a root transform placing the body in the
world. Models whose native frame differs (SMPL-X is Y-up) convert once with a
named transform inside their implementation.

The *model frame* (what ``T_world_from_root`` maps into the world) is the same
for every model: Z-up, metres, the body facing -Y (so the person's left is +X),
origin on the floor directly below the root joint (pelvis) of the body standing
in ``rest_pose()``. Hence ``T_world_from_root = identity`` with the rest pose
puts the feet on z = 0. ``pose_rotvec[:, 0]`` rotates the whole body about the
root joint (which sits at ``(0, 0, ground_offset)`` in the model frame); other
poses may lift a foot or sink below the floor, and
``compute_floor_height(vertices)`` tells the pipeline how much to shift.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from synth.core.errors import BodyModelError


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


def compute_floor_height(vertices: np.ndarray) -> np.ndarray | float:
    """Lowest point of a body: the height of the floor it would stand on.

    vertices : (V, 3) or (T, V, 3) float, metres, Z-up frame.
    Returns a float for (V, 3) input, else (T,) float32: ``min z`` per frame.
    Subtract it from z to put the body on a floor at z = 0.
    """
    v = np.asarray(vertices)
    if v.ndim == 2 and v.shape[-1] == 3:
        return float(v[:, 2].min())
    if v.ndim == 3 and v.shape[-1] == 3:
        return v[..., 2].min(axis=1).astype(np.float32)
    raise BodyModelError(f"compute_floor_height: expected (V, 3) or (T, V, 3) vertices, got shape {v.shape}")


@runtime_checkable
class BodyModel(Protocol):
    """What the pipeline needs from a body model."""

    name: str
    faces: np.ndarray            # (F, 3) int32
    joint_names: list[str]       # native joints, len J
    joint_parents: np.ndarray    # (J,) int, -1 for the root
    keypoint_names: list[str]    # standard keypoints, len K (COCO-17 + 6 feet first)
    part_names: list[str]        # coarse body parts (synth.bodies.parts.PART_NAMES)
    #: True when ``forward`` gives every frame the same bits whatever else is in the batch (its batch size and
    #: the other frames). Callers may then pose several frame sets in one shared forward, or reuse a frame
    #: posed in a larger batch, and get exactly the numbers of separate forwards. False (the safe default, see
    #: :func:`forward_frames_independent`) makes them keep each forward's batch as it is. Anny: True
    #: (batches of 1..232 checked bit for bit); SMPL-X (``smplx``): False (batches of 1-2 and >= 3 take
    #: different torch kernels: vertices differ by ~1e-7).
    forward_frames_independent: bool

    def vertex_part_labels(self) -> np.ndarray:
        """(V,) int32 index into ``part_names`` per vertex."""

    def default_params(self, shape: dict[str, np.ndarray] | None = None, frames: int = 1) -> BodyParams:
        """``frames`` frames of ``rest_pose()`` with ``T_world_from_root`` = identity (mean shape if None)."""

    def sample_shape(self, rng: np.random.Generator, **distribution: Any) -> dict[str, np.ndarray]:
        """Draw one body shape."""

    def rest_pose(self) -> np.ndarray:
        """(J, 3) float32 axis-angle of the model's neutral standing pose."""

    def joint_limits(self) -> np.ndarray:
        """(J, 3, 2) float32 radians: per-joint lower/upper bound per rotation-vector axis."""

    def forward(self, params: BodyParams) -> PosedBody:
        """Pose the body for every frame of ``params``."""


def forward_frames_independent(body: Any) -> bool:
    """``body.forward_frames_independent`` (False when a body model does not say): whether one forward may be
    shared between frame sets, or a frame posed in one batch reused for another, without changing any bit."""
    return bool(getattr(body, "forward_frames_independent", False))
