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

    Piece vertices: the kept body vertices (in index order), then one per cut edge in the order the cut
    triangles (in index order) first reach it; each cut triangle adds its piece triangles in its own order.
    """
    f = np.asarray(faces, dtype=np.int64)
    g = np.asarray(field, dtype=np.float64).copy()
    if not np.isfinite(g).all():
        raise SynthError("cut_surface: the field has NaN/inf values")
    inside = g >= 0
    inside_f = inside[f]
    n_in = inside_f.sum(axis=1)
    if not (n_in > 0).any():
        raise SynthError("cut_surface: nothing of the surface is inside the field (empty garment)")
    V = len(g)
    # vertex ids: kept body vertices first
    keep_v = np.zeros(V, dtype=bool)
    keep_v[f[n_in > 0][inside_f[n_in > 0]]] = True
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
    n_kept = len(kept)
    face_out = [inc_face[kept]]
    bary_out = [np.eye(3)[inc_slot[kept]]]
    field_out = [g[kept]]
    tris = [vid[f[n_in == 3]]]
    cut = np.flatnonzero((n_in == 1) | (n_in == 2))
    if len(cut):
        one = n_in[cut] == 1
        ins = inside_f[cut]
        # n_in == 1: i = the inside slot, edges (i, i+1) and (i, i+2); n_in == 2: k = the outside slot,
        # i = k+1, j = k+2, edges (j, k) and (k, i)
        s_in = np.argmax(ins, axis=1)
        s_out = np.argmax(~ins, axis=1)
        i = np.where(one, s_in, (s_out + 1) % 3)
        j = np.where(one, (s_in + 1) % 3, (s_out + 2) % 3)
        k = np.where(one, (s_in + 2) % 3, s_out)
        # the two edge-point requests of each cut triangle, in request order: (slot a, slot b)
        req_a = np.stack([np.where(one, i, j), np.where(one, i, k)], 1).reshape(-1)
        req_b = np.stack([np.where(one, j, k), np.where(one, k, i)], 1).reshape(-1)
        req_f = np.repeat(cut, 2)
        va, vb = f[req_f, req_a], f[req_f, req_b]
        key = np.minimum(va, vb) * V + np.maximum(va, vb)
        _, first, inv = np.unique(key, return_index=True, return_inverse=True)
        order = np.argsort(first, kind="stable")          # new edge points in the order first requested
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        point = n_kept + rank[inv.reshape(-1)]             # piece vertex of every request
        src = first[order]                                 # the request that made each edge point
        ga, gb = g[va[src]], g[vb[src]]
        t = ga / (ga - gb)
        t = np.minimum(np.maximum(t, min_edge_fraction), 1.0 - min_edge_fraction)
        w = np.zeros((len(src), 3))
        rows = np.arange(len(src))
        w[rows, req_a[src]] = 1.0 - t
        w[rows, req_b[src]] = t
        face_out.append(req_f[src])
        bary_out.append(w)
        field_out.append(np.zeros(len(src)))
        p0, p1 = point[0::2], point[1::2]
        vi, vj = vid[f[cut, i]], vid[f[cut, j]]
        first_tri = np.stack([vi, np.where(one, p0, vj), np.where(one, p1, p0)], 1)
        second_tri = np.stack([vi, p0, p1], 1)
        both = np.stack([first_tri, second_tri], 1)        # (C, 2, 3); the second only for n_in == 2
        valid = np.stack([np.ones(len(cut), bool), ~one], 1)
        tris.append(both[valid])
    return SurfacePiece(faces=np.concatenate(tris).astype(np.int32), face=np.concatenate(face_out),
                        bary=np.concatenate(bary_out), field=np.concatenate(field_out))


def boundary_edges(faces: np.ndarray) -> np.ndarray:
    """(B, 2) int directed edges used by exactly one triangle (the open rims of a piece)."""
    f = np.asarray(faces, dtype=np.int64)
    e = np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]])
    if len(e) == 0:
        return e
    # one int64 key per undirected edge (min * V + max): the same grouping as unique rows of the sorted pairs,
    # without the slow row-wise unique
    n = int(e.max()) + 1
    key = np.minimum(e[:, 0], e[:, 1]) * n + np.maximum(e[:, 0], e[:, 1])
    _, inv, cnt = np.unique(key, return_inverse=True, return_counts=True)
    return e[cnt[inv.reshape(-1)] == 1]


def boundary_edges_reference(faces: np.ndarray) -> np.ndarray:
    """``boundary_edges`` as first written (unique rows of the sorted vertex pairs): the reference the faster
    one is tested against."""
    f = np.asarray(faces, dtype=np.int64)
    e = np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]])
    key = np.sort(e, axis=1)
    _, inv, cnt = np.unique(key, axis=0, return_inverse=True, return_counts=True)
    return e[cnt[inv.reshape(-1)] == 1]


def cut_surface_reference(faces: np.ndarray, field: np.ndarray, *, min_edge_fraction: float = 0.08) -> SurfacePiece:
    """``cut_surface`` as first written (one Python step per cut triangle): the reference the vectorised one is
    tested against. The part of a triangle mesh where ``field >= 0``.

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
