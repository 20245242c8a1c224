"""Anny body model on the 615-vertex ``notoes_collapse5pc`` topology (same 104-bone rig as the default).

The first run on a machine builds Anny once (30-120 s, ~0.8 GB in
``$SYNTH_CACHE_DIR/anny-build``); every later run reloads the cached
``$SYNTH_CACHE_DIR/anny/*.safetensors`` in about a second.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from synth.bodies.anny_model import AnnyBody, anny_model_data_path
from synth.bodies.anny_shape import anny_age_from_years
from synth.bodies.base import BodyModel, BodyParams, compute_floor_height
from synth.bodies.keypoints import KEYPOINT_INDEX, KEYPOINT_NAMES, KEYPOINT_PARTS, SKELETON_EDGES, keypoint_surface_vertices
from synth.bodies.parts import PART_INDEX, PART_NAMES
from synth.bodies.registry import get_body_model
from synth.core.errors import BodyModelError
from synth.core.transforms import apply_T, look_at_T_cam_from_world, make_T, rot_z

TOPO = "notoes_collapse5pc"


@pytest.fixture(scope="module")
def body() -> AnnyBody:
    return get_body_model("anny", topology=TOPO)


def _params(body, pose, shape=None, T=None):
    pose = np.asarray(pose, np.float32)
    if T is None:
        T = np.broadcast_to(np.eye(4), (len(pose), 4, 4)).copy()
    return BodyParams("anny", body.mean_shape() if shape is None else shape, pose, T)


def test_static_layout(body):
    assert isinstance(body, BodyModel)
    assert body.num_vertices == 615 and body.faces.shape == (1226, 3) and body.faces.dtype == np.int32
    assert len(body.joint_names) == 104 and body.joint_parents[0] == -1
    assert all(0 <= p < j for j, p in enumerate(body.joint_parents) if j > 0)
    assert body.keypoint_names == KEYPOINT_NAMES and len(KEYPOINT_NAMES) == 23
    assert SKELETON_EDGES.max() < 23


def test_forward_batch_shapes_dtypes(body):
    rng = np.random.default_rng(0)
    lim = body.joint_limits()
    T = 5
    pose = rng.uniform(lim[..., 0] * 0.5, lim[..., 1] * 0.5, size=(T, 104, 3))
    out = body.forward(_params(body, pose))
    assert out.vertices.shape == (T, 615, 3) and out.joints.shape == (T, 104, 3) and out.keypoints.shape == (T, 23, 3)
    for a in (out.vertices, out.joints, out.keypoints):
        assert a.dtype == np.float32 and np.isfinite(a).all()
    # the batched call equals frame-by-frame calls
    one = body.forward(_params(body, pose[3:4]))
    assert np.abs(one.vertices[0] - out.vertices[3]).max() < 1e-5
    # frames differ
    assert np.abs(out.vertices[0] - out.vertices[1]).max() > 0.05


def test_feet_on_ground_in_rest_pose(body):
    for age in (2.0, 9.0, 35.0, 80.0):
        shape = body.mean_shape(age_years=age)
        v = body.forward(body.default_params(shape)).vertices[0]
        assert abs(compute_floor_height(v)) < 0.01
        assert v[:, 2].max() > 0.5
    # the root joint stands right above the origin at the ground offset
    out = body.forward(body.default_params())
    assert np.allclose(out.joints[0, 0, :2], 0.0, atol=1e-6)
    assert out.joints[0, 0, 2] == pytest.approx(body.compute_ground_offset(body.mean_shape()), abs=1e-5)
    assert compute_floor_height(out.vertices).shape == (1,)


def test_root_transform(body):
    pose = np.stack([body.rest_pose()] * 2)
    Tw = np.stack([np.eye(4), make_T(rot_z(0.7), [1.5, -2.0, 0.3])])
    out = body.forward(_params(body, pose, T=Tw))
    expect = apply_T(Tw[1], out.vertices[0])
    assert np.abs(out.vertices[1] - expect).max() < 1e-5
    expect_k = apply_T(Tw[1], out.keypoints[0])
    assert np.abs(out.keypoints[1] - expect_k).max() < 1e-5


def test_keypoints_left_right_by_projection(body):
    out = body.forward(body.default_params())
    kp = out.keypoints[0]
    # camera 4 m in front of the person (who faces -Y), looking at the chest
    T_cam = look_at_T_cam_from_world(np.array([0.0, -4.0, 1.2]), np.array([0.0, 0.0, 1.2]))
    Xc = apply_T(T_cam, kp)
    K = np.array([[800.0, 0, 320], [0, 800.0, 240], [0, 0, 1]])
    uv = (Xc @ K.T)[:, :2] / Xc[:, 2:3]
    u = {n: uv[i, 0] for i, n in enumerate(KEYPOINT_NAMES)}
    v = {n: uv[i, 1] for i, n in enumerate(KEYPOINT_NAMES)}
    # facing the camera, the person's left side appears on the image's right (larger u)
    for part in ("eye", "ear", "shoulder", "elbow", "wrist", "hip", "knee", "ankle", "big_toe", "small_toe", "heel"):
        assert u[f"left_{part}"] > u[f"right_{part}"] + 2, part
    # image y down: head above shoulders above hips above knees above ankles
    assert v["nose"] < v["left_shoulder"] < v["left_hip"] < v["left_knee"] < v["left_ankle"]
    # facing -Y: nose in front of the ears, toes in front of the heels
    assert kp[KEYPOINT_INDEX["nose"], 1] < kp[KEYPOINT_INDEX["left_ear"], 1] - 0.05
    assert kp[KEYPOINT_INDEX["left_big_toe"], 1] < kp[KEYPOINT_INDEX["left_heel"], 1] - 0.1
    # keypoints of the reduced topology agree with the default topology's regressor (fitted transfer)
    joints = {n: out.joints[0, body.joint_index(n)] for n in ("lowerleg01.L", "lowerarm01.R")}
    assert np.linalg.norm(kp[KEYPOINT_INDEX["left_knee"]] - joints["lowerleg01.L"]) < 0.06
    assert np.linalg.norm(kp[KEYPOINT_INDEX["right_elbow"]] - joints["lowerarm01.R"]) < 0.06


def test_joint_limits(body):
    lim = body.joint_limits()
    assert lim.shape == (104, 3, 2) and lim.dtype == np.float32
    assert np.all(lim[..., 0] <= lim[..., 1])
    rest = body.rest_pose()
    assert rest.shape == (104, 3) and np.all(lim[..., 0] <= rest) and np.all(rest <= lim[..., 1])
    j = body.joint_index
    assert lim[j("lowerleg01.L"), 0, 1] > 2.0 and lim[j("upperleg01.R"), 0, 0] < -1.5  # knee/hip flexion ranges
    assert lim[j("finger2-3.L")].max() <= 1.5 and np.abs(lim[j("pelvis.L")]).max() <= 0.0501  # small for others


def test_joint_limit_signs(body):
    """The anatomical meaning of the limit axes, measured on the model."""
    rest = body.rest_pose()
    j = body.joint_index

    def moved(bone, axis, angle, marker):
        pose = np.stack([rest, rest])
        pose[1, j(bone), axis] += angle
        out = body.forward(_params(body, pose))
        return out.joints[1, j(marker)] - out.joints[0, j(marker)]

    d = moved("lowerleg01.L", 0, 1.0, "foot.L")          # knee flexion: ankle goes back (+Y) and up
    assert d[1] > 0.15 and d[2] > 0.05
    d = moved("upperleg01.R", 0, -1.0, "lowerleg01.R")    # hip flexion: knee goes forward (-Y) and up
    assert d[1] < -0.15 and d[2] > 0.05
    d = moved("lowerarm01.L", 0, 1.0, "wrist.L")          # elbow flexion: wrist goes up
    assert d[2] > 0.08
    d = moved("upperarm01.L", 2, 1.0, "lowerarm01.L")     # +Z abducts the left arm (elbow out and up)
    assert d[0] > 0.05 and d[2] > 0.05
    d = moved("upperarm01.R", 2, -1.0, "lowerarm01.R")    # -Z abducts the right arm
    assert d[0] < -0.05 and d[2] > 0.05
    d = moved("spine03", 0, 0.5, "head")                  # spine flexion: head forward
    assert d[1] < -0.05


def test_children_shorter_than_adults(body):
    adult = body.compute_height({"age": np.float32(anny_age_from_years(30.0))})
    toddler = body.compute_height({"age": np.float32(0.1)})
    assert toddler < 0.65 * adult
    rng = np.random.default_rng(1)
    kids = [body.compute_height(body.sample_shape(rng, age_range=(4, 6))) for _ in range(4)]
    grown = [body.compute_height(body.sample_shape(rng, age_range=(25, 50))) for _ in range(4)]
    assert max(kids) < min(grown)
    assert 0.9 < np.mean(kids) < 1.3 and 1.45 < np.mean(grown) < 2.0


def test_sample_shape(body):
    a = body.sample_shape(np.random.default_rng(7), age_range=(1, 90))
    b = body.sample_shape(np.random.default_rng(7), age_range=(1, 90))
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    assert set(a) == {"gender", "age", "muscle", "weight", "height", "proportions", "age_years"}
    rng = np.random.default_rng(2)
    for _ in range(20):
        s = body.sample_shape(rng, age_range=(10, 12), gender="female")
        assert 10 <= s["age_years"] <= 12 and s["gender"] >= 0.8
        assert all(0.0 <= float(s[k]) <= 1.0 for k in ("gender", "age", "muscle", "weight", "height", "proportions"))
    assert float(body.sample_shape(rng, gender=0.3)["gender"]) == pytest.approx(0.3)
    with pytest.raises(BodyModelError, match="age_range"):
        body.sample_shape(rng, age_range=(50, 20))
    with pytest.raises(BodyModelError, match="gender"):
        body.sample_shape(rng, gender="robot")


def test_parts_and_surface_proxies(body):
    parts = body.vertex_part_labels()
    assert parts.shape == (615,) and body.part_names == PART_NAMES
    present = {PART_NAMES[i] for i in np.unique(parts)}
    assert {"head", "torso", "pelvis", "left_hand", "right_foot", "left_thigh", "right_forearm"} <= present
    v = body.forward(body.default_params()).vertices[0]
    assert v[parts == PART_INDEX["left_hand"], 0].min() > 0.05     # left hand on the person's left (+X)
    assert v[parts == PART_INDEX["head"], 2].min() > v[parts == PART_INDEX["right_shin"], 2].max()
    kp = body.forward(body.default_params()).keypoints[0]
    proxies = keypoint_surface_vertices(body)
    assert keypoint_surface_vertices(body) is proxies  # computed once per model
    assert len(proxies) == 23
    for k, (name, idx) in enumerate(zip(KEYPOINT_NAMES, proxies)):
        assert 5 <= len(idx) <= 30, name
        allowed = [PART_INDEX[p] for p in KEYPOINT_PARTS[name]]
        assert np.isin(parts[idx], allowed).all(), name
        assert np.linalg.norm(v[idx] - kp[k], axis=1).min() < 0.12, name


def test_input_errors(body):
    with pytest.raises(BodyModelError, match="download"):
        AnnyBody(topology="smplx")
    with pytest.raises(BodyModelError, match="rig"):
        AnnyBody(topology=TOPO, rig="mixamo")
    with pytest.raises(BodyModelError, match="pose_rotvec"):
        body.forward(_params(body, np.zeros((2, 50, 3))))
    with pytest.raises(BodyModelError, match="unknown shape keys"):
        body.forward(_params(body, np.zeros((1, 104, 3)), shape={"betas": np.zeros(10)}))
    with pytest.raises(BodyModelError, match="T_world_from_root"):
        body.forward(_params(body, np.zeros((2, 104, 3)), T=np.eye(4)[None]))


def test_cached_instance_and_reload_without_rebuild(body, tmp_path):
    """A fresh process loads the saved model data: Anny's own build (0.8 GB in ANNY_CACHE_DIR) never runs again.

    (How fast the reload is belongs to benchmarks, not to a timed test.)"""
    assert get_body_model("anny", topology=TOPO) is body
    assert anny_model_data_path(TOPO, "default").is_file()
    build_dir = tmp_path / "anny-build"
    build_dir.mkdir()
    code = textwrap.dedent(f"""
        import json, time
        t0 = time.perf_counter()
        from synth.bodies.anny_model import AnnyBody
        t1 = time.perf_counter()
        b = AnnyBody({TOPO!r})
        t2 = time.perf_counter()
        out = b.forward(b.default_params())
        print(json.dumps({{"import_s": t1 - t0, "load_s": t2 - t1, "zmin": float(out.vertices[0, :, 2].min())}}))
    """)
    env = {**os.environ, "ANNY_CACHE_DIR": str(build_dir)}
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env)
    assert res.returncode == 0, res.stderr[-2000:]
    info = json.loads(res.stdout.strip().splitlines()[-1])
    assert list(build_dir.iterdir()) == [], "the reload rebuilt Anny instead of reading the saved model data"
    assert abs(info["zmin"]) < 1e-4


def test_registry_normalises_options(body):
    assert get_body_model("anny", topology=TOPO, rig="default") is body
    with pytest.raises(BodyModelError, match="bad options"):
        get_body_model("anny", topology=TOPO, colour="red")
    with pytest.raises(BodyModelError, match="unknown body model"):
        get_body_model("smpl")
