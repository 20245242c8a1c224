"""Ground, lights and placement of several people."""

from synth.environment.spec import AreaLightSpec, EnvironmentSpec, GroundSpec, SunSpec

__all__ = ["AreaLightSpec", "EnvironmentSpec", "GroundSpec", "SunSpec"]
