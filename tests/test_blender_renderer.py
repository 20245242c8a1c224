"""BlenderRenderer: real Cycles renders (tiny: 96 px, 8 spp) checked against analytic geometry.

Two icospheres stand in for people. Their silhouettes, depths and occlusion
are compared with ray/sphere intersections through the same PinholeCamera.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("bpy")
trimesh = pytest.importorskip("trimesh")

from synth.cameras.pinhole import PinholeCamera  # noqa: E402
from synth.clothing.types import PersonAppearance  # noqa: E402
from synth.core.errors import RenderError  # noqa: E402
from synth.core.surfaces import MaterialSpec, SurfaceMesh, vertex_color_mesh  # noqa: E402
from synth.core.transforms import look_at_T_cam_from_world  # noqa: E402
from synth.environment.spec import AreaLightSpec, EnvironmentSpec, GroundSpec, SunSpec  # noqa: E402
from synth.render.base import RenderOutput  # noqa: E402
from synth.render.blender.renderer import BlenderRenderer  # noqa: E402

pytestmark = pytest.mark.blender

W = H = 96
RADIUS = 0.5
EYE = np.array([0.0, -4.0, 1.6])
CENTER_1 = np.array([0.0, 0.0, 0.6])  # the far sphere ("person 1")
CENTER_2 = np.array([0.45, -1.3, 0.6])  # the near sphere ("person 2"), partly in front of person 1
COLOR_1 = (0.50, 0.22, 0.12)  # linear RGB, skin-ish
COLOR_2 = (0.10, 0.30, 0.60)

_SPHERE = trimesh.creation.icosphere(subdivisions=3, radius=RADIUS)
SPHERE_V = np.asarray(_SPHERE.vertices, dtype=np.float32)  # (642, 3), centred on the origin
SPHERE_F = np.asarray(_SPHERE.faces, dtype=np.int64)


def _environment(pattern: str = "checker", sky=(1.0, 1.0, 1.0)) -> EnvironmentSpec:
    return EnvironmentSpec(
        ground=GroundSpec(size_m=30.0, base_color=(0.45, 0.45, 0.45), secondary_color=(0.25, 0.25, 0.25),
                          pattern=pattern, pattern_scale_m=1.0, roughness=0.9),
        sky_color=sky, sky_strength=0.6,
        sun=SunSpec(strength=3.0, color=(1.0, 1.0, 1.0), azimuth_rad=np.deg2rad(-70.0),
                    elevation_rad=np.deg2rad(50.0)),
    )


def _camera() -> PinholeCamera:
    K = np.array([[110.0, 0.0, 47.5], [0.0, 110.0, 47.5], [0.0, 0.0, 1.0]])
    return PinholeCamera(K=K, T_cam_from_world=look_at_T_cam_from_world(EYE, np.array([0.0, 0.0, 0.6])),
                         width=W, height=H)


def _appearance(color) -> PersonAppearance:
    return PersonAppearance(vertex_colors=np.tile(np.asarray(color, np.float32), (len(SPHERE_V), 1)), roughness=0.6)


def _people(faces: list[np.ndarray], appearances: list[PersonAppearance]) -> list[SurfaceMesh]:
    """One vertex-coloured moving mesh per sphere "person" k (instance k + 1)."""
    return [vertex_color_mesh(f"person_{k}", f, a.vertex_colors, a.roughness, instance_id=k + 1)
            for k, (f, a) in enumerate(zip(faces, appearances))]


def _pixel_rays(cam: PinholeCamera) -> np.ndarray:
    """(H, W, 3) unit ray directions in the world frame, one per pixel centre."""
    vv, uu = np.mgrid[0:H, 0:W]
    rays_cam = cam.unproject(np.stack([uu.ravel(), vv.ravel()], -1).astype(np.float64))
    return (rays_cam @ cam.T_world_from_cam[:3, :3].T).reshape(H, W, 3)


def _sphere_hit(cam: PinholeCamera, center: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Analytic silhouette (H, W) bool and range (H, W) metres (inf off the sphere) of a sphere of RADIUS."""
    d = _pixel_rays(cam)
    oc = center - cam.center_world
    along = d @ oc
    miss2 = (oc @ oc) - along ** 2  # squared distance from the centre to the ray
    hit = (miss2 < RADIUS ** 2) & (along > 0)
    rng = np.where(hit, along - np.sqrt(np.clip(RADIUS ** 2 - miss2, 0.0, None)), np.inf)
    return hit, rng


