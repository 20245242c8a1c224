"""Places rendered by Blender: props occlude people in the labels, and an HDRI world with a shadow catcher
leaves every label pass exactly as the plain world does while showing the photo and the people's shadows."""

from __future__ import annotations

import numpy as np
import pytest

from synth.bodies.base import BodyParams
from synth.bodies.registry import get_body_model
from synth.cameras import PinholeCamera
from synth.core.surfaces import MaterialSpec, vertex_color_mesh
from synth.core.transforms import look_at_T_cam_from_world, make_T
from synth.environment.hdri import BUNDLED_HDRIS, bundled_hdri_path
from synth.environment.spec import (
    EnvironmentSpec,
    GroundSpec,
    HdriSpec,
    PropSpec,
    SunSpec,
)
from synth.groundtruth.labels import PersonFrameGeometry, compute_view_labels
from synth.pipeline.posed_scene import environment_surface_meshes

pytestmark = pytest.mark.blender

W = H = 96
WOOD = MaterialSpec("wood", (0.45, 0.3, 0.18), 0.5, {"secondary_color": (0.3, 0.2, 0.1), "scale_m": 0.1,
                                                        "plank_width_m": 0.15, "seed": 3.0})


@pytest.fixture(scope="module")
def body():
    return get_body_model("anny", topology="default")


@pytest.fixture(scope="module")
def person(body):
    p = body.default_params(frames=1)
    return body.forward(BodyParams(model="anny", shape=p.shape, pose_rotvec=p.pose_rotvec,
                                   T_world_from_root=make_T(np.eye(3), [0.0, 0.0, 0.0])[None]))


def plain_env(**kw) -> EnvironmentSpec:
    return EnvironmentSpec(ground=GroundSpec(40.0, (0.3, 0.3, 0.3), (0.2, 0.2, 0.2), "plain", 1.0, 0.8),
                           sky_color=(0.6, 0.7, 1.0), sky_strength=0.6, sun=SunSpec(3.0, (1.0, 1.0, 1.0), 0.5, 0.9),
                           **kw)


def hdri_env(name: str = "city", rotation_rad: float = 0.0, **kw) -> EnvironmentSpec:
    facts = BUNDLED_HDRIS[name]
    hdri = HdriSpec(name=name, path=str(bundled_hdri_path(name)), rotation_rad=rotation_rad,
                    strength=facts.exposure_scale, ground="shadow_catcher", capture_height_m=1.6,
                    ground_albedo=facts.ground_albedo)
    ground = GroundSpec(40.0, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5), "plain", 1.0, 1.0, shadow_catcher=True)
    return EnvironmentSpec(ground=ground, sky_color=(0.6, 0.7, 1.0), sky_strength=0.6, sun=None, hdri=hdri, **kw)


def camera(eye, target, f=110.0):
    K = np.array([[f, 0, (W - 1) / 2], [0, f, (H - 1) / 2], [0, 0, 1]])
    return PinholeCamera(K=K, T_cam_from_world=look_at_T_cam_from_world(np.asarray(eye, float),
                                                                         np.asarray(target, float)),
                         width=W, height=H)


def render(renderer, body, people, env, cam, samples=4):
    meshes = [vertex_color_mesh(f"p{k}", body.faces, np.full((p.vertices.shape[1], 3), 0.5, np.float32), 0.6,
                                instance_id=k + 1) for k, p in enumerate(people)]
    statics = environment_surface_meshes(env)
    renderer.setup_scene(env, meshes + statics)
    out = renderer.render(cam, [p.vertices[0] for p in people] + [None] * len(statics), seed=0, samples=samples)
    geo = [PersonFrameGeometry(p.vertices[0], p.joints[0], p.keypoints[0], body.faces) for p in people]
    return out, compute_view_labels(cam, geo, out.instance, out.depth_m)


def test_a_table_in_front_hides_the_legs(renderer, body, person):
    # the camera looks down over the table top (0.74-0.78 m high, y in [-1.25, -0.35]) at a person standing behind it:
    # the lines of sight to the knees and ankles cross the top, those to the face and shoulders pass above it
    table = PropSpec(prop_id=1, kind="table", dimensions={"width_m": 1.6, "depth_m": 0.9, "height_m": 0.78},
                     x_m=0.0, y_m=-0.8, yaw_rad=0.0, material=WOOD)
    cam = camera([0.0, -3.5, 2.0], [0.0, 0.0, 0.9])
    names = list(body.keypoint_names)
    legs = [names.index(n) for n in ("left_knee", "right_knee", "left_ankle", "right_ankle")]
    upper = [names.index(n) for n in ("nose", "left_shoulder", "right_shoulder")]
    _, free = render(renderer, body, [person], plain_env(), cam)
    out, hidden = render(renderer, body, [person], plain_env(props=(table,)), cam)
    assert free["keypoints_in_image"][0, legs + upper].all() and hidden["keypoints_in_image"][0, legs].all()
    assert free["keypoints_visible"][0, legs + upper].all()          # nothing in front: all seen
    assert not hidden["keypoints_visible"][0, legs].any()            # behind the table: occluded
    assert hidden["keypoints_visible"][0, upper].all()               # above it: still seen
    # the table is in the render (instance 0, nearer than the person) and the person's mask shrank
    assert hidden["mask_area_px"][0] < 0.9 * free["mask_area_px"][0]
    uv = cam.project(person.keypoints[0][legs])
    ui, vi = np.rint(uv).astype(int).T
    assert (out.instance[vi, ui] == 0).all() and (out.depth_m[vi, ui] < 4.0).all()


