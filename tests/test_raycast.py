"""The BVH and direction-space (``SegmentFan``) segment-crossing queries give exactly the per-point kernel's counts
and first distances on a real posed Anny mesh and its garments (demo scene 0), for lines of sight to its keypoints,
rays through its vertices and edges (and just beside them), near-plane triangles and random segments."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from synth.core.errors import SynthError
from synth.core.mesh import segment_crossings
from synth.groundtruth.raycast import FAN_MAX_NEAR, MeshBVH, SegmentFan, segment_crossings_bvh
from synth.pipeline.posed_scene import build_posed_scene
from synth.recipe import load_recipe
from synth.recipe.sample import sample_scene

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def posed():
    recipe = load_recipe(ROOT / "scenes" / "demo.yaml")
    scene = build_posed_scene(sample_scene(recipe, 0))
    return scene


def _random_segments(rng: np.random.Generator, V: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = V.min(0), V.max(0)
    centre = (lo + hi) / 2
    d = rng.normal(size=(n, 3))
    origins = centre + d / np.linalg.norm(d, axis=1, keepdims=True) * rng.uniform(0.5, 5.0, size=(n, 1))
    ends = rng.uniform(lo - 0.1, hi + 0.1, size=(n, 3))
    # axis-aligned segments: zero direction components go through the slab test's special case
    ends[: n // 8] = origins[: n // 8] * np.array([1.0, 1.0, 0.0]) + ends[: n // 8] * np.array([0.0, 0.0, 1.0])
    return origins, ends


def test_bvh_crossings_equal_kernel_on_posed_anny(posed):
    rng = np.random.default_rng(14)
    person = posed.people[0]
    V, F = person.posed.vertices[0].astype(np.float64), person.faces
    bvh = MeshBVH(V, F)
    cam = posed.camera_tracks[0].at(0).center_world
    targets = np.concatenate([person.posed.keypoints[0], person.posed.joints[0]])
    c_ref, f_ref = segment_crossings(cam, targets, V, F)
    c_bvh, f_bvh = bvh.segment_crossings(cam, targets)
    assert np.array_equal(c_bvh, c_ref) and np.array_equal(f_bvh, f_ref)
    assert c_ref.max() >= 2 and (c_ref <= 1).any()   # the view has occluded and unoccluded points
    origins, ends = _random_segments(rng, V, 160)
    total = 0
    for o in origins[:6]:
        c_ref, f_ref = segment_crossings(o, ends, V, F)
        c_bvh, f_bvh = bvh.segment_crossings(o, ends)
        assert np.array_equal(c_bvh, c_ref), np.nonzero(c_bvh != c_ref)
        assert np.array_equal(f_bvh, f_ref)
        total += int(c_ref.sum())
    assert total > 20   # the random segments really cross the body


def test_refit_equals_fresh_build_and_drop_in(posed):
    person = posed.people[0]
    F = person.faces
    V0, V1 = (person.posed.vertices[t].astype(np.float64) for t in (0, 1))
    bvh = MeshBVH(V0, F).refit(V1)
    cam = posed.camera_tracks[0].at(1).center_world
    pts = person.posed.keypoints[1]
    ref = segment_crossings(cam, pts, V1, F)
    for got in (bvh.segment_crossings(cam, pts), segment_crossings_bvh(cam, pts, V1, F, leaf_size=3)):
        assert np.array_equal(got[0], ref[0]) and np.array_equal(got[1], ref[1])


def test_bad_input_is_one_clear_error():
    V = np.zeros((3, 3))
    with pytest.raises(SynthError, match="no faces"):
        MeshBVH(V, np.zeros((0, 3), dtype=int))
    bvh = MeshBVH(np.eye(3), np.array([[0, 1, 2]]))
    with pytest.raises(SynthError, match="origin must be"):
        bvh.segment_crossings(np.zeros(2), np.ones((1, 3)))
    with pytest.raises(SynthError, match="refit"):
        bvh.refit(np.zeros((2, 3)))


def _same(got, want):
    return np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])


def test_fan_crossings_equal_kernel_for_the_cameras_lines_of_sight(posed):
    """As compute_point_visibility queries: keypoints and joints from the camera centre, the shortened segments
    and the full ones from one candidate set, on the body and on each garment."""
    n_hits = 0
    for k, person in enumerate(posed.people):
        for t in range(2):
            cam = posed.camera_tracks[0].at(t).center_world
            pts = np.concatenate([person.posed.keypoints[t], person.posed.joints[t]]).astype(np.float64)
            ray = pts - cam
            dist = np.linalg.norm(ray, axis=1)
            short = cam + ray * ((dist - 0.008) / dist)[:, None]
            V, F = person.posed.vertices[t].astype(np.float64), person.faces
            fan = SegmentFan(cam, pts)
            assert fan.usable
            near, full = fan.crossings(V, F, points_near=short)
            assert _same(near, segment_crossings(cam, short, V, F))
            assert _same(full, segment_crossings(cam, pts, V, F))
            n_hits += int(full[0].sum())
            ri, _ = fan.candidates(V, F)
            assert len(ri) < 0.01 * len(pts) * len(F)                     # it does filter
            for g, gv in zip(person.garments, person.garment_vertices):
                if len(g.faces):
                    assert _same(fan.crossings(gv[t], g.faces), segment_crossings(cam, pts, gv[t], g.faces))
    assert n_hits > 50


def test_fan_rays_through_vertices_and_edges(posed):
    """Lines of sight aimed exactly at vertices and edge midpoints, and 1e-12 .. 1e-6 m beside them, continued
    through the body: the exact test's hits on shared edges and corners are all kept."""
    rng = np.random.default_rng(3)
    person = posed.people[0]
    V, F = person.posed.vertices[0].astype(np.float64), person.faces
    cam = posed.camera_tracks[0].at(0).center_world
    f = F[rng.choice(len(F), 60, replace=False)]
    aims = [V[f[:, 0]], (V[f[:, 0]] + V[f[:, 1]]) / 2, (V[f[:, 1]] + V[f[:, 2]]) / 2]
    side = np.cross(V[f[:, 1]] - V[f[:, 0]], aims[0] - cam)
    side /= np.linalg.norm(side, axis=1, keepdims=True)
    for eps in (1e-12, 1e-9, 1e-7, 1e-6):
        aims += [aims[1] + eps * side, aims[1] - eps * side]
    aim = np.concatenate(aims)
    pts = cam + (aim - cam) * 1.5                                          # beyond the body
    fan = SegmentFan(cam, pts)
    got, want = fan.crossings(V, F), MeshBVH(V, F).segment_crossings(cam, pts)
    assert _same(got, want)
    sub = rng.choice(len(pts), 80, replace=False)
    assert _same(SegmentFan(cam, pts[sub]).crossings(V, F), segment_crossings(cam, pts[sub], V, F))
    assert (want[0] >= 1).mean() > 0.9                                     # the rays do cross the body