def _erode(mask: np.ndarray) -> np.ndarray:
    m = mask.copy()
    m[1:] &= mask[:-1]
    m[:-1] &= mask[1:]
    m[:, 1:] &= mask[:, :-1]
    m[:, :-1] &= mask[:, 1:]
    return m


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max(1, (a | b).sum()))


def _srgb_to_linear(rgb_u8: np.ndarray) -> np.ndarray:
    s = rgb_u8.astype(np.float64) / 255.0
    return np.where(s <= 0.04045, s / 12.92, ((s + 0.055) / 1.055) ** 2.4)


@pytest.fixture(scope="module")
def renderer():
    r = BlenderRenderer(threads=2)
    yield r
    r.close()


@pytest.fixture(scope="module")
def two_people(renderer) -> RenderOutput:
    renderer.setup_scene(_environment(), _people([SPHERE_F, SPHERE_F], [_appearance(COLOR_1), _appearance(COLOR_2)]))
    return renderer.render(_camera(), [SPHERE_V + CENTER_1.astype(np.float32), SPHERE_V + CENTER_2.astype(np.float32)],
                           samples=8, seed=3)


def test_output_types_and_shapes(two_people):
    out = two_people
    assert out.rgb.shape == (H, W, 3) and out.rgb.dtype == np.uint8
    assert out.instance.shape == (H, W) and out.instance.dtype == np.uint16
    assert out.depth_m.shape == (H, W) and out.depth_m.dtype == np.float32
    assert set(np.unique(out.instance).tolist()) == {0, 1, 2}


def test_silhouette_matches_analytic_projection(two_people):
    cam = _camera()
    hit1, _ = _sphere_hit(cam, CENTER_1)
    hit2, _ = _sphere_hit(cam, CENTER_2)
    assert _iou(two_people.instance == 2, hit2) > 0.9
    assert _iou(two_people.instance == 1, hit1 & ~hit2) > 0.9
    # the projected centres land inside the masks (row 0 = image top)
    for k, c in ((1, CENTER_1), (2, CENTER_2)):
        u, v = np.rint(cam.project(c[None])[0]).astype(int)
        if k == 1 and hit2[v, u]:
            continue
        assert two_people.instance[v, u] == k


def test_near_person_occludes_far_person(two_people):
    cam = _camera()
    hit1, _ = _sphere_hit(cam, CENTER_1)
    hit2, _ = _sphere_hit(cam, CENTER_2)
    overlap = _erode(hit1 & hit2)
    assert overlap.sum() > 20, "test geometry: the spheres should overlap on screen"
    assert (two_people.instance[overlap] == 2).mean() > 0.98


def test_depth_is_range_to_the_surface(two_people):
    cam = _camera()
    hit1, rng1 = _sphere_hit(cam, CENTER_1)
    hit2, rng2 = _sphere_hit(cam, CENTER_2)
    rng = np.minimum(rng1, rng2)
    inner = _erode(_erode(hit1 | hit2))
    err = np.abs(two_people.depth_m[inner] - rng[inner])
    assert np.median(err) < 0.005 and np.percentile(err, 95) < 0.02
    # the pixel nearest the near sphere's projected centre: range = distance to the sphere surface
    u, v = np.rint(cam.project(CENTER_2[None])[0]).astype(int)
    assert abs(two_people.depth_m[v, u] - rng2[v, u]) < 0.01
    assert abs(two_people.depth_m[v, u] - (np.linalg.norm(CENTER_2 - EYE) - RADIUS)) < 0.02
    # ground pixels: ray/plane z=0 intersection range
    d = _pixel_rays(cam)
    ground = (d[..., 2] < -1e-3) & (two_people.instance == 0) & ~_erode(~(two_people.instance == 0))
    t_ground = -cam.center_world[2] / d[..., 2]
    ground &= t_ground < 14.0  # on the 30 m plane
    assert ground.sum() > 500
    assert np.median(np.abs(two_people.depth_m[ground] - t_ground[ground])) < 0.01
    # sky: no surface
    sky = d[..., 2] > 0.05
    assert sky.sum() > 50 and np.isinf(two_people.depth_m[sky]).all() and (two_people.instance[sky] == 0).all()


