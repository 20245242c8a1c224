"""Surface binding: garment vertices attached to a body's triangles, re-evaluated on every posed body.

A garment vertex ``i`` is stored as

* ``face[i]``: the index of a body triangle,
* ``bary[i]``: barycentric weights (3,) of a point ``s`` on that triangle,
* ``offset_m[i]``: (3,) coefficients along a local frame at ``s``: the smooth
  surface normal ``n`` (barycentric blend of the body's vertex normals), a
  tangent ``t`` (the triangle's first edge made orthogonal to ``n``) and
  ``b = n x t``.

so on any body with the same topology (any shape, age or pose) the vertex is
``s + o_n n + o_t t + o_b b`` (``evaluate``): the garment follows shape and pose
exactly and costs a few gathers per frame. A surface-offset garment (a shirt
made from the body's own torso) has ``o_t = o_b = 0``; a garment made elsewhere
(a MakeHuman outfit, a skirt tube) is bound with ``bind_points`` (closest point
on the surface + the residual expressed in the local frame).

After posing, joints fold the skin and some garment vertices can end up under
the skin of another body part (an arm pressed to the torso, a bent knee):
``push_out`` moves each garment vertex outside along the normal of its nearest
body vertex.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from synth.core.errors import SynthError

#: how far in front of a pushing body surface an envelope vertex stays (fabric + a little air), metres
ENVELOPE_CLEARANCE_M = 0.012


class BindingError(SynthError):
    """A binding does not fit the body it is evaluated on."""


def compute_vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """(V, 3) float unit normals: area-weighted sum of the adjacent face normals.

    vertices : (V, 3) float metres; faces : (F, 3) int, counter-clockwise seen from outside.
    A vertex with no faces gets (0, 0, 1).
    """
    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    # per axis (the arithmetic of compute_vertex_normals_reference, bit for bit, without (F, 3) temporaries)
    x, y, z = v[:, 0], v[:, 1], v[:, 2]
    f0, f1, f2 = f[:, 0], f[:, 1], f[:, 2]
    ax, ay, az = x[f1] - x[f0], y[f1] - y[f0], z[f1] - z[f0]
    bx, by, bz = x[f2] - x[f0], y[f2] - y[f0], z[f2] - z[f0]
    fn = (ay * bz - az * by, az * bx - ax * bz, ax * by - ay * bx)       # length = 2 * area
    idx = f.reshape(-1)
    n = [np.bincount(idx, weights=np.repeat(c, 3), minlength=len(v)) for c in fn]
    length = np.sqrt(n[0] * n[0] + n[1] * n[1] + n[2] * n[2])
    ok = length > 1e-20
    d = np.maximum(length, 1e-20)
    out = np.empty((len(v), 3))
    for i, c in enumerate(n):
        out[:, i] = np.where(ok, c / d, (0.0, 0.0, 1.0)[i])
    return out


def compute_vertex_normals_reference(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """``compute_vertex_normals`` as first written ((F, 3) cross products): the reference it is tested against."""
    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    fn = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])  # length = 2 * area
    idx = f.reshape(-1)
    n = np.empty_like(v)
    for c in range(3):
        n[:, c] = np.bincount(idx, weights=np.repeat(fn[:, c], 3), minlength=len(v))
    length = np.linalg.norm(n, axis=1, keepdims=True)
    out = np.where(length > 1e-20, n / np.maximum(length, 1e-20), np.array([0.0, 0.0, 1.0]))
    return out


def _frames_xyz(vertices: np.ndarray, faces: np.ndarray, normals: np.ndarray, face: np.ndarray, bary: np.ndarray
                ) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    """Surface point, normal, tangent, bitangent of (face, bary) on a body, each as [x, y, z] arrays (N,):
    the numbers of ``_frames_reference``, bit for bit, without its (N, 3, 3) gathers."""
    tri = faces[face]                                   # (N, 3)
    t0, t1, t2 = tri[:, 0], tri[:, 1], tri[:, 2]
    b0, b1, b2 = bary[:, 0], bary[:, 1], bary[:, 2]
    p, n, e = [], [], []
    for i in range(3):
        x = vertices[:, i]
        nx = normals[:, i]
        p.append(b0 * x[t0] + b1 * x[t1] + b2 * x[t2])
        n.append(b0 * nx[t0] + b1 * nx[t1] + b2 * nx[t2])
        e.append(x[t1] - x[t0])
    length = np.maximum(np.sqrt(n[0] * n[0] + n[1] * n[1] + n[2] * n[2]), 1e-12)
    n = [c / length for c in n]
    en = e[0] * n[0] + e[1] * n[1] + e[2] * n[2]
    t = [e[i] - en * n[i] for i in range(3)]
    length = np.maximum(np.sqrt(t[0] * t[0] + t[1] * t[1] + t[2] * t[2]), 1e-12)
    t = [c / length for c in t]
    b = [n[1] * t[2] - n[2] * t[1], n[2] * t[0] - n[0] * t[2], n[0] * t[1] - n[1] * t[0]]
    return p, n, t, b


def _frames(vertices: np.ndarray, faces: np.ndarray, normals: np.ndarray, face: np.ndarray, bary: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Surface point, normal, tangent, bitangent (each (N, 3)) of (face, bary) on a body."""
    return tuple(np.stack(a, 1) for a in _frames_xyz(vertices, faces, normals, face, bary))


