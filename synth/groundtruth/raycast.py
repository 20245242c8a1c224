"""Batched segment-vs-mesh crossing queries through a bounding volume hierarchy (numpy only).

``synth.core.mesh.segment_crossings`` tests every segment against every triangle's bounding sphere
before the exact Moller-Trumbore test: O(segments x triangles) work per view. Here the triangles sit
in a BVH and all segments descend it together, level by level, as arrays of (segment, node) pairs;
only the triangles of the leaves a segment's box test reaches go to the exact test.

The BVH is implicit and balanced: triangles sorted by the Morton code of their centroid, cut into
leaves of ``leaf_size`` (the last leaf padded with empty slots), leaves padded to a power of two,
node ``i``'s children are ``2i + 1`` and ``2i + 2``. Building it is one sort and a few reductions,
and ``refit`` moves it to a new pose of the same mesh (same faces) without sorting again.

The exact test and the counting are the same arithmetic as ``segment_crossings`` (same triangle
corners, same ray directions, same distinct-distance rule), and the box test only drops triangles
a segment cannot reach, so the counts and first distances are identical (``tests/test_raycast.py``).

``SegmentFan`` is the faster filter for the common case, segments that all start at one point (the lines of
sight from a camera centre): triangles are projected onto the plane in front of that point once per mesh and
matched to the segments' directions through a 2D grid, with no tree to build or refit; the exact test is the
same, so are the results. Keypoint visibility uses it, and ``MeshBVH`` where a fan is wider than 60 degrees.
"""

from __future__ import annotations

import numpy as np

from synth.core.errors import SynthError
from synth.core.mesh import as_mesh, concat_ranges, count_segment_hits


def _spread_bits(x: np.ndarray) -> np.ndarray:
    """10-bit ints -> their bits at every third position (bit b moves to 3b)."""
    x = x.astype(np.uint32)
    x = (x | (x << np.uint32(16))) & np.uint32(0x030000FF)
    x = (x | (x << np.uint32(8))) & np.uint32(0x0300F00F)
    x = (x | (x << np.uint32(4))) & np.uint32(0x030C30C3)
    return (x | (x << np.uint32(2))) & np.uint32(0x09249249)