def test_rgb_shows_vertex_colours(two_people):
    rgb = two_people.rgb
    lit_max = rgb.reshape(-1, 3).max(0)
    assert lit_max.max() > 150, "image too dark"
    for k, color in ((1, COLOR_1), (2, COLOR_2)):
        mask = _erode(two_people.instance == k)
        lin = _srgb_to_linear(rgb[mask]).mean(0)
        assert (rgb[mask] == 255).mean() < 0.05, "person blown out"
        # under white light the linear pixel colour is the albedo times a grey irradiance
        ratio = lin / np.asarray(color)
        assert ratio.max() / ratio.min() < 1.35, (k, lin, ratio)
        assert np.argmax(lin) == np.argmax(color) and np.argmin(lin) == np.argmin(color)


def test_vertex_update_moves_the_mask(renderer, two_people):
    cam = _camera()
    shift = np.array([-0.6, 0.0, 0.3])
    out = renderer.render(cam, [SPHERE_V + (CENTER_1 + shift).astype(np.float32),
                                SPHERE_V + CENTER_2.astype(np.float32)], samples=4, seed=1)
    hit1, _ = _sphere_hit(cam, CENTER_1 + shift)
    hit2, _ = _sphere_hit(cam, CENTER_2)
    mask1 = out.instance == 1
    assert _iou(mask1, hit1 & ~hit2) > 0.9
    vv, uu = np.nonzero(mask1)
    vv0, uu0 = np.nonzero(two_people.instance == 1)
    assert uu.mean() < uu0.mean() - 5  # moved left in the image
    assert vv.mean() < vv0.mean() - 3  # and up
    assert renderer.last_timings["update"] < 0.05


@pytest.mark.parametrize("kind", ["pinhole_distorted", "fisheye_kb"])
def test_resampled_camera_models_keep_labels_on_the_pixels(renderer, kind):
    """Models Blender cannot render natively: the plan renders another size and remaps to the camera's."""
    from synth.cameras.fisheye import FisheyeKBCamera

    T = look_at_T_cam_from_world(EYE, np.array([0.0, 0.0, 0.6]))
    if kind == "pinhole_distorted":
        cam = PinholeCamera(K=_camera().K, T_cam_from_world=T, width=W, height=H, dist=[-0.25, 0.05, 0.0, 0.0, 0.0])
    else:
        K = np.array([[60.0, 0.0, 47.5], [0.0, 60.0, 47.5], [0.0, 0.0, 1.0]])
        cam = FisheyeKBCamera(K=K, T_cam_from_world=T, width=W, height=H, dist=[0.02, -0.01, 0.0, 0.0, np.pi])
    renderer.setup_scene(_environment(), _people([SPHERE_F], [_appearance(COLOR_2)]))
    out = renderer.render(cam, [SPHERE_V + CENTER_2.astype(np.float32)], samples=4, seed=2)
    assert out.rgb.shape == (H, W, 3) and out.instance.shape == (H, W) and out.depth_m.shape == (H, W)
    hit, rng = _sphere_hit(cam, CENTER_2)
    assert hit.sum() > 100
    assert _iou(out.instance == 1, hit) > 0.9
    inner = _erode(hit)
    assert np.median(np.abs(out.depth_m[inner] - rng[inner])) < 0.01


def _overhead_camera() -> PinholeCamera:
    K = np.array([[40.0, 0.0, 47.5], [0.0, 40.0, 47.5], [0.0, 0.0, 1.0]])
    return PinholeCamera(K=K, T_cam_from_world=look_at_T_cam_from_world(np.array([0.0, 0.0, 6.0]), np.zeros(3)),
                         width=W, height=H)


def _ground_luma(out: RenderOutput, cam: PinholeCamera, point) -> float:
    u, v = np.rint(cam.project(np.asarray(point, float)[None])[0]).astype(int)
    return float(out.rgb[v - 1:v + 2, u - 1:u + 2].astype(np.float64).mean())


