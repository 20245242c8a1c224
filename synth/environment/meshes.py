"""Closed triangle meshes from boxes and extruded profiles (numpy), and merging them.

Every piece here is watertight (each edge shared by exactly two faces) with outward-facing
counter-clockwise triangles, so a prop made of several pieces is a union of closed components:
inside tests (winding number) and signed distances work on it.
"""

from __future__ import annotations

import numpy as np


def box_mesh(x0: float, x1: float, y0: float, y1: float, z0: float, z1: float) -> tuple[np.ndarray, np.ndarray]:
    """An axis-aligned box: 8 vertices (float64, metres), 12 outward triangles."""
    if not (x1 > x0 and y1 > y0 and z1 > z0):
        raise ValueError(f"box_mesh: empty box x[{x0}, {x1}] y[{y0}, {y1}] z[{z0}, {z1}]")
    return prism_mesh(np.array([[y0, z0], [y1, z0], [y1, z1], [y0, z1]]), x0, x1)


def prism_mesh(profile_yz: np.ndarray, x0: float, x1: float) -> tuple[np.ndarray, np.ndarray]:
    """Extrude a simple polygon in the (y, z) plane along x from ``x0`` to ``x1``.

    profile_yz : (n, 2) counter-clockwise seen from +x, star-shaped from its vertex 0 (the caps
        are fanned from it), e.g. a rectangle or a staircase profile starting at its bottom-back corner.
    returns : vertices (2n, 3) float64, faces (4n - 4, 3) int64, watertight, outward normals
    """
    P = np.asarray(profile_yz, dtype=np.float64)
    n = len(P)
    area2 = float(np.sum(P[:, 0] * np.roll(P[:, 1], -1) - np.roll(P[:, 0], -1) * P[:, 1]))
    if area2 < 0:
        P = np.concatenate([P[:1], P[1:][::-1]])
    V = np.concatenate([np.column_stack([np.full(n, x0), P]), np.column_stack([np.full(n, x1), P])])
    faces = []
    for i in range(1, n - 1):                      # caps: +x side CCW seen from +x, -x side reversed
        faces.append([n, n + i, n + i + 1])
        faces.append([0, i + 1, i])
    for i in range(n):                             # sides
        j = (i + 1) % n
        faces.append([i, j, n + j])
        faces.append([i, n + j, n + i])
    return V, np.asarray(faces, dtype=np.int64)


def merge_meshes(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate meshes into one vertex/face array pair (components stay separate)."""
    verts, faces, offset = [], [], 0
    for v, f in parts:
        verts.append(np.asarray(v, dtype=np.float64))
        faces.append(np.asarray(f, dtype=np.int64) + offset)
        offset += len(v)
    return np.concatenate(verts), np.concatenate(faces)


def is_watertight(faces: np.ndarray) -> bool:
    """Every undirected edge is used by exactly two faces, once in each direction (closed, consistently oriented)."""
    F = np.asarray(faces, dtype=np.int64)
    directed = np.concatenate([F[:, [0, 1]], F[:, [1, 2]], F[:, [2, 0]]])
    keys = set(map(tuple, directed.tolist()))
    if len(keys) != len(directed):
        return False
    return all((b, a) in keys for a, b in keys)


def mesh_volume(vertices: np.ndarray, faces: np.ndarray) -> float:
    """Signed volume (m^3) of a closed mesh; positive for outward-facing triangles."""
    V = np.asarray(vertices, dtype=np.float64)
    F = np.asarray(faces, dtype=np.int64)
    a, b, c = V[F[:, 0]], V[F[:, 1]], V[F[:, 2]]
    return float(np.einsum("ij,ij->i", a, np.cross(b, c)).sum() / 6.0)


def transform_points(points: np.ndarray, x_m: float, y_m: float, yaw_rad: float, z_m: float = 0.0) -> np.ndarray:
    """Prop frame -> world: rotate by ``yaw_rad`` about +Z, then translate to (x, y, z)."""
    c, s = np.cos(yaw_rad), np.sin(yaw_rad)
    R = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    return np.asarray(points, dtype=np.float64) @ R.T + np.array([x_m, y_m, z_m])
