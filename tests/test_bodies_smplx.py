"""SMPL-X through the real ``smplx.create`` loading path, on a synthetic SMPLX_NEUTRAL.npz.

The real model files are licensed (non-commercial) and not downloadable here,
so the test writes a file with SMPL-X's real keys, shapes and kinematic tree:
a "body" made of one vertex cluster per joint (one-hot skinning weights,
J_regressor = cluster mean), laid out like a T-posed person in SMPL-X's native
frame (Y up, facing +Z, the person's left at +X). The keypoint vertices smplx
uses (nose 9120, eyes, ears, toes, heels) are placed where they belong.
"""

from __future__ import annotations

import numpy as np
import pytest

smplx = pytest.importorskip("smplx")

from synth.bodies.base import BodyModel, BodyParams, compute_floor_height  # noqa: E402
from synth.bodies.keypoints import KEYPOINT_INDEX, KEYPOINT_NAMES, keypoint_surface_vertices  # noqa: E402
from synth.bodies.parts import PART_INDEX  # noqa: E402
from synth.bodies.smplx_model import T_ZUP_FROM_SMPLX, SmplxBody  # noqa: E402
from synth.core.errors import AssetError, BodyModelError  # noqa: E402
from synth.core.transforms import make_T, rot_z  # noqa: E402

SMPLX_PARENTS = [-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 15, 15, 15,
                 20, 25, 26, 20, 28, 29, 20, 31, 32, 20, 34, 35, 20, 37, 38,
                 21, 40, 41, 21, 43, 44, 21, 46, 47, 21, 49, 50, 21, 52, 53]
V = 10475


def _tpose_joints() -> np.ndarray:
    """(55, 3) T-pose joint positions, SMPL-X native frame (Y up, facing +Z, left = +X)."""
    J = np.zeros((55, 3))
    body = {
        0: (0, 0, 0), 1: (0.06, -0.09, 0), 3: (0, 0.11, -0.02), 4: (0.10, -0.47, 0), 6: (0, 0.25, 0),
        7: (0.09, -0.87, -0.04), 9: (0, 0.31, 0.02), 10: (0.11, -0.93, 0.08), 12: (0, 0.52, -0.01),
        13: (0.07, 0.43, 0), 15: (0, 0.60, 0.03), 16: (0.17, 0.45, -0.01), 18: (0.43, 0.44, -0.02),
        20: (0.68, 0.44, -0.01), 22: (0, 0.58, 0.04), 23: (0.03, 0.66, 0.09),
    }
    mirror = {1: 2, 4: 5, 7: 8, 10: 11, 13: 14, 16: 17, 18: 19, 20: 21, 23: 24}
    for j, p in body.items():
        J[j] = p
        if j in mirror:
            J[mirror[j]] = (-p[0], p[1], p[2])
    for base, sx in ((25, 1.0), (40, -1.0)):
        for f, dz in enumerate((0.025, 0.005, -0.035, -0.015)):  # index, middle, pinky, ring
            for k in range(3):
                J[base + 3 * f + k] = (sx * (0.77 + 0.03 * k), 0.44, dz)
        for k in range(3):  # thumb
            J[base + 12 + k] = (sx * (0.71 + 0.025 * k), 0.43, 0.04 + 0.015 * k)
    return J


