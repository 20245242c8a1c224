"""MediaPipe Pose (trained on real photos) still finds the joints of *dressed* rendered people where our
2D labels put them: garments change the pixels, not the labels."""

from __future__ import annotations

import numpy as np
import pytest

mp = pytest.importorskip("mediapipe")

pytestmark = pytest.mark.blender

MP_TO_OURS = {11: "left_shoulder", 12: "right_shoulder", 13: "left_elbow", 14: "right_elbow",
              15: "left_wrist", 16: "right_wrist", 23: "left_hip", 24: "right_hip",
              25: "left_knee", 26: "right_knee", 27: "left_ankle", 28: "right_ankle"}


def render_dressed(azimuth_deg: float, motion: str, seed: int, probabilities: dict):
    from synth.pipeline.worker import SceneWorker
    from synth.recipe import parse_recipe

    recipe = parse_recipe({
        "schema_version": 1, "seed": seed, "scenes": 1, "image": {"width": 320, "height": 320},
        "render": {"samples": 24},
        "people": {"count": 1, "shape": {"age_years": {"uniform": [20, 60]}}, "motion": {"source": motion},
                   "keypoint_set": "body", "clothing": {"source": "procedural", "probabilities": probabilities}},
        "cameras": [{"rig": "close_range", "focal_length_mm": 30, "distance_m": 2.6,
                     "azimuth_deg": azimuth_deg, "elevation_deg": 5}],
        "environment": {"lighting": {"kind": "sun_sky", "sun_strength": 3.0, "sky_strength": 0.6}},
    })
    worker = SceneWorker(recipe, "/nonexistent-unused")
    try:
        return worker.run_scene(0)
    finally:
        worker.close()


@pytest.mark.parametrize("azimuth_deg,motion,seed,probabilities", [
    (0, "static", 1, {"dress": 0.0, "longsleeve": 1.0, "tshirt": 0.0, "tank": 0.0, "trousers": 1.0, "shorts": 0.0,
                      "skirt": 0.0}),
    (-35, "walk", 2, {"dress": 0.0, "tshirt": 1.0, "longsleeve": 0.0, "tank": 0.0, "shorts": 1.0, "trousers": 0.0,
                      "skirt": 0.0}),
])
def test_mediapipe_agrees_with_labels_on_dressed_people(azimuth_deg, motion, seed, probabilities):
    from synth.bodies.keypoints import KEYPOINT_NAMES

    scene = render_dressed(azimuth_deg, motion, seed, probabilities)
    view = scene.views[0]
    rgb = view.rgb[0]
    labels = {k: v[0] for k, v in view.labels.items()}
    with mp.solutions.pose.Pose(static_image_mode=True, model_complexity=1) as pose:
        res = pose.process(np.ascontiguousarray(rgb))
    assert res.pose_landmarks is not None, "MediaPipe found no person in the render"
    H, W = rgb.shape[:2]
    ours = labels["keypoints_2d"][0]
    vis = labels["keypoints_visible"][0]
    kp_y = ours[[KEYPOINT_NAMES.index(n) for n in MP_TO_OURS.values()], 1]
    body_px = np.nanmax(kp_y) - np.nanmin(kp_y)
    errs, swapped = [], []
    for i, name in MP_TO_OURS.items():
        j = KEYPOINT_NAMES.index(name)
        if not vis[j]:
            continue
        lm = res.pose_landmarks.landmark[i]
        theirs = np.array([lm.x * W - 0.5, lm.y * H - 0.5])
        errs.append(np.linalg.norm(theirs - ours[j]))
        other = name.replace("left", "@").replace("right", "left").replace("@", "right")
        swapped.append(np.linalg.norm(theirs - ours[KEYPOINT_NAMES.index(other)]))
    errs, swapped = np.array(errs), np.array(swapped)
    print(f"dressed az {azimuth_deg} {motion}: {len(errs)} joints, median {np.median(errs):.1f} px, "
          f"max {errs.max():.1f} px on a {body_px:.0f} px body; swapped median {np.median(swapped):.1f} px")
    assert len(errs) >= 8
    assert np.median(errs) < 0.04 * body_px
    assert np.median(errs) < np.median(swapped)
