"""Dense contact labels: which mesh vertices touch the ground, and which touch another person.

Definitions (per frame, per person, per vertex of the body mesh):

* ``contact_ground`` — the vertex lies within ``GROUND_CONTACT_M`` (2 cm) of the ground plane
  z = 0 (or below it). This is the usual definition of foot/body-floor contact in contact
  datasets (RICH, DAMON-style per-vertex labels), made exact by the synthetic geometry.
* ``contact_person`` — the index of another person whose surface lies within
  ``PERSON_CONTACT_M`` (2 cm) of the vertex, or -1. With the default placement people keep
  apart, so this is mostly -1; recipes that bring people together get it labelled.
"""

from __future__ import annotations

import numpy as np

GROUND_CONTACT_M = 0.02
PERSON_CONTACT_M = 0.02


def compute_ground_contact(vertices: np.ndarray, ground_height_m: float = 0.0,
                           threshold_m: float = GROUND_CONTACT_M) -> np.ndarray:
    """vertices : (..., V, 3) metres, world (Z up) -> (..., V) bool: within ``threshold_m`` of the ground."""
    return np.asarray(vertices)[..., 2] <= ground_height_m + threshold_m


def compute_person_contact(vertices: list[np.ndarray], faces: list[np.ndarray],
                           threshold_m: float = PERSON_CONTACT_M) -> list[np.ndarray]:
    """Per person, (V,) int8: index of another person within ``threshold_m`` of each vertex, else -1.

    vertices : per person (V, 3) metres (one frame); faces : per person (F, 3).
    Only pairs whose bounding boxes come within ``threshold_m`` are tested (point-to-mesh distance).
    """
    from synth.core.mesh import point_mesh_distance

    out = [np.full(len(v), -1, dtype=np.int8) for v in vertices]
    boxes = [(v.min(axis=0) - threshold_m, v.max(axis=0) + threshold_m) for v in vertices]
    for a in range(len(vertices)):
        for b in range(len(vertices)):
            if a == b:
                continue
            lo, hi = boxes[b]
            near = np.all((vertices[a] >= lo) & (vertices[a] <= hi), axis=1)
            if not near.any():
                continue
            idx = np.nonzero(near)[0]
            d = point_mesh_distance(vertices[a][idx], vertices[b], faces[b])
            hit = idx[d <= threshold_m]
            out[a][hit[out[a][hit] < 0]] = b
    return out
