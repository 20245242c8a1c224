"""A tiny real Blender scene for the camera tests: emissive marker spheres on black.

Builds the scene in-process with ``bpy`` (factory settings, Cycles CPU), renders
through ``plan_blender_camera(camera)`` and returns what ``plan.finish`` makes of
Blender's raw passes (written by a compositor File Output node as float EXRs and
read back with ``bpy.data.images.load``).

Only tests import this module (bpy stays out of the library outside
``synth/render/blender``).
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import bpy  # noqa: E402  (tests only)
import bmesh  # noqa: E402

from synth.cameras.base import CameraModel
from synth.render.blender.camera import plan_blender_camera


@dataclass
class MarkerRender:
    rgb: np.ndarray        # (H, W, 3) uint8 sRGB, the model's image
    instance: np.ndarray   # (H, W) uint16, marker index + 1, 0 background
    depth: np.ndarray      # (H, W) float32, range in metres, inf background
    raw_z: np.ndarray      # (h, w) float32, Blender's Z pass at the render resolution (top row first)
    plan: object


def linear_to_srgb_u8(lin: np.ndarray) -> np.ndarray:
    lin = np.clip(lin, 0.0, 1.0)
    s = np.where(lin <= 0.0031308, 12.92 * lin, 1.055 * np.power(lin, 1.0 / 2.4) - 0.055)
    return np.clip(np.round(s * 255.0), 0, 255).astype(np.uint8)


def srgb_u8_to_linear(u8: np.ndarray) -> np.ndarray:
    s = u8.astype(np.float64) / 255.0
    return np.where(s <= 0.04045, s / 12.92, ((s + 0.055) / 1.055) ** 2.4)


def _emission_material(name: str, strength: float) -> "bpy.types.Material":
    mat = bpy.data.materials.new(name)
    if mat.node_tree is None:  # Blender < 5 creates materials without nodes
        mat.use_nodes = True
    nt = mat.node_tree
    nt.nodes.clear()
    em = nt.nodes.new("ShaderNodeEmission")
    em.inputs["Color"].default_value = (1.0, 1.0, 1.0, 1.0)
    em.inputs["Strength"].default_value = strength
    out = nt.nodes.new("ShaderNodeOutputMaterial")
    nt.links.new(em.outputs["Emission"], out.inputs["Surface"])
    return mat


def _sphere_mesh(name: str, radius: float) -> "bpy.types.Mesh":
    me = bpy.data.meshes.new(name)
    bm = bmesh.new()
    bmesh.ops.create_uvsphere(bm, u_segments=24, v_segments=12, radius=radius)
    bm.to_mesh(me)
    bm.free()
    for p in me.polygons:
        p.use_smooth = True
    return me


def render_markers(camera: CameraModel, points_world: np.ndarray, radius_m: np.ndarray | float, *,
                   samples: int = 16, emission: float = 1.0, workdir: str | None = None,
                   threads: int = 2) -> MarkerRender:
    """Render emissive spheres of ``radius_m`` at ``points_world`` (N, 3) metres through ``camera``.

    Marker i gets object index i + 1. Returns the finished (model-geometry) passes.
    """
    pts = np.asarray(points_world, dtype=np.float64).reshape(-1, 3)
    radii = np.broadcast_to(np.asarray(radius_m, dtype=np.float64), (len(pts),))
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.render.engine = "CYCLES"
    scene.cycles.device = "CPU"
    scene.cycles.samples = samples
    scene.cycles.use_adaptive_sampling = False
    scene.cycles.use_denoising = False
    scene.cycles.max_bounces = 0
    scene.cycles.seed = 0
    scene.render.threads_mode = "FIXED"
    scene.render.threads = threads
    scene.view_settings.view_transform = "Standard"
    world = bpy.data.worlds.new("black")
    world.color = (0.0, 0.0, 0.0)
    if world.node_tree is not None:
        for n in world.node_tree.nodes:
            if n.bl_idname == "ShaderNodeBackground":
                n.inputs["Strength"].default_value = 0.0
                n.inputs["Color"].default_value = (0.0, 0.0, 0.0, 1.0)
    scene.world = world
    vl = scene.view_layers[0]
    vl.use_pass_z = True
    vl.use_pass_object_index = True

    mat = _emission_material("marker", emission)
    for i, (p, r) in enumerate(zip(pts, radii)):
        me = _sphere_mesh(f"m{i}", float(r))
        me.materials.append(mat)
        ob = bpy.data.objects.new(f"marker{i}", me)
        ob.location = tuple(float(v) for v in p)
        ob.pass_index = i + 1
        scene.collection.objects.link(ob)

    cam_data = bpy.data.cameras.new("cam")
    cam_obj = bpy.data.objects.new("cam", cam_data)
    scene.collection.objects.link(cam_obj)
    scene.camera = cam_obj

    plan = plan_blender_camera(camera)
    plan.apply(scene, cam_obj)
    w, h = scene.render.resolution_x, scene.render.resolution_y

    tmp = Path(workdir or tempfile.mkdtemp(prefix="synth_markers_"))
    ng = bpy.data.node_groups.new("comp", "CompositorNodeTree")
    scene.compositing_node_group = ng
    rl = ng.nodes.new("CompositorNodeRLayers")
    out = ng.nodes.new("CompositorNodeOutputFile")
    out.directory = str(tmp)
    out.file_name = "pass_"
    out.format.media_type = "IMAGE"
    out.format.file_format = "OPEN_EXR"
    out.format.color_depth = "32"
    for name in ("rgb", "depth", "index"):
        out.file_output_items.new("RGBA" if name == "rgb" else "FLOAT", name)
    ng.links.new(rl.outputs["Image"], out.inputs["rgb"])
    ng.links.new(rl.outputs["Depth"], out.inputs["depth"])
    ng.links.new(rl.outputs["Object Index"], out.inputs["index"])
    scene.render.use_compositing = True
    scene.frame_set(1)
    bpy.ops.render.render(write_still=False)

    def read(name: str) -> np.ndarray:
        files = sorted(tmp.glob(f"pass_{name}*.exr"))
        if not files:
            raise FileNotFoundError(f"no pass file for {name!r} in {tmp}: {sorted(p.name for p in tmp.iterdir())}")
        img = bpy.data.images.load(str(files[-1]))
        img.colorspace_settings.is_data = True
        px = np.empty(img.size[0] * img.size[1] * img.channels, dtype=np.float32)
        img.pixels.foreach_get(px)
        arr = px.reshape(img.size[1], img.size[0], img.channels)[::-1]  # Blender stores bottom row first
        bpy.data.images.remove(img)
        return arr

    try:
        rgb_lin = read("rgb")[..., :3]
        z = read("depth")[..., 0].copy()
        idx = np.round(read("index")[..., 0]).astype(np.uint16)
    finally:
        if workdir is None:
            shutil.rmtree(tmp, ignore_errors=True)
    if rgb_lin.shape[:2] != (h, w):
        raise RuntimeError(f"pass size {rgb_lin.shape[:2]} != render size {(h, w)}")
    rgb, inst, depth = plan.finish(linear_to_srgb_u8(rgb_lin), idx, z)
    return MarkerRender(rgb=rgb, instance=inst, depth=depth, raw_z=z, plan=plan)


def marker_centroids(rgb: np.ndarray, instance: np.ndarray, n: int, *, window: int = 6,
                     guess_uv: np.ndarray | None = None) -> np.ndarray:
    """(n, 2) intensity-weighted centroids (linear intensity) of each marker's blob.

    Pixels are taken in a window of +-``window`` px around ``guess_uv`` (or around the
    pixels the instance pass assigns to the marker); NaN when the marker is not visible.
    """
    lum = srgb_u8_to_linear(rgb).mean(axis=-1)
    H, W = lum.shape
    vv, uu = np.mgrid[0:H, 0:W]
    out = np.full((n, 2), np.nan)
    for i in range(n):
        if guess_uv is not None and np.all(np.isfinite(guess_uv[i])):
            cu, cv = guess_uv[i]
        else:
            m = instance == i + 1
            if not m.any():
                continue
            cu, cv = uu[m].mean(), vv[m].mean()
        win = (np.abs(uu - cu) <= window) & (np.abs(vv - cv) <= window)
        wgt = np.where(win, lum, 0.0)
        s = wgt.sum()
        if s <= 0:
            continue
        out[i] = [(wgt * uu).sum() / s, (wgt * vv).sum() / s]
    return out
