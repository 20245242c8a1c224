"""A garment: a triangle mesh bound to one body, and how to pose it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.spatial import cKDTree

from synth.clothing.binding import SurfaceBinding, compute_vertex_normals, push_out

#: Per-pixel clothing classes (index = class id written by the segmentation pass; 0 = not a person).
SEGMENT_CLASSES: tuple[str, ...] = ("background", "skin", "hair", "top", "bottom", "dress", "shoes", "hat")
SEGMENT_INDEX: dict[str, int] = {n: i for i, n in enumerate(SEGMENT_CLASSES)}


@dataclass(frozen=True)
class Garment:
    """One garment (or hair, eyebrows) of one person.

    name : what it is ("tshirt", "trousers", "hair_short", "makehuman/shoes01", ...)
    segment : its clothing class, one of ``SEGMENT_CLASSES`` (socks and shoes are "shoes", eyebrows "hair")
    faces : (M, 3) int32 triangles over the garment's own vertices
    binding : where each of its N vertices sits on the body (``SurfaceBinding``)
    layer : stacking order, larger = further out (socks 0, bottoms 1, tops 2, dress 2, shoes 3, hair 4)
    params : the drawn parameters that made it (stored with the labels)
    """

    name: str
    segment: str
    faces: np.ndarray
    binding: SurfaceBinding
    layer: int
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def n_vertices(self) -> int:
        return len(self.binding)

    def evaluate(self, body_vertices: np.ndarray, body_faces: np.ndarray, body_normals: np.ndarray | None = None
                 ) -> np.ndarray:
        """(N, 3) float32 garment vertices on one posed body (no push-out)."""
        return self.binding.evaluate(body_vertices, body_faces, body_normals)


def pose_garments(garments: list[Garment], body_vertices: np.ndarray, body_faces: np.ndarray, *,
                  clearance_m: float = 0.0005) -> list[np.ndarray]:
    """Evaluate every garment of a person on one posed body, then push what went under the skin out.

    body_vertices : (V, 3) float metres, world frame; body_faces : (F, 3).
    Returns one (N_g, 3) float32 array per garment, same order.
    """
    v = np.asarray(body_vertices, dtype=np.float64)
    normals = compute_vertex_normals(v, body_faces)
    tree = cKDTree(v)
    if not garments:
        return []
    evaluated = [g.binding.evaluate(v, body_faces, normals) for g in garments]
    # push-out is per point: one call for all garments (the same points as one call per garment)
    pushed, _ = push_out(np.concatenate(evaluated), v, normals, clearance_m=clearance_m, vertex_tree=tree)
    ends = np.cumsum([len(p) for p in evaluated])[:-1]
    return list(np.split(pushed, ends))


def pose_garments_frames(garments: list[Garment], body_vertices: np.ndarray, body_faces: np.ndarray, *,
                         clearance_m: float = 0.0005) -> list[np.ndarray]:
    """Like ``pose_garments`` for (T, V, 3) body vertices: one (T, N_g, 3) float32 array per garment."""
    frames = [pose_garments(garments, bv, body_faces, clearance_m=clearance_m) for bv in body_vertices]
    return [np.stack([f[i] for f in frames]) for i in range(len(garments))]
