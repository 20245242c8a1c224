"""Units, rotations, transforms, rng helpers and error types (numpy only)."""

from synth.core.errors import (
    AssetError,
    BodyModelError,
    CameraError,
    DatasetError,
    JobError,
    RecipeError,
    RenderError,
    SynthError,
)

__all__ = [
    "AssetError", "BodyModelError", "CameraError", "DatasetError", "JobError",
    "RecipeError", "RenderError", "SynthError",
]