def test_lights_point_the_documented_way(renderer):
    """Sun light comes FROM (azimuth, elevation), azimuth from +X towards +Y; area lights face their target."""
    cam = _overhead_camera()
    plain = GroundSpec(size_m=30.0, base_color=(0.5,) * 3, secondary_color=(0.5,) * 3, pattern="plain",
                       pattern_scale_m=1.0, roughness=0.9)
    verts = [SPHERE_V + CENTER_1.astype(np.float32)]
    for azimuth_deg, lit, shadowed in ((0.0, (1.0, 0.0, 0.0), (-1.0, 0.0, 0.0)),
                                       (90.0, (0.0, 1.0, 0.0), (0.0, -1.0, 0.0))):
        sun = SunSpec(strength=3.0, color=(1.0, 1.0, 1.0), azimuth_rad=np.deg2rad(azimuth_deg),
                      elevation_rad=np.deg2rad(40.0))
        renderer.setup_scene(EnvironmentSpec(ground=plain, sky_color=(1.0,) * 3, sky_strength=0.2, sun=sun),
                             _people([SPHERE_F], [_appearance(COLOR_1)]))
        out = renderer.render(cam, verts, samples=4, seed=0)
        assert _ground_luma(out, cam, lit) > 1.5 * _ground_luma(out, cam, shadowed), azimuth_deg  # sRGB values
    for target, expect_lit in (((3.0, 0.0, 0.0), True), ((3.0, 0.0, 6.0), False)):
        area = AreaLightSpec(position=(3.0, 0.0, 2.0), target=target, size_m=0.5, power_w=300.0, color=(1.0,) * 3)
        renderer.setup_scene(EnvironmentSpec(ground=plain, sky_color=(1.0,) * 3, sky_strength=0.0, sun=None,
                                             area_lights=(area,)), _people([SPHERE_F], [_appearance(COLOR_1)]))
        out = renderer.render(cam, verts, samples=4, seed=0)
        luma = _ground_luma(out, cam, (3.0, 0.0, 0.0))
        assert (luma > 100) if expect_lit else (luma < 10), (target, luma)


def test_rebuilding_scenes_does_not_leak_datablocks(renderer):
    env_a = _environment("noise")
    env_b = EnvironmentSpec(ground=None, sky_color=(0.5, 0.6, 0.8), sky_strength=1.0, sun=None,
                            area_lights=(AreaLightSpec(position=(1.0, -2.0, 3.0), target=(0.0, 0.0, 0.5),
                                                       size_m=1.0, power_w=500.0, color=(1.0, 0.9, 0.8)),))
    renderer.setup_scene(env_a, _people([SPHERE_F], [_appearance(COLOR_1)]))
    before = renderer.datablock_counts()
    for i in range(12):
        env = env_b if i % 2 else env_a
        renderer.setup_scene(env, _people([SPHERE_F], [_appearance(COLOR_1)]))
        renderer.setup_scene(_environment("plain"), _people([SPHERE_F, SPHERE_F], [_appearance(COLOR_1), _appearance(COLOR_2)]))
    renderer.setup_scene(env_a, _people([SPHERE_F], [_appearance(COLOR_1)]))
    assert renderer.datablock_counts() == before
    # an area-lit scene without ground renders: the sphere only, sky elsewhere
    renderer.setup_scene(env_b, _people([SPHERE_F], [_appearance(COLOR_1)]))
    out = renderer.render(_camera(), [SPHERE_V + CENTER_1.astype(np.float32)], samples=4, seed=0)
    hit1, _ = _sphere_hit(_camera(), CENTER_1)
    assert _iou(out.instance == 1, hit1) > 0.9
    assert np.isinf(out.depth_m[~_erode(~(out.instance == 0)) & (out.instance == 0)]).all()
    # pass files are loaded as images, read and removed: only Blender's own 'Render Result' stays
    counts = renderer.datablock_counts()
    for seed in range(3):
        renderer.render(_camera(), [SPHERE_V + CENTER_1.astype(np.float32)], samples=1, seed=seed)
    assert renderer.datablock_counts() == counts and counts["images"] <= 1


