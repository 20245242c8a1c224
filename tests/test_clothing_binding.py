"""Surface binding, surface cutting and push-out on hand-made meshes (no body model)."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from synth.clothing.binding import (
    BindingError,
    SurfaceBinding,
    bind_points,
    bind_points_blended,
    closest_points_on_triangles,
    closest_surface_points,
    compute_signed_distances,
    compute_vertex_normals,
    push_out,
)
from synth.clothing.surface_cut import boundary_edges, cut_surface


@pytest.fixture(scope="module")
def sphere():
    m = trimesh.creation.icosphere(subdivisions=3, radius=0.1)
    return np.asarray(m.vertices, np.float64), np.asarray(m.faces, np.int64)


def test_vertex_normals_point_outwards_on_a_sphere(sphere):
    v, f = sphere
    n = compute_vertex_normals(v, f)
    radial = v / np.linalg.norm(v, axis=1, keepdims=True)
    assert np.allclose(np.linalg.norm(n, axis=1), 1.0)
    assert np.min(np.sum(n * radial, axis=1)) > 0.995


def test_closest_point_on_triangle_regions():
    a, b, c = np.array([0.0, 0, 0]), np.array([1.0, 0, 0]), np.array([0.0, 1, 0])
    pts = np.array([[0.2, 0.2, 0.5],     # interior -> (0.2, 0.2, 0)
                    [-1.0, -1.0, 0.0],   # vertex a
                    [2.0, -0.5, 0.0],    # vertex b
                    [0.5, -1.0, 0.3],    # edge ab
                    [1.0, 1.0, 0.0],     # edge bc
                    [-0.5, 0.5, 0.0]])   # edge ca
    q, w = closest_points_on_triangles(pts, a, b, c)
    expect = np.array([[0.2, 0.2, 0], [0, 0, 0], [1, 0, 0], [0.5, 0, 0], [0.5, 0.5, 0], [0, 0.5, 0]])
    assert np.allclose(q, expect, atol=1e-12)
    assert np.allclose(w.sum(1), 1.0) and (w >= -1e-12).all()


def test_closest_surface_points_match_brute_force(sphere):
    v, f = sphere
    rng = np.random.default_rng(0)
    p = rng.normal(size=(200, 3))
    p = p / np.linalg.norm(p, axis=1, keepdims=True) * rng.uniform(0.09, 0.11, (200, 1))
    _, _, q = closest_surface_points(p, v, f)
    tri = v[f]
    qa, _ = closest_points_on_triangles(p[:, None], tri[None, :, 0], tri[None, :, 1], tri[None, :, 2])
    best = qa[np.arange(200), np.argmin(np.sum((qa - p[:, None]) ** 2, -1), axis=1)]
    assert np.abs(np.linalg.norm(q - p, axis=1) - np.linalg.norm(best - p, axis=1)).max() < 1e-9


def test_bound_points_reproduce_and_follow_a_rigid_motion(sphere):
    v, f = sphere
    rng = np.random.default_rng(1)
    p = rng.normal(size=(300, 3))
    p = p / np.linalg.norm(p, axis=1, keepdims=True) * 0.115
    b = bind_points(p, v, f)
    assert np.abs(b.evaluate(v, f) - p).max() < 1e-6
    # a rigidly moved body carries its garment rigidly
    ang = 0.7
    R = np.array([[np.cos(ang), -np.sin(ang), 0], [np.sin(ang), np.cos(ang), 0], [0, 0, 1]])
    t = np.array([0.3, -0.2, 1.0])
    moved = b.evaluate(v @ R.T + t, f)
    assert np.abs(moved - (p @ R.T + t)).max() < 1e-6
    # and a scaled body scales the anchor points, keeping the metric offset along the normal
    scaled = b.evaluate(v * 2.0, f)
    assert np.allclose(np.linalg.norm(scaled, axis=1), 0.215, atol=2e-3)


def test_blended_anchors_reproduce_the_points(sphere):
    v, f = sphere
    rng = np.random.default_rng(2)
    p = rng.normal(size=(50, 3))
    p = p / np.linalg.norm(p, axis=1, keepdims=True) * 0.13
    top = (v[f][:, :, 2] > 0).all(1)
    b = bind_points_blended(p, v, f, [top, ~top], rng.uniform(0.1, 1.0, (50, 2)))
    assert b.face.shape == (50, 2)
    assert np.abs(b.evaluate(v, f) - p).max() < 1e-6
    assert np.all(top[b.face[:, 0]]) and not np.any(top[b.face[:, 1]])


def test_evaluate_rejects_another_topology(sphere):
    v, f = sphere
    b = bind_points(v[:10] * 1.1, v, f)
    with pytest.raises(BindingError, match="another body topology"):
        b.evaluate(v[:-1], f)


def test_concatenate_pads_anchor_counts(sphere):
    v, f = sphere
    one = bind_points(v[:5] * 1.1, v, f)
    two = bind_points_blended(v[5:9] * 1.2, v, f, [None, None], np.ones((4, 2)))
    both = SurfaceBinding.concatenate([one, two])
    assert both.face.shape == (9, 2)
    assert np.allclose(both.evaluate(v, f), np.concatenate([v[:5] * 1.1, v[5:9] * 1.2]), atol=1e-6)


def test_cut_surface_makes_a_clean_cap(sphere):
    v, f = sphere
    z0 = 0.03
    piece = cut_surface(f, v[:, 2] - z0)
    pts = piece.interpolate(f, v)
    on_cut = piece.field == 0.0
    # cut points lie on the plane z = z0 (the linear field's zero on each edge) unless moved by at most
    # min_edge_fraction (8 %) of their edge to avoid slivers; inside points are above it
    edge = np.linalg.norm(v[f[:, 0]] - v[f[:, 1]], axis=1).max()
    assert on_cut.sum() > 20
    err = np.abs(pts[on_cut, 2] - z0)
    assert np.median(err) < 1e-9 and err.max() <= 0.08 * edge
    assert pts[~on_cut, 2].min() >= z0
    # one closed rim, as long as the circle of the cut (within the polygon's chord error)
    rim = boundary_edges(piece.faces)
    length = np.linalg.norm(pts[rim[:, 0]] - pts[rim[:, 1]], axis=1).sum()
    r = np.sqrt(0.1 ** 2 - z0 ** 2)
    assert 0.97 * 2 * np.pi * r < length <= 2 * np.pi * r * 1.01
    # the piece's area matches the spherical cap's (polygonal sphere: within 2 %)
    tri = pts[piece.faces]
    area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1).sum()
    assert abs(area / (2 * np.pi * 0.1 * (0.1 - z0)) - 1) < 0.02


def test_push_out_and_signed_distance(sphere):
    v, f = sphere
    n = compute_vertex_normals(v, f)
    rng = np.random.default_rng(3)
    d = rng.normal(size=(400, 3))
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    p = d * rng.uniform(0.08, 0.12, (400, 1))
    sd = compute_signed_distances(p, v, f)
    r = np.linalg.norm(p, axis=1)
    # the icosphere is inscribed in the 0.1 m sphere (faces dip to ~0.0995 m): clear points agree exactly
    clear = (r < 0.099) | (r > 0.1)
    assert np.array_equal(sd[clear] < 0, r[clear] < 0.099)
    out, moved = push_out(p, v, n, clearance_m=0.001)
    assert moved >= int((sd < 0).sum()) > 100
    assert (compute_signed_distances(out, v, f) > 0).all()
    # points well outside stay put (the 3-neighbour rule is conservative by r (1 - cos(spacing / r)), here
    # ~1.3 mm on this coarse sphere)
    untouched = sd > 0.004
    assert untouched.sum() > 100
    assert np.allclose(out[untouched], p[untouched], atol=1e-7)
