"""Cut a piece out of a body surface along the zero line of a per-vertex field.

Procedural garments are pieces of the body's own surface: the part where a
field ``g`` (per body vertex, linear over each triangle) is >= 0. Triangles
inside are kept whole; triangles the zero line crosses are split at the exact
crossing points on their edges, so hems and necklines are clean lines rather
than the body's zig-zag edges. Every vertex of the piece is a point on the body
given by (triangle, barycentric weights): exactly what a ``SurfaceBinding`` needs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from synth.core.errors import SynthError


@dataclass(frozen=True)
class SurfacePiece:
    """A piece of a body surface.

    faces : (M, 3) int32 over the piece's vertices (same winding as the body)
    face : (N,) int64 body triangle holding each piece vertex; bary : (N, 3) float64 weights on it
    field : (N,) float64 the cutting field at each piece vertex (0 on the cut)
    """

    faces: np.ndarray
    face: np.ndarray
    bary: np.ndarray
    field: np.ndarray

    def interpolate(self, body_faces: np.ndarray, per_vertex: np.ndarray) -> np.ndarray:
        """(N, ...) a per-body-vertex quantity (V, ...) at the piece's vertices."""
        vals = np.asarray(per_vertex, dtype=np.float64)[np.asarray(body_faces)[self.face]]  # (N, 3, ...)
        return np.einsum("nk,nk...->n...", self.bary, vals)


def cut_surface(faces: np.ndarray, field: np.ndarray, *, min_edge_fraction: float = 0.08) -> SurfacePiece:
    """The part of a triangle mesh where ``field >= 0``.

    faces : (F, 3) int body triangles; field : (V,) float per body vertex.
    Values within ``min_edge_fraction`` of an edge's length from zero are moved off zero so the cut
    makes no sliver triangles. Raises if nothing is inside.
    """
    f = np.asarray(faces, dtype=np.int64)
    g = np.asarray(field, dtype=np.float64).copy()
    if not np.isfinite(g).all():
        raise SynthError("cut_surface: the field has NaN/inf values")
    inside = g >= 0
    n_in = inside[f].sum(axis=1)
    if not (n_in > 0).any():
        raise SynthError("cut_surface: nothing of the surface is inside the field (empty garment)")
    V = len(g)
    # vertex ids: kept body vertices first
    keep_v = np.zeros(V, dtype=bool)
    keep_v[f[n_in > 0][inside[f[n_in > 0]]]] = True
    vid = np.full(V, -1, dtype=np.int64)
    vid[keep_v] = np.arange(keep_v.sum())
    # a face holding each kept vertex, with one-hot weights
    inc_face = np.full(V, -1, dtype=np.int64)
    inc_slot = np.zeros(V, dtype=np.int64)
    for k in range(3):
        sel = inc_face[f[:, k]] < 0
        inc_face[f[sel, k]] = np.flatnonzero(sel)
        inc_slot[f[sel, k]] = k
    kept = np.flatnonzero(keep_v)
    face_out = [inc_face[kept]]
    bary_out = [np.eye(3)[inc_slot[kept]]]
    field_out = [g[kept]]
    n_next = len(kept)
    tris = [vid[f[n_in == 3]]]
    edge_ids: dict[tuple[int, int], int] = {}
    e_face, e_bary, e_field = [], [], []

    def edge_point(fi: int, a: int, b: int) -> int:
        """Piece vertex where the cut crosses edge (slot a -> slot b) of body face fi."""
        nonlocal n_next
        va, vb = int(f[fi, a]), int(f[fi, b])
        key = (min(va, vb), max(va, vb))
        if key in edge_ids:
            return edge_ids[key]
        t = g[va] / (g[va] - g[vb])
        t = min(max(t, min_edge_fraction), 1.0 - min_edge_fraction)
        w = np.zeros(3)
        w[a], w[b] = 1.0 - t, t
        e_face.append(fi)
        e_bary.append(w)
        e_field.append(0.0)
        edge_ids[key] = n_next
        n_next += 1
        return edge_ids[key]

    extra = []
    for fi in np.flatnonzero((n_in == 1) | (n_in == 2)):
        ins = inside[f[fi]]
        if n_in[fi] == 1:
            i = int(np.flatnonzero(ins)[0])
            j, k = (i + 1) % 3, (i + 2) % 3
            extra.append((vid[f[fi, i]], edge_point(fi, i, j), edge_point(fi, i, k)))
        else:
            k = int(np.flatnonzero(~ins)[0])
            i, j = (k + 1) % 3, (k + 2) % 3
            pjk, pki = edge_point(fi, j, k), edge_point(fi, k, i)
            extra.append((vid[f[fi, i]], vid[f[fi, j]], pjk))
            extra.append((vid[f[fi, i]], pjk, pki))
    if extra:
        tris.append(np.asarray(extra, dtype=np.int64))
    if e_face:
        face_out.append(np.asarray(e_face, dtype=np.int64))
        bary_out.append(np.asarray(e_bary))
        field_out.append(np.asarray(e_field))
    return SurfacePiece(faces=np.concatenate(tris).astype(np.int32), face=np.concatenate(face_out),
                        bary=np.concatenate(bary_out), field=np.concatenate(field_out))


def boundary_edges(faces: np.ndarray) -> np.ndarray:
    """(B, 2) int directed edges used by exactly one triangle (the open rims of a piece)."""
    f = np.asarray(faces, dtype=np.int64)
    e = np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]])
    key = np.sort(e, axis=1)
    _, inv, cnt = np.unique(key, axis=0, return_inverse=True, return_counts=True)
    return e[cnt[inv.reshape(-1)] == 1]
