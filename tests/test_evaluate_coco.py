"""COCO person-keypoint sets as evaluation data: coordinates, flags, joint-group accuracy, box files for predict
(small hand-made COCO files, no rendering), and the real photos of ../shared/realdata when present."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest


def _realdata() -> Path:
    """``$SYNTH_REALDATA``, else ``../shared/realdata`` beside the checkout (or beside the worktrees' folder)."""
    if os.environ.get("SYNTH_REALDATA"):
        return Path(os.environ["SYNTH_REALDATA"])
    root = Path(__file__).resolve().parents[1]
    for base in (root.parent, root.parent.parent):
        if (base / "shared" / "realdata").is_dir():
            return base / "shared" / "realdata"
    return root.parent / "shared" / "realdata"


REALDATA = _realdata()


def _write_png(path: Path, w: int, h: int) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((h, w, 3), 90, np.uint8)).save(path)


def _tiny_coco(tmp_path: Path) -> Path:
    """Two images, three people: one with all 17 points, one with the 12 limb joints (MPII-like), one crowd."""
    _write_png(tmp_path / "images" / "000000000007.png", 80, 60)
    _write_png(tmp_path / "images" / "b.png", 40, 50)
    full = []
    for i in range(17):
        full += [10.0 + i, 20.0 + i, 2 if i % 3 else 1]
    limbs = [0.0, 0.0, 0] * 5
    for i in range(12):
        limbs += [5.0 + i, 6.0 + 2 * i, 2]
    doc = {"images": [{"id": 7, "file_name": "000000000007.png", "width": 80, "height": 60},
                      {"id": 8, "file_name": "b.png", "width": 40, "height": 50}],
           "annotations": [
               {"id": 1, "image_id": 7, "category_id": 1, "iscrowd": 0, "keypoints": full,
                "bbox": [8.0, 18.0, 24.0, 30.0], "area": 500.0, "num_keypoints": 17},
               {"id": 2, "image_id": 8, "category_id": 1, "iscrowd": 0, "keypoints": limbs,
                "bbox": [2.0, 3.0, 20.0, 40.0], "area": 600.0, "num_keypoints": 12},
               {"id": 3, "image_id": 8, "category_id": 1, "iscrowd": 1, "keypoints": limbs,
                "bbox": [2.0, 3.0, 20.0, 40.0], "area": 600.0, "num_keypoints": 12}],
           "categories": [{"id": 1, "name": "person"}]}
    path = tmp_path / "annotations.json"
    path.write_text(json.dumps(doc))
    return path


def test_coco_people_keep_only_the_points_the_set_labels(tmp_path):
    from synth.estimators.keypoints2d.coco import load_coco_instances
    from synth.estimators.keypoints2d.data import select_keypoints

    ann = _tiny_coco(tmp_path)
    data = load_coco_instances(str(ann))
    assert len(data) == 2 and data.views == 2 and data.people_seen == 3       # the crowd annotation is left out
    a, b = data.instances
    assert a.flags.tolist() == [2 if i % 3 else 1 for i in range(17)]
    # COCO continuous coordinates -> pixel-centre coordinates: x - 0.5
    assert np.allclose(a.keypoints[4], [14 - 0.5, 24 - 0.5])
    assert np.allclose(a.bbox_xyxy, [8, 18, 32, 48]) and a.area_px == 500.0
    assert b.flags[:5].tolist() == [0] * 5 and (b.flags[5:] == 2).all() and np.isnan(b.keypoints[:5]).all()
    assert data.images[b.image_index].shape == (50, 40, 3)
    # a 23-point model gets the foot points unlabelled
    names, _ = select_keypoints(23)
    d23 = load_coco_instances(str(ann), keypoint_names=names)
    assert d23.instances[0].keypoints.shape == (23, 2) and (d23.instances[0].flags[17:] == 0).all()


