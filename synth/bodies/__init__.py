"""Body models behind one interface: Anny (free default) and SMPL-X (user files)."""

from synth.bodies.base import BodyModel, BodyParams, PosedBody

__all__ = ["BodyModel", "BodyParams", "PosedBody"]