def write_fake_smplx_npz(path, seed: int = 0) -> np.ndarray:
    """Write a synthetic SMPLX_NEUTRAL.npz with SMPL-X's keys and shapes; returns its T-pose joints."""
    rng = np.random.default_rng(seed)
    J = _tpose_joints()
    cluster = (np.arange(V) * 55) // V
    special = {  # smplx vertex_ids['smplx'] -> (joint, position)
        9120: (15, (0, 0.60, 0.12)), 9448: (23, (0.03, 0.66, 0.10)), 9929: (24, (-0.03, 0.66, 0.10)),
        6: (15, (0.08, 0.62, 0.0)), 616: (15, (-0.08, 0.62, 0.0)),
        5770: (10, (0.10, -0.97, 0.18)), 5780: (10, (0.15, -0.97, 0.15)), 8846: (7, (0.09, -0.97, -0.07)),
        8463: (11, (-0.10, -0.97, 0.18)), 8474: (11, (-0.15, -0.97, 0.15)), 8635: (8, (-0.09, -0.97, -0.07)),
    }
    offsets = rng.normal(0, 0.025, size=(V, 3))
    v = J[cluster] + offsets
    for i, (j, p) in special.items():
        cluster[i] = j
        v[i] = p
    weights = np.zeros((V, 55))
    weights[np.arange(V), cluster] = 1.0
    Jreg = np.zeros((55, V))
    for j in range(55):
        members = np.flatnonzero(cluster == j)
        v[members] += J[j] - v[members].mean(0)   # cluster mean == joint
        Jreg[j, members] = 1.0 / len(members)
    faces = []
    for j in range(55):
        m = np.flatnonzero(cluster == j)
        faces += [(m[i], m[i + 1], m[i + 2]) for i in range(0, len(m) - 2)]
    faces = np.array(faces, dtype=np.uint32)
    shapedirs = rng.normal(0, 1e-3, size=(V, 3, 400))
    shapedirs[:, 1, 0] = 0.06 * (v[:, 1] - v[:, 1].min())  # beta 0: taller
    posedirs = rng.normal(0, 1e-4, size=(V, 3, 486))
    kintree = np.array([SMPLX_PARENTS, list(range(55))], dtype=np.int64)
    kintree[0, 0] = 4294967295  # as in the released files
    comps = [np.linalg.qr(rng.normal(size=(45, 45)))[0] for _ in range(2)]
    bary = rng.dirichlet(np.ones(3), size=51)
    np.savez(
        path, v_template=v, f=faces, J_regressor=Jreg, weights=weights, kintree_table=kintree,
        shapedirs=shapedirs, posedirs=posedirs,
        hands_componentsl=comps[0], hands_componentsr=comps[1],
        hands_meanl=rng.normal(0, 0.1, size=45), hands_meanr=rng.normal(0, 0.1, size=45),
        lmk_faces_idx=rng.integers(0, len(faces), size=51).astype(np.int64), lmk_bary_coords=bary,
        dynamic_lmk_faces_idx=rng.integers(0, len(faces), size=(79, 17)).astype(np.int64),
        dynamic_lmk_bary_coords=rng.dirichlet(np.ones(3), size=(79, 17)),
    )
    return J


@pytest.fixture(scope="module")
def body(smplx_dir) -> SmplxBody:
    return SmplxBody(model_dir=smplx_dir)


