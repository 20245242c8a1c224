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
        return np.einsum("...i,...i->...", x, y)
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
    return count_segment_hits(o, d_all, length, tri, np.concatenate(ray_idx), np.concatenate(face_idx))


def count_segment_hits(origin: np.ndarray, directions: np.ndarray, lengths: np.ndarray, tri: np.ndarray,
                       ray_idx: np.ndarray, face_idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Crossings per segment from candidate (segment, triangle) pairs (Moller-Trumbore on each pair).

    origin : (3,) metres; directions : (N, 3) unit; lengths : (N,) metres; tri : (F, 3, 3) triangle corners;
    ray_idx, face_idx : (M,) candidate pairs. A line through a shared edge or vertex hits several triangles at
    the same t: distinct t are counted once.
    returns : (count (N,) int, first_t (N,) float metres along the segment, inf when none)
    """
    counts = np.zeros(len(lengths), dtype=np.int64)
    first = np.full(len(lengths), np.inf)
    ri, fi = np.asarray(ray_idx), np.asarray(face_idx)
    if len(ri) == 0:
        return counts, first
    v0 = tri[fi, 0]
    hit, t = moller_trumbore(np.asarray(origin)[None], directions[ri], v0, tri[fi, 1] - v0, tri[fi, 2] - v0)
    hit &= (t > 1e-9) & (t < lengths[ri])
    ri, t = ri[hit], t[hit]
    if len(ri) == 0:
        return counts, first
    order = np.lexsort((t, ri))
    ri, t = ri[order], t[order]
    new = np.ones(len(ri), dtype=bool)
    new[1:] = (ri[1:] != ri[:-1]) | (np.diff(t) > 1e-6)
    np.add.at(counts, ri[new], 1)
    np.minimum.at(first, ri, t)
    return counts, first


def concat_ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The integer ranges [starts[k], starts[k] + counts[k]) one after the other -> (sum(counts),) int64
    (the flat indices of variable-length groups, e.g. the items of several grid cells, without a Python loop)."""
    counts = np.asarray(counts, dtype=np.int64)
    nz = counts > 0
    s, c = np.asarray(starts, dtype=np.int64)[nz], counts[nz]
    if len(c) == 0:
        return np.zeros(0, dtype=np.int64)
    step = np.ones(int(c.sum()), dtype=np.int64)
    step[0] = s[0]
    first = np.cumsum(c)[:-1]                        # where ranges 1.. begin: jump there from the last one's end
    step[first] = s[1:] - (s[:-1] + c[:-1] - 1)
    return np.cumsum(step)


# ---- spatial index: radius-limited closest points on a triangle mesh ---------------------------------------------

def _bary_region(q: np.ndarray, a: np.ndarray, b: np.ndarray, c: np.ndarray, tol: float = 1e-7) -> np.ndarray:
    """Feature of triangle (a, b, c) a point ``q`` on it lies on: 0..2 vertex a/b/c, 3..5 edge ab/bc/ca, 6 face.

    All (N, 3); barycentric weights below ``tol`` count as zero."""
    v0, v1, v2 = b - a, c - a, q - a
    d00, d01, d11 = (v0 * v0).sum(-1), (v0 * v1).sum(-1), (v1 * v1).sum(-1)
    d20, d21 = (v2 * v0).sum(-1), (v2 * v1).sum(-1)
    den = d00 * d11 - d01 * d01
    with np.errstate(divide="ignore", invalid="ignore"):
        wb = np.where(den > 0, (d11 * d20 - d01 * d21) / den, 0.0)
        wc = np.where(den > 0, (d00 * d21 - d01 * d20) / den, 0.0)
    wa = 1.0 - wb - wc
    za, zb, zc = wa <= tol, wb <= tol, wc <= tol
    region = np.full(len(q), 6, dtype=np.int64)
    region[zc] = 3            # on edge ab (weight of c is zero)
    region[za] = 4            # bc
    region[zb] = 5            # ca
    region[zb & zc] = 0       # vertex a
    region[za & zc] = 1       # vertex b
    region[za & zb] = 2       # vertex c
    return region


class TriangleIndex:
    """Spatial index over one triangle mesh: exact closest points within a radius, and signed distances.

    Triangles are grouped by size (bounding-sphere radius, levels of x2) and each group's centroids go into a
    ``scipy.spatial.cKDTree``; a query point meets only the triangles whose centroid lies within
    ``max_distance + group radius``, then Ericson's exact closest point decides. Cost grows with the number of
    (point, nearby triangle) pairs, not with points x triangles: two 13,718-vertex Anny bodies cost milliseconds.

    The sign of a distance comes from the angle-weighted pseudo-normal of the closest feature (face, edge or
    vertex; Baerentzen & Aanaes 2005): negative inside a closed, consistently oriented (outward) mesh, exact for
    a watertight manifold. For an open mesh (a plane, a single wall) negative means behind the faces' normals.

    vertices : (V, 3) metres; faces : (F, 3) int.
    """

    def __init__(self, vertices: np.ndarray, faces: np.ndarray) -> None:
        from scipy.spatial import cKDTree

        V, F = as_mesh(vertices, faces)
        if len(F) == 0:
            raise SynthError("TriangleIndex: the mesh has no faces")
        self.vertices, self.faces = V, F
        tri = V[F]
        self.tri_a, self.tri_b, self.tri_c = tri[:, 0], tri[:, 1], tri[:, 2]
        centre = tri.mean(axis=1)
        radius = np.sqrt(((tri - centre[:, None]) ** 2).sum(-1).max(-1))
        self.lo, self.hi = V[F.ravel()].min(0), V[F.ravel()].max(0)
        r0 = max(float(np.median(radius)), 1e-6)
        level = np.maximum(0, np.ceil(np.log2(np.maximum(radius, 1e-12) / r0))).astype(int)
        self.levels: list[tuple[np.ndarray, float, "cKDTree"]] = []
        for k in np.unique(level):
            idx = np.nonzero(level == k)[0]
            self.levels.append((idx, float(radius[idx].max()), cKDTree(centre[idx])))
        self._normals: tuple[np.ndarray, np.ndarray, dict] | None = None

    # -- queries -----------------------------------------------------------------------------------------------
    def near_box(self, points: np.ndarray, margin_m: float) -> np.ndarray:
        """(N,) bool: points within ``margin_m`` of the mesh's bounding box (a cheap pre-filter)."""
        P = np.asarray(points, dtype=np.float64)
        return np.all((P >= self.lo - margin_m) & (P <= self.hi + margin_m), axis=1)

    def candidate_pairs(self, points: np.ndarray, max_distance: float) -> tuple[np.ndarray, np.ndarray]:
        """(point index, face index) pairs whose triangle may lie within ``max_distance`` of the point
        (a superset of the true pairs; no pair of a farther triangle is ever needed)."""
        from scipy.spatial import cKDTree

        P = np.asarray(points, dtype=np.float64).reshape(-1, 3)
        pi, fi = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
        if len(P) == 0:
            return pi[0], fi[0]
        ptree = cKDTree(P)
        for idx, rmax, tree in self.levels:
            m = ptree.sparse_distance_matrix(tree, max_distance + rmax, output_type="ndarray")
            if len(m):
                pi.append(m["i"].astype(np.int64))
                fi.append(idx[m["j"]])
        return np.concatenate(pi), np.concatenate(fi)

    def pair_closest(self, points: np.ndarray, pi: np.ndarray, fi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Exact closest point on face ``fi`` to ``points[pi]`` -> (closest (n, 3), distance (n,))."""
        p = np.asarray(points, dtype=np.float64).reshape(-1, 3)[pi]
        q = closest_point_on_triangles(p, self.tri_a[fi], self.tri_b[fi], self.tri_c[fi])
        return q, np.sqrt(((q - p) ** 2).sum(-1))

    def closest_within(self, points: np.ndarray, max_distance: float, k: int = 4
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Closest surface point of every point within ``max_distance`` (metres), exact.

        Branch and bound per size group: the ``k`` nearest centroids (within ``max_distance + group radius``)
        are tested first; a point whose k-th centroid is still nearer than its best distance so far plus the
        group radius then tests every triangle whose centroid lies within that bound. Returns distance (N,)
        (inf where the surface is farther), face (N,) int (-1 there) and closest (N, 3) (nan there)."""
        P = np.asarray(points, dtype=np.float64).reshape(-1, 3)
        dist = np.full(len(P), np.inf)
        face = np.full(len(P), -1, dtype=np.int64)
        closest = np.full((len(P), 3), np.nan)
        sel = np.nonzero(self.near_box(P, max_distance))[0]
        if len(sel) == 0:
            return dist, face, closest
        Q = P[sel]
        best = np.full(len(Q), np.inf)
        bface = np.full(len(Q), -1, dtype=np.int64)
        bq = np.full((len(Q), 3), np.nan)

        def take(pi: np.ndarray, fi: np.ndarray) -> None:
            if len(pi) == 0:
                return
            q, d = self.pair_closest(Q, pi, fi)
            order = np.lexsort((d, pi))
            first = order[np.r_[True, pi[order][1:] != pi[order][:-1]]]
            i, better = pi[first], d[first] < best[pi[first]]
            i, f = i[better], first[better]
            best[i], bface[i], bq[i] = d[f], fi[f], q[f]

        saturated = []
        for idx, rmax, tree in self.levels:
            kk = min(k, len(idx))
            dc, j = tree.query(Q, k=kk, distance_upper_bound=max_distance + rmax)
            dc, j = dc.reshape(len(Q), kk), j.reshape(len(Q), kk)
            rows, cols = np.nonzero(np.isfinite(dc))
            take(rows, idx[j[rows, cols]])
            saturated.append(np.isfinite(dc[:, -1]) & (dc[:, -1] - rmax < max_distance))
        for (idx, rmax, tree), sat in zip(self.levels, saturated):
            bound = np.minimum(best, max_distance)
            fr = np.nonzero(sat)[0]
            if len(fr) == 0:
                continue
            lists = tree.query_ball_point(Q[fr], bound[fr] + rmax + 1e-12, return_sorted=False)
            lens = np.fromiter((len(x) for x in lists), dtype=np.int64, count=len(fr))
            if lens.sum():
                take(np.repeat(fr, lens), idx[np.concatenate([np.asarray(x, dtype=np.int64) for x in lists])])
        ok = best <= max_distance
        tgt = sel[ok]
        dist[tgt], face[tgt], closest[tgt] = best[ok], bface[ok], bq[ok]
        return dist, face, closest

    def closest(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Exact closest surface point of every point, at any distance -> (distance (N,), face (N,), closest (N, 3)).

        An upper bound per point (the nearest centroid's triangle, per size group) bounds the search radius."""
        P = np.asarray(points, dtype=np.float64).reshape(-1, 3)
        n = len(P)
        bound = np.full(n, np.inf)
        for idx, _, tree in self.levels:
            _, j = tree.query(P, k=1)
            _, d = self.pair_closest(P, np.arange(n), idx[j])
            bound = np.minimum(bound, d)
        pis, fis = [], []
        for idx, rmax, tree in self.levels:
            lists = tree.query_ball_point(P, bound + rmax + 1e-9)
            lens = np.fromiter((len(x) for x in lists), dtype=np.int64, count=n)
            pis.append(np.repeat(np.arange(n), lens))
            fis.append(idx[np.concatenate([np.asarray(x, dtype=np.int64) for x in lists])] if lens.sum()
                       else np.zeros(0, np.int64))
        pi, fi = np.concatenate(pis), np.concatenate(fis)
        q, d = self.pair_closest(P, pi, fi)
        order = np.lexsort((d, pi))
        first = order[np.r_[True, pi[order][1:] != pi[order][:-1]]]
        return d[first], fi[first], q[first]

    # -- signs ---------------------------------------------------------------------------------------------------
    def _pseudo_normals(self) -> tuple[np.ndarray, np.ndarray, dict]:
        if self._normals is None:
            V, F = self.vertices, self.faces
            n = np.cross(self.tri_b - self.tri_a, self.tri_c - self.tri_a)
            n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-30)
            vn = np.zeros_like(V)
            for k in range(3):  # angle-weighted vertex normals
                e1 = V[F[:, (k + 1) % 3]] - V[F[:, k]]
                e2 = V[F[:, (k + 2) % 3]] - V[F[:, k]]
                cos = (e1 * e2).sum(1) / np.maximum(np.linalg.norm(e1, axis=1) * np.linalg.norm(e2, axis=1), 1e-30)
                np.add.at(vn, F[:, k], n * np.arccos(np.clip(cos, -1, 1))[:, None])
            edges = np.sort(np.stack([F[:, [0, 1]], F[:, [1, 2]], F[:, [2, 0]]], axis=1), axis=2)  # (F, 3, 2)
            key = edges[..., 0] * (len(V) + 1) + edges[..., 1]
            uniq, inv = np.unique(key.ravel(), return_inverse=True)
            en = np.zeros((len(uniq), 3))
            np.add.at(en, inv, np.repeat(n, 3, axis=0))
            self._normals = (n, vn, {"edge_normal": en, "edge_of_face": inv.reshape(-1, 3)})
        return self._normals

    def sign_at(self, points: np.ndarray, face: np.ndarray, closest: np.ndarray) -> np.ndarray:
        """(N,) -1 / 0 / +1: side of the surface of each point given its closest face and point."""
        n, vn, e = self._pseudo_normals()
        P = np.asarray(points, dtype=np.float64).reshape(-1, 3)
        region = _bary_region(closest, self.tri_a[face], self.tri_b[face], self.tri_c[face])
        normal = n[face].copy()
        vid = np.where(region < 3, self.faces[face, np.minimum(region, 2)], 0)
        normal[region < 3] = vn[vid[region < 3]]
        on_edge = (region >= 3) & (region < 6)
        eid = e["edge_of_face"][face[on_edge], region[on_edge] - 3]
        normal[on_edge] = e["edge_normal"][eid]
        return np.sign(((P - closest) * normal).sum(-1))

    def signed_distance(self, points: np.ndarray, max_distance: float | None = None
                        ) -> tuple[np.ndarray, np.ndarray]:
        """Signed distance (N,) metres (negative inside) and closest face (N,).

        With ``max_distance``: points farther than it from the surface get +inf (face -1), except that for a
        watertight mesh a point inside its bounding box is always resolved (so a point deep inside reads its
        true negative depth). Without it every point is resolved exactly."""
        P = np.asarray(points, dtype=np.float64).reshape(-1, 3)
        if max_distance is None:
            d, f, q = self.closest(P)
        else:
            d, f, q = self.closest_within(P, max_distance)
            deep = np.nonzero(~np.isfinite(d) & self.near_box(P, 0.0))[0] if self.is_watertight else np.zeros(0, int)
            if len(deep):
                d[deep], f[deep], q[deep] = self.closest(P[deep])
        sd = np.full(len(P), np.inf)
        ok = f >= 0
        if ok.any():
            s = self.sign_at(P[ok], f[ok], q[ok])
            sd[ok] = np.where(s < 0, -d[ok], d[ok])
        return sd, f

    @property
    def is_watertight(self) -> bool:
        """Every edge is shared by exactly two faces."""
        if not hasattr(self, "_watertight"):
            inv = self._pseudo_normals()[2]["edge_of_face"].ravel()
            self._watertight = bool(np.all(np.bincount(inv) == 2))
        return self._watertight
