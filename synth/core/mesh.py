"""Triangle-mesh geometry in numpy: inside test, point distance, ray and segment crossings.

Used by camera rigs (keeping body-worn cameras outside the wearer), visibility (lines of
sight through the body) and contact labels.
"""

from __future__ import annotations

import numpy as np

from synth.core.errors import SynthError




def as_mesh(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    V = np.asarray(vertices, dtype=np.float64)
    F = np.asarray(faces, dtype=np.int64)
    if V.ndim != 2 or V.shape[1] != 3 or F.ndim != 2 or F.shape[1] != 3:
        raise SynthError(f"mesh: expected vertices (V, 3) and faces (F, 3), got {V.shape} and {F.shape}")
    return V, F


def winding_number(points: np.ndarray, vertices: np.ndarray, faces: np.ndarray, chunk: int = 64) -> np.ndarray:
    """Generalised winding number of a triangle mesh at ``points`` (N, 3) -> (N,) float.

    Sum over triangles of the signed solid angle (Van Oosterom & Strackee) / 4 pi; +-1 inside a
    closed mesh, 0 outside.
    """
    V, F = as_mesh(vertices, faces)
    P = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    A, B, C = V[F[:, 0]], V[F[:, 1]], V[F[:, 2]]
    out = np.empty(len(P))
    for s in range(0, len(P), chunk):
        p = P[s:s + chunk, None, :]
        a, b, c = A[None] - p, B[None] - p, C[None] - p
        la, lb, lc = np.linalg.norm(a, axis=-1), np.linalg.norm(b, axis=-1), np.linalg.norm(c, axis=-1)
        num = np.einsum("nfi,nfi->nf", a, np.cross(b, c))
        den = la * lb * lc + np.einsum("nfi,nfi->nf", a, b) * lc + np.einsum("nfi,nfi->nf", b, c) * la \
            + np.einsum("nfi,nfi->nf", c, a) * lb
        out[s:s + chunk] = 2.0 * np.arctan2(num, den).sum(-1) / (4.0 * np.pi)
    return out


def points_inside_mesh(points: np.ndarray, vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """(N, 3) points -> (N,) bool, |winding number| > 0.5 (orientation-independent)."""
    return np.abs(winding_number(points, vertices, faces)) > 0.5


def point_mesh_distance(points: np.ndarray, vertices: np.ndarray, faces: np.ndarray, chunk: int = 64) -> np.ndarray:
    """(N, 3) points -> (N,) unsigned distance (metres) to the nearest triangle (Ericson's closest point)."""
    V, F = as_mesh(vertices, faces)
    P = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    A, B, C = V[F[:, 0]], V[F[:, 1]], V[F[:, 2]]
    out = np.empty(len(P))
    for s in range(0, len(P), chunk):
        p = P[s:s + chunk, None, :]
        q = closest_point_on_triangles(p, A[None], B[None], C[None])
        out[s:s + chunk] = np.sqrt(((q - p) ** 2).sum(-1).min(-1))
    return out


def closest_point_on_triangles(p, a, b, c):
    """Closest points on triangles (a, b, c) to p; all broadcastable (..., 3)."""
    def dot(x, y):
        return (x * y).sum(-1)
    p, a, b, c = np.broadcast_arrays(p, a, b, c)
    ab, ac, ap = b - a, c - a, p - a
    d1, d2 = dot(ab, ap), dot(ac, ap)
    bp = p - b
    d3, d4 = dot(ab, bp), dot(ac, bp)
    cp = p - c
    d5, d6 = dot(ab, cp), dot(ac, cp)
    va = d3 * d6 - d5 * d4
    vb = d5 * d2 - d1 * d6
    vc = d1 * d4 - d3 * d2
    with np.errstate(divide="ignore", invalid="ignore"):
        denom = 1.0 / (va + vb + vc)
        v = vb * denom
        w = vc * denom
        res = a + ab * v[..., None] + ac * w[..., None]  # interior
        # edge regions
        t_ab = d1 / (d1 - d3)
        t_ac = d2 / (d2 - d6)
        t_bc = (d4 - d3) / ((d4 - d3) + (d5 - d6))
    m_bc = (va <= 0) & (d4 - d3 >= 0) & (d5 - d6 >= 0)
    res = np.where(m_bc[..., None], b + (c - b) * np.nan_to_num(t_bc)[..., None], res)
    m_ac = (vb <= 0) & (d2 >= 0) & (d6 <= 0)
    res = np.where(m_ac[..., None], a + ac * np.nan_to_num(t_ac)[..., None], res)
    m_ab = (vc <= 0) & (d1 >= 0) & (d3 <= 0)
    res = np.where(m_ab[..., None], a + ab * np.nan_to_num(t_ab)[..., None], res)
    # vertex regions
    m_c = (d6 >= 0) & (d5 <= d6)
    res = np.where(m_c[..., None], c, res)
    m_b = (d3 >= 0) & (d4 <= d3)
    res = np.where(m_b[..., None], b, res)
    m_a = (d1 <= 0) & (d2 <= 0)
    res = np.where(m_a[..., None], a, res)
    return res


def moller_trumbore(o: np.ndarray, d: np.ndarray, v0: np.ndarray, e1: np.ndarray, e2: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Ray-triangle intersection (Moller & Trumbore 1997) for broadcastable (..., 3) rays o + t d and
    triangles (v0, v0 + e1, v0 + e2). Returns (hit (...,) bool for t > 0, t (...,) float)."""
    p = np.cross(d, e2)
    det = (p * e1).sum(-1)
    ok = np.abs(det) > 1e-15
    inv = np.where(ok, 1.0 / np.where(ok, det, 1.0), 0.0)
    tvec = o - v0
    u = (p * tvec).sum(-1) * inv
    q = np.cross(tvec, e1)
    v = (d * q).sum(-1) * inv
    t = (e2 * q).sum(-1) * inv
    return ok & (u >= 0) & (v >= 0) & (u + v <= 1) & (t > 0), t


def ray_mesh_hits(origin: np.ndarray, direction: np.ndarray, vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Distances t > 0 along the ray ``origin + t direction`` (unit (3,)) where it crosses the mesh (sorted)."""
    V, F = as_mesh(vertices, faces)
    a = V[F[:, 0]]
    hit, t = moller_trumbore(np.asarray(origin, dtype=np.float64)[None], np.asarray(direction, dtype=np.float64)[None],
                             a, V[F[:, 1]] - a, V[F[:, 2]] - a)
    return np.sort(t[hit])


def segment_crossings(origin: np.ndarray, points: np.ndarray, vertices: np.ndarray, faces: np.ndarray,
                    chunk: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """Crossings of the segments origin -> points with a triangle mesh (Moller-Trumbore).

    Only triangles whose bounding sphere comes near a segment are tested.
    origin : (3,) metres; points : (N, 3) metres; vertices : (V, 3); faces : (F, 3) int
    returns : (count (N,) int, first_t (N,) float metres along the segment, inf when none)
    """
    o = np.asarray(origin, dtype=np.float64)
    tri = np.asarray(vertices, dtype=np.float64)[np.asarray(faces)]
    centre = tri.mean(axis=1)
    radius = np.linalg.norm(tri - centre[:, None], axis=2).max(axis=1) + 1e-9
    seg = np.asarray(points, dtype=np.float64) - o
    length = np.linalg.norm(seg, axis=1)
    d_all = seg / np.maximum(length, 1e-12)[:, None]
    co = centre - o
    ray_idx, face_idx = [], []
    for s0 in range(0, len(points), chunk):  # candidate (segment, triangle) pairs
        d = d_all[s0:s0 + chunk]
        along = np.clip(d @ co.T, 0.0, length[s0:s0 + chunk, None])           # (n, F)
        off2 = (co ** 2).sum(1)[None] - 2 * along * (d @ co.T) + along ** 2    # |co - along d|^2
        r, f = np.nonzero(off2 <= radius[None] ** 2)
        ray_idx.append(r + s0)
        face_idx.append(f)
    ri = np.concatenate(ray_idx)
    fi = np.concatenate(face_idx)
    counts = np.zeros(len(points), dtype=np.int64)
    first = np.full(len(points), np.inf)
    if len(ri) == 0:
        return counts, first
    v0 = tri[fi, 0]
    hit, t = moller_trumbore(o[None], d_all[ri], v0, tri[fi, 1] - v0, tri[fi, 2] - v0)
    hit &= (t > 1e-9) & (t < length[ri])
    ri, t = ri[hit], t[hit]
    if len(ri) == 0:
        return counts, first
    order = np.lexsort((t, ri))
    ri, t = ri[order], t[order]
    # a line through a shared edge or vertex hits several triangles at the same t: count distinct t
    new = np.ones(len(ri), dtype=bool)
    new[1:] = (ri[1:] != ri[:-1]) | (np.diff(t) > 1e-6)
    np.add.at(counts, ri[new], 1)
    np.minimum.at(first, ri, t)
    return counts, first
