"""Self-contact: a hand on the own face is found, the rest pose touches nothing of itself."""

from __future__ import annotations

import numpy as np
import pytest

from contact_poses_util import X, Y, pose_rotvec, posed_vertices
from synth.bodies.parts import SEGMENT_INDEX, SEGMENT_NAMES, vertex_segment_labels
from synth.bodies.registry import get_body_model
from synth.core.mesh import point_mesh_distance
from synth.groundtruth.contact import SELF_CONTACT_M, compute_self_contact, geodesic_bound_for
from synth.motion.skeleton import BodySkeleton


@pytest.fixture(scope="module")
def anny():
    body = get_body_model("anny")
    return body, BodySkeleton.from_body(body), vertex_segment_labels(body), geodesic_bound_for(body)


def test_geodesic_bound_is_a_lower_bound(anny):
    from scipy.sparse.csgraph import dijkstra

    body, _, _, geo = anny
    rng = np.random.default_rng(0)
    src = rng.choice(len(geo.anchor_of), 5, replace=False)
    src = src[~geo.unreached[src]]
    rest, _ = posed_vertices(body, body.rest_pose())
    from scipy.sparse import coo_matrix

    F = np.asarray(body.faces)
    e = np.concatenate([F[:, [0, 1]], F[:, [1, 2]], F[:, [2, 0]]])
    w = np.linalg.norm(rest[e[:, 0]] - rest[e[:, 1]], axis=1)
    g = coo_matrix((w, (e[:, 0], e[:, 1])), shape=(len(rest), len(rest))).tocsr()
    exact = dijkstra(g.maximum(g.T), directed=False, indices=src)            # (5, V)
    for k, s in enumerate(src):
        lb = geo.lower_bound(np.full(len(rest), s), np.arange(len(rest)))
        ok = np.isfinite(exact[k])
        assert np.all(lb[ok] <= exact[k][ok] + 1e-4)
        assert np.median(exact[k][ok] - lb[ok]) < 0.1                       # and a useful one


def test_rest_pose_has_no_self_contact(anny):
    body, _, _, geo = anny
    v, _ = posed_vertices(body, body.rest_pose())
    assert (compute_self_contact(v, geo) < 0).all()


def test_hand_on_own_face(anny):
    body, skel, seg, geo = anny
    # right arm forward and across, elbow bent: the fingers rest 5 mm from the right eyebrow
    rv = pose_rotvec(skel, [("upperarm01.R", X, -np.radians(50)), ("upperarm01.R", Y, -np.radians(30)),
                            ("lowerarm01.R", X, -np.radians(125))])
    v, _ = posed_vertices(body, rv)
    partner = compute_self_contact(v[None], geo)
    assert partner.shape == (1, len(v))
    partner = partner[0]
    c = partner >= 0
    fingers, head = seg == SEGMENT_INDEX["right_fingers"], seg == SEGMENT_INDEX["head"]
    assert (c & fingers).sum() >= 20 and (c & head).sum() >= 20
    assert (seg[partner[c & fingers]] == SEGMENT_INDEX["head"]).mean() > 0.9      # fingers touch the head
    assert (seg[partner[c & head]] == SEGMENT_INDEX["right_fingers"]).mean() > 0.9
    # the only other contact is the adducted upper arm against the chest
    assert {SEGMENT_NAMES[i] for i in np.unique(seg[c])} <= {"head", "right_fingers", "right_hand", "chest",
                                                              "right_upper_arm"}
    # exact: the labelled finger vertices are within the threshold of the head's triangles, the others not
    F = np.asarray(body.faces)
    head_faces = F[head[F].all(1)]
    d = point_mesh_distance(v[fingers], v, head_faces)
    assert np.array_equal(c[fingers], d <= SELF_CONTACT_M)


def test_crossed_arms(anny):
    body, skel, seg, geo = anny
    from contact_poses_util import Z

    from synth.core.mesh import TriangleIndex

    # both elbows bent 90 degrees, forearms turned 50 degrees inwards across the body, the left one tilted
    # 16.6 degrees up so that it lies 5 mm over the right one
    rv = pose_rotvec(skel, [("lowerarm01.L", X, -np.pi / 2), ("lowerarm01.R", X, -np.pi / 2),
                            ("lowerarm01.R", Z, np.radians(50)), ("lowerarm01.L", X, -np.radians(16.63)),
                            ("lowerarm01.L", Z, -np.radians(50))])
    v, _ = posed_vertices(body, rv)
    arm = {s: np.isin(seg, [SEGMENT_INDEX[f"{s}_{p}"] for p in ("forearm", "hand", "fingers")])
           for s in ("left", "right")}
    F = np.asarray(body.faces)
    gap = TriangleIndex(v, F[arm["right"][F].all(1)]).signed_distance(v[arm["left"]])[0].min()
    assert 0.0 < gap < 0.01                                   # over, not through, the other arm
    partner = compute_self_contact(v, geo)
    c = partner >= 0
    left_on_right = c & arm["left"] & arm["right"][np.maximum(partner, 0)]
    right_on_left = c & arm["right"] & arm["left"][np.maximum(partner, 0)]
    assert left_on_right.sum() >= 20 and right_on_left.sum() >= 20
    allowed = {f"{s}_{p}" for s in ("left", "right") for p in ("forearm", "hand", "fingers")} | {"chest", "abdomen"}
    assert {SEGMENT_NAMES[i] for i in np.unique(seg[c])} <= allowed      # arms on each other and on the trunk