def test_missing_file_error(tmp_path, monkeypatch):
    monkeypatch.delenv("SYNTH_SMPLX_DIR", raising=False)
    monkeypatch.setenv("SYNTH_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(AssetError) as err:
        SmplxBody()
    msg = str(err.value)
    assert "SMPLX_NEUTRAL.npz" in msg and "SYNTH_SMPLX_DIR" in msg and "~/.cache/synth/smplx" in msg
    assert "https://smpl-x.is.tue.mpg.de" in msg and "non-commercial" in msg
    assert str(tmp_path / "cache" / "smplx") in msg  # where it looked
    with pytest.raises(AssetError):
        SmplxBody(model_dir=tmp_path / "nowhere", gender="female")


def test_env_dir_and_subfolder_layout(smplx_dir, tmp_path, monkeypatch):
    sub = tmp_path / "models" / "smplx"
    sub.mkdir(parents=True)
    (sub / "SMPLX_NEUTRAL.npz").symlink_to(smplx_dir / "SMPLX_NEUTRAL.npz")
    monkeypatch.setenv("SYNTH_SMPLX_DIR", str(tmp_path / "models"))
    b = SmplxBody()
    assert b.model_path == sub / "SMPLX_NEUTRAL.npz"


def test_static_layout(body):
    assert isinstance(body, BodyModel)
    assert body.num_vertices == V and body.faces.dtype == np.int32 and body.faces.shape[1] == 3
    assert len(body.joint_names) == 55 and body.joint_names[16] == "left_shoulder"
    assert body.joint_parents.tolist() == SMPLX_PARENTS
    assert body.keypoint_names == KEYPOINT_NAMES
    assert body.joint_limits().shape == (55, 3, 2) and body.rest_pose().shape == (55, 3)
    lim, rest = body.joint_limits(), body.rest_pose()
    assert np.all(lim[..., 0] <= rest) and np.all(rest <= lim[..., 1])
    parts = body.vertex_part_labels()
    assert parts.shape == (V,)
    assert parts[9120] == PART_INDEX["head"] and parts[5770] == PART_INDEX["left_foot"]


def test_forward_zup_and_floor(body, smplx_dir):
    T = 3
    params = body.default_params(frames=T)
    out = body.forward(params)
    assert out.vertices.shape == (T, V, 3) and out.joints.shape == (T, 55, 3) and out.keypoints.shape == (T, 23, 3)
    assert out.vertices.dtype == np.float32 and out.keypoints.dtype == np.float32
    v, k = out.vertices[0], out.keypoints[0]
    assert abs(compute_floor_height(v)) < 1e-4                          # feet on z = 0
    # Z-up: nose above the hips above the ankles; facing -Y: the nose is in front (-Y) of the ears
    kp = {n: k[i] for i, n in enumerate(KEYPOINT_NAMES)}
    assert kp["nose"][2] > kp["left_hip"][2] + 0.4 > kp["left_ankle"][2] + 0.6
    assert kp["nose"][1] < kp["left_ear"][1] - 0.05
    assert kp["left_big_toe"][1] < kp["left_heel"][1] - 0.15           # toes point forward (-Y)
    # the person's left is +X
    for a in ("shoulder", "hip", "ankle", "eye"):
        assert kp[f"left_{a}"][0] > 0 > kp[f"right_{a}"][0]
    # pelvis joint right above the origin, at the ground offset
    assert np.allclose(out.joints[0, 0, :2], 0, atol=1e-5)
    assert out.joints[0, 0, 2] == pytest.approx(body.compute_ground_offset(body.mean_shape()), abs=1e-5)
    # same as applying T_ZUP_FROM_SMPLX to the T-pose template, up to the shift (zero pose)
    zero = BodyParams("smplx", body.mean_shape(), np.zeros((1, 55, 3), np.float32), np.eye(4)[None])
    vz = body.forward(zero).vertices[0]
    tmpl = np.load(smplx_dir / "SMPLX_NEUTRAL.npz")["v_template"] @ T_ZUP_FROM_SMPLX[:3, :3].T
    d = vz - tmpl
    assert np.allclose(d, d.mean(0), atol=2e-3)  # a pure translation (posedirs noise only)


def test_pose_and_root_transform(body):
    params = body.default_params(frames=2)
    pose = params.pose_rotvec.copy()
    pose[1, 4] = [1.2, 0, 0]                      # left knee flexed
    Tw = params.T_world_from_root.copy()
    Tw[1] = make_T(rot_z(np.pi / 2), [1.0, 2.0, 0.0])
    out = body.forward(BodyParams("smplx", params.shape, pose, Tw))
    a0 = out.keypoints[0, KEYPOINT_INDEX["left_ankle"]]
    # undo the root transform of frame 1 and compare in the model frame
    a1 = (out.keypoints[1, KEYPOINT_INDEX["left_ankle"]] - Tw[1][:3, 3]) @ Tw[1][:3, :3]
    assert a1[1] > a0[1] + 0.2 and a1[2] > a0[2] + 0.1  # shank swings back (+Y) and up
    right0 = out.keypoints[0, KEYPOINT_INDEX["right_ankle"]]
    right1 = (out.keypoints[1, KEYPOINT_INDEX["right_ankle"]] - Tw[1][:3, 3]) @ Tw[1][:3, :3]
    assert np.allclose(right0, right1, atol=1e-4)


def test_native_params_reproduce_forward(body, smplx_dir):
    import torch

    rng = np.random.default_rng(3)
    T = 2
    lim = body.joint_limits()
    pose = rng.uniform(lim[..., 0] * 0.5, lim[..., 1] * 0.5, size=(T, 55, 3)).astype(np.float32)
    pose[:, 0] = [0.3, -0.2, 0.1]
    Tw = np.stack([make_T(rot_z(a), [a, -1.0, 0.2]) for a in (0.4, -1.1)])
    shape = body.sample_shape(rng)
    params = BodyParams("smplx", shape, pose, Tw, extra={"expression": rng.normal(size=(T, 10)).astype(np.float32)})
    out = body.forward(params)
    nat = body.compute_native_params(params)
    assert nat["body_pose"].shape == (T, 63) and nat["left_hand_pose"].shape == (T, 45) and nat["transl"].shape == (T, 3)
    m = smplx.create(str(smplx_dir / "SMPLX_NEUTRAL.npz"), model_type="smplx", use_pca=False, flat_hand_mean=True,
                     num_betas=10, num_expression_coeffs=10)
    tt = {k: torch.from_numpy(np.asarray(v, np.float32)) for k, v in nat.items()}
    with torch.no_grad():
        res = m(betas=tt["betas"][None].expand(T, -1), expression=tt["expression"], global_orient=tt["global_orient"],
                body_pose=tt["body_pose"], jaw_pose=tt["jaw_pose"], leye_pose=tt["leye_pose"], reye_pose=tt["reye_pose"],
                left_hand_pose=tt["left_hand_pose"], right_hand_pose=tt["right_hand_pose"], transl=tt["transl"])
    verts = res.vertices.numpy() @ T_ZUP_FROM_SMPLX[:3, :3].T
    assert np.abs(verts - out.vertices).max() < 1e-4


def test_same_label_layout_as_anny(body):
    from synth.bodies.registry import get_body_model

    anny = get_body_model("anny", topology="notoes_collapse5pc")
    pa, ps = anny.forward(anny.default_params(frames=2)), body.forward(body.default_params(frames=2))
    assert anny.keypoint_names == body.keypoint_names == KEYPOINT_NAMES
    assert anny.part_names == body.part_names
    for f in ("vertices", "joints", "keypoints"):
        a, s = getattr(pa, f), getattr(ps, f)
        assert a.ndim == s.ndim == 3 and a.shape[0] == s.shape[0] == 2 and a.shape[2] == s.shape[2] == 3
        assert a.dtype == s.dtype == np.float32
    assert pa.keypoints.shape == ps.keypoints.shape
    proxies = keypoint_surface_vertices(body)
    assert len(proxies) == 23 and all(5 <= len(p) <= 30 for p in proxies)


def test_shape_sampling_rules(body):
    rng = np.random.default_rng(0)
    s = body.sample_shape(rng)
    assert s["betas"].shape == (10,) and np.all(np.abs(s["betas"]) <= 2.5)
    with pytest.raises(BodyModelError, match="adult"):
        body.sample_shape(rng, age_range=(1, 90))
    with pytest.raises(BodyModelError, match="gender"):
        body.sample_shape(rng, gender="female")
    # beta 0 of the synthetic file makes the body taller
    short = body.forward(body.default_params({"betas": np.zeros(10, np.float32)})).vertices[0]
    tall_b = np.zeros(10, np.float32)
    tall_b[0] = 2.0
    tall = body.forward(body.default_params({"betas": tall_b})).vertices[0]
    assert np.ptp(tall[:, 2]) > np.ptp(short[:, 2]) + 0.1
    assert abs(compute_floor_height(tall)) < 1e-4


def test_asset_manifest_locates_user_files(smplx_dir, tmp_path, monkeypatch):
    from synth.assets.manifest import check_assets, load_manifest

    entries = load_manifest()
    assert {"smplx", "anny"} <= set(entries)
    sm = entries["smplx"]
    assert sm.user_supplied and "non-commercial" in sm.licence and sm.env_var == "SYNTH_SMPLX_DIR"
    assert [f.name for f in sm.files if f.required] == ["SMPLX_NEUTRAL.npz"]
    monkeypatch.setenv("SYNTH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("SYNTH_SMPLX_DIR", raising=False)
    status = {(s.asset, s.file): s for s in check_assets()}
    assert status[("smplx", "SMPLX_NEUTRAL.npz")].path is None
    assert sm.search_dirs() == [tmp_path / "cache" / "smplx"]
    monkeypatch.setenv("SYNTH_SMPLX_DIR", str(smplx_dir))
    status = {(s.asset, s.file): s for s in check_assets()}
    found = status[("smplx", "SMPLX_NEUTRAL.npz")]
    assert found.path == smplx_dir / "SMPLX_NEUTRAL.npz" and found.sha256_ok is None
    assert status[("smplx", "SMPLX_FEMALE.npz")].path is None and not status[("smplx", "SMPLX_FEMALE.npz")].required
