"""Mesh geometry for the dense contact estimator (numpy + scipy, no torch): the body model's rest mesh, its
left/right vertex correspondence, and shortest-path (geodesic) distances over its edge graph.

Rest mesh: the body model of the dataset (model name and the options the shards store per person) posed with all
joint rotations zero (Anny and SMPL-X: the T-pose template), identity root, the model's default shape (Anny:
the mean 30-year-old androgynous adult), in metres, Z up, facing -Y. Both Anny topologies we checked are
mirror-symmetric about the plane x = 0 to 0.32 mm.

Mirror correspondence ``mirror[v]``: the vertex at the mirrored position (-x, y, z) of vertex v. Mutual
nearest neighbours give it for almost every vertex; the few vertices whose nearest neighbours are not
mutual (8 of 13,718 in the default Anny topology, in the eye region where two surfaces nearly coincide) are
matched among themselves by a minimum-cost assignment. It is accepted only when it is an involution and every
vertex lands within ``tol_m`` of its mirrored position; otherwise ``mirror_correspondence`` returns None and
training does not flip.

Geodesic distance: the shortest path over the mesh's edge graph (edges weighted by their rest-mesh length in
cm), computed from a *set* of source vertices with one multi-source Dijkstra (``scipy.sparse.csgraph``), never
an all-pairs matrix. It over-estimates the true surface geodesic by the usual edge-path factor (a few percent
on a triangle mesh). Vertices in another connected component than every source (Anny's default topology has
4 components: body, mouth interior and two eyes) get the straight-line rest-mesh distance instead of
infinity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from synth.estimators.engine.errors import EstimatorError

#: Largest accepted distance between a vertex's mirrored position and its mirror partner (m).
MIRROR_TOLERANCE_M = 2e-3
#: Largest set of non-mutual vertices matched by the dense assignment (larger: the mesh is not symmetric).
MAX_ASSIGNMENT_VERTICES = 4000


@dataclass
class RestMesh:
    """A body model's rest mesh.

    vertices_m : (V, 3) float64, m, rest pose (zero joint rotations, default shape), Z up.
    faces : (F, 3) int64 triangle vertex indices.
    body_model : model name (``anny``, ``smplx``).  topology : ``anny`` topology name, or the model name.
    """

    vertices_m: np.ndarray
    faces: np.ndarray
    body_model: str
    topology: str

    @property
    def num_vertices(self) -> int:
        return int(len(self.vertices_m))


def body_topology(body_model: str, options: dict) -> str:
    """The topology name of a body model built with ``options``: Anny's ``topology`` option, else the model name."""
    return str(options.get("topology") or "default") if body_model == "anny" else body_model


def load_rest_mesh(body_model: str, options: dict, topology: str) -> RestMesh:
    """The rest mesh of ``body_model`` built with ``options`` (see the module docstring for the pose and shape)."""
    from synth.bodies.base import BodyParams
    from synth.bodies.registry import get_body_model

    body = get_body_model(body_model, **options)
    p = body.default_params()
    zero = BodyParams(model=p.model, shape=p.shape, pose_rotvec=np.zeros_like(p.pose_rotvec),
                      T_world_from_root=p.T_world_from_root, extra=dict(p.extra))
    vertices = np.asarray(body.forward(zero).vertices[0], np.float64)
    return RestMesh(vertices, np.asarray(body.faces, np.int64), body_model, topology)


def mesh_edges(faces: np.ndarray) -> np.ndarray:
    """(E, 2) int64 unique undirected edges (i < j) of triangles ``faces`` (F, 3)."""
    f = np.asarray(faces, np.int64)
    e = np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]])
    e = np.sort(e, axis=1)
    e = e[e[:, 0] != e[:, 1]]
    return np.unique(e, axis=0)


