"""COCO-WholeBody keypoints (133), finger poses and facial expressions, on Anny and SMPL-X.

Anny runs on the 615-vertex ``notoes_collapse5pc`` topology except where the
default topology's own face vertices are checked (loaded once, from the cache).
SMPL-X uses the synthetic model file of ``tests/test_bodies_smplx.py`` (random
geometry: only shapes and code paths can be checked there, not semantics).
"""

from __future__ import annotations

import numpy as np
import pytest

from synth.bodies.base import BodyParams
from synth.bodies.expressions import (
    ANNY_FACIAL_ACTION_NAMES,
    EXPRESSION_STYLES,
    compute_expression,
    compute_facial_actions,
    sample_expression,
    sample_expression_sequence,
)
from synth.bodies.keypoints import (
    FACE_KEYPOINT_NAMES,
    KEYPOINT_NAMES,
    KEYPOINT_PARTS,
    WHOLEBODY_FLIP_INDEX,
    WHOLEBODY_KEYPOINT_INDEX,
    WHOLEBODY_KEYPOINT_NAMES,
    WHOLEBODY_SKELETON_EDGES,
    keypoint_set_names,
    keypoint_surface_vertices,
)
from synth.bodies.parts import PART_INDEX
from synth.bodies.registry import get_body_model
from synth.core.errors import BodyModelError, RecipeError
from synth.motion.hands import HAND_STYLES, apply_hand_pose, hand_joint_names, sample_hand_pose

TOPO = "notoes_collapse5pc"
I = WHOLEBODY_KEYPOINT_INDEX
FINGERS = ("thumb", "index", "middle", "ring", "pinky")


def face(k: np.ndarray, i: int) -> np.ndarray:
    return k[I[f"face_{i:02d}"]]


@pytest.fixture(scope="module")
def anny():
    return get_body_model("anny", topology=TOPO, keypoint_set="wholebody")


@pytest.fixture(scope="module")
def anny_rest(anny):
    return anny.forward(anny.default_params())


def _params(body, pose, extra=None):
    pose = np.asarray(pose, np.float32)
    T = np.broadcast_to(np.eye(4), (len(pose), 4, 4)).copy()
    return BodyParams(body.name, body.default_params().shape, pose, T, extra=extra or {})


# ------------------------------------------------------------------------------------------------ names
def test_wholebody_names_order():
    n = WHOLEBODY_KEYPOINT_NAMES
    assert len(n) == 133 and len(set(n)) == 133
    assert n[:23] == KEYPOINT_NAMES
    assert n[23:91] == FACE_KEYPOINT_NAMES == [f"face_{i:02d}" for i in range(68)]
    assert n[91] == "left_hand_wrist" and n[112] == "right_hand_wrist"
    assert n[92:96] == ["left_thumb_1", "left_thumb_2", "left_thumb_3", "left_thumb_4"]
    assert n[108:112] == [f"left_pinky_{k}" for k in range(1, 5)] and n[-1] == "right_pinky_4"
    assert keypoint_set_names("body") == KEYPOINT_NAMES and keypoint_set_names("wholebody") == n
    with pytest.raises(BodyModelError, match="wholebody"):
        keypoint_set_names("hands")
    # flipping: an involution that swaps sides and mirrors the iBUG layout
    f = WHOLEBODY_FLIP_INDEX
    assert (f[f] == np.arange(133)).all()
    assert n[f[I["left_thumb_4"]]] == "right_thumb_4" and n[f[I["face_36"]]] == "face_45"
    assert n[f[I["face_00"]]] == "face_16" and n[f[I["face_30"]]] == "face_30" and n[f[I["face_48"]]] == "face_54"
    assert WHOLEBODY_SKELETON_EDGES.shape[1] == 2 and WHOLEBODY_SKELETON_EDGES.max() == 132
    assert set(KEYPOINT_PARTS) == set(n) and KEYPOINT_PARTS["right_index_2"] == ["right_hand"]


def test_registry_options_and_default_set(anny):
    assert anny.keypoint_names == WHOLEBODY_KEYPOINT_NAMES
    assert get_body_model("anny", topology=TOPO, keypoint_set="wholebody") is anny
    assert get_body_model("anny", topology=TOPO).keypoint_names == KEYPOINT_NAMES  # default stays 23
    with pytest.raises(BodyModelError, match="keypoint_set"):
        get_body_model("anny", topology=TOPO, keypoint_set="face")


