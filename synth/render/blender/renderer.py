"""The production renderer: Blender 5.0 Cycles through ``bpy`` as a Python module.

One persistent Blender per worker process. ``bpy`` holds a single global
Blender session, so a process may hold one live ``BlenderRenderer`` at a
time; ``close()`` it before building another.

Usage::

    from synth.render.blender.renderer import BlenderRenderer

    with BlenderRenderer(threads=2) as renderer:
        renderer.setup_scene(environment, meshes=[body_0, body_1, prop], render=render_spec)  # SurfaceMesh items
        for t in range(frames):
            out = renderer.render(camera_t, [V0_t, V1_t, None], seed=seed_t)   # None: the static prop
            out.rgb, out.instance, out.depth_m

Scene conventions: world Z-up, metres; every mesh of person ``k`` (body, garments,
hair: ``SurfaceMesh.instance_id = k + 1``) gets ``pass_index = k + 1`` so the
instance image holds ``k + 1`` where person ``k`` is the first surface seen, 0
elsewhere (ground, props, sky). Colours are linear
RGB; the RGB output is 8-bit sRGB through the 'Standard' view transform.

The sun's direction: the light comes *from* the world direction
``(cos(elev) cos(az), cos(elev) sin(az), sin(elev))``, azimuth measured from
world +X towards +Y.

Labels: Cycles writes the Object Index and Z passes once per pixel, from the
first camera sample, which it shoots through the pixel centre (measured: depth
on a slanted ground plane matches the pixel-centre ray to < 0.001 px, for any
seed). So ``instance`` and ``depth_m`` are exact values (never blends of two
surfaces) at the pixel centres of the synth convention, while the RGB is
anti-aliased as usual (Blackman-Harris filter, 1.5 px).
"""

from __future__ import annotations

import atexit
import logging
import math
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from synth.cameras.base import CameraModel
from synth.core.errors import RenderError, SynthError
from synth.core.surfaces import SurfaceMesh, check_surface_mesh
from synth.core.tolerance import TOL
from synth.environment.hdri import BUNDLED_HDRIS
from synth.environment.spec import AreaLightSpec, EnvironmentSpec, GroundSpec, SunSpec
from synth.recipe.spec import RenderSpec
from synth.render.base import RenderOutput
from synth.render.blender.camera import plan_blender_camera

log = logging.getLogger(__name__)

#: GPU back-ends tried, in order, by ``device="auto"`` / ``"gpu"``.
GPU_BACKENDS = ("OPTIX", "CUDA", "HIP", "ONEAPI", "METAL")
DEVICE_CHOICES = ("auto", "cpu", "gpu") + tuple(b.lower() for b in GPU_BACKENDS)

_LIVE: "BlenderRenderer | None" = None


@atexit.register
def _close_live_renderer() -> None:
    """Remove the live renderer's temp directory at interpreter exit if nobody called close()."""
    if _LIVE is not None:
        _LIVE.close()


def import_bpy():
    """Import ``bpy`` or raise a ``SynthError`` that says how to install it."""
    try:
        import bpy  # noqa: PLC0415 (bpy is imported only inside synth.render.blender)
    except ImportError as exc:
        raise SynthError(
            f"the Blender renderer needs the bpy module, which failed to import ({exc}); "
            "install it with `pip install synth[render]` (bpy==5.0.1, Python 3.11, numpy<2)"
        ) from exc
    return bpy


@dataclass
class _Person:
    obj: object
    mesh: object
    material: object
    n_vertices: int


@dataclass
class _SceneData:
    """Every datablock ``setup_scene`` created, so the next call removes exactly these."""

    objects: list = field(default_factory=list)
    meshes: list = field(default_factory=list)
    materials: list = field(default_factory=list)
    lights: list = field(default_factory=list)
    worlds: list = field(default_factory=list)
    people: list[_Person] = field(default_factory=list)


