"""Dressed people on real Cycles renders: the instance mask covers the garments, keypoints under
clothing are visible when the clothing over them is seen, and frontal eyes are visible."""

from __future__ import annotations

import numpy as np
import pytest

from synth.bodies.registry import get_body_model
from synth.cameras import PinholeCamera
from synth.clothing.garment import pose_garments
from synth.clothing.procedural import GarmentParams, compute_rest_body, make_procedural_garment
from synth.core.surfaces import vertex_color_mesh
from synth.core.transforms import look_at_T_cam_from_world
from synth.environment.spec import EnvironmentSpec, GroundSpec, SunSpec
from synth.groundtruth.labels import PersonFrameGeometry, compute_view_labels
from synth.groundtruth.visibility import compute_point_visibility

pytestmark = pytest.mark.blender

W = H = 128
ENV = EnvironmentSpec(ground=GroundSpec(20.0, (0.3, 0.3, 0.3), (0.2, 0.2, 0.2), "plain", 1.0, 0.8),
                      sky_color=(0.6, 0.7, 1.0), sky_strength=0.6, sun=SunSpec(3.0, (1.0, 1.0, 1.0), 0.5, 0.9))


@pytest.fixture(scope="module")
def body():
    return get_body_model("anny", topology="default", keypoint_set="wholebody")


def _camera(eye, target, f_px):
    K = np.array([[f_px, 0, (W - 1) / 2], [0, f_px, (H - 1) / 2], [0, 0, 1]])
    return PinholeCamera(K=K, T_cam_from_world=look_at_T_cam_from_world(np.asarray(eye, float), np.asarray(target, float)),
                         width=W, height=H)


def test_frontal_eyes_are_visible_at_close_range(renderer, body):
    posed = body.forward(body.default_params())
    v, kp = posed.vertices[0], posed.keypoints[0]
    names = body.keypoint_names
    eyes = [names.index("left_eye"), names.index("right_eye")] + [23 + i for i in range(36, 48)]  # + 12 eyelid points
    face = kp[eyes].mean(0)
    cam = _camera(face + np.array([0.0, -0.45, 0.0]), face, 400.0)
    renderer.setup_scene(ENV, [vertex_color_mesh("p", body.faces, np.full((len(v), 3), 0.6, np.float32), 0.5, 1)])
    out = renderer.render(cam, [v], samples=2, seed=0)
    labels = compute_view_labels(cam, [PersonFrameGeometry(v, posed.joints[0], kp, body.faces)], out.instance,
                                 out.depth_m)
    vis = labels["keypoints_visible"][0]
    assert vis[eyes].all(), [names[i] for i in eyes if not vis[i]]
    assert vis[names.index("nose")]
    # the old rule (every crossing of the line of sight counts) hid most of them: the eyelids and the
    # eyeball lie within a few millimetres of an eye point
    old = compute_point_visibility(cam, kp, v, body.faces, 1, out.instance, out.depth_m, near_point_m=0.0)
    assert old[eyes].mean() < 0.5


def test_instance_mask_covers_garments_and_knees_under_a_skirt_are_visible(renderer, body):
    shape = body.mean_shape(age_years=30, gender=1.0)
    rest = compute_rest_body(body, shape)
    skirt = make_procedural_garment(rest, GarmentParams("skirt", ease_m=0.01, thickness_m=0.002, waist=0.3,
                                                        leg_length=1.5, flare=0.35))
    top = make_procedural_garment(rest, GarmentParams("tshirt", ease_m=0.01, sleeve_length=0.6))
    posed = body.forward(body.default_params(shape))
    v, kp = posed.vertices[0], posed.keypoints[0]
    gs, gx = [skirt, top], pose_garments([skirt, top], v, body.faces)
    meshes = [vertex_color_mesh("p", body.faces, np.full((len(v), 3), 0.6, np.float32), 0.5, 1)]
    meshes += [vertex_color_mesh(f"g{i}", g.faces, np.full((g.n_vertices, 3), 0.2, np.float32), 0.8, 1)
               for i, g in enumerate(gs)]
    cam = _camera([0.0, -3.2, 0.9], [0.0, 0.0, 0.85], 120.0)
    renderer.setup_scene(ENV, meshes)
    out = renderer.render(cam, [v, *gx], samples=2, seed=0)
    renderer.setup_scene(ENV, meshes[:1])
    bare = renderer.render(cam, [v], samples=2, seed=0)
    # the flared skirt's hem reaches beyond the legs: those pixels belong to the person too
    hem = gx[0][: skirt.n_vertices // 2][-64:]                    # outer wall, lowest ring
    uv = np.round(cam.project(hem)).astype(int)
    inside = (uv[:, 0] >= 0) & (uv[:, 0] < W) & (uv[:, 1] >= 0) & (uv[:, 1] < H)
    padded = np.pad(out.instance == 1, 1)
    near = np.zeros(inside.sum(), bool)                          # the pixel or a neighbour (silhouette edge)
    for dy in (0, 1, 2):
        for dx in (0, 1, 2):
            near |= padded[uv[inside, 1] + dy, uv[inside, 0] + dx]
    assert inside.sum() > 30 and near.mean() > 0.95
    assert np.count_nonzero(out.instance == 1) > 1.15 * np.count_nonzero(bare.instance == 1)
    # knees under the skirt: visible through the outermost surface, hidden when only the skin counts
    names = body.keypoint_names
    knees = [names.index("left_knee"), names.index("right_knee")]
    geo = PersonFrameGeometry(v, posed.joints[0], kp, body.faces, tuple((x, g.faces) for g, x in zip(gs, gx)))
    vis = compute_view_labels(cam, [geo], out.instance, out.depth_m)["keypoints_visible"][0]
    assert vis[knees].all()
    skin_only = compute_view_labels(cam, [PersonFrameGeometry(v, posed.joints[0], kp, body.faces)], out.instance,
                                    out.depth_m)["keypoints_visible"][0]
    assert not skin_only[knees].any()
    # keypoints with nothing over them are unaffected
    assert vis[names.index("nose")] and skin_only[names.index("nose")]