# ------------------------------------------------------------------------------------------------ Anny keypoints
def test_anny_body_points_unchanged(anny, anny_rest):
    body = get_body_model("anny", topology=TOPO)
    rng = np.random.default_rng(1)
    lim = anny.joint_limits()
    pose = rng.uniform(lim[..., 0] * 0.5, lim[..., 1] * 0.5, size=(3, len(anny.joint_names), 3))
    a = anny.forward(_params(anny, pose))
    b = body.forward(_params(body, pose))
    assert a.keypoints.shape == (3, 133, 3) and a.keypoints.dtype == np.float32 and np.isfinite(a.keypoints).all()
    np.testing.assert_array_equal(a.keypoints[:, :23], b.keypoints)
    np.testing.assert_array_equal(a.vertices, b.vertices)


def test_anny_face_points_on_the_face(anny, anny_rest):
    k, v = anny_rest.keypoints[0], anny_rest.vertices[0]
    parts = anny.vertex_part_labels()
    head = v[parts == PART_INDEX["head"]]
    F = k[23:91]
    lo, hi = head.min(0) - 0.01, head.max(0) + 0.01
    assert ((F >= lo) & (F <= hi)).all()
    assert F[:, 2].min() > k[I["left_shoulder"], 2] + 0.08          # all above the shoulders
    # in front of the ears, the nose tip frontmost (the body faces -Y)
    assert F[:, 1].max() < min(k[I["left_ear"], 1], k[I["right_ear"], 1])
    assert face(k, 30)[1] <= F[:, 1].min() + 0.004
    # vertical order: brows > eyes > nose tip > nose base > mouth > chin
    eyes, mouth = F[36:48, 2].mean(), F[48:68, 2].mean()
    assert F[17:27, 2].mean() > eyes > face(k, 30)[2] > face(k, 33)[2] > mouth > face(k, 8)[2]
    assert face(k, 27)[2] > face(k, 28)[2] > face(k, 29)[2] > face(k, 30)[2]   # bridge top to tip
    assert face(k, 51)[2] > face(k, 62)[2] >= face(k, 66)[2] > face(k, 57)[2]  # lips top to bottom
    # the person's left is +X: left eye / brow / mouth corner / jaw end on +X
    assert F[42:48, 0].mean() > 0.015 and F[36:42, 0].mean() < -0.015
    assert face(k, 45)[0] > face(k, 42)[0] > 0 > face(k, 39)[0] > face(k, 36)[0]   # outer corners lateral
    assert face(k, 16)[0] > 0.04 and face(k, 0)[0] < -0.04 and face(k, 54)[0] > 0 > face(k, 48)[0]
    assert abs(face(k, 8)[0]) < 0.005 and abs(face(k, 30)[0]) < 0.005
    # upper eyelid above the lower one
    assert min(face(k, 43)[2], face(k, 44)[2]) > max(face(k, 46)[2], face(k, 47)[2])
    # mirror symmetry of the mean body (reduced topology: regressed points, within a few mm)
    fl = WHOLEBODY_FLIP_INDEX[23:91] - 23
    err = np.abs(F[:, 0] + F[fl, 0])
    assert err.max() < 0.004, err.max()
    # COCO's own eye points near the iBUG eye centres
    assert np.linalg.norm(F[42:48].mean(0) - k[I["left_eye"]]) < 0.02


def test_anny_hand_points(anny, anny_rest):
    k = anny_rest.keypoints[0]
    joints = dict(zip(anny.joint_names, anny_rest.joints[0]))
    for side, sgn in (("left", 1), ("right", -1)):
        w = k[I[f"{side}_hand_wrist"]]
        assert np.linalg.norm(w - k[I[f"{side}_wrist"]]) < 0.03      # Anny's regressed COCO wrist is close
        np.testing.assert_allclose(w, joints[f"wrist.{side[0].upper()}"], atol=1e-6)
        pts = k[I[f"{side}_hand_wrist"]:I[f"{side}_pinky_4"] + 1]
        assert (sgn * pts[:, 0] > 0.1).all()                          # on the person's own side
        for f in FINGERS:
            d = [np.linalg.norm(k[I[f"{side}_{f}_{j}"]] - w) for j in range(1, 5)]
            assert np.all(np.diff(d) > 0.004), (side, f, d)          # wrist -> tip, farther each step
        # fingertips 1.5-4 cm beyond the last joint
        for f in FINGERS:
            seg = np.linalg.norm(k[I[f"{side}_{f}_4"]] - k[I[f"{side}_{f}_3"]])
            assert 0.012 < seg < 0.045, (side, f, seg)