class BlenderRenderer:
    """Cycles renderer implementing ``synth.render.base.Renderer``.

    Parameters
    ----------
    threads : CPU render threads; ``None`` = all cores (Blender's auto-detection).
    device : ``"auto"`` (first GPU back-end with a device among OptiX, CUDA, HIP,
        oneAPI, Metal, else the CPU), ``"cpu"``, ``"gpu"`` (any GPU back-end, error if
        none), or one back-end by name (``"optix"``, ``"cuda"``, ...).
    denoise : run OpenImageDenoise on the RGB (the label passes are never denoised).
    quiet : send Blender's own console output during a render to a log file in the
        renderer's temp directory (its tail is quoted in errors) instead of stdout.
    tmp_dir : parent of the per-renderer temp directory (default: the system's).
    camera_oversample : passed to ``plan_blender_camera``: minimum rendered pixels per output pixel
        when a camera model is rendered through a native source camera and resampled.

    Attributes
    ----------
    device_used : str, e.g. ``"CPU"`` or ``"OPTIX: NVIDIA H200"``.
    last_timings : dict of seconds of the last ``render``: ``update`` (vertices),
        ``render`` (Cycles + compositor file writes), ``read`` (pass files -> numpy),
        ``finish`` (camera plan's post-processing), ``total``.
    """

    def __init__(self, threads: int | None = None, device: str = "auto", *, denoise: bool = False,
                 quiet: bool = True, tmp_dir: str | None = None, camera_oversample: float = 1.0) -> None:
        global _LIVE
        if _LIVE is not None:
            raise RenderError(
                "BlenderRenderer: a live instance already exists in this process; bpy is one global Blender "
                "session, so only one renderer per process can exist. Reuse it, or call close() on it first")
        if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
            raise RenderError(f"BlenderRenderer threads: expected None (all cores) or an int >= 1, got {threads!r}")
        if not (isinstance(camera_oversample, (int, float)) and camera_oversample > 0):
            raise RenderError(f"BlenderRenderer camera_oversample: expected a number > 0, got {camera_oversample!r}")
        device_key = str(device).lower()
        if device_key not in DEVICE_CHOICES:
            raise RenderError(f"BlenderRenderer device: expected one of {DEVICE_CHOICES}, got {device!r}")
        bpy = import_bpy()
        from synth.render.blender import passes  # noqa: PLC0415 (imports bpy)

        self._bpy = bpy
        self._passes = passes
        self._closed = False
        self._quiet = bool(quiet)
        self._oversample = float(camera_oversample)
        self._tmp = tempfile.mkdtemp(prefix="synth-blender-", dir=tmp_dir)
        self._log_path = os.path.join(self._tmp, "blender.log")
        self._data = _SceneData()
        self._ready = False
        self.last_timings: dict[str, float] = {}
        self._samples = 16
        self.render_spec: RenderSpec | None = None
        try:
            with passes.capture_native_output(self._log_path, self._quiet):  # device probes print warnings
                bpy.ops.wm.read_factory_settings(use_empty=True)
                scene = bpy.context.scene
                self._scene = scene
                self._configure_render(scene, threads, denoise)
                self.device_used = self._configure_device(scene, device_key)
            cam_data = bpy.data.cameras.new("synth_camera")
            self._cam_obj = bpy.data.objects.new("synth_camera", cam_data)
            scene.collection.objects.link(self._cam_obj)
            scene.camera = self._cam_obj
            passes.setup_pass_outputs(scene, self._tmp)
        except Exception:
            shutil.rmtree(self._tmp, ignore_errors=True)
            raise
        _LIVE = self
        log.info("BlenderRenderer ready: Blender %s, device %s, threads %s, temp %s",
                 bpy.app.version_string, self.device_used, threads or "auto", self._tmp)

    # ------------------------------------------------------------------ setup
    @staticmethod
    def _configure_render(scene, threads: int | None, denoise: bool) -> None:
        render = scene.render
        render.engine = "CYCLES"
        render.film_transparent = False
        render.dither_intensity = 0.0  # 8-bit output is the plain rounding of the render
        render.resolution_percentage = 100
        render.use_persistent_data = False  # measured: no gain for a per-frame deforming mesh; less state
        if threads is None:
            render.threads_mode = "AUTO"
        else:
            render.threads_mode = "FIXED"
            render.threads = threads
        scene.view_settings.view_transform = "Standard"
        scene.view_settings.look = "None"
        scene.view_settings.exposure = 0.0
        scene.view_settings.gamma = 1.0
        scene.display_settings.display_device = "sRGB"
        cyc = scene.cycles
        cyc.use_adaptive_sampling = False  # exactly `samples` per pixel: predictable cost
        cyc.use_denoising = bool(denoise)
        if denoise:
            cyc.denoiser = "OPENIMAGEDENOISE"
        cyc.use_animated_seed = False

    def _configure_device(self, scene, device_key: str) -> str:
        scene.cycles.device = "CPU"
        if device_key == "cpu":
            return "CPU"
        prefs = self._bpy.context.preferences.addons["cycles"].preferences
        available = set(prefs.bl_rna.properties["compute_device_type"].enum_items.keys())
        backends = GPU_BACKENDS if device_key in ("auto", "gpu") else (device_key.upper(),)
        for backend in backends:
            if backend not in available:
                continue
            try:
                prefs.compute_device_type = backend
                found = [d for d in prefs.get_devices_for_type(backend) if d.type == backend]
            except Exception as exc:  # a broken driver must not stop a CPU fallback
                log.warning("Cycles %s device query failed: %s", backend, exc)
                continue
            if not found:
                continue
            for d in prefs.devices:
                d.use = d.type == backend
            scene.cycles.device = "GPU"
            return f"{backend}: " + ", ".join(d.name for d in found)
        prefs.compute_device_type = "NONE"
        if device_key != "auto":
            raise RenderError(f"BlenderRenderer device={device_key!r}: no Cycles GPU device found for back-ends "
                              f"{list(backends)}; use device='auto' or 'cpu', or install the GPU driver")
        return "CPU"

    def _check_open(self) -> None:
        if self._closed:
            raise RenderError("BlenderRenderer: used after close(); build a new renderer")

    def _clear_scene(self) -> None:
        bpy = self._bpy
        d = self._data
        for obj in d.objects:
            bpy.data.objects.remove(obj, do_unlink=True)
        for coll, items in ((bpy.data.meshes, d.meshes), (bpy.data.materials, d.materials),
                            (bpy.data.lights, d.lights), (bpy.data.worlds, d.worlds)):
            for item in items:
                coll.remove(item, do_unlink=True)
        self._data = _SceneData()
        self._ready = False

    def setup_scene(self, environment: EnvironmentSpec, meshes: Sequence[SurfaceMesh],
                    render: RenderSpec | None = None) -> None:
        """Build (or rebuild) the scene: world, ground, sun, area lights and one Blender object per mesh.

        Parameters
        ----------
        environment : ground, sky, lights (linear RGB colours, metres, radians).
        meshes : everything drawn (``synth.core.surfaces.SurfaceMesh``): bodies, garments, hair, props.
            Moving meshes (``vertices`` None) get their vertices at every ``render`` call, in this order;
            static meshes are placed once here. ``instance_id`` goes to the object's pass index, so the
            instance image holds ``k + 1`` wherever anything of person ``k`` is the first surface seen.
        render : samples, denoising and adaptive sampling for this scene (threads and device are the
            renderer's, fixed at construction). None keeps the current settings.
        """
        self._check_open()
        if render is not None:
            _check_render_spec(render)
        _check_environment(environment)
        meshes = list(meshes)
        for i, m in enumerate(meshes):
            try:
                check_surface_mesh(f"setup_scene: meshes[{i}] ({m.name!r})", m)
            except SynthError as exc:
                raise RenderError(str(exc)) from None
            if m.material.kind not in _materials().MATERIAL_BUILDERS:
                raise RenderError(f"setup_scene: meshes[{i}] ({m.name!r}).material.kind = {m.material.kind!r}; "
                                  f"expected one of {sorted(_materials().MATERIAL_BUILDERS)}")
        self._clear_scene()
        scene = self._scene
        d = self._data
        if render is not None:
            self._apply_render_spec(render)

        if environment.hdri is not None:  # a photographed world: background and light (synth.environment.hdri)
            from synth.render.blender.world import create_hdri_world  # noqa: PLC0415 (imports bpy)

            world = create_hdri_world("synth_world", environment.hdri)
        else:
            world = _materials().create_world("synth_world", environment.sky_color, environment.sky_strength)
        d.worlds.append(world)
        scene.world = world
        if environment.ground is not None:
            self._add_ground(environment.ground)
        if environment.sun is not None:
            self._add_sun(environment.sun)
        for i, area in enumerate(environment.area_lights):
            self._add_area_light(i, area)
        for m in meshes:
            self._add_surface(m)
        self._ready = True

    def _apply_render_spec(self, render: RenderSpec) -> None:
        cyc = self._scene.cycles
        self._samples = int(render.samples)
        cyc.use_denoising = bool(render.denoise)
        if render.denoise:
            cyc.denoiser = "OPENIMAGEDENOISE"
        cyc.use_adaptive_sampling = render.adaptive_threshold > 0.0
        if render.adaptive_threshold > 0.0:
            cyc.adaptive_threshold = float(render.adaptive_threshold)
            cyc.adaptive_min_samples = int(render.adaptive_min_samples)
        self.render_spec = render

    def _add_surface(self, m: SurfaceMesh) -> None:
        bpy = self._bpy
        d = self._data
        mesh = bpy.data.meshes.new(m.name)
        d.meshes.append(mesh)
        static = m.vertices is not None
        verts = np.asarray(m.vertices, np.float32) if static else np.zeros((m.n_vertices, 3), np.float32)
        _fill_mesh(mesh, verts, np.asarray(m.faces))
        if m.vertex_colors is not None:
            attr = mesh.color_attributes.new(_materials().VERTEX_COLOR_ATTRIBUTE, "FLOAT_COLOR", "POINT")
            rgba = np.ones((m.n_vertices, 4), np.float32)
            rgba[:, :3] = np.asarray(m.vertex_colors, np.float32)
            attr.data.foreach_set("color", rgba.ravel())
        if m.smooth:
            mesh.shade_smooth()
        mat = _materials().MATERIAL_BUILDERS[m.material.kind](m.name, m.material)
        mat.pass_index = int(m.segment_id)
        d.materials.append(mat)
        mesh.materials.append(mat)
        obj = bpy.data.objects.new(m.name, mesh)
        obj.pass_index = int(m.instance_id)
        self._scene.collection.objects.link(obj)
        d.objects.append(obj)
        if not static:
            d.people.append(_Person(obj, mesh, mat, int(m.n_vertices)))

    def _add_ground(self, ground: GroundSpec) -> None:
        bpy = self._bpy
        if not ground.size_m > 0.0:
            raise RenderError(f"ground.size_m: expected > 0 m, got {ground.size_m}")
        h = 0.5 * float(ground.size_m)
        mesh = bpy.data.meshes.new("synth_ground")
        self._data.meshes.append(mesh)
        verts = np.array([[-h, -h, 0.0], [h, -h, 0.0], [h, h, 0.0], [-h, h, 0.0]], np.float32)
        _fill_mesh(mesh, verts, np.array([[0, 1, 2], [0, 2, 3]]))
        mat = _materials().create_ground_material("synth_ground", ground)
        self._data.materials.append(mat)
        mesh.materials.append(mat)
        obj = bpy.data.objects.new("synth_ground", mesh)
        obj.pass_index = 0
        if ground.shadow_catcher:  # the world (a photo) shows through, darkened by the shadows cast on it
            obj.is_shadow_catcher = True
        self._scene.collection.objects.link(obj)
        self._data.objects.append(obj)

    def _add_sun(self, sun: SunSpec) -> None:
        bpy = self._bpy
        from mathutils import Vector  # noqa: PLC0415 (ships with bpy)

        light = bpy.data.lights.new("synth_sun", "SUN")
        self._data.lights.append(light)
        light.energy = float(sun.strength)
        light.color = tuple(float(c) for c in sun.color)
        light.angle = float(sun.angle_rad)
        ce = math.cos(sun.elevation_rad)
        toward_sun = Vector((ce * math.cos(sun.azimuth_rad), ce * math.sin(sun.azimuth_rad),
                             math.sin(sun.elevation_rad)))
        obj = bpy.data.objects.new("synth_sun", light)
        obj.rotation_mode = "QUATERNION"
        obj.rotation_quaternion = toward_sun.to_track_quat("Z", "Y")  # a sun shines along its local -Z
        self._scene.collection.objects.link(obj)
        self._data.objects.append(obj)

    def _add_area_light(self, i: int, area: AreaLightSpec) -> None:
        bpy = self._bpy
        from mathutils import Vector  # noqa: PLC0415

        direction = Vector(area.target) - Vector(area.position)
        if direction.length < TOL.degenerate:
            raise RenderError(f"area_lights[{i}]: position {area.position} equals target {area.target}; "
                              "expected a target away from the light")
        light = bpy.data.lights.new(f"synth_area_{i}", "AREA")
        self._data.lights.append(light)
        light.shape = "SQUARE"
        light.size = float(area.size_m)
        light.energy = float(area.power_w)
        light.color = tuple(float(c) for c in area.color)
        obj = bpy.data.objects.new(f"synth_area_{i}", light)
        obj.location = tuple(float(c) for c in area.position)
        obj.rotation_mode = "QUATERNION"
        obj.rotation_quaternion = direction.to_track_quat("-Z", "Y")  # area lights emit along local -Z
        self._scene.collection.objects.link(obj)
        self._data.objects.append(obj)

    # ----------------------------------------------------------------- render
    def render(self, camera: CameraModel, vertices: Sequence[np.ndarray | None], *, seed: int,
               samples: int | None = None) -> RenderOutput:
        """Move the moving meshes to ``vertices`` and render one view.

        Parameters
        ----------
        camera : any camera model ``plan_blender_camera`` maps (pose and intrinsics).
        vertices : per moving mesh (``SurfaceMesh.vertices`` None), in ``setup_scene`` order, (V_k, 3) float32
            world metres. Entries for static meshes may be given as None; they are skipped.
        seed : Cycles sampling seed (taken modulo 2**31).
        samples : Cycles samples per pixel (>= 1); None = the ``RenderSpec``'s.

        Returns
        -------
        RenderOutput: rgb (H, W, 3) uint8 sRGB, instance (H, W) uint16 (k + 1 = person k),
        depth_m (H, W) float32 range in metres (inf = no surface), at the camera's size.
        """
        self._check_open()
        if not self._ready:
            raise RenderError("render: call setup_scene(...) before render(...)")
        people = self._data.people
        vertices = [v for v in vertices if v is not None]
        if len(vertices) != len(people):
            raise RenderError(f"render: got vertices for {len(vertices)} moving meshes, the scene has {len(people)}; "
                              "pass one (V, 3) array per moving mesh, in setup_scene order")
        if samples is None:
            samples = self._samples
        if isinstance(samples, bool) or not isinstance(samples, (int, np.integer)) or samples < 1:
            raise RenderError(f"render: samples must be an int >= 1, got {samples!r}")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise RenderError(f"render: seed must be an int, got {seed!r}")
        t0 = time.perf_counter()
        coords = []
        for k, (person, v) in enumerate(zip(people, vertices)):
            arr = np.ascontiguousarray(v, dtype=np.float32)
            if arr.shape != (person.n_vertices, 3):
                raise RenderError(f"render: vertices[{k}] has shape {np.shape(v)}, expected "
                                  f"({person.n_vertices}, 3) as set up for moving mesh {k} ({person.obj.name!r})")
            if not np.isfinite(arr).all():
                raise RenderError(f"render: vertices[{k}] holds NaN or inf; expected finite world metres")
            coords.append(arr)
        for person, arr in zip(people, coords):
            person.mesh.vertices.foreach_set("co", arr.ravel())
            person.mesh.update()
        t1 = time.perf_counter()

        scene = self._scene
        plan = plan_blender_camera(camera, oversample=self._oversample)
        plan.apply(scene, self._cam_obj)
        scene.cycles.samples = int(samples)
        scene.cycles.seed = int(seed) % (2 ** 31)
        width = scene.render.resolution_x * scene.render.resolution_percentage // 100
        height = scene.render.resolution_y * scene.render.resolution_percentage // 100

        passes = self._passes
        passes.remove_pass_files(self._tmp)
        try:
            with passes.capture_native_output(self._log_path, self._quiet):
                result = self._bpy.ops.render.render(write_still=False)
        except RuntimeError as exc:
            raise RenderError(f"Cycles render failed ({width}x{height}, {samples} spp, device {self.device_used}): "
                              f"{exc}. Blender log tail:\n{passes.log_tail(self._log_path)}") from exc
        if "FINISHED" not in result:
            raise RenderError(f"Cycles render returned {result}, expected {{'FINISHED'}}. Blender log tail:\n"
                              f"{passes.log_tail(self._log_path)}")
        t2 = time.perf_counter()
        raw = passes.read_passes(self._tmp)
        if raw.z.shape != (height, width):
            raise RenderError(f"render passes are {raw.z.shape[1]}x{raw.z.shape[0]} px, expected the "
                              f"{width}x{height} set by the camera plan; stale files or a compositor change")
        t3 = time.perf_counter()
        rgb, instance, depth = plan.finish(raw.rgb, raw.object_index, raw.z)
        segment = plan.finish_label(raw.material_index)
        t4 = time.perf_counter()
        self.last_timings = {"update": t1 - t0, "render": t2 - t1, "read": t3 - t2, "finish": t4 - t3,
                             "total": t4 - t0}
        return RenderOutput(rgb=rgb, instance=instance, depth_m=depth, segment=segment)

    # ------------------------------------------------------------- lifecycle
    def close(self) -> None:
        """Drop the scene, delete the temp directory, free the process's renderer slot. Idempotent."""
        global _LIVE
        if self._closed:
            return
        self._closed = True
        try:
            self._clear_scene()
        except Exception as exc:  # closing must always free the slot and the temp dir
            log.warning("BlenderRenderer.close: scene cleanup failed: %s", exc)
        shutil.rmtree(self._tmp, ignore_errors=True)
        if _LIVE is self:
            _LIVE = None

    @property
    def temp_dir(self) -> str:
        return self._tmp

    def datablock_counts(self) -> dict[str, int]:
        """Number of Blender datablocks by kind (objects, meshes, materials, ...): flat across scenes."""
        data = self._bpy.data
        kinds = ("objects", "meshes", "materials", "lights", "worlds", "images", "node_groups", "cameras")
        return {k: len(getattr(data, k)) for k in kinds}

    def __enter__(self) -> "BlenderRenderer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _materials():
    from synth.render.blender import materials  # noqa: PLC0415 (imports bpy)

    return materials


