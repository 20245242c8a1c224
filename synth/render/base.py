"""The renderer interface. ``synth/render/blender`` is the only place that imports ``bpy``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence

import numpy as np

from synth.cameras.base import CameraModel
from synth.core.surfaces import SurfaceMesh
from synth.environment.spec import EnvironmentSpec
from synth.recipe.spec import RenderSpec


@dataclass(frozen=True)
class RenderOutput:
    """One rendered view.

    rgb : (H, W, 3) uint8, sRGB
    instance : (H, W) uint16; 0 = no person, k = person index k-1 in the scene
    depth_m : (H, W) float32, distance from the camera centre along each pixel's ray
        (range, metres), ``inf`` where the ray hits nothing
    segment : (H, W) uint16, the ``segment_id`` of the first surface seen (clothing classes of
        ``synth.clothing.garment.SEGMENT_CLASSES``; 0 = background, props); None if not rendered
    """

    rgb: np.ndarray
    instance: np.ndarray
    depth_m: np.ndarray
    segment: np.ndarray | None = None


class Renderer(Protocol):
    def setup_scene(self, environment: EnvironmentSpec, meshes: Sequence[SurfaceMesh],
                    render: RenderSpec | None = None) -> None:
        """Build (or rebuild) the scene: world, ground, lights, one object per ``SurfaceMesh``."""

    def render(self, camera: CameraModel, vertices: Sequence[np.ndarray | None], *, seed: int,
               samples: int | None = None) -> RenderOutput:
        """Move the moving meshes ((V, 3) float32 world metres each, None for static ones) and render one view."""

    def close(self) -> None: ...
