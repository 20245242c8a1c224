"""The optimised visibility and contact labels equal their reference (brute-force) computations, flag for flag,
on a rendered scene.

Demo scene 0 (three dressed people, one seated on a box), rendered small by the production worker (pipelined:
labels computed on the background thread, ray-casting trees refitted across frames, one tree descent for two
segment sets). The references recompute every label from the same geometry and the same rendered passes:

* keypoint / joint visibility: the same rule with the brute-force crossing kernel
  ``synth.core.mesh.segment_crossings`` (every segment against every triangle) instead of ``SegmentFan``;
* vertex_visible_fraction: the depth test of every vertex (``compute_vertex_visibility``) and front-facing
  normals summed with ``np.add.at``, exactly;
* contact_self / contact_person: every (vertex, triangle) pair within reach by a k-d tree over all triangle
  centroids (radius = threshold + the largest centroid-to-corner distance: exact), exact closest points, the
  geodesic rule of ``GeodesicBound.lower_bound`` - no geodesic cells, boxes or ``TriangleIndex``;
* contact_scene: ``TriangleIndex.signed_distance`` resolved for every vertex (no radius limit, no box prefilter);
* contact_ground: z <= 2 cm.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from synth.core.mesh import TriangleIndex, closest_point_on_triangles, segment_crossings
from synth.groundtruth.contact import (
    GROUND_CONTACT_M,
    PERSON_CONTACT_M,
    SCENE_CONTACT_M,
    SELF_CONTACT_GEODESIC_M,
    SELF_CONTACT_M,
    geodesic_bound_for,
)
from synth.groundtruth.visibility import (
    NEAR_POINT_M,
    _imaged,
    compute_vertex_visibility,
    render_shows,
)
from synth.pipeline.posed_scene import build_posed_scene
from synth.pipeline.worker import SceneWorker
from synth.recipe import parse_recipe
from synth.recipe.sample import sample_scene

pytestmark = [pytest.mark.blender, pytest.mark.torch, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
SCENE = 0


@pytest.fixture(scope="module")
def rendered():
    d = yaml.safe_load((ROOT / "scenes" / "demo.yaml").read_text())
    d.update(image={"width": 96, "height": 96}, render={"samples": 2})
    recipe = parse_recipe(d, "demo-small")
    worker = SceneWorker(recipe, "/nonexistent-not-written")
    try:
        data = worker.run_scene(SCENE)
    finally:
        worker.close()
    return data, build_posed_scene(sample_scene(recipe, SCENE))


def reference_point_visibility(camera, points, V, F, pid, instance, depth_m, outer):
    """``compute_point_visibility`` with the brute-force crossing kernel."""
    vis = np.zeros(len(points), dtype=bool)
    idx, uv, X_cam = _imaged(camera, points)
    if not len(idx):
        return vis
    pts = np.asarray(points, dtype=np.float64)[idx]
    centre = np.asarray(camera.center_world, dtype=np.float64)
    ray = pts - centre
    dist = np.linalg.norm(ray, axis=1)
    short = centre + ray * (np.maximum(dist - NEAR_POINT_M, 0.0) / np.maximum(dist, 1e-12))[:, None]
    counts, _ = segment_crossings(centre, short, V, F)
    _, first = segment_crossings(centre, pts, V, F)
    for vo, fo in outer:
        first = np.minimum(first, segment_crossings(centre, pts, vo, fo)[1])
    entry = np.where(np.isfinite(first), first, np.linalg.norm(X_cam, axis=1))
    vis[idx] = render_shows(camera, uv, entry, pid, instance, depth_m) & (counts <= 1)
    return vis


def test_keypoint_and_joint_visibility_equal_the_brute_force_kernel(rendered):
    data, scene = rendered
    n_checked = {True: 0, False: 0}
    for view, track in zip(data.views, scene.camera_tracks):
        for t in range(data.frames):
            cam = track.at(t)
            for k, pp in enumerate(scene.people):
                pts = np.concatenate([pp.posed.keypoints[t], pp.posed.joints[t]])
                outer = [(gv[t], g.faces) for g, gv in zip(pp.garments, pp.garment_vertices) if len(g.faces)]
                ref = reference_point_visibility(cam, pts, pp.posed.vertices[t], pp.faces, k + 1,
                                                 view.instance[t], view.depth_m[t], outer)
                n_kp = len(pp.posed.keypoints[t])
                np.testing.assert_array_equal(view.labels["keypoints_visible"][t, k], ref[:n_kp])
                np.testing.assert_array_equal(view.labels["joints_visible"][t, k], ref[n_kp:])
                for flag in (True, False):
                    n_checked[flag] += int(np.count_nonzero(ref == flag))
    assert n_checked[True] > 50 and n_checked[False] > 50     # both outcomes occur


def reference_vertex_visible_fraction(camera, V, F, pid, instance, depth_m) -> np.float32:
    """Every vertex through the depth test, normals accumulated face by face with ``np.add.at``."""
    v, f = np.asarray(V, dtype=np.float64), np.asarray(F, dtype=np.int64)
    a, b, c = v[f[:, 0]], v[f[:, 1]], v[f[:, 2]]
    fn = np.cross(b - a, c - a)
    if float(np.einsum("ij,ij->", a, np.cross(b, c))) < 0:
        fn = -fn
    n = np.zeros_like(v)
    for k in range(3):
        np.add.at(n, f[:, k], fn)
    front = np.einsum("ij,ij->i", n, camera.center_world[None, :] - v) > 0.0
    seen = compute_vertex_visibility(camera, V, pid, instance, depth_m) & front
    return np.float32(seen.mean())


def test_vertex_visible_fraction_equals_the_reference(rendered):
    data, scene = rendered
    fractions = []
    for view, track in zip(data.views, scene.camera_tracks):
        for t in range(data.frames):
            cam = track.at(t)
            for k, pp in enumerate(scene.people):
                ref = reference_vertex_visible_fraction(cam, pp.posed.vertices[t], pp.faces, k + 1,
                                                        view.instance[t], view.depth_m[t])
                assert view.labels["vertex_visible_fraction"][t, k] == ref
                fractions.append(float(ref))
    assert max(fractions) > 0.2            # the people are seen


def _pairs_within(P, V, F, radius, keep=None):
    """Every (point, triangle) pair whose closest distance may be <= radius (and where ``keep(pi, fi)`` holds),
    with the exact closest point and distance: k-d trees over the triangle centroids, triangles binned by their
    largest centroid-to-corner distance ``reach`` (a triangle within ``radius`` of p has its centroid within
    ``radius + reach``)."""
    from scipy.spatial import cKDTree

    tri = V[F]
    cen = tri.mean(1)
    reach = np.sqrt(((tri - cen[:, None]) ** 2).sum(-1)).max(1)
    level = np.ceil(np.log2(np.maximum(reach, 1e-6) / 1e-3)).astype(int)
    pt_tree = cKDTree(P)
    pis, fis = [], []
    for lv in np.unique(level):
        faces = np.nonzero(level == lv)[0]
        r = radius + float(reach[faces].max())
        m = pt_tree.sparse_distance_matrix(cKDTree(cen[faces]), r, output_type="ndarray")
        pis.append(m["i"].astype(np.int64))
        fis.append(faces[m["j"]])
    pi, fi = np.concatenate(pis), np.concatenate(fis)
    if keep is not None:
        ok = keep(pi, fi)
        pi, fi = pi[ok], fi[ok]
    q = closest_point_on_triangles(P[pi], tri[fi, 0], tri[fi, 1], tri[fi, 2])
    d = np.sqrt(((q - P[pi]) ** 2).sum(-1))
    return pi, fi, q, d


def reference_self_contact(P, body) -> list[set[int]]:
    """Per vertex, the set of valid partners: the nearest corner of each far triangle at the smallest distance
    (two triangles can tie exactly, their closest point on the shared edge; either partner is right). Empty: none."""
    geo = geodesic_bound_for(body)
    F = np.asarray(body.faces, dtype=np.int64)

    def far(pi, fi):
        lb = np.min(np.stack([geo.lower_bound(pi, F[fi, k]) for k in range(3)]), axis=0)
        return (lb > SELF_CONTACT_GEODESIC_M) & ~geo.unreached[pi] & ~geo.unreached[F[fi]].any(1)

    pi, fi, q, d = _pairs_within(P, P, F, SELF_CONTACT_M, keep=far)
    keep = d <= SELF_CONTACT_M
    pi, fi, q, d = pi[keep], fi[keep], q[keep], d[keep]
    out: list[set[int]] = [set() for _ in range(len(P))]
    for v in np.unique(pi):
        sel = np.nonzero(pi == v)[0]
        for j in sel[d[sel] == d[sel].min()]:
            out[v].add(int(F[fi[j], np.argmin(((P[F[fi[j]]] - q[j]) ** 2).sum(-1))]))
    return out


def test_contact_labels_equal_the_reference(rendered):
    data, scene = rendered
    bodies = [pp.body for pp in scene.people]
    static = [m for m in scene.surface_meshes() if m.vertices is not None]
    assert static, "demo scene 0 has a box to sit on"
    n_self = n_scene = 0
    for k, person in enumerate(data.people):
        V_all = np.asarray(person.vertices_world, dtype=np.float64)
        for t in range(data.frames):
            P = V_all[t]
            np.testing.assert_array_equal(person.contact_ground[t], P[:, 2] <= GROUND_CONTACT_M)
            ref_self = reference_self_contact(P, bodies[k])
            got = person.contact_more["contact_self"][t]
            wrong = [v for v in range(len(P)) if (got[v] not in ref_self[v] if ref_self[v] else got[v] != -1)]
            assert wrong == [], f"person {k} frame {t}: contact_self differs at vertices {wrong[:10]}"
            n_self += sum(1 for s in ref_self if s)
            ref_person = np.full(len(P), -1, dtype=np.int8)
            for b, other in enumerate(data.people):
                if b == k:
                    continue
                pi, _, _, d = _pairs_within(P, np.asarray(other.vertices_world[t], np.float64),
                                            np.asarray(bodies[b].faces, np.int64), PERSON_CONTACT_M)
                hit = np.unique(pi[d <= PERSON_CONTACT_M])
                ref_person[hit[ref_person[hit] < 0]] = b
            np.testing.assert_array_equal(person.contact_person[t], ref_person)
            best = np.full(len(P), np.inf)
            ref_scene = np.full(len(P), -1, dtype=np.int32)
            for i, m in enumerate(static):
                ix = TriangleIndex(m.vertices, m.faces)
                sd, _ = ix.signed_distance(P)                      # every vertex resolved exactly
                ok = (sd <= SCENE_CONTACT_M) & (ix.is_watertight | (np.abs(sd) <= SCENE_CONTACT_M)) & (sd < best)
                best[ok], ref_scene[ok] = sd[ok], i
            np.testing.assert_array_equal(person.contact_more["contact_scene"][t], ref_scene)
            n_scene += int(np.count_nonzero(ref_scene >= 0))
    assert n_scene > 0          # the seated person touches the box
    assert n_self > 0           # somebody's hand or leg touches their own body
