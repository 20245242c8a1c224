"""The renderer interface. ``synth/render/blender`` is the only place that imports ``bpy``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from synth.cameras.base import CameraModel
from synth.clothing.types import PersonAppearance
from synth.environment.spec import EnvironmentSpec


@dataclass(frozen=True)
class RenderOutput:
    """One rendered view.

    rgb : (H, W, 3) uint8, sRGB
    instance : (H, W) uint16; 0 = no person, k = person index k-1 in the scene
    depth_m : (H, W) float32, distance from the camera centre along each pixel's ray
        (range, metres), ``inf`` where the ray hits nothing
    """

    rgb: np.ndarray
    instance: np.ndarray
    depth_m: np.ndarray


class Renderer(Protocol):
    def setup_scene(self, environment: EnvironmentSpec, faces: list[np.ndarray],
                    appearances: list[PersonAppearance]) -> None:
        """Build (or rebuild) the scene: ground, lights, one mesh per person."""

    def render(self, camera: CameraModel, vertices: list[np.ndarray], *, samples: int, seed: int) -> RenderOutput:
        """Update person vertices ((V, 3) float32 world metres each) and render one view."""

    def close(self) -> None: ...