def test_surface_proxies_wholebody(anny, anny_rest):
    proxies = keypoint_surface_vertices(anny)
    assert len(proxies) == 133
    parts = anny.vertex_part_labels()
    v, k = anny_rest.vertices[0], anny_rest.keypoints[0]
    for i, (name, idx) in enumerate(zip(WHOLEBODY_KEYPOINT_NAMES, proxies)):
        assert 5 <= len(idx) <= 30, name
        assert np.isin(parts[idx], [PART_INDEX[p] for p in KEYPOINT_PARTS[name]]).all(), name
        near = 0.12 if i < 23 else 0.05      # the 615-vertex mesh: vertices ~3-4 cm apart on the head
        assert np.linalg.norm(v[idx] - k[i], axis=1).min() < near, name


# ------------------------------------------------------------------------------------------------ finger poses
def _tip_wrist(body, k, side):
    w = k[I[f"{side}_hand_wrist"]]
    return np.array([np.linalg.norm(k[I[f"{side}_{f}_4"]] - w) for f in FINGERS])


def test_fist_closer_than_open_anny(anny):
    rest = anny.rest_pose()[None]
    lim = anny.joint_limits()
    rng = np.random.default_rng(3)
    poses = {}
    for style in HAND_STYLES:
        hp = sample_hand_pose(anny, rng=rng, style=style)
        assert set(hp) == set(hand_joint_names(anny)) and len(hp) == 30
        for j, rv in hp.items():
            ji = anny.joint_names.index(j)
            assert rv.shape == (3,) and rv.dtype == np.float32
            assert (rv >= lim[ji, :, 0] - 1e-6).all() and (rv <= lim[ji, :, 1] + 1e-6).all(), (style, j)
        poses[style] = apply_hand_pose(rest, anny, hp)
    out = {s: anny.forward(_params(anny, p)).keypoints[0] for s, p in poses.items()}
    for side in ("left", "right"):
        fist, opn = _tip_wrist(anny, out["fist"], side), _tip_wrist(anny, out["open"], side)
        point = _tip_wrist(anny, out["point"], side)
        assert (fist[1:] < opn[1:] - 0.05).all(), (side, fist, opn)   # long fingers: > 5 cm closer
        assert fist[0] < opn[0]
        assert point[1] > fist[1] + 0.05 and (point[2:] < opn[2:] - 0.05).all()  # index out, others curled
        # open spreads the fingers: index tip to pinky tip farther apart than in a fist
        spread = lambda k: np.linalg.norm(k[I[f"{side}_index_4"]] - k[I[f"{side}_pinky_4"]])
        assert spread(out["open"]) > spread(out["fist"]) + 0.02
    # apply_hand_pose leaves the other joints alone and copies
    others = [i for i, n in enumerate(anny.joint_names) if n not in hand_joint_names(anny)]
    np.testing.assert_array_equal(poses["fist"][:, others], rest[:, others])
    assert not np.shares_memory(poses["fist"], rest)


def test_hand_pose_sampling_api(anny):
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(40):
        hp = sample_hand_pose(anny, rng=rng, side="left")
        assert all(j.endswith(".L") for j in hp)
        seen.add(round(float(hp["finger3-2.L"][0]), 1))
    assert len(seen) >= 4                                     # several styles drawn
    a = sample_hand_pose(anny, rng=np.random.default_rng(5), style={"left": "fist", "right": "open"})
    b = sample_hand_pose(anny, rng=np.random.default_rng(5), style={"left": "fist", "right": "open"})
    assert all(np.array_equal(a[j], b[j]) for j in a)         # seeded
    assert a["finger3-2.L"][0] > 1.0 > 0.2 > a["finger3-2.R"][0]
    exact = sample_hand_pose(anny, rng=rng, style="fist", noise=0.0)
    assert exact["finger3-2.L"][0] == pytest.approx(1.45, abs=1e-6)
    with pytest.raises(RecipeError, match="style"):
        sample_hand_pose(anny, rng=rng, style="claw")
    T = 4
    per_frame = {"finger2-1.L": np.linspace(0, 1, T)[:, None] * np.array([1.0, 0, 0])}
    p = apply_hand_pose(np.zeros((T, len(anny.joint_names), 3)), anny, per_frame)
    assert p[:, anny.joint_names.index("finger2-1.L"), 0].tolist() == pytest.approx(np.linspace(0, 1, T).tolist())
    with pytest.raises(BodyModelError, match="not a joint"):
        apply_hand_pose(p, anny, {"left_index1": np.zeros(3)})


