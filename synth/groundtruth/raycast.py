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
"""

from __future__ import annotations

import numpy as np

from synth.core.errors import SynthError
from synth.core.mesh import as_mesh, count_segment_hits


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