def _frames_reference(vertices: np.ndarray, faces: np.ndarray, normals: np.ndarray, face: np.ndarray,
                      bary: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``_frames`` as first written ((N, 3, 3) gathers and einsum): the reference it is tested against."""
    tri = faces[face]                                   # (N, 3)
    p = np.einsum("nk,nkd->nd", bary, vertices[tri])
    n = np.einsum("nk,nkd->nd", bary, normals[tri])
    n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)
    e = vertices[tri[:, 1]] - vertices[tri[:, 0]]
    t = e - np.sum(e * n, axis=1, keepdims=True) * n
    t /= np.maximum(np.linalg.norm(t, axis=1, keepdims=True), 1e-12)
    b = np.cross(n, t)
    return p, n, t, b


@dataclass(frozen=True)
class SurfaceBinding:
    """Garment vertices bound to a body surface (see the module doc).

    Each of the N garment vertices has K anchors (K = 1 for most garments); the vertex is the weighted
    sum of its anchors' evaluated positions. A skirt vertex between the legs has one anchor on each thigh
    (weights 0.5, 0.5), so it stays between them when they swing instead of following one.

    face : (N, K) int64 body triangle per anchor
    bary : (N, K, 3) float64 barycentric weights on that triangle (sum 1)
    offset_m : (N, K, 3) float64 metres along (normal, tangent, bitangent) at the anchor
    weight : (N, K) float64 anchor weights (sum 1 per vertex)
    n_body_vertices : V of the body topology it was made for
    envelope : (N,) bool or None; loose garments (skirts): after blending, such a vertex moves out along the normal of its first
        anchor as far as its furthest-out weighted anchor, so a skirt front rides on whichever thigh is
        forward instead of cutting through it
    """

    face: np.ndarray
    bary: np.ndarray
    offset_m: np.ndarray
    weight: np.ndarray
    n_body_vertices: int
    envelope: np.ndarray | None = None
    envelope_dir: np.ndarray | None = None

    @staticmethod
    def single(face: np.ndarray, bary: np.ndarray, offset_m: np.ndarray, n_body_vertices: int) -> SurfaceBinding:
        """One anchor per vertex: face (N,), bary (N, 3), offset_m (N, 3)."""
        n = len(face)
        return SurfaceBinding(np.asarray(face, np.int64).reshape(n, 1), np.asarray(bary, np.float64).reshape(n, 1, 3),
                              np.asarray(offset_m, np.float64).reshape(n, 1, 3), np.ones((n, 1)), n_body_vertices)

    def __len__(self) -> int:
        return len(self.face)

    def evaluate(self, vertices: np.ndarray, faces: np.ndarray, normals: np.ndarray | None = None) -> np.ndarray:
        """(N, 3) float32 garment vertices on a body.

        vertices : (V, 3) float metres, one posed body (same topology as at binding time)
        faces : (F, 3) int body triangles; normals : (V, 3) precomputed vertex normals (else computed)
        """
        v = np.asarray(vertices, dtype=np.float64)
        if v.shape != (self.n_body_vertices, 3):
            raise BindingError(f"SurfaceBinding.evaluate: expected body vertices ({self.n_body_vertices}, 3), "
                               f"got {v.shape}; the garment was bound to another body topology")
        f = np.asarray(faces, dtype=np.int64)
        nrm = compute_vertex_normals(v, f) if normals is None else np.asarray(normals, dtype=np.float64)
        N, K = self.face.shape
        if K == 1:                       # per axis: the same numbers as the (N, 3) sum below
            o0, o1, o2 = (self.offset_m[:, 0, i] for i in range(3))
            p, n, t, b = _frames_xyz(v, f, nrm, self.face[:, 0], self.bary[:, 0])
            out = np.empty((N, 3), dtype=np.float32)
            for i in range(3):
                out[:, i] = p[i] + o0 * n[i] + o1 * t[i] + o2 * b[i]
            return out
        p, n, t, b = _frames(v, f, nrm, self.face.reshape(-1), self.bary.reshape(-1, 3))
        o = self.offset_m.reshape(-1, 3)
        x = p + o[:, :1] * n + o[:, 1:2] * t + o[:, 2:3] * b
        x = x.reshape(N, K, 3)
        out = np.einsum("nk,nkd->nd", self.weight, x)
        if self.envelope is not None:
            d = self.envelope_dir
            n0, t0, b0 = (a.reshape(N, K, 3)[:, 0] for a in (n, t, b))
            u = d[:, :1] * n0 + d[:, 1:2] * t0 + d[:, 2:3] * b0
            skin = (p + ENVELOPE_CLEARANCE_M * n).reshape(N, K, 3)
            ahead = np.einsum("nkd,nd->nk", skin - out[:, None, :], u)
            ahead = np.where(self.envelope, ahead, 0.0)
            out += np.maximum(ahead.max(axis=1), 0.0)[:, None] * u
        return out.astype(np.float32)

    def with_normal_offset(self, offset_m: np.ndarray) -> SurfaceBinding:
        """The same anchors with the normal offset replaced by ``offset_m`` (N,) (tangential parts kept)."""
        o = self.offset_m.copy()
        o[:, :, 0] = np.asarray(offset_m, dtype=np.float64)[:, None]
        return SurfaceBinding(self.face, self.bary, o, self.weight, self.n_body_vertices, self.envelope,
                              self.envelope_dir)

    @staticmethod
    def concatenate(parts: list[SurfaceBinding]) -> SurfaceBinding:
        """All vertices of ``parts`` in order (anchor counts are padded with zero-weight anchors)."""
        if not parts:
            raise BindingError("SurfaceBinding.concatenate: nothing to concatenate")
        nv = {p.n_body_vertices for p in parts}
        if len(nv) != 1:
            raise BindingError(f"SurfaceBinding.concatenate: bindings for different body topologies {sorted(nv)}")
        K = max(p.face.shape[1] for p in parts)
        def pad(a: np.ndarray, k: int, zero: bool = False) -> np.ndarray:
            if a.shape[1] == K:
                return a
            extra = np.repeat(a[:, :1], K - k, axis=1)
            return np.concatenate([a, np.zeros_like(extra) if zero else extra], axis=1)

        envelope = envelope_dir = None
        if any(p.envelope is not None for p in parts):
            envelope = np.concatenate([pad(np.zeros(p.face.shape, bool) if p.envelope is None else p.envelope,
                                           p.face.shape[1], zero=True) for p in parts])
            envelope_dir = np.concatenate([np.tile([1.0, 0.0, 0.0], (len(p), 1)) if p.envelope_dir is None
                                           else p.envelope_dir for p in parts])

        return SurfaceBinding(np.concatenate([pad(p.face, p.face.shape[1]) for p in parts]),
                              np.concatenate([pad(p.bary, p.face.shape[1]) for p in parts]),
                              np.concatenate([pad(p.offset_m, p.face.shape[1]) for p in parts]),
                              np.concatenate([pad(p.weight, p.face.shape[1], zero=True) for p in parts]), nv.pop(),
                              envelope, envelope_dir)


# ----------------------------------------------------------------------------- closest points
def _dot3(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Dot products over the last axis (length 3): x0·y0 + x1·y1 + x2·y2, added in the order
    ``np.sum(x * y, -1)`` adds them (the same numbers), without its slow short-axis reduction."""
    return x[..., 0] * y[..., 0] + x[..., 1] * y[..., 1] + x[..., 2] * y[..., 2]


def closest_points_on_triangles(p: np.ndarray, a: np.ndarray, b: np.ndarray, c: np.ndarray
                                ) -> tuple[np.ndarray, np.ndarray]:
    """Closest point to each p on triangle (a, b, c), vectorised (Ericson, Real-Time Collision Detection 5.1.5).

    p, a, b, c : (..., 3) float. Returns (closest point (..., 3), barycentric weights (..., 3)).
    """
    p, a, b, c = np.broadcast_arrays(*(np.asarray(x, dtype=np.float64) for x in (p, a, b, c)))
    shape = p.shape
    q, w = _closest_points_xyz(*((x[:, 0], x[:, 1], x[:, 2]) for x in (y.reshape(-1, 3) for y in (p, a, b, c))))
    return np.stack(q, -1).reshape(shape), np.stack(w, -1).reshape(shape)


def _closest_points_xyz(p: tuple, a: tuple, b: tuple, c: tuple) -> tuple[tuple, tuple]:
    """``closest_points_on_triangles`` on coordinates given one array per axis: p, a, b, c are (x, y, z)
    tuples of same-shape float64 arrays; returns ((qx, qy, qz), (w0, w1, w2)). Every number is computed with
    the arithmetic of ``closest_points_on_triangles_reference`` (bit-identical), without its (..., 3) arrays."""
    abx, aby, abz = b[0] - a[0], b[1] - a[1], b[2] - a[2]
    acx, acy, acz = c[0] - a[0], c[1] - a[1], c[2] - a[2]
    x, y, z = p[0] - a[0], p[1] - a[1], p[2] - a[2]
    d1 = abx * x + aby * y + abz * z
    d2 = acx * x + acy * y + acz * z
    x, y, z = p[0] - b[0], p[1] - b[1], p[2] - b[2]
    d3 = abx * x + aby * y + abz * z
    d4 = acx * x + acy * y + acz * z
    x, y, z = p[0] - c[0], p[1] - c[1], p[2] - c[2]
    d5 = abx * x + aby * y + abz * z
    d6 = acx * x + acy * y + acz * z
    va = d3 * d6 - d5 * d4
    vb = d5 * d2 - d1 * d6
    vc = d1 * d4 - d3 * d2
    eps = 1e-30
    # interior, then the edge and vertex regions overwrite it where they hold (later ones win where conditions
    # overlap: vertices last); each region's weights are computed only for its points, with the same arithmetic
    denom = va + vb + vc
    safe = np.where(np.abs(denom) > eps, denom, eps)
    w1 = vb / safe
    w2 = vc / safe
    w0 = 1 - w1 - w2
    m = (va <= 0) & ((d4 - d3) >= 0) & ((d5 - d6) >= 0)
    if m.any():
        e43, e56 = (d4 - d3)[m], (d5 - d6)[m]
        t = e43 / np.maximum(e43 + e56, eps)
        w0[m], w1[m], w2[m] = 0.0, 1 - t, t
    m = (vb <= 0) & (d2 >= 0) & (d6 <= 0)
    if m.any():
        d2m = d2[m]
        t = d2m / np.maximum(d2m - d6[m], eps)
        w0[m], w1[m], w2[m] = 1 - t, 0.0, t
    m = (vc <= 0) & (d1 >= 0) & (d3 <= 0)
    if m.any():
        d1m = d1[m]
        t = d1m / np.maximum(d1m - d3[m], eps)
        w0[m], w1[m], w2[m] = 1 - t, t, 0.0
    for m, one in (((d6 >= 0) & (d5 <= d6), 2), ((d3 >= 0) & (d4 <= d3), 1), ((d1 <= 0) & (d2 <= 0), 0)):
        w0[m], w1[m], w2[m] = float(one == 0), float(one == 1), float(one == 2)
    q = tuple(w0 * a[i] + w1 * b[i] + w2 * c[i] for i in range(3))
    return q, (w0, w1, w2)


def closest_points_on_triangles_reference(p: np.ndarray, a: np.ndarray, b: np.ndarray, c: np.ndarray
                                          ) -> tuple[np.ndarray, np.ndarray]:
    """``closest_points_on_triangles`` as first written (every region's weights for every point, then
    ``np.where``): the reference the faster one is tested against."""
    ab, ac, ap = b - a, c - a, p - a
    d1 = np.sum(ab * ap, -1)
    d2 = np.sum(ac * ap, -1)
    bp = p - b
    d3 = np.sum(ab * bp, -1)
    d4 = np.sum(ac * bp, -1)
    cp = p - c
    d5 = np.sum(ab * cp, -1)
    d6 = np.sum(ac * cp, -1)
    va = d3 * d6 - d5 * d4
    vb = d5 * d2 - d1 * d6
    vc = d1 * d4 - d3 * d2
    eps = 1e-30
    # interior
    denom = va + vb + vc
    v_in = vb / np.where(np.abs(denom) > eps, denom, eps)
    w_in = vc / np.where(np.abs(denom) > eps, denom, eps)
    w = np.stack([1 - v_in - w_in, v_in, w_in], -1)
    # edge regions (later assignments win where conditions overlap: vertices are checked last)
    cond_bc = (va <= 0) & ((d4 - d3) >= 0) & ((d5 - d6) >= 0)
    t_bc = (d4 - d3) / np.maximum((d4 - d3) + (d5 - d6), eps)
    w = np.where(cond_bc[..., None], np.stack([np.zeros_like(t_bc), 1 - t_bc, t_bc], -1), w)
    cond_ac = (vb <= 0) & (d2 >= 0) & (d6 <= 0)
    t_ac = d2 / np.maximum(d2 - d6, eps)
    w = np.where(cond_ac[..., None], np.stack([1 - t_ac, np.zeros_like(t_ac), t_ac], -1), w)
    cond_ab = (vc <= 0) & (d1 >= 0) & (d3 <= 0)
    t_ab = d1 / np.maximum(d1 - d3, eps)
    w = np.where(cond_ab[..., None], np.stack([1 - t_ab, t_ab, np.zeros_like(t_ab)], -1), w)
    one = np.ones_like(d1)
    zero = np.zeros_like(d1)
    w = np.where(((d6 >= 0) & (d5 <= d6))[..., None], np.stack([zero, zero, one], -1), w)
    w = np.where(((d3 >= 0) & (d4 <= d3))[..., None], np.stack([zero, one, zero], -1), w)
    w = np.where(((d1 <= 0) & (d2 <= 0))[..., None], np.stack([one, zero, zero], -1), w)
    q = w[..., :1] * a + w[..., 1:2] * b + w[..., 2:3] * c
    return q, w


class TriangleCandidates:
    """The triangles of a mesh (or the ``face_mask`` subset) indexed by centroid, for closest-point queries.

    Built once per mesh and mask and reused by every query on it (``push_out_exact`` queries the same rest
    body up to four times). ``radius`` bounds each triangle: every point of triangle ``j`` lies within
    ``radius[j]`` of its centroid, in its plane, so the distance from p to it is at least
    sqrt(h^2 + max(rho - radius, 0)^2), h the distance from p to the plane and rho the in-plane distance from
    p to the centroid (a candidate whose bound exceeds the best exact distance so far is not evaluated).
    """

    #: (point, triangle) pairs evaluated per batch (keeps the temporaries in cache)
    BATCH = 8192

    def __init__(self, vertices: np.ndarray, faces: np.ndarray, face_mask: np.ndarray | None = None, *,
                 z_max: float | None = None):
        """z_max: index only the triangles (of ``face_mask``) whose centroid lies at or below this height; a
        query then gives the answer of the full set wherever it can prove it (the k-th nearest indexed centroid
        is nearer than the plane z = z_max, so no other centroid is among the k nearest) and asks an index of
        the full set (built on first need) for the other points."""
        self.vertices = np.asarray(vertices, dtype=np.float64)
        self.faces = np.asarray(faces, dtype=np.int64)
        self.face_mask = None if face_mask is None else np.asarray(face_mask, dtype=bool)
        self.ids = np.arange(len(self.faces)) if face_mask is None else np.flatnonzero(face_mask)
        if len(self.ids) == 0:
            raise BindingError("closest_surface_points: no triangle to bind to")
        self.z_max = None
        self._full: TriangleCandidates | None = None
        self._n_full = len(self.ids)
        if z_max is not None:
            cz = self.vertices[:, 2][self.faces[self.ids]].mean(axis=1)
            low = self.ids[cz <= z_max]
            if len(low) >= 1 and len(low) < len(self.ids):
                self.ids, self.z_max = low, float(z_max)
        self._xyz = [np.ascontiguousarray(self.vertices[:, i]) for i in range(3)]
        fi = self.faces[self.ids]
        # per axis: corners a, b, c, the centroid (the numbers of tri.mean(axis=1)) and each corner's offset
        a, b, c = ([x[fi[:, j]] for x in self._xyz] for j in range(3))
        cen = [(a[i] + b[i] + c[i]) / 3.0 for i in range(3)]
        self.centroids = np.stack(cen, 1)
        r2 = [sum((corner[i] - cen[i]) ** 2 for i in range(3)) for corner in (a, b, c)]
        self.radius = np.sqrt(np.maximum(np.maximum(r2[0], r2[1]), r2[2]))
        # unit plane normal and offset (n . x = offset on the plane); 0, 0 for slivers whose normal direction is
        # not accurate to ~1e-9 (edge angle below 1e-6 rad): for them the plane bound is the centroid sphere's
        e1 = [b[i] - a[i] for i in range(3)]
        e2 = [c[i] - a[i] for i in range(3)]
        nrm = [e1[1] * e2[2] - e1[2] * e2[1], e1[2] * e2[0] - e1[0] * e2[2], e1[0] * e2[1] - e1[1] * e2[0]]
        length = np.sqrt(nrm[0] * nrm[0] + nrm[1] * nrm[1] + nrm[2] * nrm[2])
        l1 = np.sqrt(e1[0] * e1[0] + e1[1] * e1[1] + e1[2] * e1[2])
        l2 = np.sqrt(e2[0] * e2[0] + e2[1] * e2[1] + e2[2] * e2[2])
        ok = length > 1e-6 * l1 * l2
        unit = [np.where(ok, x / np.where(ok, length, 1.0), 0.0) for x in nrm]
        self._plane = unit + [unit[0] * cen[0] + unit[1] * cen[1] + unit[2] * cen[2]]
        self.tree = cKDTree(self.centroids)

    def closest(self, points: np.ndarray, candidates: int = 24) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(face (N,) int64, bary (N, 3), closest point (N, 3)): the closest point among the ``candidates``
        triangles nearest by centroid (as if all of them were tested; see ``closest_surface_points``).

        Candidates that cannot beat the first one (their lower bound exceeds its exact distance) are not
        evaluated; the chosen triangle, its weights and the point are the same numbers as testing all of them
        (the first of equal minima wins, as ``argmin`` does).
        """
        results, _ = self.closest_prefixes(points, (candidates,))
        return results[0]

    def closest_prefixes(self, points: np.ndarray, candidates: tuple[int, ...]
                         ) -> tuple[list[tuple[np.ndarray, np.ndarray, np.ndarray]], np.ndarray]:
        """``[closest(points, k) for k in candidates]`` from one centroid query (the largest k) and one
        evaluation of each (point, triangle) pair any of them needs (the k nearest centroids of a point are
        the first k of its largest-k list, nearest first), and the (N, kmax) candidate triangles themselves.
        """
        pts = np.asarray(points, dtype=np.float64)
        if self.z_max is None:
            return self._closest_prefixes(pts, candidates)[:2]
        k_full = min(max(candidates), self._n_full)
        if len(self.ids) < k_full:
            return self._full_index().closest_prefixes(pts, candidates)
        results, cand, dc = self._closest_prefixes(pts, candidates)
        # proven where the k-th indexed centroid is nearer than any centroid above z_max can be
        unproven = np.flatnonzero(~(dc[:, -1] * (1.0 + 1e-9) + 1e-9 < self.z_max - pts[:, 2]))
        if len(unproven):
            other, cand_other, _ = self._full_index()._closest_prefixes(pts[unproven], candidates)
            cand[unproven] = cand_other
            for (f, w, q), (fo, wo, qo) in zip(results, other):
                f[unproven], w[unproven], q[unproven] = fo, wo, qo
        return results, cand

    def _full_index(self) -> TriangleCandidates:
        if self._full is None:
            self._full = TriangleCandidates(self.vertices, self.faces, self.face_mask)
        return self._full

    def _closest_prefixes(self, pts: np.ndarray, candidates: tuple[int, ...]
                          ) -> tuple[list[tuple[np.ndarray, np.ndarray, np.ndarray]], np.ndarray, np.ndarray]:
        """``closest_prefixes`` on the indexed triangles, with the (N, k) centroid distances."""
        N = len(pts)
        k = min(max(candidates), len(self.ids))
        dc, nn = self.tree.query(pts, k=k)
        nn = np.asarray(nn).reshape(N, k)
        dc = np.asarray(dc, dtype=np.float64).reshape(N, k)
        cand = self.ids[nn]                                              # (N, k)
        px, py, pz = (np.ascontiguousarray(pts[:, i]) for i in range(3))
        # exact distance to the nearest-centroid triangle: an upper bound of the minimum of every prefix
        q0, w0 = self._evaluate((px, py, pz), cand[:, 0])
        e = [q0[i] - (px, py, pz)[i] for i in range(3)]
        d2_0 = e[0] * e[0] + e[1] * e[1] + e[2] * e[2]
        d0 = np.sqrt(d2_0)
        # lower bound of every candidate (the plane and the disc around its centroid); the plane distance is
        # lowered by what the normal's rounding can move it (the bound grows with it, so a smaller one is safe)
        nx, ny, nz, off = self._plane
        r = self.radius[nn]
        h = np.abs(px[:, None] * nx[nn] + py[:, None] * ny[nn] + pz[:, None] * nz[nn] - off[nn])
        h = np.clip(h - (1e-9 * (dc + r) + 1e-15), 0.0, dc)
        gap = np.maximum(np.sqrt(np.maximum(dc * dc - h * h, 0.0)) - r, 0.0)
        lower = np.sqrt(h * h + gap * gap)
        keep = lower <= d0[:, None] * (1.0 + 1e-9) + 1e-12
        keep[:, 0] = False                               # evaluated above
        ri, ci = np.nonzero(keep)
        P = len(ri)
        # rows 0..N-1: the first candidates, then the kept pairs
        w = np.empty((N + P, 3))
        q = np.empty((N + P, 3))
        for i in range(3):
            q[:N, i] = q0[i]
            w[:N, i] = w0[i]
        d2 = np.full((N, k), np.inf)
        d2[:, 0] = d2_0
        for s in range(0, P, self.BATCH):
            r, c = ri[s:s + self.BATCH], ci[s:s + self.BATCH]
            pr = (px[r], py[r], pz[r])
            qb, wb = self._evaluate(pr, cand[r, c])
            e = [qb[i] - pr[i] for i in range(3)]
            d2[r, c] = e[0] * e[0] + e[1] * e[1] + e[2] * e[2]
            for i in range(3):
                q[N + s:N + s + self.BATCH, i] = qb[i]
                w[N + s:N + s + self.BATCH, i] = wb[i]
        slot = np.full((N, k), -1, dtype=np.int64)
        slot[:, 0] = np.arange(N)
        slot[ri, ci] = N + np.arange(P)
        rows = np.arange(N)
        results = []
        for kk in candidates:
            kk = min(kk, k)
            j = np.argmin(d2[:, :kk], axis=1)
            s = slot[rows, j]
            results.append((cand[rows, j], w[s], q[s]))
        return results, cand, dc

    def _evaluate(self, p: tuple, face: np.ndarray) -> tuple[tuple, tuple]:
        """Closest points of p (x, y, z arrays) on triangles ``face`` (mesh face ids): ``_closest_points_xyz``."""
        fa = self.faces[face]
        tri = [tuple(x[fa[:, j]] for x in self._xyz) for j in range(3)]
        return _closest_points_xyz(p, *tri)


def closest_surface_points(points: np.ndarray, vertices: np.ndarray, faces: np.ndarray, *,
                           candidates: int = 24, face_mask: np.ndarray | None = None,
                           index: TriangleCandidates | None = None
                           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Closest point of a triangle mesh to each point.

    points : (N, 3); vertices (V, 3); faces (F, 3). Triangles are searched among the ``candidates``
    nearest by centroid (exact for points near the surface, which is what garments are).
    face_mask : (F,) bool, only these triangles may be chosen. index : a ``TriangleCandidates`` already built
    on these vertices, faces and mask (then those arguments are not read again).
    Returns (face (N,) int64, bary (N, 3), closest point (N, 3)).
    """
    if index is None:
        index = TriangleCandidates(vertices, faces, face_mask)
    return index.closest(points, candidates)


def closest_surface_points_brute_force(points: np.ndarray, vertices: np.ndarray, faces: np.ndarray, *,
                                       candidates: int = 24, face_mask: np.ndarray | None = None
                                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``closest_surface_points`` evaluating every one of the ``candidates`` triangles (the reference the
    pruned search is tested against)."""
    pts = np.asarray(points, dtype=np.float64)
    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    ids = np.arange(len(f)) if face_mask is None else np.flatnonzero(face_mask)
    if len(ids) == 0:
        raise BindingError("closest_surface_points: no triangle to bind to")
    cen = v[f[ids]].mean(axis=1)
    k = min(candidates, len(ids))
    _, nn = cKDTree(cen).query(pts, k=k)
    nn = np.asarray(nn).reshape(len(pts), k)
    cand = ids[nn]                                         # (N, k)
    tri = v[f[cand]]                                       # (N, k, 3, 3)
    q, w = closest_points_on_triangles_reference(pts[:, None, :], tri[:, :, 0], tri[:, :, 1], tri[:, :, 2])
    d2 = np.sum((q - pts[:, None, :]) ** 2, -1)
    j = np.argmin(d2, axis=1)
    r = np.arange(len(pts))
    return cand[r, j], w[r, j], q[r, j]


def bind_points(points: np.ndarray, vertices: np.ndarray, faces: np.ndarray, *, face_mask: np.ndarray | None = None,
                normals: np.ndarray | None = None) -> SurfaceBinding:
    """Bind free points (a garment placed around a body) to that body's surface.

    points : (N, 3) float metres, same frame as ``vertices`` (V, 3); faces (F, 3).
    Each point takes its closest surface point (among ``face_mask`` triangles); the rest of the way is stored
    in the local frame there, so ``bind_points(P, X, F).evaluate(X, F)`` returns P (to float precision).
    """
    return bind_points_blended(points, vertices, faces, [face_mask], np.ones((len(points), 1)), normals=normals)


def bind_points_blended(points: np.ndarray, vertices: np.ndarray, faces: np.ndarray,
                        face_masks: list[np.ndarray | None], weights: np.ndarray, *,
                        envelope: np.ndarray | None = None, envelope_dir: np.ndarray | None = None,
                        normals: np.ndarray | None = None,
                        closest: list[tuple[np.ndarray, np.ndarray]] | None = None) -> SurfaceBinding:
    """Bind free points with K anchors each: anchor k on the closest surface point among ``face_masks[k]``.

    weights : (N, K) anchor weights (normalised here). Every anchor alone reproduces the point on this body,
    so the blend does too; on a posed body the point follows the weighted motion of its anchors.
    envelope : (N, K) bool anchors that push the point out (see ``SurfaceBinding``), or None;
    envelope_dir : (N, 3) unit outward direction of each point on this body (needed with ``envelope``).
    normals : (V, 3) ``compute_vertex_normals(vertices, faces)`` when the caller has them (else computed).
    closest : per mask, the (face (N,), bary (N, 3)) ``closest_surface_points`` gives for these points and that
        mask, when the caller has it (else searched here).
    """
    pts = np.asarray(points, dtype=np.float64)
    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (len(pts), len(face_masks)):
        raise BindingError(f"bind_points_blended: weights must be (N, K) = ({len(pts)}, {len(face_masks)}), got {w.shape}")
    w = w / np.maximum(w.sum(axis=1, keepdims=True), 1e-12)
    nrm = compute_vertex_normals(v, f) if normals is None else np.asarray(normals, dtype=np.float64)
    F, B, O = [], [], []
    for m, mask in enumerate(face_masks):
        if closest is None:
            face, bary, _ = closest_surface_points(pts, v, f, face_mask=mask)
        else:
            face, bary = closest[m]
        s, n, t, b = _frames(v, f, nrm, face, bary)
        d = pts - s
        F.append(face)
        B.append(bary)
        O.append(np.stack([np.sum(d * n, 1), np.sum(d * t, 1), np.sum(d * b, 1)], axis=1))
    env = dirs = None
    if envelope is not None:
        env = np.asarray(envelope, dtype=bool).reshape(w.shape)
        if envelope_dir is None:
            raise BindingError("bind_points_blended: envelope needs envelope_dir (outward direction per point)")
        u = np.asarray(envelope_dir, dtype=np.float64)
        _, n0, t0, b0 = _frames(v, f, nrm, F[0], B[0])
        dirs = np.stack([np.sum(u * n0, 1), np.sum(u * t0, 1), np.sum(u * b0, 1)], 1)
    return SurfaceBinding(np.stack(F, 1), np.stack(B, 1), np.stack(O, 1), w, len(v), env, dirs)


# ----------------------------------------------------------------------------- push-out
def push_out(points: np.ndarray, vertices: np.ndarray, normals: np.ndarray, *, clearance_m: float = 0.0005,
             iterations: int = 3, neighbours: int = 3, vertex_tree: cKDTree | None = None
             ) -> tuple[np.ndarray, int]:
    """Move garment points that went under the skin of the posed body back out.

    points : (N, 3) garment vertices; vertices / normals : (V, 3) the posed body and its vertex normals.
    A point is under the skin when it lies behind (or within ``clearance_m`` of) the tangent plane of any of
    its ``neighbours`` nearest body vertices (in folds such as the armpit or between the toes the nearest
    vertex alone can be on the wrong side); it is moved along that vertex normal to ``clearance_m`` in front. Repeated
    ``iterations`` times (a point pushed out of the arm may land in the torso). Garments are built at least
    ``clearance_m`` off the skin, so only what posing folded under the skin moves.
    Returns (points (N, 3) float32, how many moved).
    """
    p = np.asarray(points, dtype=np.float64).copy()
    v = np.asarray(vertices, dtype=np.float64)
    tree = cKDTree(v) if vertex_tree is None else vertex_tree
    moved = np.zeros(len(p), dtype=bool)
    todo = np.arange(len(p))       # a point not moved in a round is where it was checked: only moved ones are re-checked
    for _ in range(iterations):
        if len(todo) == 0:
            break
        q = p[todo]
        _, jj = tree.query(q, k=neighbours)
        jj = np.asarray(jj).reshape(len(q), neighbours)
        depth_k = clearance_m - np.einsum("nkd,nkd->nk", q[:, None, :] - v[jj], normals[jj])
        worst = np.argmax(depth_k, axis=1)
        depth = depth_k[np.arange(len(q)), worst]
        bad = depth > 0
        if not bad.any():
            break
        n = normals[jj[np.arange(len(q)), worst]]
        p[todo[bad]] += depth[bad, None] * n[bad]
        moved[todo[bad]] = True
        todo = todo[bad]
    return p.astype(np.float32), int(moved.sum())


def push_out_exact(points: np.ndarray, vertices: np.ndarray, faces: np.ndarray, *, clearance_m: float = 0.002,
                   iterations: int = 4, normals: np.ndarray | None = None) -> np.ndarray:
    """Like ``push_out`` with the exact closest surface point and the smooth normal there (slower; used once,
    when a garment is made, where the body's own surface folds: between the toes, in the armpits)."""
    p = np.asarray(points, dtype=np.float64).copy()
    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    nrm = compute_vertex_normals(v, f) if normals is None else np.asarray(normals, dtype=np.float64)
    index = TriangleCandidates(v, f)
    todo = np.arange(len(p))
    for _ in range(iterations):                      # only the points moved last round are checked again
        if len(todo) == 0:
            break
        todo = _push_out_exact_round(p, todo, index.closest(p[todo], candidates=16), nrm, f, clearance_m)
    return p


def _push_out_exact_round(p: np.ndarray, todo: np.ndarray, closest: tuple[np.ndarray, np.ndarray, np.ndarray],
                          normals: np.ndarray, faces: np.ndarray, clearance_m: float) -> np.ndarray:
    """One round of ``push_out_exact``: the points ``p[todo]`` (moved in place) whose closest surface point
    (face, bary, point) = ``closest`` is less than ``clearance_m`` in front of the smooth surface go to
    ``clearance_m`` in front of it along the smooth normal there. Returns the indices (into p) it moved."""
    face, bary, q = closest
    n = np.einsum("nk,nkd->nd", bary, normals[faces[face]])
    n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)
    d = p[todo] - q
    dist = np.linalg.norm(d, axis=1)
    signed = np.where(np.sum(d * n, axis=1) < 0, -dist, dist)
    bad = signed < clearance_m
    p[todo[bad]] = q[bad] + clearance_m * n[bad]
    return todo[bad]


def push_out_exact_and_bind(points: np.ndarray, vertices: np.ndarray, faces: np.ndarray, *,
                            face_mask: np.ndarray | None = None, clearance_m: float = 0.002, iterations: int = 4,
                            normals: np.ndarray | None = None, index: TriangleCandidates | None = None
                            ) -> tuple[np.ndarray, SurfaceBinding]:
    """``p = push_out_exact(points, ...)`` and ``bind_points(p, ..., face_mask=face_mask)``, the same numbers
    with less search (returns (p (N, 3) float64, the binding)).

    The first push-out round queries each point's 24 nearest triangle centroids of the whole mesh: its first
    16 are the push-out's candidates, and for a point the push-out does not move whose 24 all lie in
    ``face_mask`` they are also the 24 nearest of the masked triangles, i.e. the binding's candidates, so that
    point's binding triangle comes from the same evaluation. Only moved points and points near the mask's
    border are searched again among the masked triangles.
    index : a ``TriangleCandidates`` of the whole mesh (no mask) already built on these vertices and faces.
    """
    p = np.asarray(points, dtype=np.float64).copy()
    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    nrm = compute_vertex_normals(v, f) if normals is None else np.asarray(normals, dtype=np.float64)
    if index is None:
        index = TriangleCandidates(v, f)
    # round 1 on every point: the 24 nearest centroids, of which the push-out uses the first 16
    results, cand = index.closest_prefixes(p, (16, 24))
    (face, bary, q), (face24, bary24, _) = results
    todo = np.arange(len(p))
    moved = np.zeros(len(p), dtype=bool)
    for r in range(iterations):                      # as push_out_exact: only the points moved last round again
        if len(todo) == 0:
            break
        todo = _push_out_exact_round(p, todo, (face, bary, q) if r == 0 else index.closest(p[todo], candidates=16),
                                     nrm, f, clearance_m)
        moved[todo] = True
    # binding: reuse round 1's search where the point stayed and all its 24 candidates are maskable
    if face_mask is None:
        again = moved
    else:
        mask = np.asarray(face_mask, dtype=bool)
        again = moved | ~mask[cand].all(axis=1)
    bind_face, bind_bary = face24.copy(), bary24.copy()
    if again.any():
        fa, ba, _ = TriangleCandidates(v, f, face_mask).closest(p[again], candidates=24)
        bind_face[again], bind_bary[again] = fa, ba
    binding = bind_points_blended(p, v, f, [face_mask], np.ones((len(p), 1)), normals=nrm,
                                  closest=[(bind_face, bind_bary)])
    return p, binding


def push_out_exact_and_bind_reference(points: np.ndarray, vertices: np.ndarray, faces: np.ndarray, *,
                                      face_mask: np.ndarray | None = None, clearance_m: float = 0.002,
                                      iterations: int = 4, normals: np.ndarray | None = None,
                                      index: TriangleCandidates | None = None) -> tuple[np.ndarray, SurfaceBinding]:
    """``push_out_exact_and_bind`` as two separate searches (the reference it is tested against)."""
    p = push_out_exact(points, vertices, faces, clearance_m=clearance_m, iterations=iterations, normals=normals)
    return p, bind_points(p, vertices, faces, face_mask=face_mask, normals=normals)


def compute_signed_distances(points: np.ndarray, vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """(N,) signed distance (m) of points to a body surface: negative inside (under the skin).

    Uses the exact closest point on the triangles and the smooth normal there for the sign (the
    measuring stick for penetration tests; ``push_out`` uses a cheaper nearest-vertex rule).
    """
    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    face, bary, q = closest_surface_points(points, v, f, candidates=32)
    nrm = compute_vertex_normals(v, f)
    n = np.einsum("nk,nkd->nd", bary, nrm[f[face]])
    d = np.asarray(points, dtype=np.float64) - q
    dist = np.linalg.norm(d, axis=1)
    return np.where(np.sum(d * n, axis=1) < 0, -dist, dist)