def test_fan_near_plane_wide_and_degenerate_fans(posed):
    """An origin inside the chest (triangles beside and behind it: behind ones dropped, straddling ones paired
    with every segment), a fan wider than 60 degrees (answered by the BVH), zero-length and single segments: all
    equal the kernel."""
    rng = np.random.default_rng(5)
    person = posed.people[0]
    V, F = person.posed.vertices[0].astype(np.float64), person.faces
    chest = person.posed.joints[0][3].astype(np.float64)
    cam = posed.camera_tracks[0].at(0).center_world
    toward = (cam - chest) / np.linalg.norm(cam - chest)
    o = chest + 0.01 * rng.normal(size=3)
    pts = o + 0.8 * toward + rng.normal(scale=0.15, size=(60, 3))       # a cone out through the front
    fan = SegmentFan(o, pts)
    assert fan.usable
    z = ((V - o) @ fan.frame)[:, 2][F]
    straddling = (z.min(1) <= 1e-4) & (z.max(1) > -1e-4)
    assert 0 < straddling.sum() <= FAN_MAX_NEAR and (z.max(1) < -1e-4).sum() > 1000
    want = segment_crossings(o, pts, V, F)
    assert _same(fan.crossings(V, F), want) and want[0].min() >= 1
    wide = np.concatenate([pts, o - 0.8 * toward + rng.normal(scale=0.1, size=(5, 3))])
    fan = SegmentFan(o, wide)
    assert not fan.usable and fan.candidates(V, F) is None
    assert _same(fan.crossings(V, F), segment_crossings(o, wide, V, F))
    for P in (np.repeat(o[None], 3, axis=0), pts[:1]):
        assert _same(SegmentFan(o, P).crossings(V, F), segment_crossings(o, P, V, F))
    empty = SegmentFan(o, np.zeros((0, 3))).crossings(V, F)
    assert empty[0].shape == (0,) and empty[1].shape == (0,)


def test_fan_straddling_triangle_is_found():
    """A large triangle reaching behind the origin's plane, crossed in front of it: a near-plane candidate."""
    V = np.array([[-1.0, -3.0, -1.0], [1.0, -3.0, -1.0], [0.0, 1.0, 1.0]])   # plane z = 0.5 + y / 2, z -1 .. 1
    F = np.array([[0, 1, 2]])
    o = np.zeros(3)
    pts = np.array([[0.0, 0.0, 2.0], [0.1, 0.2, 2.0], [0.0, -0.2, 0.3]])      # the last one stops short
    want = segment_crossings(o, pts, V, F)
    assert want[0].tolist() == [1, 1, 0]
    assert _same(SegmentFan(o, pts).crossings(V, F), want)


def test_fan_bad_input_is_one_clear_error():
    with pytest.raises(SynthError, match="origin must be"):
        SegmentFan(np.zeros(2), np.ones((1, 3)))
    fan = SegmentFan(np.zeros(3), np.array([[0.0, 0.0, 2.0]]))
    with pytest.raises(SynthError, match="points_near"):
        fan.crossings(np.eye(3), np.array([[0, 1, 2]]), points_near=np.ones((2, 3)))
    with pytest.raises(SynthError, match="longer"):
        fan.crossings(np.eye(3), np.array([[0, 1, 2]]), points_near=np.array([[0.0, 0.0, 3.0]]))