def test_hdri_world_and_shadow_catcher_leave_the_labels_exactly_as_the_plain_world(renderer, body, person):
    cam = camera([1.2, -4.2, 1.6], [0.0, 0.0, 0.9])
    a_out, a = render(renderer, body, [person], plain_env(), cam)
    b_out, b = render(renderer, body, [person], hdri_env("city"), cam)
    np.testing.assert_array_equal(a_out.instance, b_out.instance)
    finite = np.isfinite(a_out.depth_m)
    np.testing.assert_array_equal(finite, np.isfinite(b_out.depth_m))
    np.testing.assert_allclose(a_out.depth_m[finite], b_out.depth_m[finite], rtol=1e-5)
    for key in ("keypoints_visible", "joints_visible", "mask_area_px", "bbox_visible_xyxy"):
        np.testing.assert_array_equal(a[key], b[key])
    # the shadow catcher is real geometry: its range is the ray's distance to the plane z = 0
    vv, uu = np.nonzero(finite & (b_out.instance == 0))
    rays = cam.unproject(np.column_stack([uu, vv]).astype(float))          # camera-frame directions
    d_world = rays @ cam.T_cam_from_world[:3, :3]                            # R^T d
    t = -cam.center_world[2] / d_world[:, 2] * np.linalg.norm(rays, axis=1)
    np.testing.assert_allclose(b_out.depth_m[vv, uu], t, rtol=1e-4)


def test_the_photo_shows_and_people_cast_shadows_on_it(renderer, body, person):
    # city: the sun is 47.6 degrees high at u = 0.6 of the panorama; seen from above, the shadow falls opposite
    cam = camera([0.0, -3.5, 3.0], [0.0, 0.0, 0.3])
    empty = [vertex_color_mesh("far", body.faces, np.full((person.vertices.shape[1], 3), 0.5, np.float32), 0.6,
                               instance_id=1)]
    far = person.vertices[0] + np.array([0.0, 200.0, -50.0], np.float32)   # out of view, below the ground
    env = hdri_env("city", rotation_rad=0.0)
    renderer.setup_scene(env, empty)
    without = renderer.render(cam, [far], seed=1, samples=16)
    with_person, _ = render(renderer, body, [person], env, cam, samples=16)
    ground = (without.instance == 0) & np.isfinite(without.depth_m) & (with_person.instance == 0)
    lum_a = without.rgb.astype(float).mean(-1)
    lum_b = with_person.rgb.astype(float).mean(-1)
    # the photo, not a flat grey: the ground's colours vary (asphalt, painted lines)
    assert lum_a[ground].std() > 8.0, lum_a[ground].std()
    # a shadow: ground pixels near the person are darker with the person there (the city's sun gives ~30 % of its
    # light, so a shadow is ~25 % darker), while far from the person the ground is unchanged up to sampling noise
    ratio = (lum_b + 1.0) / (lum_a + 1.0)
    vv, uu = np.mgrid[0:H, 0:W]
    feet_uv = cam.project(person.vertices[0][person.vertices[0][:, 2] < 0.05]).mean(axis=0)
    dist = np.hypot(uu - feet_uv[0], vv - feet_uv[1])
    near, far = ground & (dist < 25), ground & (dist > 40)
    assert (ratio[near] < 0.85).sum() >= 15, np.sort(ratio[near])[:20]
    assert (ratio[far] < 0.85).mean() < 0.01
    assert abs(np.median(ratio[far]) - 1.0) < 0.03


def test_a_bundled_photo_drawn_elsewhere_resolves_here_and_a_missing_user_photo_fails(renderer, body, person):
    from dataclasses import replace

    from synth.core.errors import RenderError
    from synth.render.blender.world import resolve_hdri_path

    env = hdri_env("forest")
    moved = replace(env.hdri, path="/other/machine/bpy/studiolights/world/forest.exr")
    assert resolve_hdri_path(moved) == str(bundled_hdri_path("forest"))
    mine = replace(env.hdri, name="my_park", path="/nope/my_park.exr")
    with pytest.raises(RenderError, match=r"environment\.hdri\.path.*my_park\.exr.*does not exist"):
        renderer.setup_scene(replace(env, hdri=mine), [])
