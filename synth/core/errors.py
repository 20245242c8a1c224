"""One error hierarchy for the whole engine.

Every message says what failed, where, what it got, what it expected and how
to fix it, e.g. ``RecipeError("cameras[1].fov_deg: expected a number in
(0, 360], got 'wide'")``.
"""


class SynthError(Exception):
    """Base class of every error the engine raises on purpose."""


class RecipeError(SynthError):
    """A recipe file is missing, unparsable or fails validation."""


class AssetError(SynthError):
    """A required asset (model file, motion clip, texture) is missing or invalid."""


class BodyModelError(SynthError):
    """A body model cannot be built or was called with bad inputs."""


class CameraError(SynthError):
    """A camera model or rig got parameters it cannot represent."""


class RenderError(SynthError):
    """The renderer failed to produce an image."""


class DatasetError(SynthError):
    """A dataset on disk is missing, incomplete or fails its checksum."""


class JobError(SynthError):
    """A generation job (local or on Ray) failed."""