# ------------------------------------------------------------------------------------------------ expressions
def test_expression_moves_only_the_face(anny, anny_rest):
    assert tuple(anny.facial_action_names) == ANNY_FACIAL_ACTION_NAMES
    extra = compute_expression(anny, "surprise")
    assert extra["facial_actions"].shape == (52,)
    out = anny.forward(_params(anny, anny.rest_pose()[None], extra))
    d = np.linalg.norm(out.vertices[0] - anny_rest.vertices[0], axis=1)
    parts = anny.vertex_part_labels()
    face_parts = np.isin(parts, [PART_INDEX[p] for p in ("head", "neck", "left_eye", "right_eye")])
    assert d[face_parts].max() > 0.005                        # jaw opens, brows rise
    assert d[~face_parts].max() < 1e-5                        # the rest of the body does not move
    np.testing.assert_allclose(out.joints, anny_rest.joints, atol=1e-5)
    k0, k1 = anny_rest.keypoints[0], out.keypoints[0]
    np.testing.assert_allclose(k1[91:], k0[91:], atol=1e-5)   # hands unchanged
    np.testing.assert_allclose(k1[5:23], k0[5:23], atol=1e-5)  # body below the head unchanged
    assert face(k1, 57)[2] < face(k0, 57)[2] - 0.005           # lower lip drops with the jaw
    # per-frame values, native params, errors
    fa = np.zeros((2, 52), np.float32)
    fa[1, ANNY_FACIAL_ACTION_NAMES.index("eyeBlinkLeft")] = 1.0
    o2 = anny.forward(_params(anny, np.repeat(anny.rest_pose()[None], 2, 0), {"facial_actions": fa}))
    lid_l, lid_r = I["face_44"], I["face_37"]                  # upper lids: person's left, right
    assert o2.keypoints[1, lid_l, 2] < o2.keypoints[0, lid_l, 2] - 0.002   # "Left" is the person's left
    assert abs(o2.keypoints[1, lid_r, 2] - o2.keypoints[0, lid_r, 2]) < 0.001
    assert anny.compute_native_params(_params(anny, anny.rest_pose()[None], extra))["facial_actions"].shape == (1, 52)
    with pytest.raises(BodyModelError, match="facial_actions"):
        anny.forward(_params(anny, anny.rest_pose()[None], {"facial_actions": np.zeros(10)}))
    with pytest.raises(BodyModelError, match=r"\[0, 1\]"):
        anny.forward(_params(anny, anny.rest_pose()[None], {"facial_actions": np.full(52, 2.0)}))


def test_expression_sampling():
    class _A:
        name = "anny"
        facial_action_names = list(ANNY_FACIAL_ACTION_NAMES)

    class _S:
        name = "smplx"
        num_expression = 10

    a = compute_facial_actions("smile")
    assert a[ANNY_FACIAL_ACTION_NAMES.index("mouthSmileLeft")] == pytest.approx(0.8) and a.max() <= 1
    assert set(EXPRESSION_STYLES) >= {"neutral", "smile", "surprise", "sad", "angry", "talk", "eyes_closed"}
    rng = np.random.default_rng(0)
    drawn = [sample_expression(_A(), rng=rng)["facial_actions"] for _ in range(30)]
    assert all(d.shape == (52,) and d.dtype == np.float32 and d.min() >= 0 and d.max() <= 1 for d in drawn)
    assert len({tuple(np.round(d, 3)) for d in drawn}) == 30
    e1 = sample_expression(_A(), rng=np.random.default_rng(7), style="angry")
    e2 = sample_expression(_A(), rng=np.random.default_rng(7), style="angry")
    assert np.array_equal(e1["facial_actions"], e2["facial_actions"])
    assert e1["facial_actions"][ANNY_FACIAL_ACTION_NAMES.index("browDownLeft")] > 0.3
    seq = sample_expression_sequence(_A(), 300, 30.0, rng=np.random.default_rng(2), style="neutral")["facial_actions"]
    blink = seq[:, ANNY_FACIAL_ACTION_NAMES.index("eyeBlinkLeft")]
    assert seq.shape == (300, 52) and blink.max() > 0.9 and np.mean(blink > 0.5) < 0.2   # blinks, eyes mostly open
    talk = sample_expression_sequence(_A(), 90, 30.0, rng=np.random.default_rng(2), style="talk")["facial_actions"]
    assert np.ptp(talk[:, ANNY_FACIAL_ACTION_NAMES.index("jawOpen")]) > 0.1
    s = sample_expression(_S(), rng=rng)["expression"]
    assert s.shape == (10,) and np.abs(s).max() <= 2.0
    assert not sample_expression(_S(), rng=rng, style="neutral")["expression"].any()
    assert sample_expression_sequence(_S(), 5, 30.0, rng=rng)["expression"].shape == (5, 10)
    with pytest.raises(RecipeError, match="no named"):
        sample_expression(_S(), rng=rng, style="smile")
    with pytest.raises(RecipeError, match="unknown facial action"):
        compute_facial_actions({"mouthSmile": 1.0})


