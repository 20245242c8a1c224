"""An independent check: MediaPipe Pose, a detector trained on real photos, finds the body joints
of a rendered person where our 2D labels put them (and agrees on the person's left and right)."""

from __future__ import annotations

import numpy as np
import pytest

mp = pytest.importorskip("mediapipe")

pytestmark = pytest.mark.blender

# MediaPipe Pose landmark index -> our keypoint name (both use the person's own left/right)
MP_TO_OURS = {11: "left_shoulder", 12: "right_shoulder", 13: "left_elbow", 14: "right_elbow",
              15: "left_wrist", 16: "right_wrist", 23: "left_hip", 24: "right_hip",
              25: "left_knee", 26: "right_knee", 27: "left_ankle", 28: "right_ankle"}


PLAIN = {"lighting": {"kind": "sun_sky", "sun_strength": 3.0, "sky_strength": 0.6}}
LONG = {"dress": 0.0, "longsleeve": 1.0, "tshirt": 0.0, "tank": 0.0, "trousers": 1.0, "shorts": 0.0, "skirt": 0.0}
SHORT = {"dress": 0.0, "tshirt": 1.0, "longsleeve": 0.0, "tank": 0.0, "shorts": 1.0, "trousers": 0.0, "skirt": 0.0}

#: the looks and places a person is checked in: a bare body and dressed ones (long sleeves and trousers; T-shirt and
#: shorts: garments change the pixels, not the labels) on a plain ground under sun and sky, a dressed person in a
#: photographed world and in a procedural room
WORLDS = {
    "plain": ({}, PLAIN),
    "dressed_long": ({"clothing": {"source": "procedural", "probabilities": LONG}}, PLAIN),
    "dressed_short": ({"clothing": {"source": "procedural", "probabilities": SHORT}}, PLAIN),
    "hdri": ({"clothing": {"source": "procedural"}},
             {"hdri": {"names": ["courtyard"], "rotation_deg": 40, "ground": "shadow_catcher",
                       "camera_height_m": None}}),
    "room": ({"clothing": {"source": "procedural"}},
             {"lighting": {"kind": "sun_sky", "sun_elevation_deg": 40},
              "room": {"width_m": 8.0, "depth_m": 8.0, "height_m": 3.0, "floor": "wood", "walls": "paint",
                       "doors": 0, "windows": 2}}),
}


def render_person(azimuth_deg: float, motion: str, seed: int, world: str = "plain"):
    from synth.pipeline.worker import SceneWorker
    from synth.recipe import parse_recipe

    people_extra, environment = WORLDS[world]
    recipe = parse_recipe({
        "schema_version": 1, "seed": seed, "scenes": 1, "image": {"width": 320, "height": 320},
        "render": {"samples": 24, "denoise": world == "room"},
        "people": {"count": 1, "shape": {"age_years": {"uniform": [20, 60]}}, "motion": {"source": motion},
                   "keypoint_set": "body", **people_extra},
        "cameras": [{"rig": "close_range", "focal_length_mm": 30, "distance_m": 2.6,
                     "azimuth_deg": azimuth_deg, "elevation_deg": 5}],
        "environment": environment,
    })
    worker = SceneWorker(recipe, "/nonexistent-unused")
    try:
        return worker.run_scene(0)
    finally:
        worker.close()


@pytest.mark.parametrize("azimuth_deg,motion,seed,world", [
    (0, "static", 1, "plain"), (-35, "walk", 2, "plain"), (30, "wave", 3, "plain"),
    (0, "static", 1, "dressed_long"), (-35, "walk", 2, "dressed_short"),
    (-20, "walk", 4, "hdri"), (15, "static", 5, "room"),
])
def test_mediapipe_agrees_with_labels(azimuth_deg, motion, seed, world):
    scene = render_person(azimuth_deg, motion, seed, world)
    view = scene.views[0]
    rgb = view.rgb[0]
    labels = {k: v[0] for k, v in view.labels.items()}
    from synth.bodies.keypoints import KEYPOINT_NAMES

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
        theirs = np.array([lm.x * W - 0.5, lm.y * H - 0.5])  # normalised image -> pixel centres
        errs.append(np.linalg.norm(theirs - ours[j]))
        other = name.replace("left", "@").replace("right", "left").replace("@", "right")
        swapped.append(np.linalg.norm(theirs - ours[KEYPOINT_NAMES.index(other)]))
    errs, swapped = np.array(errs), np.array(swapped)
    print(f"{world} az {azimuth_deg} {motion}: {len(errs)} joints, median {np.median(errs):.1f} px, "
          f"max {errs.max():.1f} px on a {body_px:.0f} px body; left/right swapped median {np.median(swapped):.1f} px")
    assert len(errs) >= 8
    assert np.median(errs) < 0.04 * body_px       # joint centres agree to a few percent of body size
    assert np.median(errs) < np.median(swapped)   # and left is left
