"""The bridge between drawn props (``synth.environment``) and posing people against them (``synth.motion``)."""

from __future__ import annotations

from synth.environment.props import build_prop_mesh, support_surfaces
from synth.environment.spec import PropSpec
from synth.motion.interactions import PropGeometry


def prop_geometry(prop: PropSpec) -> PropGeometry:
    """A drawn prop as the plain geometry ``synth.motion.interactions`` poses people against."""
    vertices, faces = build_prop_mesh(prop.kind, prop.dimensions)
    return PropGeometry(kind=prop.kind, vertices=vertices, faces=faces, x_m=float(prop.x_m), y_m=float(prop.y_m),
                        yaw_rad=float(prop.yaw_rad), surfaces=tuple(support_surfaces(prop.kind, prop.dimensions)))