def test_limb_accuracy_counts_joints_within_a_tenth_of_the_box_height():
    from synth.estimators.keypoints2d.coco import limb_accuracy

    gt = np.zeros((2, 17, 2))
    flags = np.full((2, 17), 2)
    flags[1, :5] = 0                                   # person 2: no head labels
    pred = gt.copy()
    pred[0, 5:11, 0] = 9.9                             # 6 limb joints 9.9 px off: inside 0.1 x 100 px
    pred[0, 11:17, 0] = 10.1                           # 6 limb joints 10.1 px off: outside
    pred[1, 5:17, 1] = 3.0                             # box 20 px high: 3 px > 2 px, all wrong
    pred[1, 0, 1] = 50.0                               # unlabelled head point: not counted
    res = limb_accuracy(pred, gt, flags, np.array([100.0, 20.0]))
    assert res["limb_joints"] == {"accuracy": 6 / 24, "joints": 24}
    assert res["shoulders"] == {"accuracy": 0.5, "joints": 4} and res["ankles"] == {"accuracy": 0.0, "joints": 4}
    assert res["head"] == {"accuracy": 1.0, "joints": 5} and res["people"] == 2


def test_person_boxes_from_a_coco_file_a_results_list_the_command_line_or_the_whole_image(tmp_path):
    from synth.estimators.engine.errors import EstimatorError
    from synth.estimators.engine.predict_inputs import (
        list_images,
        parse_box,
        person_boxes,
    )

    ann = _tiny_coco(tmp_path)
    images = list_images(str(tmp_path / "images"))
    assert [os.path.basename(p) for p in images] == ["000000000007.png", "b.png"]
    got = person_boxes(images, boxes_file=str(ann))
    assert got[0].image_id == 7 and np.allclose(got[0].boxes_xyxy, [[8, 18, 32, 48]])
    assert got[1].image_id == 8 and len(got[1].boxes_xyxy) == 1          # the crowd box is skipped
    # a detector's results list: image_id is the file stem's number; low scores and other classes dropped
    dets = [{"image_id": 7, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 0.9},
            {"image_id": 7, "category_id": 1, "bbox": [5, 5, 5, 5], "score": 0.1},
            {"image_id": 7, "category_id": 3, "bbox": [5, 5, 5, 5], "score": 0.9},
            {"image_id": 99, "category_id": 1, "bbox": [5, 5, 5, 5], "score": 0.9}]
    (tmp_path / "dets.json").write_text(json.dumps(dets))
    got = person_boxes(images, boxes_file=str(tmp_path / "dets.json"), min_score=0.5)
    assert np.allclose(got[0].boxes_xyxy, [[1, 2, 4, 6]]) and got[0].scores.tolist() == [0.9]
    assert len(got[1].boxes_xyxy) == 0
    whole = person_boxes(images)
    assert np.allclose(whole[1].boxes_xyxy, [[0, 0, 40, 50]])
    given = person_boxes(images[:1], boxes=[parse_box("1,2,3,4")])
    assert np.allclose(given[0].boxes_xyxy, [[1, 2, 4, 6]])
    with pytest.raises(EstimatorError, match="X,Y,W,H"):
        parse_box("1,2,3")
    (tmp_path / "none.json").write_text(json.dumps([{"image_id": 5, "bbox": [1, 1, 2, 2]}]))
    with pytest.raises(EstimatorError, match="no person box"):
        person_boxes(images, boxes_file=str(tmp_path / "none.json"))


def test_missing_images_and_bad_files_say_what_to_fix(tmp_path):
    from synth.estimators.engine.errors import EstimatorError
    from synth.estimators.keypoints2d.coco import load_coco_instances

    ann = _tiny_coco(tmp_path)
    with pytest.raises(EstimatorError, match="--images"):
        load_coco_instances(str(ann), str(tmp_path / "elsewhere"))
    (tmp_path / "bad.json").write_text("[1, 2]")
    with pytest.raises(EstimatorError, match="'images' and 'annotations'"):
        load_coco_instances(str(tmp_path / "bad.json"))