def test_errors_say_what_is_wrong(renderer):
    renderer.setup_scene(_environment(), _people([SPHERE_F], [_appearance(COLOR_1)]))
    with pytest.raises(RenderError, match="expected"):
        renderer.render(_camera(), [SPHERE_V[:10]], samples=4, seed=0)
    with pytest.raises(RenderError, match="one"):
        renderer.render(_camera(), [SPHERE_V, SPHERE_V], samples=4, seed=0)
    with pytest.raises(RenderError, match="samples"):
        renderer.render(_camera(), [SPHERE_V], samples=0, seed=0)
    bad = np.full_like(SPHERE_V, np.nan)
    with pytest.raises(RenderError, match="NaN"):
        renderer.render(_camera(), [bad], samples=4, seed=0)
    with pytest.raises(RenderError, match="indices"):
        renderer.setup_scene(_environment(), _people([SPHERE_F + 1000], [_appearance(COLOR_1)]))
    bad_ground = EnvironmentSpec(ground=GroundSpec(10.0, (0.5,) * 3, (0.2,) * 3, "stripes", 1.0, 0.5),
                                 sky_color=(1.0, 1.0, 1.0), sky_strength=1.0, sun=None)
    with pytest.raises(RenderError, match="pattern"):
        renderer.setup_scene(bad_ground, _people([SPHERE_F], [_appearance(COLOR_1)]))
    # a rejected scene leaves the previous one intact
    out = renderer.render(_camera(), [SPHERE_V + CENTER_1.astype(np.float32)], samples=1, seed=0)
    assert (out.instance == 1).sum() > 100
    with pytest.raises(RenderError, match="already exists"):
        BlenderRenderer(threads=1)


def test_close_then_a_fresh_denoising_renderer(renderer):
    """Runs last in this module: closes the shared renderer (its fixture's close() is idempotent)."""
    tmp = renderer.temp_dir
    renderer.close()
    import os

    assert not os.path.exists(tmp)
    with pytest.raises(RenderError, match="after close"):
        renderer.render(_camera(), [SPHERE_V], samples=1, seed=0)
    with BlenderRenderer(threads=2, device="cpu", denoise=True) as fresh:
        assert fresh.device_used == "CPU"
        fresh.setup_scene(_environment("plain"), _people([SPHERE_F], [_appearance(COLOR_1)]))
        out = fresh.render(_camera(), [SPHERE_V + CENTER_1.astype(np.float32)], samples=4, seed=0)
        hit1, _ = _sphere_hit(_camera(), CENTER_1)
        assert _iou(out.instance == 1, hit1) > 0.9
        ground = out.rgb[80:].astype(np.float64)  # plain ground: denoised pixels vary little
        assert ground.std(axis=(0, 1)).max() < 2.0


def test_missing_bpy_says_how_to_install(monkeypatch):
    import sys

    from synth.core.errors import SynthError
    from synth.render.blender.renderer import import_bpy

    monkeypatch.setitem(sys.modules, "bpy", None)  # makes `import bpy` raise ImportError
    with pytest.raises(SynthError, match=r"pip install synth\[render\]"):
        import_bpy()


def test_render_spec_reaches_cycles_and_denoise_changes_the_image():
    """Every RenderSpec field is applied by setup_scene; denoising changes the RGB but never the label passes."""
    from synth.recipe.spec import RenderSpec

    with BlenderRenderer(threads=2, device="cpu") as r:
        env = _environment("checker")
        people = _people([SPHERE_F], [_appearance(COLOR_1)])
        verts = [SPHERE_V + CENTER_1.astype(np.float32)]
        noisy_spec = RenderSpec(samples=2, denoise=False, adaptive_threshold=0.0)
        r.setup_scene(env, people, noisy_spec)
        cyc = r._scene.cycles
        assert (cyc.use_denoising, cyc.use_adaptive_sampling) == (False, False)
        noisy = r.render(_camera(), verts, seed=5)
        assert cyc.samples == 2
        r.setup_scene(env, people, RenderSpec(samples=2, denoise=True, adaptive_threshold=0.05,
                                              adaptive_min_samples=1))
        assert (cyc.use_denoising, cyc.denoiser) == (True, "OPENIMAGEDENOISE")
        assert cyc.use_adaptive_sampling and abs(cyc.adaptive_threshold - 0.05) < 1e-6 and cyc.adaptive_min_samples == 1
        clean = r.render(_camera(), verts, seed=5)
        diff = np.abs(clean.rgb.astype(int) - noisy.rgb.astype(int))
        assert diff.mean() > 1.0, diff.mean()
        # denoised RGB is smoother: less pixel-to-pixel variation on the ground
        ground = _erode(_erode(noisy.instance == 0)) & np.isfinite(noisy.depth_m)
        rough = [np.abs(np.diff(o.rgb.astype(float), axis=1))[ground[:, 1:]].mean() for o in (noisy, clean)]
        assert rough[1] < rough[0], rough
        np.testing.assert_array_equal(clean.instance, noisy.instance)
        np.testing.assert_array_equal(clean.depth_m, noisy.depth_m)
        with pytest.raises(RenderError, match="adaptive_threshold"):
            r.setup_scene(env, people, RenderSpec(samples=2, adaptive_threshold=-1.0))