def _nearest_far_partners(P, geo, v, threshold_m, min_geodesic_m):
    """Brute force for one vertex: the nearest corner of every far triangle at the smallest distance."""
    from synth.core.mesh import closest_point_on_triangles

    F = geo.faces
    lb = np.min(np.stack([geo.lower_bound(np.full(len(F), v), F[:, k]) for k in range(3)]), axis=0)
    f = np.nonzero(lb > min_geodesic_m)[0]
    q = closest_point_on_triangles(P[v][None], P[F[f, 0]], P[F[f, 1]], P[F[f, 2]])
    d = np.sqrt(((q - P[v]) ** 2).sum(-1))
    best = (d <= threshold_m) & (d == d.min())
    return {int(F[fi, np.argmin(((P[F[fi]] - qi) ** 2).sum(-1))]) for fi, qi in zip(f[best], q[best])}


@pytest.mark.parametrize("threshold_m, min_geodesic_m", [(SELF_CONTACT_M, 0.30), (0.05, 0.20)])
def test_fast_path_equals_the_reference(anny, threshold_m, min_geodesic_m):
    """The per-cell-pair search labels exactly what the k-d tree search over every triangle (kept as
    ``compute_self_contact_reference``) labels: the same vertices, the same partners."""
    from contact_poses_util import Z

    from synth.groundtruth.contact import compute_self_contact_reference

    body, skel, _, geo = anny
    poses = [
        [("upperarm01.R", X, -np.radians(50)), ("upperarm01.R", Y, -np.radians(30)),
         ("lowerarm01.R", X, -np.radians(125))],
        [("lowerarm01.L", X, -np.pi / 2), ("lowerarm01.R", X, -np.pi / 2), ("lowerarm01.R", Z, np.radians(50)),
         ("lowerarm01.L", X, -np.radians(16.63)), ("lowerarm01.L", Z, -np.radians(50))],
        [("upperleg01.L", X, -np.radians(80)), ("upperleg01.R", X, -np.radians(80)),
         ("lowerleg01.L", X, np.radians(90)), ("lowerleg01.R", X, np.radians(90)),
         ("upperleg01.L", Z, -np.radians(25))],
    ]
    n_contact = 0
    for turns in poses:
        v, _ = posed_vertices(body, pose_rotvec(skel, turns))
        got = compute_self_contact(v, geo, threshold_m, min_geodesic_m)
        want = compute_self_contact_reference(v, geo, threshold_m, min_geodesic_m)
        np.testing.assert_array_equal(got, want)
        n_contact += int((got >= 0).sum())
    assert n_contact > 200


def test_fast_path_equals_the_reference_at_exact_ties(anny, monkeypatch):
    """Random poses (0.6 rad per joint axis) put many vertices on the shared edge of two triangles at exactly the
    same float64 distance, with different nearest corners. The fast path names the reference's partner there
    too; the lowest face index (its earlier rule, got by replacing the reference order with the face index)
    differs on some of them, so ties did occur, and each such difference is an exact tie (brute force)."""
    from synth.groundtruth import contact
    from synth.groundtruth.contact import compute_self_contact_reference

    body, _, _, geo = anny
    rng = np.random.default_rng(0)
    n_contact = n_tie = 0
    for _ in range(6):
        rv = body.rest_pose() + rng.normal(0.0, 0.6, body.rest_pose().shape)
        v, _ = posed_vertices(body, rv.astype(np.float32))
        want = compute_self_contact_reference(v, geo)
        np.testing.assert_array_equal(compute_self_contact(v, geo), want)
        with monkeypatch.context() as m:
            m.setattr(contact, "_reference_face_rank", lambda P, F, cells, pair_ok: np.arange(len(F)))
            lowest = compute_self_contact(v, geo)
        for w in np.nonzero(lowest != want)[0]:
            assert {int(lowest[w]), int(want[w])} <= _nearest_far_partners(v, geo, w, SELF_CONTACT_M,
                                                                           contact.SELF_CONTACT_GEODESIC_M)
            n_tie += 1
        n_contact += int((want >= 0).sum())
    assert n_contact > 2000 and n_tie >= 10


def test_kd_tree_pair_order_per_point():
    """What ``_reference_face_rank`` relies on: ``cKDTree.sparse_distance_matrix`` lists one query point's
    neighbours in the order of the other tree's ``indices``, and the same whatever the other query points."""
    from scipy.spatial import cKDTree

    rng = np.random.default_rng(1)
    tree = cKDTree(rng.random((3000, 3)))
    pos = np.empty(tree.n, dtype=np.int64)
    pos[tree.indices] = np.arange(tree.n)
    P = rng.random((2000, 3))
    m = cKDTree(P).sparse_distance_matrix(tree, 0.08, output_type="ndarray")
    sub = rng.choice(len(P), 50, replace=False)
    m_sub = cKDTree(P[sub]).sparse_distance_matrix(tree, 0.08, output_type="ndarray")
    for k, s in enumerate(sub):
        j = m["j"][m["i"] == s]
        assert len(j) > 0 and np.all(np.diff(pos[j]) > 0)
        np.testing.assert_array_equal(m_sub["j"][m_sub["i"] == k], j)