def _check_color(where: str, color) -> None:
    c = np.asarray(color, dtype=np.float64)
    if c.shape != (3,) or not np.isfinite(c).all() or c.min() < 0.0:
        raise RenderError(f"{where}: expected 3 finite linear RGB values >= 0, got {color!r}")


def _check_nonneg(where: str, value: float) -> None:
    if not (np.isfinite(value) and value >= 0.0):
        raise RenderError(f"{where}: expected a finite value >= 0, got {value!r}")


def _check_environment(env: EnvironmentSpec) -> None:
    """Validate everything setup_scene needs before the old scene is torn down."""
    _check_color("environment.sky_color", env.sky_color)
    _check_nonneg("environment.sky_strength", env.sky_strength)
    g = env.ground
    if g is not None:
        patterns = _materials().GROUND_PATTERNS
        if g.pattern not in patterns:
            raise RenderError(f"ground.pattern: expected one of {patterns}, got {g.pattern!r}; "
                              "fix the environment spec (synth.environment)")
        if not (np.isfinite(g.size_m) and g.size_m > 0.0):
            raise RenderError(f"ground.size_m: expected a size > 0 m, got {g.size_m!r}")
        if g.pattern != "plain" and not (np.isfinite(g.pattern_scale_m) and g.pattern_scale_m > 0.0):
            raise RenderError(f"ground.pattern_scale_m: expected > 0 m for pattern {g.pattern!r}, "
                              f"got {g.pattern_scale_m!r}")
        if not 0.0 <= g.roughness <= 1.0:
            raise RenderError(f"ground.roughness: expected a value in [0, 1], got {g.roughness!r}")
        _check_color("ground.base_color", g.base_color)
        _check_color("ground.secondary_color", g.secondary_color)
    if env.hdri is not None:
        h = env.hdri
        if not os.path.isfile(h.path) and h.name not in BUNDLED_HDRIS:
            raise RenderError(f"environment.hdri.path: {h.path!r} does not exist; expected an equirectangular "
                              ".exr/.hdr file (the bundled ones ship with bpy 5.0.1)")
        _check_nonneg("environment.hdri.strength", h.strength)
        if not np.isfinite(h.rotation_rad):
            raise RenderError(f"environment.hdri.rotation_rad: expected a finite angle, got {h.rotation_rad!r}")
    if env.sun is not None:
        _check_nonneg("sun.strength", env.sun.strength)
        _check_nonneg("sun.angle_rad", env.sun.angle_rad)
        _check_color("sun.color", env.sun.color)
    for i, a in enumerate(env.area_lights):
        _check_nonneg(f"area_lights[{i}].power_w", a.power_w)
        _check_color(f"area_lights[{i}].color", a.color)
        if not (np.isfinite(a.size_m) and a.size_m > 0.0):
            raise RenderError(f"area_lights[{i}].size_m: expected a size > 0 m, got {a.size_m!r}")
        if np.linalg.norm(np.subtract(a.target, a.position)) < TOL.degenerate:
            raise RenderError(f"area_lights[{i}]: position {a.position} equals target {a.target}; "
                              "expected a target away from the light")