# ------------------------------------------------------------------------------------------------ default topology
def test_default_topology_face_vertices():
    """The hand-picked vertices on Anny's own 13,718-vertex mesh: exact mirror pairs, the reduced
    topology's regressed points close to them."""
    big = get_body_model("anny", keypoint_set="wholebody")
    kb = big.forward(big.default_params()).keypoints[0]
    F = kb[23:91]
    fl = WHOLEBODY_FLIP_INDEX[23:91] - 23
    np.testing.assert_allclose(F[:, 0], -F[fl, 0], atol=5e-4)
    np.testing.assert_allclose(F[:, 1:], F[fl, 1:], atol=5e-4)
    eye_w = np.linalg.norm(F[45] - F[42])
    assert 0.02 < eye_w < 0.035                                # eye fissure width (mean adult: ~2.3 cm)
    assert 0.035 < np.linalg.norm(F[54] - F[48]) < 0.06        # mouth width
    assert 0.1 < F[16, 0] - F[0, 0] < 0.16                     # face width at the eyes
    # the reduced topology's regressed face points follow the default ones (relative to the root joint: the two
    # meshes stand on slightly different lowest vertices), also under expressions
    small = get_body_model("anny", topology=TOPO, keypoint_set="wholebody")
    for style in ("neutral", "surprise", "smile"):
        out = {}
        for name, b in (("big", big), ("small", small)):
            p = b.default_params()
            o = b.forward(BodyParams("anny", p.shape, p.pose_rotvec, p.T_world_from_root,
                                     extra=compute_expression(b, style)))
            out[name] = o.keypoints[0] - o.joints[0, 0]
        err = np.linalg.norm(out["small"][23:91] - out["big"][23:91], axis=1)
        assert np.median(err) < 0.002 and err.max() < 0.006, (style, np.median(err), err.max())
        assert np.linalg.norm(out["small"][91:] - out["big"][91:], axis=1).max() < 0.012
    # expressions on the exact vertices: inner brows rise with surprise, the left upper lid closes with eyeBlinkLeft
    p = big.default_params()
    k_s = big.forward(BodyParams("anny", p.shape, p.pose_rotvec, p.T_world_from_root,
                                 extra=compute_expression(big, "surprise"))).keypoints[0]
    assert k_s[I["face_21"], 2] > kb[I["face_21"], 2] + 0.002 and k_s[I["face_22"], 2] > kb[I["face_22"], 2] + 0.002
    k_b = big.forward(BodyParams("anny", p.shape, p.pose_rotvec, p.T_world_from_root,
                                 extra=compute_expression(big, {"eyeBlinkLeft": 1.0}))).keypoints[0]
    lid = k_b[I["face_44"], 2] - k_b[I["face_46"], 2]
    assert lid < 0.5 * (kb[I["face_44"], 2] - kb[I["face_46"], 2]), lid   # the left eye's fissure closes


# ------------------------------------------------------------------------------------------------ SMPL-X
@pytest.fixture(scope="module")
def smplx_body(tmp_path_factory):
    pytest.importorskip("smplx")
    from test_bodies_smplx import write_fake_smplx_npz

    from synth.bodies.smplx_model import SmplxBody

    d = tmp_path_factory.mktemp("smplx_wb")
    write_fake_smplx_npz(d / "SMPLX_NEUTRAL.npz")
    return SmplxBody(model_dir=d, keypoint_set="wholebody"), SmplxBody(model_dir=d), d / "SMPLX_NEUTRAL.npz"