def edge_graph_cm(vertices_m: np.ndarray, faces: np.ndarray):
    """(V, V) scipy CSR matrix of edge lengths in cm (symmetric) of the mesh (vertices (V, 3) m, faces (F, 3))."""
    import scipy.sparse as sp

    v = np.asarray(vertices_m, np.float64)
    e = mesh_edges(faces)
    length_cm = np.linalg.norm(v[e[:, 0]] - v[e[:, 1]], axis=1) * 100.0
    length_cm = np.maximum(length_cm, 1e-9)          # a zero weight would read as "no edge" in a sparse matrix
    n = len(v)
    rows = np.concatenate([e[:, 0], e[:, 1]])
    cols = np.concatenate([e[:, 1], e[:, 0]])
    return sp.csr_matrix((np.concatenate([length_cm, length_cm]), (rows, cols)), shape=(n, n))


class GeodesicMesh:
    """Distances over one rest mesh's edge graph (built once per topology)."""

    def __init__(self, vertices_m: np.ndarray, faces: np.ndarray):
        self.vertices_cm = np.asarray(vertices_m, np.float64) * 100.0
        self.graph = edge_graph_cm(vertices_m, faces)

    @property
    def num_vertices(self) -> int:
        return int(len(self.vertices_cm))

    def distance_to_set_cm(self, sources: np.ndarray) -> np.ndarray:
        """(V,) float64 cm: every vertex's geodesic distance to the nearest vertex of ``sources``
        (indices, or a (V,) bool mask; non-empty). Unreachable vertices get the straight-line distance."""
        from scipy.sparse.csgraph import dijkstra
        from scipy.spatial import cKDTree

        src = np.asarray(sources)
        src = np.nonzero(src)[0] if src.dtype == bool else src.astype(np.int64)
        if src.size == 0:
            raise EstimatorError("distance_to_set_cm: the source set is empty; handle people without contact "
                                 "before asking for distances")
        d = np.asarray(dijkstra(self.graph, directed=False, indices=src, min_only=True), np.float64)
        far = ~np.isfinite(d)
        if far.any():
            d[far] = cKDTree(self.vertices_cm[src]).query(self.vertices_cm[far])[0]
        return d


def mirror_correspondence(vertices_m: np.ndarray, *, axis: int = 0,
                          tol_m: float = MIRROR_TOLERANCE_M) -> tuple[np.ndarray | None, dict]:
    """Left/right vertex correspondence of a mesh symmetric about the plane ``x[axis] = 0``.

    vertices_m : (V, 3) m. Returns ``(mirror, info)``: mirror (V,) int64 with ``mirror[mirror] == arange(V)``
    and ``vertices[mirror[v]]`` within ``tol_m`` of vertex v mirrored, or None when no such correspondence
    exists (info says why); info holds ``max_error_m``, ``assigned`` (vertices matched by the assignment) and
    ``fixed_points`` (vertices on the plane, their own mirror).
    """
    from scipy.optimize import linear_sum_assignment
    from scipy.spatial import cKDTree

    v = np.asarray(vertices_m, np.float64)
    m = v.copy()
    m[:, axis] *= -1.0
    nn = cKDTree(v).query(m)[1].astype(np.int64)
    idx = np.arange(len(v))
    rest = np.nonzero(nn[nn] != idx)[0]
    mirror = nn.copy()
    info: dict = {"assigned": int(rest.size)}
    if rest.size > MAX_ASSIGNMENT_VERTICES:
        info["reason"] = f"{rest.size} vertices have no mutual mirror neighbour: the mesh is not symmetric"
        return None, info
    if rest.size:
        cost = np.linalg.norm(m[rest][:, None, :] - v[rest][None, :, :], axis=-1)
        r, c = linear_sum_assignment(cost)
        mirror[rest[r]] = rest[c]
    err = np.linalg.norm(v[mirror] - m, axis=1)
    info["max_error_m"] = float(err.max())
    info["fixed_points"] = int(np.sum(mirror == idx))
    if not np.array_equal(mirror[mirror], idx):
        info["reason"] = "the matching is not an involution"
        return None, info
    if err.max() > tol_m:
        info["reason"] = f"a vertex is {err.max() * 1000:.2f} mm from its mirrored position (> {tol_m * 1000:g} mm)"
        return None, info
    return mirror, info
