"""Keypoint visibility on real renders of Anny bodies: an arm behind the torso, a person in front."""

from __future__ import annotations

import numpy as np
import pytest

from synth.bodies.registry import get_body_model
from synth.cameras import PinholeCamera
from synth.clothing.types import PersonAppearance
from synth.core.surfaces import vertex_color_mesh
from synth.core.transforms import look_at_T_cam_from_world, make_T
from synth.environment.spec import EnvironmentSpec, GroundSpec, SunSpec
from synth.groundtruth.labels import PersonFrameGeometry, compute_view_labels

pytestmark = pytest.mark.blender

W = H = 128


@pytest.fixture(scope="module")
def body():
    return get_body_model("anny", topology="default")


def pose_person(body, x: float, y: float):
    p = body.default_params(frames=1)
    T = make_T(np.eye(3), [x, y, 0.0])[None]
    from synth.bodies.base import BodyParams

    return body.forward(BodyParams(model="anny", shape=p.shape, pose_rotvec=p.pose_rotvec, T_world_from_root=T))


def render_labels(renderer, body, people, eye, target):
    env = EnvironmentSpec(ground=GroundSpec(20.0, (0.3, 0.3, 0.3), (0.2, 0.2, 0.2), "plain", 1.0, 0.8),
                          sky_color=(0.6, 0.7, 1.0), sky_strength=0.6,
                          sun=SunSpec(3.0, (1.0, 1.0, 1.0), 0.5, 0.9))
    app = PersonAppearance(np.full((body.faces.max() + 1, 3), 0.5, np.float32), 0.6)
    renderer.setup_scene(env, [vertex_color_mesh(f"p{k}", body.faces, app.vertex_colors, app.roughness, k + 1)
                               for k in range(len(people))])
    K = np.array([[150.0, 0, (W - 1) / 2], [0, 150.0, (H - 1) / 2], [0, 0, 1]])
    cam = PinholeCamera(K=K, T_cam_from_world=look_at_T_cam_from_world(eye, target), width=W, height=H)
    out = renderer.render(cam, [p.vertices[0] for p in people], samples=2, seed=0)
    geo = [PersonFrameGeometry(p.vertices[0], p.joints[0], p.keypoints[0], body.faces) for p in people]
    return cam, out, compute_view_labels(cam, geo, out.instance, out.depth_m)


def test_far_arm_behind_torso_is_occluded(renderer, body):
    person = pose_person(body, 0.0, 0.0)
    names = body.keypoint_names
    lw, rw = names.index("left_wrist"), names.index("right_wrist")
    kp = person.keypoints[0]
    # side view at wrist height: the far wrist hides behind the hips and thighs
    side = np.sign(kp[lw, 0] - kp[rw, 0])  # the left wrist's side (+x or -x)
    eye = np.array([side * 4.0, 0.0, float(kp[lw, 2])])
    cam, out, labels = render_labels(renderer, body, [person], eye, [0.0, 0.0, float(kp[lw, 2])])
    assert labels["keypoints_in_image"][0, [lw, rw]].all()
    assert labels["keypoints_visible"][0, lw]
    assert not labels["keypoints_visible"][0, rw]
    # from the front both wrists are visible
    cam, out, labels = render_labels(renderer, body, [person], [0.0, -4.0, 1.0], [0.0, 0.0, 0.9])
    assert labels["keypoints_visible"][0, [lw, rw]].all()
    # the face points are visible from the front, not from behind
    nose = names.index("nose")
    assert labels["keypoints_visible"][0, nose]
    _, _, back = render_labels(renderer, body, [person], [0.0, 4.0, 1.2], [0.0, 0.0, 1.2])
    assert not back["keypoints_visible"][0, nose]
    assert back["keypoints_visible"][0, [names.index("left_shoulder"), names.index("right_shoulder")]].all()


def test_person_in_front_occludes_the_one_behind(renderer, body):
    back = pose_person(body, 0.0, 0.0)
    front = pose_person(body, 0.0, -1.5)
    cam, out, labels = render_labels(renderer, body, [back, front], [0.0, -5.0, 1.2], [0.0, 0.0, 1.0])
    names = body.keypoint_names
    torso = [names.index(n) for n in ("left_shoulder", "right_shoulder", "left_hip", "right_hip")]
    assert labels["keypoints_in_image"][0, torso].all()
    assert not labels["keypoints_visible"][0, torso].any()   # hidden behind the front person
    assert labels["keypoints_visible"][1, torso].all()
    # labels sit on the pixels: the front person's visible keypoints fall on its own mask
    kp = labels["keypoints_2d"][1][labels["keypoints_visible"][1]]
    ui, vi = np.rint(kp[:, 0]).astype(int), np.rint(kp[:, 1]).astype(int)
    assert np.mean(out.instance[vi, ui] == 2) > 0.9