def test_smplx_wholebody(smplx_body):
    from smplx.vertex_ids import vertex_ids

    body, plain, path = smplx_body
    assert body.keypoint_names == WHOLEBODY_KEYPOINT_NAMES and plain.keypoint_names == KEYPOINT_NAMES
    rng = np.random.default_rng(0)
    pose = np.repeat(body.rest_pose()[None], 2, 0)
    hand = sample_hand_pose(body, rng=rng, style={"left": "fist", "right": "point"})
    assert len(hand) == 30 and all(j.startswith(("left_", "right_")) for j in hand)
    lim = body.joint_limits()
    for j, rv in hand.items():
        ji = body.joint_names.index(j)
        assert (rv >= lim[ji, :, 0] - 1e-6).all() and (rv <= lim[ji, :, 1] + 1e-6).all(), j
    pose = apply_hand_pose(pose, body, hand)
    extra = sample_expression(body, rng=rng)
    T = np.broadcast_to(np.eye(4), (2, 4, 4)).copy()
    T[1, :3, 3] = [0.3, -1.0, 0.0]
    params = BodyParams("smplx", body.mean_shape(), pose, T, extra=extra)
    out = body.forward(params)
    ref = plain.forward(params)
    assert out.keypoints.shape == (2, 133, 3) and out.keypoints.dtype == np.float32 and np.isfinite(out.keypoints).all()
    np.testing.assert_array_equal(out.keypoints[:, :23], ref.keypoints)
    np.testing.assert_array_equal(out.vertices, ref.vertices)
    # face: the file's landmarks (frontal contour row, then the 51 static ones), barycentric on the mesh
    with np.load(path) as f:
        tri = np.concatenate([f["dynamic_lmk_faces_idx"][0], f["lmk_faces_idx"]])
        bary = np.concatenate([f["dynamic_lmk_bary_coords"][0], f["lmk_bary_coords"]])
    expect = np.einsum("tkcd,kc->tkd", out.vertices[:, body.faces[tri]], bary)
    np.testing.assert_allclose(out.keypoints[:, 23:91], expect, atol=1e-5)
    # hands: SMPL-X joints and smplx's fingertip vertices
    J = {n: i for i, n in enumerate(body.joint_names)}
    ids = vertex_ids["smplx"]
    for side in ("left", "right"):
        np.testing.assert_allclose(out.keypoints[:, I[f"{side}_hand_wrist"]], out.joints[:, J[f"{side}_wrist"]],
                                   atol=1e-6)
        for f in FINGERS:
            for k in (1, 2, 3):
                np.testing.assert_allclose(out.keypoints[:, I[f"{side}_{f}_{k}"]], out.joints[:, J[f"{side}_{f}{k}"]],
                                           atol=1e-6)
            np.testing.assert_allclose(out.keypoints[:, I[f"{side}_{f}_4"]], out.vertices[:, ids[f"{side[0]}{f}"]],
                                       atol=1e-6)
    # finger flexion signs on SMPL-X's own axes (the synthetic file has SMPL-X's T-pose hand layout, palms down):
    # in a T-pose a fist curls the finger joints down (native -Y = world -Z) and towards the wrist
    zero = np.zeros((1, 55, 3), np.float32)
    tpose = {}
    for style in ("fist", "open"):
        hp = sample_hand_pose(body, rng=rng, style=style, noise=0.0)
        o = body.forward(BodyParams("smplx", body.mean_shape(), apply_hand_pose(zero, body, hp), np.eye(4)[None]))
        tpose[style] = o.keypoints[0]
    for side in ("left", "right"):
        for f in ("index", "middle", "ring", "pinky"):
            fist, opn = tpose["fist"][I[f"{side}_{f}_3"]], tpose["open"][I[f"{side}_{f}_3"]]
            w = tpose["fist"][I[f"{side}_hand_wrist"]]
            assert fist[2] < opn[2] - 0.01, (side, f)
            assert np.linalg.norm(fist - w) < np.linalg.norm(opn - w) - 0.01, (side, f)
    # the expression reaches the mesh
    neutral = body.forward(BodyParams("smplx", body.mean_shape(), pose, T))
    assert np.abs(neutral.vertices - out.vertices).max() > 1e-5
    assert len(keypoint_surface_vertices(body)) == 133