@pytest.mark.skipif(not REALDATA.is_dir(), reason="../shared/realdata (real photos for evaluation) is absent")
def test_the_real_photo_sets_load_with_their_counts():
    from synth.estimators.keypoints2d.coco import limb_accuracy, load_coco_instances

    counts = {}
    for name in ("coco", "mpii", "aic", "h36m", "crowdpose"):
        data = load_coco_instances(str(REALDATA / name / "annotations.json"))
        flags = np.stack([i.flags for i in data.instances])
        gt = np.stack([i.keypoints for i in data.instances]).astype(np.float64)
        h = np.array([i.bbox_xyxy[3] - i.bbox_xyxy[1] for i in data.instances])
        # the labels themselves are 100 % accurate on every joint they have
        assert limb_accuracy(np.nan_to_num(gt), gt, flags, h)["limb_joints"]["accuracy"] == 1.0
        counts[name] = (len(data), int((flags > 0).sum()))
    assert {k: v[0] for k, v in counts.items()} == {"coco": 12, "mpii": 5, "aic": 9, "h36m": 4, "crowdpose": 4}
    assert counts["h36m"][1] == 48          # 12 limb joints each, no head points


def test_pa_mpjpe_over_labelled_joints_ignores_pose_frame_scale_and_unlabelled_points():
    from synth.estimators.mesh.real_eval import pa_mpjpe_labelled_mm

    rng = np.random.default_rng(0)
    gt = rng.normal(size=(1, 17, 3)) * 0.3
    gt[0, :5] = np.nan                                     # head unlabelled (as MPII / Human3.6M)
    c, s = np.cos(0.7), np.sin(0.7)
    R = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    pred = 1.3 * np.nan_to_num(gt) @ R.T + 5.0             # another frame, scale and place: same shape
    pred[0, :5] = 100.0                                     # wild guesses where nothing is labelled
    assert pa_mpjpe_labelled_mm(pred, gt)[0] == pytest.approx(0.0, abs=1e-6)
    pred[0, 9] += np.array([0.0, 0.0, 0.12 * 1.3])          # one wrist 12 cm off (in the label's scale)
    err = pa_mpjpe_labelled_mm(pred, gt)[0]
    # Procrustes minimises the squared error: mean <= RMS <= the unaligned RMS, sqrt(120^2 / 12) = 34.6 mm
    assert 1.0 < err <= np.sqrt(120.0 ** 2 / 12)


@pytest.mark.skipif(not REALDATA.is_dir(), reason="../shared/realdata (real photos for evaluation) is absent")
def test_human36m_people_carry_12_labelled_3d_joints_in_metres():
    from synth.estimators.mesh.real_eval import load_coco_3d

    d = load_coco_3d(str(REALDATA / "h36m" / "annotations.json"))
    lab = np.isfinite(d.keypoints_3d).all(axis=2)
    assert len(d) == 4 and lab.sum() == 48 and not lab[:, :5].any()
    hips = np.linalg.norm(d.keypoints_3d[:, 11] - d.keypoints_3d[:, 12], axis=1)
    assert ((hips > 0.1) & (hips < 0.5)).all()              # metres, not millimetres
    assert d.instances[0].K[0, 0] == pytest.approx(np.hypot(*d.images[0].shape[:2][::-1]))


def test_mesh_overlay_placement_fills_the_box():
    from synth.estimators.mesh.predict import default_intrinsics, place_in_box

    rng = np.random.default_rng(1)
    verts = rng.uniform([-0.3, -0.9, -0.15], [0.3, 0.8, 0.15], size=(500, 3))   # a 1.7 m tall body, pelvis-relative
    K = default_intrinsics(640, 480)
    box = np.array([300.0, 100.0, 380.0, 400.0])
    t = place_in_box(verts, box, K)
    p = verts + t
    centre_depth = float(t[2] + (verts[:, 2].min() + verts[:, 2].max()) / 2)
    v = K[1, 1] * (p[:, 1] / centre_depth) + K[1, 2]          # rows at the body's centre depth
    assert v.max() - v.min() == pytest.approx(300.0, rel=1e-3)
    assert (v.max() + v.min()) / 2 == pytest.approx(250.0 - 0.5, abs=0.2)
