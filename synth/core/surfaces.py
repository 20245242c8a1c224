"""What a renderer draws, described as plain data (numpy only, no bpy).

A ``SurfaceMesh`` is one mesh of a posed scene: a person's body, a garment, hair, a prop or a
room. Its ``MaterialSpec`` names a material *kind* and the values already drawn for it; the
Blender node tree for each kind is built in ``synth/render/blender/materials.py``
(``MATERIAL_BUILDERS``), so clothing, environment and props describe how things look without
importing the renderer.

``instance_id`` decides the instance mask: 0 for anything that is not a person, ``k + 1`` for
everything that belongs to person ``k`` (body, garments, hair), so the mask covers the dressed
person. ``segment_id`` is a semantic class per pixel (e.g. clothing classes) for passes that
want one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from synth.core.errors import SynthError


@dataclass(frozen=True)
class MaterialSpec:
    """A material as data.

    kind : a registered material kind (``"vertex_color"``: base colour from the mesh's per-vertex
        linear RGB; more kinds register their Blender builder in ``render/blender/materials.py``).
    base_color : (3,) linear RGB in [0, 1].
    roughness : in [0, 1].
    params : kind-specific values, all drawn already (pattern, scale_m, secondary_color, seed, ...).
    """

    kind: str
    base_color: tuple[float, float, float] = (0.5, 0.5, 0.5)
    roughness: float = 0.5
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SurfaceMesh:
    """One mesh of a posed scene.

    faces : (F, 3) int32 triangle vertex indices.
    n_vertices : V, the vertex count every per-frame vertex array must have.
    material : how it looks.
    instance_id : 0 = not a person; k + 1 = belongs to person k.
    segment_id : semantic class written to a per-pixel segmentation pass (0 = none).
    vertex_colors : (V, 3) float32 linear RGB, for vertex-colour materials (else None).
    vertices : (V, 3) float32 world metres for a static mesh (props, rooms); None = moved every frame.
    smooth : smooth shading (bodies, cloth) or flat (boxes, walls).
    """

    name: str
    faces: np.ndarray
    n_vertices: int
    material: MaterialSpec
    instance_id: int = 0
    segment_id: int = 0
    vertex_colors: np.ndarray | None = None
    vertices: np.ndarray | None = None
    smooth: bool = True

    @property
    def is_static(self) -> bool:
        return self.vertices is not None


def check_surface_mesh(where: str, mesh: SurfaceMesh) -> None:
    """Raise ``SynthError`` naming ``where`` if ``mesh`` is not drawable (shapes, index ranges, finite values)."""
    tri = np.asarray(mesh.faces)
    V = int(mesh.n_vertices)
    if V < 1:
        raise SynthError(f"{where}.n_vertices: expected >= 1, got {mesh.n_vertices!r}")
    if tri.ndim != 2 or tri.shape[1] != 3 or tri.shape[0] == 0 or not np.issubdtype(tri.dtype, np.integer):
        raise SynthError(f"{where}.faces: shape {tri.shape} dtype {tri.dtype}; expected (F, 3) integer triangle "
                         "indices with F >= 1")
    if tri.min() < 0 or tri.max() >= V:
        raise SynthError(f"{where}.faces: indices span [{tri.min()}, {tri.max()}] but the mesh has {V} vertices; "
                         "expected indices in [0, V)")
    if mesh.vertex_colors is not None:
        c = np.asarray(mesh.vertex_colors)
        if c.shape != (V, 3) or not np.isfinite(c).all() or c.min() < 0.0:
            raise SynthError(f"{where}.vertex_colors: expected ({V}, 3) finite linear RGB >= 0, got shape {c.shape}")
    if mesh.vertices is not None:
        v = np.asarray(mesh.vertices)
        if v.shape != (V, 3) or not np.isfinite(v).all():
            raise SynthError(f"{where}.vertices: expected ({V}, 3) finite world metres, got shape {v.shape}")
    if not 0.0 <= float(mesh.material.roughness) <= 1.0:
        raise SynthError(f"{where}.material.roughness: expected a value in [0, 1], got {mesh.material.roughness!r}")
    col = np.asarray(mesh.material.base_color, dtype=np.float64)
    if col.shape != (3,) or not np.isfinite(col).all() or col.min() < 0.0:
        raise SynthError(f"{where}.material.base_color: expected 3 finite linear RGB values >= 0, "
                         f"got {mesh.material.base_color!r}")
    if not 0 <= int(mesh.instance_id) <= np.iinfo(np.uint16).max:
        raise SynthError(f"{where}.instance_id: expected 0..65535 (uint16 instance image), got {mesh.instance_id!r}")


def vertex_color_mesh(name: str, faces: np.ndarray, vertex_colors: np.ndarray, roughness: float,
                      instance_id: int = 0) -> SurfaceMesh:
    """A moving mesh coloured per vertex (``kind: vertex_color``): how a bare body is drawn.

    faces : (F, 3) int; vertex_colors : (V, 3) linear RGB in [0, 1]; roughness in [0, 1].
    """
    colors = np.asarray(vertex_colors, dtype=np.float32)
    return SurfaceMesh(name=name, faces=np.asarray(faces), n_vertices=int(colors.shape[0]),
                       material=MaterialSpec(kind="vertex_color", roughness=float(roughness)),
                       instance_id=int(instance_id), vertex_colors=colors)