def _morton_codes(points: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """(n, 3) points in the box [lo, hi] -> (n,) uint32 30-bit Morton codes (10 bits per axis)."""
    q = np.clip(((points - lo) * (1023.0 / np.maximum(hi - lo, 1e-12))).astype(np.int64), 0, 1023)
    return _spread_bits(q[:, 0]) | (_spread_bits(q[:, 1]) << np.uint32(1)) | (_spread_bits(q[:, 2]) << np.uint32(2))


class MeshBVH:
    """A BVH over one triangle mesh for batched segment crossings.

    vertices : (V, 3) metres; faces : (F, 3) int; leaf_size : triangles per leaf.
    """

    def __init__(self, vertices: np.ndarray, faces: np.ndarray, leaf_size: int = 8):
        V, F = as_mesh(vertices, faces)
        if len(F) == 0:
            raise SynthError("MeshBVH: the mesh has no faces; expected at least one triangle")
        if leaf_size < 1:
            raise SynthError(f"MeshBVH leaf_size: expected an int >= 1, got {leaf_size!r}")
        self.faces = F
        self.leaf_size = int(leaf_size)
        centroid = V[F].mean(axis=1)
        order = np.argsort(_morton_codes(centroid, centroid.min(0), centroid.max(0)), kind="stable")
        n_leaves = -(-len(F) // self.leaf_size)
        self.depth = int(np.ceil(np.log2(max(n_leaves, 1))))
        n_leaf_slots = 2 ** self.depth
        slots = np.full(n_leaf_slots * self.leaf_size, -1, dtype=np.int64)
        slots[:len(F)] = order
        self.leaf_faces = slots.reshape(n_leaf_slots, self.leaf_size)   # face index per leaf slot, -1 = empty
        self.refit(V)

    def refit(self, vertices: np.ndarray) -> MeshBVH:
        """Recompute the boxes for new vertex positions of the same mesh (same faces); returns self."""
        V = np.asarray(vertices, dtype=np.float64)
        if V.ndim != 2 or V.shape[1] != 3 or V.shape[0] <= int(self.faces.max()):
            raise SynthError(f"MeshBVH.refit: expected vertices (V, 3) with V > {int(self.faces.max())}, got {V.shape}")
        self.vertices = V
        self.tri = V[self.faces]                                          # (F, 3, 3), as segment_crossings
        tri_lo, tri_hi = self.tri.min(axis=1), self.tri.max(axis=1)
        empty = self.leaf_faces < 0
        idx = np.where(empty, 0, self.leaf_faces)
        lo = np.where(empty[..., None], np.inf, tri_lo[idx]).min(axis=1)   # (L, 3)
        hi = np.where(empty[..., None], -np.inf, tri_hi[idx]).max(axis=1)
        levels_lo, levels_hi = [lo], [hi]
        while len(lo) > 1:
            lo = np.minimum(lo[0::2], lo[1::2])
            hi = np.maximum(hi[0::2], hi[1::2])
            levels_lo.append(lo)
            levels_hi.append(hi)
        # heap layout: level l (root = 0) occupies nodes [2^l - 1, 2^(l+1) - 1)
        self.node_lo = np.concatenate(levels_lo[::-1])
        self.node_hi = np.concatenate(levels_hi[::-1])
        pad = 1e-9 + 1e-9 * float(np.abs(V).max(initial=0.0))           # conservative: never drop a touch
        self.node_lo = self.node_lo - pad                                 # empty nodes stay [inf, -inf]
        self.node_hi = self.node_hi + pad
        return self

    def _candidates(self, starts: np.ndarray, d: np.ndarray, length: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(segment, face) pairs whose leaf box the segment start + t d, 0 <= t <= length, touches."""
        with np.errstate(divide="ignore", invalid="ignore"):
            inv = 1.0 / d
        seg = np.arange(len(starts))
        node = np.zeros(len(starts), dtype=np.int64)
        for level in range(self.depth + 1):
            lo, hi = self.node_lo[node], self.node_hi[node]
            o, iv = starts[seg], inv[seg]
            with np.errstate(invalid="ignore"):
                t1, t2 = (lo - o) * iv, (hi - o) * iv
                # a zero direction component: inside the slab (nan from 0 * inf) -> no constraint
                inside = (o >= lo) & (o <= hi)
                tmin = np.where(np.isnan(t1) | np.isnan(t2), np.where(inside, -np.inf, np.inf),
                                np.minimum(t1, t2))
                tmax = np.where(np.isnan(t1) | np.isnan(t2), np.where(inside, np.inf, -np.inf),
                                np.maximum(t1, t2))
            enter = np.maximum(tmin.max(axis=1), 0.0)
            leave = np.minimum(tmax.min(axis=1), length[seg])
            keep = enter <= leave
            seg, node = seg[keep], node[keep]
            if level < self.depth:
                seg = np.repeat(seg, 2)
                node = (2 * np.repeat(node, 2) + 1) + np.tile([0, 1], len(node))
        leaf = node - (2 ** self.depth - 1)
        faces = self.leaf_faces[leaf]                                      # (n, leaf_size)
        ri = np.repeat(seg, self.leaf_size)
        fi = faces.ravel()
        ok = fi >= 0
        return ri[ok], fi[ok]

    def segment_crossings(self, origin: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Crossings of the segments ``origin -> points`` with the mesh; same contract and results as
        ``synth.core.mesh.segment_crossings``.

        origin : (3,) metres; points : (N, 3) metres
        returns : (count (N,) int, first_t (N,) float metres along the segment, inf when none)
        """
        o = np.asarray(origin, dtype=np.float64)
        P = np.asarray(points, dtype=np.float64).reshape(-1, 3)
        if o.shape != (3,):
            raise SynthError(f"MeshBVH.segment_crossings: origin must be (3,) metres, got shape {o.shape}")
        seg = P - o
        length = np.linalg.norm(seg, axis=1)
        d_all = seg / np.maximum(length, 1e-12)[:, None]
        counts = np.zeros(len(P), dtype=np.int64)
        first = np.full(len(P), np.inf)
        if len(P) == 0:
            return counts, first
        ri, fi = self._candidates(np.broadcast_to(o, P.shape), d_all, length)
        if len(ri) == 0:
            return counts, first
        order = np.lexsort((fi, ri))                                        # same pair order as the kernel
        return count_segment_hits(o, d_all, length, self.tri, ri[order], fi[order])

    def segment_crossings_pair(self, origin: np.ndarray, points_near: np.ndarray, points: np.ndarray
                               ) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
        """``segment_crossings`` of ``origin -> points_near`` and of ``origin -> points`` in one tree descent,
        where each ``points_near[i]`` lies on the segment ``origin -> points[i]`` (a shortened line of sight).

        The descent for the longer segments yields a superset of the shorter ones' candidate triangles (the box
        test is conservative, padded far beyond the rounding of the two directions); each set is then tested
        exactly with its own directions and lengths, so both results equal two separate calls bit for bit.
        returns : ((count, first_t) of points_near, (count, first_t) of points)
        """
        o = np.asarray(origin, dtype=np.float64)
        P = np.asarray(points, dtype=np.float64).reshape(-1, 3)
        Q = np.asarray(points_near, dtype=np.float64).reshape(-1, 3)
        if o.shape != (3,) or Q.shape != P.shape:
            raise SynthError(f"MeshBVH.segment_crossings_pair: origin (3,) and two (N, 3) point sets expected, "
                             f"got {o.shape}, {Q.shape}, {P.shape}")
        out = []
        seg_p, seg_q = P - o, Q - o
        len_p, len_q = np.linalg.norm(seg_p, axis=1), np.linalg.norm(seg_q, axis=1)
        if np.any(len_q > len_p):
            raise SynthError("MeshBVH.segment_crossings_pair: a points_near segment is longer than its points one")
        d_p = seg_p / np.maximum(len_p, 1e-12)[:, None]
        d_q = seg_q / np.maximum(len_q, 1e-12)[:, None]
        if len(P):
            ri, fi = self._candidates(np.broadcast_to(o, P.shape), d_p, len_p)
            order = np.lexsort((fi, ri))
            ri, fi = ri[order], fi[order]
        for d, length in ((d_q, len_q), (d_p, len_p)):
            if len(P) == 0 or len(ri) == 0:
                out.append((np.zeros(len(P), dtype=np.int64), np.full(len(P), np.inf)))
            else:
                out.append(count_segment_hits(o, d, length, self.tri, ri, fi))
        return out[0], out[1]


def segment_crossings_bvh(origin: np.ndarray, points: np.ndarray, vertices: np.ndarray, faces: np.ndarray,
                          leaf_size: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Drop-in for ``synth.core.mesh.segment_crossings`` (same arguments, identical results), through a
    ``MeshBVH`` built for this call. To query one pose from several cameras, build the ``MeshBVH`` once
    and call its ``segment_crossings`` per camera.

    origin : (3,) metres; points : (N, 3) metres; vertices : (V, 3); faces : (F, 3) int
    returns : (count (N,) int, first_t (N,) float metres along the segment, inf when none)
    """
    return MeshBVH(vertices, faces, leaf_size=leaf_size).segment_crossings(origin, points)


# ---- lines of sight from one point: candidates in direction space ----------------------------------------------

#: every segment of a fan must lie within 60 degrees of the fan's axis (cos >= this); a wider fan (a fisheye
#: camera, a point beside the camera) goes through the BVH instead
FAN_MIN_COS = 0.5
#: triangles with a corner this close to the fan's plane (metres along the axis), or behind it, are paired with
#: every segment (they cannot be projected); fans with more of them than ``FAN_MAX_NEAR`` use the BVH
FAN_NEAR_M = 1e-4
FAN_MAX_NEAR = 2048
#: padding of the triangles' boxes in direction space (tangent of the angle): 1e-6 rad is ~3 um at 3 m, orders
#: of magnitude beyond what rounding in the exact test can move a hit across a triangle's edge
FAN_PAD = 1e-6
#: padding (metres) of the depth test (a triangle starts beyond a segment's reach)
FAN_DEPTH_PAD_M = 1e-6


class SegmentFan:
    """Segments from one origin (lines of sight from a camera centre) and their candidate triangles, found in
    direction space instead of a tree.

    Every segment starts at ``origin``, so a triangle wholly in front of the origin's plane (normal = the fan's
    axis, the mean direction) can only be crossed by a segment whose direction, centrally projected onto the
    plane one metre along the axis, falls inside the triangle's projected corners. Each triangle's projected
    box (padded by ``FAN_PAD``) is matched against the segments' projected directions: a uniform 2D grid over
    the directions (a summed-area table of counts, filled from the corners' cells) drops the boxes that hold
    none, a sweep over the directions sorted by u finds those in each remaining box's u range, then the box's
    v range and the depth (a triangle starting beyond a segment's reach along the axis) decide. Triangles
    touching or behind the plane are candidates of every segment. The pairs go to the same exact test
    (``synth.core.mesh.count_segment_hits``) as ``MeshBVH`` and ``segment_crossings``, so counts and first
    distances are identical (the filter only ever drops pairs that cannot cross; ``tests/test_raycast.py``).

    origin : (3,) metres; points : (N, 3) metres, the segments' far ends. ``usable`` is False when the fan is
    wider than ``FAN_MIN_COS`` allows; ``crossings`` then answers through a ``MeshBVH``.
    """

    def __init__(self, origin: np.ndarray, points: np.ndarray) -> None:
        o = np.asarray(origin, dtype=np.float64)
        P = np.asarray(points, dtype=np.float64).reshape(-1, 3)
        if o.shape != (3,):
            raise SynthError(f"SegmentFan: origin must be (3,) metres, got shape {o.shape}")
        self.origin, self.points = o, P
        seg = P - o
        self.length = np.linalg.norm(seg, axis=1)                      # as MeshBVH.segment_crossings
        self.d = seg / np.maximum(self.length, 1e-12)[:, None]
        self.live = np.nonzero(self.length > 1e-9)[0]                  # a shorter one crosses nothing (t > 1e-9)
        self.usable = True
        if len(self.live) == 0:
            return
        d = self.d[self.live]
        axis = d.mean(axis=0)
        norm = float(np.linalg.norm(axis))
        if norm < 1e-6:
            self.usable = False
            return
        axis = axis / norm
        helper = np.eye(3)[int(np.argmin(np.abs(axis)))]
        e1 = np.cross(axis, helper)
        e1 /= np.linalg.norm(e1)
        self.frame = np.stack([e1, np.cross(axis, e1), axis], axis=1)   # columns: tangent u, tangent v, axis
        dl = d @ self.frame
        if np.any(dl[:, 2] < FAN_MIN_COS):
            self.usable = False
            return
        self.ray_u = dl[:, 0] / dl[:, 2]
        self.ray_v = dl[:, 1] / dl[:, 2]
        self.ray_reach = self.length[self.live] * dl[:, 2]              # how far along the axis each segment gets
        # uniform grid over the projected directions, as a summed-area table of segment counts (which boxes hold
        # any direction), and the directions sorted by u (which ones a box holds)
        n = len(self.live)
        self.G = G = int(np.clip(np.ceil(16.0 * np.sqrt(n)), 1, 256))
        self.lo = np.array([self.ray_u.min(), self.ray_v.min()])
        self.cell = np.maximum((np.array([self.ray_u.max(), self.ray_v.max()]) - self.lo) / G, 1e-12)
        flat = self._cell_of(self.ray_u, 0) * G + self._cell_of(self.ray_v, 1)
        self.u_order = np.argsort(self.ray_u, kind="stable")
        self.u_sorted = self.ray_u[self.u_order]
        occupied = np.zeros((G + 1, G + 1), dtype=np.int64)
        occupied[1:, 1:] = np.bincount(flat, minlength=G * G).reshape(G, G)
        self.table = occupied.cumsum(0).cumsum(1)

    def _cell_of(self, x: np.ndarray, axis: int) -> np.ndarray:
        """Grid cell index along ``axis`` (0: u, 1: v) of direction-space coordinates ``x``, clipped to the grid
        (monotonic in x, so a point inside a box always falls in the box's cell range)."""
        return np.clip(np.floor((x - self.lo[axis]) / self.cell[axis]), 0, self.G - 1).astype(np.int64)

    def _vertex_cells(self, x: np.ndarray, axis: int) -> np.ndarray:
        """Like ``_cell_of`` for mesh points, clipped to [-1, G - 1] (-1: before the grid; past it: the last
        cell, which only adds candidates), so that a box wholly before the grid spans no cell."""
        return np.clip(np.floor((x - self.lo[axis]) / self.cell[axis]), -1, self.G - 1).astype(np.int32)

    def candidates(self, vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """(segment, face) pairs that may cross, ordered by segment then face; None when the fan cannot filter
        this mesh (not ``usable``, or more than ``FAN_MAX_NEAR`` triangles at the origin's plane)."""
        if not self.usable:
            return None
        empty = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
        if len(self.live) == 0 or len(faces) == 0:
            return empty
        V = np.asarray(vertices, dtype=np.float64)
        F = np.asarray(faces, dtype=np.int64)
        L = (V - self.origin) @ self.frame                               # (V, 3): u, v, axis coordinates
        z = L[:, 2]
        front = z > FAN_NEAR_M
        with np.errstate(divide="ignore", invalid="ignore"):
            u = np.where(front, L[:, 0] / np.where(front, z, 1.0), 0.0)
            v = np.where(front, L[:, 1] / np.where(front, z, 1.0), 0.0)
        # per vertex, the grid cells of its padded direction (-1: before the grid); a triangle's padded box spans
        # the cells from its corners' lowest to their highest (the cell index is monotonic in the coordinate)
        cu0, cu1 = self._vertex_cells(u - FAN_PAD, 0), self._vertex_cells(u + FAN_PAD, 0)
        cv0, cv1 = self._vertex_cells(v - FAN_PAD, 1), self._vertex_cells(v + FAN_PAD, 1)
        f0, f1, f2 = (np.ascontiguousarray(c) for c in F.T)
        all_front = front[f0] & front[f1] & front[f2]
        iu0 = np.maximum(np.minimum(np.minimum(cu0[f0], cu0[f1]), cu0[f2]), 0)
        iu1 = np.maximum(np.maximum(cu1[f0], cu1[f1]), cu1[f2])
        iv0 = np.maximum(np.minimum(np.minimum(cv0[f0], cv0[f1]), cv0[f2]), 0)
        iv1 = np.maximum(np.maximum(cv1[f0], cv1[f1]), cv1[f2])
        S, W = self.table.ravel(), self.G + 1                            # summed-area table: segments per box
        n_in = S[(iu1 + 1) * W + iv1 + 1] - S[iu0 * W + iv1 + 1] - S[(iu1 + 1) * W + iv0] + S[iu0 * W + iv0]
        tri = np.nonzero(all_front & (n_in > 0))[0]
        g0, g1, g2 = f0[tri], f1[tri], f2[tri]
        zmin = np.minimum(np.minimum(z[g0], z[g1]), z[g2])
        near = zmin <= float(self.ray_reach.max()) + FAN_DEPTH_PAD_M      # starts within some segment's reach
        tri, g0, g1, g2, zmin = tri[near], g0[near], g1[near], g2[near], zmin[near]
        umin = np.minimum(np.minimum(u[g0], u[g1]), u[g2]) - FAN_PAD
        umax = np.maximum(np.maximum(u[g0], u[g1]), u[g2]) + FAN_PAD
        vmin = np.minimum(np.minimum(v[g0], v[g1]), v[g2]) - FAN_PAD
        vmax = np.maximum(np.maximum(v[g0], v[g1]), v[g2]) + FAN_PAD
        # triangles at or behind the origin's plane (a crossing has z = t cos >= 5e-10 m, so one wholly behind it
        # is never crossed): candidates of every segment that reaches their nearest corner
        special = np.nonzero(~all_front)[0]
        if len(special):
            zs = z[F[special]]
            zs_min = zs.min(axis=1)
            ok = (zs.max(axis=1) >= -FAN_NEAR_M) & (zs_min <= float(self.ray_reach.max()) + FAN_DEPTH_PAD_M)
            special, zs_min = special[ok], zs_min[ok]
            if len(special) > FAN_MAX_NEAR:
                return None
        # the segments whose u lies in each remaining box's u range (a sorted sweep), then the v and depth tests
        first = np.searchsorted(self.u_sorted, umin, side="left")
        n_seg = np.searchsorted(self.u_sorted, umax, side="right") - first
        owner = np.repeat(np.arange(len(tri)), n_seg)
        seg = self.u_order[concat_ranges(first, n_seg)]
        rv = self.ray_v[seg]
        hit = (rv >= vmin[owner]) & (rv <= vmax[owner]) & (zmin[owner] <= self.ray_reach[seg] + FAN_DEPTH_PAD_M)
        seg, face = seg[hit], tri[owner[hit]]
        if len(special):
            ss = np.repeat(np.arange(len(self.live)), len(special))
            k = np.tile(np.arange(len(special)), len(self.live))
            ok = zs_min[k] <= self.ray_reach[ss] + FAN_DEPTH_PAD_M
            seg, face = np.concatenate([seg, ss[ok]]), np.concatenate([face, special[k[ok]]])
        ri = self.live[seg]
        order = np.lexsort((face, ri))
        return ri[order], face[order]

    def crossings(self, vertices: np.ndarray, faces: np.ndarray, points_near: np.ndarray | None = None):
        """Crossings of the fan's segments with the mesh: ``MeshBVH.segment_crossings(origin, points)`` bit for
        bit; with ``points_near`` (each on its segment, nearer the origin) also those of ``origin -> points_near``
        from the same candidates, as ``MeshBVH.segment_crossings_pair``.

        returns : (count (N,) int, first_t (N,) float), or with ``points_near`` a pair of them (near, full)
        """
        V, F = as_mesh(vertices, faces)
        o, P = self.origin, self.points
        if points_near is not None:
            Q = np.asarray(points_near, dtype=np.float64).reshape(-1, 3)
            if Q.shape != P.shape:
                raise SynthError(f"SegmentFan.crossings: points_near must be {P.shape} like the fan's points, "
                                 f"got {Q.shape}")
            seg_q = Q - o
            len_q = np.linalg.norm(seg_q, axis=1)
            if np.any(len_q > self.length):
                raise SynthError("SegmentFan.crossings: a points_near segment is longer than its points one")
            d_q = seg_q / np.maximum(len_q, 1e-12)[:, None]
        pairs = self.candidates(V, F)
        if pairs is None:                                               # too wide a fan: the tree
            bvh = MeshBVH(V, F)
            return bvh.segment_crossings(o, P) if points_near is None else bvh.segment_crossings_pair(o, Q, P)
        ri, fi = pairs
        sets = [(self.d, self.length)] if points_near is None else [(d_q, len_q), (self.d, self.length)]
        out = []
        if len(ri):
            used, local = np.unique(fi, return_inverse=True)             # only the candidate triangles' corners
            tri, local = V[F[used]], local.reshape(-1)
        for d, length in sets:
            if len(ri) == 0:
                out.append((np.zeros(len(P), dtype=np.int64), np.full(len(P), np.inf)))
            else:
                out.append(count_segment_hits(o, d, length, tri, ri, local))
        return out[0] if points_near is None else (out[0], out[1])