def _check_render_spec(render: RenderSpec) -> None:
    if isinstance(render.samples, bool) or not isinstance(render.samples, (int, np.integer)) or render.samples < 1:
        raise RenderError(f"render.samples: expected an int >= 1, got {render.samples!r}")
    if not (np.isfinite(render.adaptive_threshold) and 0.0 <= render.adaptive_threshold <= 1.0):
        raise RenderError(f"render.adaptive_threshold: expected a value in [0, 1] (0 = off), "
                          f"got {render.adaptive_threshold!r}")
    if render.adaptive_min_samples < 0:
        raise RenderError(f"render.adaptive_min_samples: expected >= 0, got {render.adaptive_min_samples!r}")


def _fill_mesh(mesh, verts: np.ndarray, tris: np.ndarray) -> None:
    """Fill an empty mesh with (V, 3) float32 vertices and (F, 3) int triangles, fast (no Python loops)."""
    tris = np.ascontiguousarray(tris, dtype=np.int32)
    n_faces = tris.shape[0]
    mesh.vertices.add(verts.shape[0])
    mesh.vertices.foreach_set("co", np.ascontiguousarray(verts, np.float32).ravel())
    mesh.loops.add(3 * n_faces)
    mesh.loops.foreach_set("vertex_index", tris.ravel())
    mesh.polygons.add(n_faces)
    mesh.polygons.foreach_set("loop_start", np.arange(0, 3 * n_faces, 3, dtype=np.int32))
    mesh.update(calc_edges=True)
    if mesh.validate(verbose=False):  # repairs in place; vertices are never removed, so V stays
        log.warning("mesh %r: Blender removed invalid triangles (repeated indices or duplicate faces): %d of %d "
                    "remain", mesh.name, len(mesh.polygons), n_faces)
