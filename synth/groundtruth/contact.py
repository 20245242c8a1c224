"""Dense contact labels, per frame, per person, per vertex of the body mesh.

Every distance is metres in the world frame (Z up) and every test is exact on the triangle meshes (closest
point on the triangles, not vertex-to-vertex); a spatial index (``synth.core.mesh.TriangleIndex``: k-d trees
over triangle centroids) keeps each query to the pairs of nearby triangles, so two full 13,718-vertex Anny
bodies cost milliseconds (``benchmarks/contact_query.py``).

* ``contact_ground`` — the vertex lies within ``GROUND_CONTACT_M`` (2 cm) of the ground plane z = 0 (or below
  it): the usual foot/body-floor contact of RICH / DAMON-style per-vertex labels, made exact.
* ``contact_person`` — index of another person whose surface lies within ``PERSON_CONTACT_M`` (2 cm) of the
  vertex, else -1 (unsigned point-to-triangle distance; placement keeps people apart, so it is mostly -1).
* ``contact_scene`` — ``object_id`` of the scene object (prop, room part) the vertex touches, else -1. A
  vertex touches an object when its *signed* distance to the object's surface is at most ``SCENE_CONTACT_M``
  (2 cm): outside within 2 cm, or inside it (penetrating, any depth). Signs come from the surface's
  angle-weighted pseudo-normals (negative inside a closed, outward-oriented mesh; behind the faces of an open
  one such as a single plane). Touching several objects, the vertex gets the one with the smallest signed
  distance (the deepest). ``scene_distance_m`` keeps that signed distance; its negative part is the
  penetration depth.
* ``contact_self`` — the vertex lies within ``SELF_CONTACT_M`` (2 cm) of a triangle of the same body that is
  geodesically far from it: more than ``SELF_CONTACT_GEODESIC_M`` (30 cm) along the rest mesh's edge graph
  (hand on face, crossed arms, crossed legs; not the two sides of a bent elbow or the armpit). The label is
  the vertex of that triangle nearest to the contact point (its partner), else -1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from synth.core.errors import SynthError
from synth.core.mesh import TriangleIndex, concat_ranges

GROUND_CONTACT_M = 0.02
PERSON_CONTACT_M = 0.02
SCENE_CONTACT_M = 0.02
SELF_CONTACT_M = 0.02
SELF_CONTACT_GEODESIC_M = 0.30
SELF_CONTACT_ANCHORS = 512


def compute_ground_contact(vertices: np.ndarray, ground_height_m: float = 0.0,
                           threshold_m: float = GROUND_CONTACT_M) -> np.ndarray:
    """vertices : (..., V, 3) metres, world (Z up) -> (..., V) bool: within ``threshold_m`` of the ground."""
    return np.asarray(vertices)[..., 2] <= ground_height_m + threshold_m


# ---- person - person ------------------------------------------------------------------------------------------

def compute_person_contact(vertices: list[np.ndarray], faces: list[np.ndarray],
                           threshold_m: float = PERSON_CONTACT_M) -> list[np.ndarray]:
    """Per person, (V,) int8: index of another person within ``threshold_m`` of each vertex, else -1.

    vertices : per person (V, 3) metres (one frame); faces : per person (F, 3).
    Only the part of each pair where the bounding boxes come within ``threshold_m`` is tested. There, a
    k-d tree over the other body's vertices settles most vertices (a vertex of it within the threshold: contact;
    none within the threshold plus the longest edge: none), and a ``TriangleIndex`` over its triangles decides
    the rest exactly (point-to-triangle distance), so the labels equal the brute-force ones. A vertex near several people gets the
    lowest index.
    """
    from scipy.spatial import cKDTree

    out = [np.full(len(v), -1, dtype=np.int8) for v in vertices]
    V = [np.asarray(v, dtype=np.float64) for v in vertices]
    F = [np.asarray(f, dtype=np.int64) for f in faces]
    boxes = [(v.min(axis=0), v.max(axis=0)) for v in V]
    tri_box: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for a in range(len(V)):
        for b in range(len(V)):
            lo = np.maximum(boxes[a][0] - threshold_m, boxes[b][0])      # where b's surface can be near a
            hi = np.minimum(boxes[a][1] + threshold_m, boxes[b][1])
            if a == b or np.any(lo > hi):
                continue
            pts = np.nonzero(np.all((V[a] >= lo - threshold_m) & (V[a] <= hi + threshold_m), axis=1))[0]
            if b not in tri_box:
                tri = V[b][F[b]]
                tri_box[b] = (tri.min(1), tri.max(1))
            sub = np.all((tri_box[b][0] <= hi) & (tri_box[b][1] >= lo), axis=1)  # b's triangles in that box
            if not sub.any() or len(pts) == 0:
                continue
            fb = F[b][sub]
            tri = V[b][fb]
            edge = np.sqrt(((tri - np.roll(tri, 1, axis=1)) ** 2).sum(-1).max())
            # a vertex of b within the threshold: contact for sure; none within threshold + longest edge: none
            # (a point of a triangle is within its longest edge of each of its corners); the rest: exact
            used = np.unique(fb)
            dv, _ = cKDTree(V[b][used]).query(V[a][pts], distance_upper_bound=threshold_m + edge)
            hit = dv <= threshold_m
            maybe = np.nonzero(~hit & np.isfinite(dv))[0]
            if len(maybe):
                d, _, _ = TriangleIndex(V[b], fb).closest_within(V[a][pts[maybe]], threshold_m)
                hit[maybe[d <= threshold_m]] = True
            hit = pts[hit]
            out[a][hit[out[a][hit] < 0]] = b
    return out


# ---- body - scene ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SceneObject:
    """One static scene mesh contact is measured against (a prop, a room's floor or wall).

    vertices : (V, 3) float metres, world; faces : (F, 3) int; object_id : the id written into the labels
    (>= 0); object_type : e.g. "chair", "table", "wall".
    """

    vertices: np.ndarray
    faces: np.ndarray
    object_id: int
    object_type: str


class SceneContactIndex:
    """The static scene meshes of one scene, indexed once and queried for every person and frame.

    objects : ``SceneObject`` items or ``(vertices, faces, object_id, object_type)`` tuples.
    """

    def __init__(self, objects: Sequence[SceneObject | tuple]) -> None:
        self.objects: list[SceneObject] = []
        for i, o in enumerate(objects):
            obj = o if isinstance(o, SceneObject) else SceneObject(*o)
            if int(obj.object_id) < 0:
                raise SynthError(f"scene contact: object {i} ({obj.object_type}) has object_id {obj.object_id}; "
                                 "ids must be >= 0 (-1 means no contact in the labels)")
            self.objects.append(obj)
        self.index = [TriangleIndex(o.vertices, o.faces) for o in self.objects]
        self.object_ids = np.array([o.object_id for o in self.objects], dtype=np.int32)
        self.object_types = [o.object_type for o in self.objects]

    def query(self, vertices: np.ndarray, threshold_m: float = SCENE_CONTACT_M) -> tuple[np.ndarray, np.ndarray]:
        """One frame of one body, (V, 3) metres -> (object_id (V,) int32, -1 = none;
        signed_distance_m (V,) float32 to that object, +inf where no object is within ``threshold_m``)."""
        P = np.asarray(vertices, dtype=np.float64)
        best = np.full(len(P), np.inf)
        obj = np.full(len(P), -1, dtype=np.int32)
        for k, ix in enumerate(self.index):
            near = np.nonzero(ix.near_box(P, threshold_m))[0]
            if len(near) == 0:
                continue
            sd, _ = ix.signed_distance(P[near], max_distance=threshold_m)
            take = (sd <= threshold_m) & (sd < best[near])
            best[near[take]] = sd[take]
            obj[near[take]] = self.object_ids[k]
        return obj, best.astype(np.float32)


def compute_scene_contact(vertices: np.ndarray, scene: SceneContactIndex | Sequence[SceneObject | tuple],
                          threshold_m: float = SCENE_CONTACT_M) -> tuple[np.ndarray, np.ndarray]:
    """Body-scene contact for one person: vertices (T, V, 3) or (V, 3) metres ->
    (object_id (T, V) / (V,) int32, -1 = none; signed_distance_m, same shape, float32, +inf where none)."""
    ix = scene if isinstance(scene, SceneContactIndex) else SceneContactIndex(scene)
    v = np.asarray(vertices)
    if v.ndim == 2:
        return ix.query(v, threshold_m)
    res = [ix.query(v[t], threshold_m) for t in range(len(v))]
    return np.stack([r[0] for r in res]), np.stack([r[1] for r in res])


def penetration_depth_m(signed_distance_m: np.ndarray) -> float:
    """Deepest penetration (metres, >= 0) in a signed-distance label array (0 when nothing is inside)."""
    sd = np.asarray(signed_distance_m, dtype=np.float64)
    sd = sd[np.isfinite(sd)]
    return float(max(0.0, -sd.min())) if len(sd) else 0.0


# ---- self-contact ---------------------------------------------------------------------------------------------

class GeodesicBound:
    """Lower bounds on edge-graph geodesic distances of one mesh topology, measured on a rest mesh.

    ``A`` anchors (geodesic farthest-point sample over the main components) carry exact Dijkstra distances to every vertex; each vertex
    belongs to the *cell* of its nearest anchor a(v), at distance r(v). For vertices v, w of one connected
    component ``D[a(v), w] - r(v)`` <= geodesic(v, w) (triangle inequality); vertices of different components
    (Anny's eyes) are never "far" (no self-contact between an eye and its eyelid).
    rest_vertices : (V, 3) metres (edge lengths only, so the pose does not matter); faces : (F, 3).
    """

    def __init__(self, rest_vertices: np.ndarray, faces: np.ndarray, anchors: int = SELF_CONTACT_ANCHORS) -> None:
        from scipy.sparse import coo_matrix
        from scipy.sparse.csgraph import connected_components, dijkstra

        V = np.asarray(rest_vertices, dtype=np.float64)
        F = np.asarray(faces, dtype=np.int64)
        e = np.concatenate([F[:, [0, 1]], F[:, [1, 2]], F[:, [2, 0]]])
        w = np.linalg.norm(V[e[:, 0]] - V[e[:, 1]], axis=1)
        g = coo_matrix((w, (e[:, 0], e[:, 1])), shape=(len(V), len(V))).tocsr()
        g = g.maximum(g.T)
        _, self.component = connected_components(g, directed=False)
        n = min(anchors, len(V))
        rows = []                    # geodesic farthest-point sampling: each anchor's Dijkstra row is kept
        dmin = np.full(len(V), np.inf)
        reach = np.zeros(len(V), dtype=bool)
        k = 0
        for _ in range(n):
            row = dijkstra(g, directed=False, indices=k)
            rows.append((k, row))
            reach |= np.isfinite(row)
            dmin = np.minimum(dmin, row)
            k = int(np.argmax(np.where(reach, dmin, -1.0)))
            if dmin[k] <= 0:
                break
        self.anchors = np.asarray([a for a, _ in rows])
        self.D = np.stack([r for _, r in rows]).astype(np.float32)                      # (A, V), inf across
        self.anchor_of = np.argmin(self.D, axis=0)                                        # (V,) = cell
        self.anchor_radius = self.D[self.anchor_of, np.arange(len(V))]                    # inf: no anchor in reach
        #: (V,) bool: vertices of a component without an anchor (small separate parts: eyes) never self-touch
        self.unreached = ~np.isfinite(self.anchor_radius)
        R = np.zeros(n, dtype=np.float64)
        np.maximum.at(R, self.anchor_of[~self.unreached], self.anchor_radius[~self.unreached].astype(np.float64))
        self.cell_radius = R
        self.D_anchor = self.D[:, self.anchors].astype(np.float64)                        # (A, A)
        self.faces = F

    def lower_bound(self, v: np.ndarray, w: np.ndarray) -> np.ndarray:
        """Lower bound (metres) on the geodesic distance between vertices v (n,) and w (n,); -inf across
        connected components."""
        with np.errstate(invalid="ignore"):
            lb = self.D[self.anchor_of[v], w].astype(np.float64) - self.anchor_radius[v]
        return np.where((self.component[v] == self.component[w]) & np.isfinite(lb), lb, -np.inf)

    def cells_possibly_far(self, min_geodesic_m: float) -> np.ndarray:
        """(A, A) bool: some vertex of cell i may lie more than ``min_geodesic_m`` from some vertex of cell j."""
        return self.D_anchor + self.cell_radius[:, None] + self.cell_radius[None, :] > min_geodesic_m


_GEODESIC_CACHE: dict[tuple, GeodesicBound] = {}


def geodesic_bound_for(body) -> GeodesicBound:
    """The ``GeodesicBound`` of a body model's topology (built once per process from its default rest mesh)."""
    key = (body.name, getattr(body, "topology", None), len(body.faces), int(np.asarray(body.faces).sum()))
    if key not in _GEODESIC_CACHE:
        rest = body.forward(body.default_params(frames=1)).vertices[0]
        _GEODESIC_CACHE[key] = GeodesicBound(rest, body.faces)
    return _GEODESIC_CACHE[key]


def _group_by(cell: np.ndarray, n_cells: int) -> tuple[np.ndarray, np.ndarray]:
    """Items grouped by cell: (order (n,) int64, ptr (n_cells + 2,) int64); cell c's items are
    ``order[ptr[c]:ptr[c + 1]]`` in increasing index order."""
    order = np.argsort(cell, kind="stable")
    return order, np.searchsorted(cell[order], np.arange(n_cells + 2)).astype(np.int64)


class _SelfContactCells:
    """What ``compute_self_contact`` needs of one topology and geodesic rule, built once per process: the cell of
    every vertex and triangle (``A`` = none: a part without an anchor, such as an eye), the vertices and
    triangles grouped by cell, and which cell pairs may be geodesically far."""

    def __init__(self, geodesic: GeodesicBound, min_geodesic_m: float) -> None:
        F = geodesic.faces
        self.A = A = len(geodesic.anchors)
        self.cell_v = np.where(geodesic.unreached, A, geodesic.anchor_of)
        self.cell_f = np.where(geodesic.unreached[F].any(1), A, geodesic.anchor_of[F[:, 0]])
        self.v_order, self.v_ptr = _group_by(self.cell_v, A)
        self.f_order, self.f_ptr = _group_by(self.cell_f, A)
        self.possibly_far = geodesic.cells_possibly_far(min_geodesic_m)

    @staticmethod
    def for_bound(geodesic: GeodesicBound, min_geodesic_m: float) -> "_SelfContactCells":
        cache = geodesic.__dict__.setdefault("_self_contact_cells", {})
        if min_geodesic_m not in cache:
            cache[min_geodesic_m] = _SelfContactCells(geodesic, min_geodesic_m)
        return cache[min_geodesic_m]

    def boxes(self, lo: np.ndarray, hi: np.ndarray, faces: bool) -> tuple[np.ndarray, np.ndarray]:
        """(A, 3) bounding box corners per cell of the items' boxes ``lo``/``hi`` (n, 3) (empty cell: inf, -inf)."""
        order, ptr = (self.f_order, self.f_ptr) if faces else (self.v_order, self.v_ptr)
        A = self.A
        filled = np.nonzero(ptr[1:A + 1] > ptr[:A])[0]
        inner = order[:ptr[A]]                           # cell A (no anchor) left out
        bl = np.full((A, 3), np.inf)
        bh = np.full((A, 3), -np.inf)
        bl[filled] = np.minimum.reduceat(lo[inner], ptr[filled], axis=0)
        bh[filled] = np.maximum.reduceat(hi[inner], ptr[filled], axis=0)
        return bl, bh


#: extra margin (metres) of the candidate box tests over the contact threshold: covers the rounding of the exact
#: closest point, so that no pair the exact test keeps is ever dropped
_BOX_SLACK_M = 1e-6


def compute_self_contact(vertices: np.ndarray, geodesic: GeodesicBound, threshold_m: float = SELF_CONTACT_M,
                         min_geodesic_m: float = SELF_CONTACT_GEODESIC_M) -> np.ndarray:
    """Self-contact of one body: vertices (T, V, 3) or (V, 3) metres -> (T, V) / (V,) int32: the partner vertex
    (of a triangle within ``threshold_m`` more than ``min_geodesic_m`` away along the surface), else -1.

    The body is cut into geodesic cells (``GeodesicBound``). Only cell pairs (i, j) that may be geodesically far
    and whose posed boxes (vertices of i, triangles of j) come within ``threshold_m`` are searched; in each, the
    vertices of i in j's box and the triangles of j in i's box (padded by the threshold) form the candidate
    pairs, which are kept where the triangle's own box is within reach and the vertex-level geodesic bound
    says far, then tested exactly (closest point on the triangle). A vertex takes the nearest such triangle's
    corner nearest to the contact point. Exactly the labels of ``compute_self_contact_reference`` (the earlier
    k-d tree search, which also paired every vertex with the triangles of its own neighbourhood only to drop
    them), exact ties included: where two triangles are exactly equally near (the closest point on their shared
    edge) and their nearest corners differ, the reference's triangle wins, the first in its candidate order
    (``_reference_face_rank``, built only for a frame that has such a tie).
    """
    from synth.core.mesh import closest_point_on_triangles

    v = np.asarray(vertices)
    if v.ndim == 3:
        return np.stack([compute_self_contact(x, geodesic, threshold_m, min_geodesic_m) for x in v])
    P = np.asarray(v, dtype=np.float64)
    F = geodesic.faces
    cells = _SelfContactCells.for_bound(geodesic, min_geodesic_m)
    out = np.full(len(P), -1, dtype=np.int32)
    corner_a, corner_b, corner_c = P[F[:, 0]], P[F[:, 1]], P[F[:, 2]]
    tmin = np.minimum(np.minimum(corner_a, corner_b), corner_c)
    tmax = np.maximum(np.maximum(corner_a, corner_b), corner_c)
    vl, vh = cells.boxes(P, P, faces=False)
    fl, fh = cells.boxes(tmin, tmax, faces=True)
    thr = threshold_m
    # cell pairs (i: vertices, j: triangles) that may be far and whose boxes come within the threshold
    pair_ok = cells.possibly_far.copy()
    for k in range(3):
        pair_ok &= vl[:, k, None] <= (fh[:, k] + thr)[None]
        pair_ok &= fl[None, :, k] <= (vh[:, k] + thr)[:, None]
    ci, cj = np.nonzero(pair_ok)
    if len(ci) == 0:
        return out
    pad = thr + _BOX_SLACK_M
    # per cell pair m: the vertices of i inside j's triangle box, the triangles of j inside i's vertex box
    n_v = cells.v_ptr[ci + 1] - cells.v_ptr[ci]
    m_v = np.repeat(np.arange(len(ci)), n_v)
    vi = cells.v_order[concat_ranges(cells.v_ptr[ci], n_v)]
    inside = np.all((P[vi] >= fl[cj[m_v]] - pad) & (P[vi] <= fh[cj[m_v]] + pad), axis=1)
    m_v, vi = m_v[inside], vi[inside]
    n_f = cells.f_ptr[cj + 1] - cells.f_ptr[cj]
    m_f = np.repeat(np.arange(len(ci)), n_f)
    fi = cells.f_order[concat_ranges(cells.f_ptr[cj], n_f)]
    inside = np.all((tmin[fi] <= vh[ci[m_f]] + pad) & (tmax[fi] >= vl[ci[m_f]] - pad), axis=1)
    m_f, fi = m_f[inside], fi[inside]
    # every kept vertex of pair m with every kept triangle of pair m
    per_m = np.bincount(m_f, minlength=len(ci))
    f_start = np.cumsum(per_m) - per_m
    pi = np.repeat(vi, per_m[m_v])
    fi = fi[concat_ranges(f_start[m_v], per_m[m_v])]
    near = np.all((P[pi] >= tmin[fi] - pad) & (P[pi] <= tmax[fi] + pad), axis=1)
    pi, fi = pi[near], fi[near]
    lb = np.min(np.stack([geodesic.lower_bound(pi, F[fi, k]) for k in range(3)]), axis=0)
    far = lb > min_geodesic_m
    pi, fi = pi[far], fi[far]
    if len(pi) == 0:
        return out
    q = closest_point_on_triangles(P[pi], corner_a[fi], corner_b[fi], corner_c[fi])
    d = np.sqrt(((q - P[pi]) ** 2).sum(-1))
    keep = d <= threshold_m
    pi, fi, q, d = pi[keep], fi[keep], q[keep], d[keep]
    if len(pi) == 0:
        return out
    tri = P[F[fi]]

    def partner(k: np.ndarray) -> np.ndarray:    # the corner of pair k's triangle nearest to its contact point
        return F[fi[k], np.argmin(((tri[k] - q[k][:, None]) ** 2).sum(-1), axis=1)]

    order = np.lexsort((fi, d, pi))                  # per vertex nearest first; exact ties: the lowest face index
    head = np.r_[True, pi[order][1:] != pi[order][:-1]]
    first = order[head]
    label = partner(first)
    # exact ties (another triangle at the same float64 distance) that name another partner: take the reference's
    # triangle, the first in its candidate order (``_reference_face_rank``)
    group = np.cumsum(head) - 1
    tied = np.nonzero(~head & (d[order] == d[first][group]))[0]
    if len(tied) and np.any(partner(order[tied]) != label[group[tied]]):
        rank = _reference_face_rank(P, F, cells, pair_ok)
        order = np.lexsort((rank[fi], d, pi))
        first = order[np.r_[True, pi[order][1:] != pi[order][:-1]]]
        label = partner(first)
    out[pi[first]] = label
    return out


def _reference_face_rank(P: np.ndarray, F: np.ndarray, cells: _SelfContactCells, pair_ok: np.ndarray) -> np.ndarray:
    """(F,) int64: each face's position in the candidate order of ``compute_self_contact_reference``, which at an
    exact tie keeps its first candidate (a stable sort by vertex, then distance).

    That order is ``TriangleIndex.candidate_pairs`` over the triangles of the cells that may touch: size levels in
    turn, and within a level ``cKDTree.sparse_distance_matrix``'s dual-tree walk, which meets one query point's
    triangles in the order of the centroid tree's leaves, i.e. of ``tree.indices``, whatever the other query
    points (``tests/test_contact_self.py`` checks both). Faces outside those cells: after every other."""
    tris = np.nonzero(np.r_[pair_ok.any(axis=0), False][cells.cell_f])[0]
    rank = np.full(len(F), len(F), dtype=np.int64)
    at = 0
    for idx, _, tree in TriangleIndex(P, F[tris]).levels:
        rank[tris[idx[tree.indices]]] = at + np.arange(len(idx))
        at += len(idx)
    return rank


def compute_self_contact_reference(vertices: np.ndarray, geodesic: GeodesicBound, threshold_m: float = SELF_CONTACT_M,
                         min_geodesic_m: float = SELF_CONTACT_GEODESIC_M) -> np.ndarray:
    """``compute_self_contact`` as it was before the per-cell-pair candidate search (kept as the reference the
    fast path is tested against, ``tests/test_contact_self.py``): every (vertex, triangle) pair within reach of
    the active cells' vertices by k-d trees over the triangle centroids, then the cell-pair and geodesic filters.
    """
    from synth.core.mesh import closest_point_on_triangles

    v = np.asarray(vertices)
    if v.ndim == 3:
        return np.stack([compute_self_contact_reference(x, geodesic, threshold_m, min_geodesic_m) for x in v])
    P = np.asarray(v, dtype=np.float64)
    F = geodesic.faces
    A = len(geodesic.anchors)
    out = np.full(len(P), -1, dtype=np.int32)
    cell_v = geodesic.anchor_of
    cell_f = cell_v[F[:, 0]]
    tri = P[F]
    tmin, tmax = tri.min(1), tri.max(1)

    def boxes(cell, lo, hi):   # (A, 3) bounding box corners per cell (cell A: left out)
        order = np.argsort(cell, kind="stable")
        c = cell[order]
        start = np.nonzero(np.r_[True, c[1:] != c[:-1]])[0]
        bl = np.full((A + 1, 3), np.inf)
        bh = np.full((A + 1, 3), -np.inf)
        bl[c[start]] = np.minimum.reduceat(lo[order], start, axis=0)
        bh[c[start]] = np.maximum.reduceat(hi[order], start, axis=0)
        return bl[:A], bh[:A]

    cell_v = np.where(geodesic.unreached, A, cell_v)
    cell_f = np.where(geodesic.unreached[F].any(1), A, cell_f)
    vl, vh = boxes(cell_v, P, P)
    fl, fh = boxes(cell_f, tmin, tmax)
    near = np.all((vl[:, None] <= fh[None] + threshold_m) & (fl[None] <= vh[:, None] + threshold_m), axis=2)
    pair_ok = near & geodesic.cells_possibly_far(min_geodesic_m)
    active = np.nonzero(pair_ok.any(axis=1))[0]
    if len(active) == 0:
        return out
    verts = np.nonzero(np.isin(cell_v, active))[0]
    tris = np.nonzero(np.isin(cell_f, np.nonzero(pair_ok.any(axis=0))[0]))[0]
    # every partner-cell triangle within reach of those vertices (k-d trees over centroids), kept where the two
    # cells may be far
    pi, fi = TriangleIndex(P, F[tris]).candidate_pairs(P[verts], threshold_m)
    pi, fi = verts[pi], tris[fi]
    keep = pair_ok[cell_v[pi], np.minimum(cell_f[fi], A - 1)] & (cell_f[fi] < A)
    pi, fi = pi[keep], fi[keep]
    lb = np.min(np.stack([geodesic.lower_bound(pi, F[fi, k]) for k in range(3)]), axis=0)
    far = lb > min_geodesic_m
    pi, fi = pi[far], fi[far]
    if len(pi) == 0:
        return out
    q = closest_point_on_triangles(P[pi], tri[fi, 0], tri[fi, 1], tri[fi, 2])
    d = np.sqrt(((q - P[pi]) ** 2).sum(-1))
    keep = d <= threshold_m
    pi, fi, q, d = pi[keep], fi[keep], q[keep], d[keep]
    if len(pi) == 0:
        return out
    order = np.lexsort((d, pi))
    first = order[np.r_[True, pi[order][1:] != pi[order][:-1]]]
    corner = np.argmin(((tri[fi[first]] - q[first][:, None]) ** 2).sum(-1), axis=1)
    out[pi[first]] = F[fi[first], corner]
    return out


# ---- everything for one scene -----------------------------------------------------------------------------------

def compute_contact_labels(vertices: Sequence[np.ndarray], faces: Sequence[np.ndarray], bodies: Sequence,
                           scene: SceneContactIndex | Sequence[SceneObject | tuple] | None = None,
                           self_contact: bool = True, ground_height_m: float = 0.0) -> list[dict[str, np.ndarray]]:
    """Every dense contact label of one scene, per person.

    vertices : per person (T, V, 3) metres, world; faces : per person (F, 3); bodies : per person its body model
    (for the self-contact geodesics; built once per topology and process); scene : the static scene objects
    (``SceneContactIndex``, or its items), None when the scene has none.
    Returns per person {"contact_ground": (T, V) bool, "contact_person": (T, V) int8,
    "contact_self": (T, V) int32 (when ``self_contact``), "contact_scene": (T, V) int32 and
    "scene_penetration_m": (T,) float32 (deepest penetration into any object; when ``scene``)}.
    """
    P = len(vertices)
    if not (len(faces) == len(bodies) == P):
        raise SynthError(f"contact labels: {P} vertex arrays, {len(faces)} face arrays and {len(bodies)} bodies; "
                         "expected one of each per person")
    T = int(np.asarray(vertices[0]).shape[0]) if P else 0
    out: list[dict[str, np.ndarray]] = [{"contact_ground": compute_ground_contact(v, ground_height_m)} for v in vertices]
    per_frame = [compute_person_contact([v[t] for v in vertices], faces) for t in range(T)]
    for k in range(P):
        out[k]["contact_person"] = np.stack([per_frame[t][k] for t in range(T)])
        if self_contact:
            out[k]["contact_self"] = compute_self_contact(vertices[k], geodesic_bound_for(bodies[k]))
    if scene is not None:
        ix = scene if isinstance(scene, SceneContactIndex) else SceneContactIndex(scene)
        for k in range(P):
            obj, sd = compute_scene_contact(vertices[k], ix)
            out[k]["contact_scene"] = obj
            out[k]["scene_penetration_m"] = np.array([penetration_depth_m(s) for s in sd], dtype=np.float32)
    return out