def test_static_meshes_are_placed_once_and_moving_ones_every_frame():
    """A static SurfaceMesh (a prop) is drawn where its vertices say, with instance 0; None skips it in render."""
    with BlenderRenderer(threads=2, device="cpu") as r:
        prop = SurfaceMesh(name="prop", faces=SPHERE_F, n_vertices=len(SPHERE_V),
                           material=MaterialSpec(kind="vertex_color", roughness=0.5),
                           vertex_colors=np.full((len(SPHERE_V), 3), 0.3, np.float32),
                           vertices=SPHERE_V + CENTER_2.astype(np.float32))
        r.setup_scene(_environment("plain"), _people([SPHERE_F], [_appearance(COLOR_1)]) + [prop])
        out = r.render(_camera(), [SPHERE_V + CENTER_1.astype(np.float32), None], samples=2, seed=0)
        hit1, _ = _sphere_hit(_camera(), CENTER_1)
        hit2, rng2 = _sphere_hit(_camera(), CENTER_2)
        assert _iou(out.instance == 1, hit1 & ~hit2) > 0.9      # the prop occludes the person ...
        assert (out.instance[_erode(hit2)] == 0).all()          # ... and is not a person
        inner = _erode(hit2)
        assert np.median(np.abs(out.depth_m[inner] - rng2[inner])) < 0.01
        with pytest.raises(RenderError, match="material.kind"):
            bad = SurfaceMesh(name="x", faces=SPHERE_F, n_vertices=len(SPHERE_V), material=MaterialSpec(kind="velvet"))
            r.setup_scene(_environment("plain"), [bad])


def test_people_material_kinds_render_with_unchanged_label_passes():
    """skin (subsurface), fabric (sheen), leather (coat) and hair build and render; their label passes equal the
    plain vertex-colour material's, and each looks different from it (the RGB changes, the labels do not)."""
    from synth.recipe.spec import RenderSpec

    with BlenderRenderer(threads=2, device="cpu") as r:
        verts = [SPHERE_V + CENTER_1.astype(np.float32)]
        outs = {}
        for kind in ("vertex_color", "skin", "fabric", "leather", "hair"):
            mesh = SurfaceMesh(name=f"p_{kind}", faces=SPHERE_F, n_vertices=len(SPHERE_V),
                               material=MaterialSpec(kind=kind, roughness=0.6), instance_id=1,
                               vertex_colors=np.tile(np.asarray(COLOR_1, np.float32), (len(SPHERE_V), 1)))
            r.setup_scene(_environment("plain"), [mesh], RenderSpec(samples=8))
            outs[kind] = r.render(_camera(), verts, seed=0)
        base = outs["vertex_color"]
        inner = _erode(_erode(base.instance == 1))
        assert inner.sum() > 200
        for kind, out in outs.items():
            np.testing.assert_array_equal(out.instance, base.instance)
            np.testing.assert_array_equal(out.depth_m, base.depth_m)
            if kind != "vertex_color":
                diff = np.abs(out.rgb.astype(float) - base.rgb.astype(float))[inner].mean()
                assert diff > 1.0, (kind, diff)
