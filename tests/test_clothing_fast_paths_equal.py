"""The fast garment paths give the numbers of the brute-force ones on a real case.

Garments of every procedural kind are built on an Anny body and posed on it walking, once with the
production code (pruned closest-triangle search, one triangle index per mesh, one search serving the socks'
and shoes' push-out and binding, the lower-leg index, push-out re-checking only moved points, one push-out
for all garments, the cached rest body, per-axis normals and frames, the vectorised surface cut) and once with
the references (every candidate triangle tested, separate searches, the original push-out loop, a fresh rest
forward, the original normals, frames, cut, rims and tube radii): the same binding triangles, barycentric
weights within 1e-9, posed vertices within 1e-7 m.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial import cKDTree

from synth.bodies.base import BodyParams
from synth.bodies.registry import get_body_model
from synth.clothing import appearance, binding, garment, hair, procedural, surface_cut
from synth.clothing.outfit import GarmentSpec, build_garments
from synth.clothing.procedural import GARMENT_KINDS, sample_garment_params
from synth.motion.sample import sample_motion


def _push_out_reference(points, vertices, normals, *, clearance_m=0.0005, iterations=3, neighbours=3,
                        vertex_tree=None):
    """The original push-out: every point re-checked in every round."""
    p = np.asarray(points, dtype=np.float64).copy()
    v = np.asarray(vertices, dtype=np.float64)
    tree = cKDTree(v)
    moved = np.zeros(len(p), dtype=bool)
    for _ in range(iterations):
        _, jj = tree.query(p, k=neighbours)
        jj = np.asarray(jj).reshape(len(p), neighbours)
        depth_k = clearance_m - np.einsum("nkd,nkd->nk", p[:, None, :] - v[jj], normals[jj])
        worst = np.argmax(depth_k, axis=1)
        depth = depth_k[np.arange(len(p)), worst]
        bad = depth > 0
        if not bad.any():
            break
        n = normals[jj[np.arange(len(p)), worst]]
        p[bad] += depth[bad, None] * n[bad]
        moved |= bad
    return p.astype(np.float32), int(moved.sum())


def _evaluate_reference(b, v, f, normals):
    """``SurfaceBinding.evaluate`` as first written ((N, 3) frames for every anchor count)."""
    K = b.face.shape[1]
    p, n, t, bb = binding._frames_reference(v, f, normals, b.face.reshape(-1), b.bary.reshape(-1, 3))
    o = b.offset_m.reshape(-1, 3)
    x = p + o[:, :1] * n + o[:, 1:2] * t + o[:, 2:3] * bb
    if K == 1:
        return x.astype(np.float32)
    return b.evaluate(v, f, normals)          # several anchors: unchanged code


def _pose_reference(garments, v, f):
    """One evaluate + reference push-out per garment (the original ``pose_garments``)."""
    v = np.asarray(v, dtype=np.float64)
    normals = binding.compute_vertex_normals_reference(v, f)
    return [_push_out_reference(_evaluate_reference(g.binding, v, f, normals), v, normals)[0] for g in garments]


def _closest_brute_force(self, points, candidates=24):
    return binding.closest_surface_points_brute_force(points, self.vertices, self.faces, candidates=candidates,
                                                      face_mask=self.face_mask)


@pytest.fixture(scope="module")
def body():
    return get_body_model("anny")


def _specs(seed: int) -> list[GarmentSpec]:
    rng = np.random.default_rng(seed)
    specs = [GarmentSpec("procedural", k, sample_garment_params(k, rng, fit=float(rng.uniform())).to_dict())
             for k in GARMENT_KINDS]
    from synth.clothing.hair import sample_hair_params

    specs.append(GarmentSpec("procedural", "hair_short", sample_hair_params(rng).to_dict()))
    specs.append(GarmentSpec("procedural", "eyebrows", {"thickness_scale": 1.1}))
    return specs


def test_fast_garment_build_and_pose_equal_brute_force(body, monkeypatch):
    shape = body.mean_shape(age_years=27, gender=0.3)
    specs = _specs(3)
    rot, T = sample_motion(body, "walk", 3, 10.0, rng=np.random.default_rng(5), shape=shape)
    posed = body.forward(BodyParams("anny", shape, rot, T)).vertices
    f = np.asarray(body.faces, dtype=np.int64)

    fast = build_garments(body, shape, specs)
    fast_posed = [garment.pose_garments(fast, pv, f) for pv in posed]

    with monkeypatch.context() as m:
        m.setattr(binding.TriangleCandidates, "closest", _closest_brute_force)
        # the references of every faster path: separate push-out and binding searches, the original normals,
        # surface frames, surface cut, rims and tube radii
        m.setattr(procedural, "push_out_exact_and_bind", binding.push_out_exact_and_bind_reference)
        m.setattr(procedural, "compute_vertex_normals", binding.compute_vertex_normals_reference)
        m.setattr(binding, "compute_vertex_normals", binding.compute_vertex_normals_reference)
        m.setattr(binding, "_frames", binding._frames_reference)
        m.setattr(procedural, "cut_surface", surface_cut.cut_surface_reference)
        m.setattr(hair, "cut_surface", surface_cut.cut_surface_reference)
        m.setattr(procedural, "boundary_edges", surface_cut.boundary_edges_reference)
        m.setattr(procedural, "_ray_polygon_radius", procedural._ray_polygon_radius_reference)
        m.setattr(appearance, "REST_CACHE_SIZE", 0)          # every rest body forwarded afresh
        appearance._REST_CACHE.clear()
        slow = build_garments(body, shape, specs)
        slow_posed = [_pose_reference(slow, pv, f) for pv in posed]

    assert [g.name for g in fast] == [g.name for g in slow] == list(GARMENT_KINDS) + ["hair_short", "eyebrows"]
    moved_any = 0
    for gf, gs in zip(fast, slow):
        assert np.array_equal(gf.faces, gs.faces), gf.name
        assert np.array_equal(gf.binding.face, gs.binding.face), gf.name
        assert np.abs(gf.binding.bary - gs.binding.bary).max() <= 1e-9, gf.name
        assert np.abs(gf.binding.offset_m - gs.binding.offset_m).max() <= 1e-9, gf.name
    for pf, ps, pv in zip(fast_posed, slow_posed, posed):
        for a, b in zip(pf, ps):
            assert a.shape == b.shape
            assert np.abs(a.astype(np.float64) - b).max() <= 1e-7
        # the posed frames did fold some garment points under the skin: push-out was exercised
        raw = [g.binding.evaluate(pv, f) for g in slow]
        moved_any += sum(int(np.any(r != p)) for r, p in zip(raw, ps))
    assert moved_any > 0


def test_pruned_closest_points_equal_all_candidates_on_a_body(body):
    """Points scattered 0-3 cm around the body (and a masked subset of triangles): the pruned search picks
    the triangle testing all 24 candidates picks."""
    rng = np.random.default_rng(0)
    v, _ = appearance.rest_forward(body, body.mean_shape())
    f = np.asarray(body.faces, dtype=np.int64)
    n = binding.compute_vertex_normals(v, f)
    i = rng.integers(0, len(v), 4000)
    pts = v[i] + n[i] * rng.uniform(-0.01, 0.03, (len(i), 1)) + rng.normal(0, 0.004, (len(i), 3))
    mask = v[f][:, :, 2].mean(1) > np.median(v[:, 2])
    for face_mask in (None, mask):
        fa, ba, qa = binding.closest_surface_points(pts, v, f, face_mask=face_mask)
        fb, bb, qb = binding.closest_surface_points_brute_force(pts, v, f, face_mask=face_mask)
        assert np.array_equal(fa, fb)
        assert np.abs(ba - bb).max() <= 1e-9
        assert np.abs(qa - qb).max() <= 1e-9


def test_rest_forward_is_the_forward_and_cached(body):
    shape = body.mean_shape(age_years=12, gender=0.8)
    v, kp = appearance.rest_forward(body, shape)
    posed = body.forward(body.default_params(shape))
    assert np.array_equal(v, posed.vertices[0].astype(np.float64))
    assert np.array_equal(kp, posed.keypoints[0].astype(np.float64))
    assert appearance.rest_forward(body, dict(shape))[0] is v          # same shape values: no second forward
    assert not v.flags.writeable
    other = body.mean_shape(age_years=13, gender=0.8)
    assert appearance.rest_forward(body, other)[0] is not v


def test_closest_points_on_triangles_equal_reference():
    """Every region (interior, edges, vertices) and degenerate triangles: the same weights and points, bit
    for bit, as the original all-regions-then-np.where version, for (P, 3) and (N, k, 3) inputs."""
    rng = np.random.default_rng(7)
    a, b, c = (rng.normal(size=(3000, 3)) for _ in range(3))
    p = rng.normal(size=(3000, 3)) * 2.0
    b[:50] = a[:50]                       # a degenerate edge
    c[50:100] = a[50:100] + 0.5 * (b[50:100] - a[50:100])      # collinear
    p[100:150] = a[100:150]               # on a vertex
    for args in ((p, a, b, c), tuple(x.reshape(300, 10, 3) for x in (p, a, b, c))):
        q1, w1 = binding.closest_points_on_triangles(*args)
        q0, w0 = binding.closest_points_on_triangles_reference(*args)
        assert np.array_equal(w1, w0, equal_nan=True)
        assert np.array_equal(q1, q0, equal_nan=True)
    regions = {tuple(np.round(x, 6)) for x in w0.reshape(-1, 3) if np.count_nonzero(x) < 3}
    assert {(1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0)} <= regions       # vertex regions were hit


def test_push_out_exact_and_bind_equals_two_searches(body):
    """Socks- and shoe-like point clouds around the feet of a real rest body (some under the skin, some near
    the mask's border): one shared search gives the points and binding of push_out_exact + bind_points, with
    and without a mask, with the lower-leg index and with a whole-mesh one."""
    shape = body.mean_shape(age_years=35, gender=0.7)
    v, kp = appearance.rest_forward(body, shape)
    f = np.asarray(body.faces, dtype=np.int64)
    n = binding.compute_vertex_normals(v, f)
    rng = np.random.default_rng(11)
    low = np.flatnonzero(v[:, 2] < np.quantile(v[:, 2], 0.12))
    i = rng.choice(low, 3000)
    pts = v[i] + n[i] * rng.uniform(-0.004, 0.02, (len(i), 1)) + rng.normal(0, 0.002, (len(i), 3))
    near = np.zeros(len(v), bool)
    near[np.flatnonzero(v[:, 2] < np.quantile(v[:, 2], 0.08))] = True
    mask = near[f].all(axis=1)
    z_knee = float(kp[:, 2][np.argsort(kp[:, 2])[len(kp) // 4]])
    for face_mask in (mask, None):
        for index in (None, binding.TriangleCandidates(v, f, z_max=z_knee)):
            pa, ba = binding.push_out_exact_and_bind(pts, v, f, face_mask=face_mask, clearance_m=0.001, normals=n,
                                                     index=index)
            pb, bb = binding.push_out_exact_and_bind_reference(pts, v, f, face_mask=face_mask, clearance_m=0.001,
                                                               normals=n)
            assert np.array_equal(pa, pb)
            assert np.array_equal(ba.face, bb.face)
            assert np.abs(ba.bary - bb.bary).max() <= 1e-12
            assert np.abs(ba.offset_m - bb.offset_m).max() <= 1e-12
            assert not np.array_equal(pa, pts)                    # some points were pushed out


def test_lower_index_proves_or_falls_back(body):
    """An index of the triangles below a height answers like the whole mesh's for points anywhere: below it
    (proved), straddling it and far above it (the full index answers those)."""
    v, _ = appearance.rest_forward(body, body.mean_shape())
    f = np.asarray(body.faces, dtype=np.int64)
    rng = np.random.default_rng(2)
    pts = v[rng.integers(0, len(v), 3000)] + rng.normal(0, 0.01, (3000, 3))
    z_cut = float(np.median(v[:, 2]))
    low = binding.TriangleCandidates(v, f, z_max=z_cut)
    full = binding.TriangleCandidates(v, f)
    assert low.z_max == z_cut and len(low.ids) < len(full.ids)
    ra, ca = low.closest_prefixes(pts, (16, 24))
    rb, cb = full.closest_prefixes(pts, (16, 24))
    assert low._full is not None                                  # points above the cut needed the full index
    assert np.array_equal(ca, cb)
    for (fa, wa, qa), (fb, wb, qb) in zip(ra, rb):
        assert np.array_equal(fa, fb) and np.array_equal(wa, wb) and np.array_equal(qa, qb)
    for k, (fa, wa, qa) in zip((16, 24), ra):                      # prefixes = separate searches
        fc, wc, qc = binding.closest_surface_points_brute_force(pts, v, f, candidates=k)
        assert np.array_equal(fa, fc) and np.abs(wa - wc).max() <= 1e-12 and np.abs(qa - qc).max() <= 1e-12


def test_vectorised_helpers_equal_references(body):
    """Vertex normals, surface frames, single-anchor evaluation, surface cuts with their rims and tube radii:
    bit for bit the numbers of the code they replace, on a real body."""
    rng = np.random.default_rng(4)
    v, _ = appearance.rest_forward(body, body.mean_shape(age_years=9, gender=0.2))
    v = np.array(v) + rng.normal(0, 0.002, v.shape)
    f = np.asarray(body.faces, dtype=np.int64)
    n = binding.compute_vertex_normals(v, f)
    assert np.array_equal(n, binding.compute_vertex_normals_reference(v, f))
    index = binding.TriangleCandidates(v, f, v[f][:, :, 2].mean(1) > 1.0)      # centroids define the candidates
    assert np.array_equal(index.centroids, v[f[index.ids]].mean(axis=1))
    face = rng.integers(0, len(f), 5000)
    bary = rng.dirichlet([1.0, 1.0, 1.0], 5000)
    bary[:50] = (1.0, 0.0, 0.0)
    for a, b in zip(binding._frames(v, f, n, face, bary), binding._frames_reference(v, f, n, face, bary)):
        assert np.array_equal(a, b)
    sb = binding.SurfaceBinding.single(face, bary, rng.normal(0, 0.01, (5000, 3)), len(v))
    assert np.array_equal(sb.evaluate(v, f, n), _evaluate_reference(sb, v, f, n))
    for trial in range(12):
        d = rng.normal(size=3)
        g = v @ (d / np.linalg.norm(d))
        g = g - np.quantile(g, rng.uniform(0.05, 0.95)) + (rng.normal(0, 0.01, len(v)) if trial % 2 else 0.0)
        a, b = surface_cut.cut_surface(f, g), surface_cut.cut_surface_reference(f, g)
        for x, y in ((a.faces, b.faces), (a.face, b.face), (a.bary, b.bary), (a.field, b.field)):
            assert x.dtype == y.dtype and np.array_equal(x, y)
        assert np.array_equal(surface_cut.boundary_edges(a.faces), surface_cut.boundary_edges_reference(a.faces))
    theta = np.linspace(0.0, 2 * np.pi, 64, endpoint=False)
    dirs = np.stack([np.cos(theta), np.sin(theta)], 1)
    for _ in range(5):
        from scipy.spatial import ConvexHull

        xy = rng.normal(0, 0.1, (200, 2)) + rng.normal(0, 0.02, 2)
        hull = xy[ConvexHull(xy).vertices]
        a, b = hull, np.roll(hull, -1, axis=0)
        assert np.array_equal(procedural._ray_polygon_radius(a, b, dirs, hull),
                              procedural._ray_polygon_radius_reference(a, b, dirs, hull))


def test_pruned_search_with_slivers_and_degenerate_triangles():
    """A jittered grid surface with sliver (nearly collinear) and zero-area triangles: the pruned search with
    its plane bound still picks what testing every candidate picks."""
    rng = np.random.default_rng(8)
    g = np.stack(np.meshgrid(np.linspace(0, 0.3, 25), np.linspace(0, 0.3, 25)), -1).reshape(-1, 2)
    v = np.column_stack([g, 0.02 * np.sin(20 * g[:, 0]) * np.cos(15 * g[:, 1])]) + rng.normal(0, 1e-3, (625, 3))
    i = np.arange(24)[:, None] * 25 + np.arange(24)[None, :]
    f = np.concatenate([np.stack([i, i + 1, i + 26], -1).reshape(-1, 3), np.stack([i, i + 26, i + 25], -1).reshape(-1, 3)])
    v = np.concatenate([v, v[f[:200, 0]] + 1e-9 * rng.normal(size=(200, 3)), v[f[200:300, 1]]])
    extra = np.stack([f[:200, 0], f[:200, 1], 625 + np.arange(200)], 1)          # slivers: a corner doubled
    zero = np.stack([f[200:300, 1], 825 + np.arange(100), f[200:300, 1]], 1)     # zero area
    f = np.concatenate([f, extra, zero])
    pts = v[rng.integers(0, 625, 4000)] + rng.normal(0, 0.01, (4000, 3))
    for k in (16, 24):
        fa, ba, qa = binding.closest_surface_points(pts, v, f, candidates=k)
        fb, bb, qb = binding.closest_surface_points_brute_force(pts, v, f, candidates=k)
        assert np.array_equal(fa, fb)
        assert np.abs(ba - bb).max() <= 1e-12 and np.abs(qa - qb).max() <= 1e-12
