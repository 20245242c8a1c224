"""Photographed worlds in Blender: an equirectangular HDR photo as background and light.

``create_hdri_world(name, hdri)`` builds ``Texture Coordinate (Generated) -> Mapping (rotate about Z)
-> Environment Texture -> Background (strength)``. The photo is looked up in the direction rotated by
``hdri.rotation_rad`` about +Z. Images are loaded once per process (``check_existing``) and kept for
the next scene.

``make_shadow_catcher(obj)``: the object only catches shadows (and reflections) on what is behind it:
a ground plane that keeps the photo's own ground visible with the people's shadows added.
"""

from __future__ import annotations

import os

import bpy

from synth.core.errors import RenderError
from synth.environment.hdri import BUNDLED_HDRIS, bundled_hdri_path


def resolve_hdri_path(hdri) -> str:
    """The HDRI's file on this machine: its recorded path, or for a bundled photo this bpy's copy (a scene drawn on
    another machine records that machine's path)."""
    if os.path.isfile(hdri.path) or hdri.name not in BUNDLED_HDRIS:
        return hdri.path
    return str(bundled_hdri_path(hdri.name))


def load_hdri_image(path: str):
    if not os.path.isfile(path):
        raise RenderError(f"environment.hdri.path: {path!r} does not exist; expected an equirectangular .exr/.hdr "
                          "(the bundled ones ship with bpy 5.0.1; check the install)")
    try:
        return bpy.data.images.load(path, check_existing=True)
    except RuntimeError as exc:
        raise RenderError(f"environment.hdri.path: Blender could not read {path!r} ({exc}); expected an "
                          "equirectangular .exr or .hdr") from exc


def create_hdri_world(name: str, hdri):
    """A world lit and backed by ``hdri`` (``synth.environment.spec.HdriSpec``)."""
    world = bpy.data.worlds.new(name)
    if world.node_tree is None:
        world.use_nodes = True
    nt = world.node_tree
    nt.nodes.clear()
    coords = nt.nodes.new("ShaderNodeTexCoord")
    mapping = nt.nodes.new("ShaderNodeMapping")
    mapping.vector_type = "POINT"
    mapping.inputs["Rotation"].default_value = (0.0, 0.0, float(hdri.rotation_rad))
    env = nt.nodes.new("ShaderNodeTexEnvironment")
    env.image = load_hdri_image(resolve_hdri_path(hdri))
    env.interpolation = "Linear"
    env.projection = "EQUIRECTANGULAR"
    bg = nt.nodes.new("ShaderNodeBackground")
    bg.inputs["Strength"].default_value = float(hdri.strength)
    out = nt.nodes.new("ShaderNodeOutputWorld")
    nt.links.new(coords.outputs["Generated"], mapping.inputs["Vector"])
    nt.links.new(mapping.outputs["Vector"], env.inputs["Vector"])
    nt.links.new(env.outputs["Color"], bg.inputs["Color"])
    nt.links.new(bg.outputs["Background"], out.inputs["Surface"])
    return world


def make_shadow_catcher(obj) -> None:
    """Turn ``obj`` into a Cycles shadow catcher (the world shows through it, darkened by shadows)."""
    obj.is_shadow_catcher = True
