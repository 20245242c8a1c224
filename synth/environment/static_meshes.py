"""Every static mesh of a scene's environment (room parts, props) as plain arrays, in a fixed order.

``compute_static_meshes(env)`` is what the posed scene turns into renderer meshes (instance id 0)
and what scene-contact labels measure against: one ``StaticMesh`` per room part (floor, walls,
ceiling) and per prop (``prop_id`` = its mesh id, 1-based; 0 for room parts).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from synth.core.surfaces import MaterialSpec
from synth.environment.props import prop_world_mesh
from synth.environment.rooms import room_meshes
from synth.environment.spec import EnvironmentSpec


@dataclass(frozen=True)
class StaticMesh:
    """name; vertices (V, 3) float32 world metres; faces (F, 3) int32; material; kind (``room_floor``, ``chair``...);
    prop_id (1-based for props, 0 for the room)."""

    name: str
    vertices: np.ndarray
    faces: np.ndarray
    material: MaterialSpec
    kind: str
    prop_id: int = 0


def compute_static_meshes(env: EnvironmentSpec) -> list[StaticMesh]:
    out: list[StaticMesh] = []
    if env.room is not None:
        for name, v, f, mat in room_meshes(env.room):
            out.append(StaticMesh(name=name, vertices=v, faces=f, material=mat, kind=name))
    for prop in env.props:
        v, f = prop_world_mesh(prop)
        out.append(StaticMesh(name=f"prop_{prop.prop_id}_{prop.kind}", vertices=v, faces=f, material=prop.material,
                              kind=prop.kind, prop_id=prop.prop_id))
    return out
