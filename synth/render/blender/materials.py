"""Shader-node materials and the world for the Blender renderer.

Imported only by ``synth.render.blender.renderer`` after it has checked that
``bpy`` is importable. Colours are linear RGB in [0, 1] (Blender's scene
linear space is linear Rec.709, so they go into the nodes unchanged).
"""

from __future__ import annotations

import bpy

from synth.core.errors import RenderError
from synth.core.surfaces import MaterialSpec
from synth.environment.spec import GroundSpec

#: Name of the per-vertex colour attribute that person materials read.
VERTEX_COLOR_ATTRIBUTE = "synth_color"

GROUND_PATTERNS = ("plain", "checker", "noise")


def _rgba(color: tuple[float, float, float]) -> tuple[float, float, float, float]:
    r, g, b = (float(c) for c in color)
    return (r, g, b, 1.0)


def _socket(sockets, identifier: str):
    """A node socket by its unique identifier (names repeat across a Mix node's typed variants)."""
    for sock in sockets:
        if sock.identifier == identifier:
            return sock
    raise RenderError(f"Blender node socket {identifier!r} not found among {[s.identifier for s in sockets]}; "
                      "this Blender version's node API differs from 5.0.1 (pip install bpy==5.0.1)")


def _node_tree(datablock):
    """The shader node tree of a new material or world (5.0 creates it; older versions need use_nodes)."""
    if datablock.node_tree is None:
        datablock.use_nodes = True
    return datablock.node_tree


def _fresh_tree(material):
    """Return the material's node tree emptied except for a Principled BSDF and the output, linked."""
    nt = _node_tree(material)
    nt.nodes.clear()
    out = nt.nodes.new("ShaderNodeOutputMaterial")
    bsdf = nt.nodes.new("ShaderNodeBsdfPrincipled")
    nt.links.new(bsdf.outputs["BSDF"], out.inputs["Surface"])
    return nt, bsdf


def create_person_material(name: str, roughness: float):
    """Principled BSDF whose base colour is the mesh's per-vertex colour attribute."""
    mat = bpy.data.materials.new(name)
    nt, bsdf = _fresh_tree(mat)
    attr = nt.nodes.new("ShaderNodeAttribute")
    attr.attribute_type = "GEOMETRY"
    attr.attribute_name = VERTEX_COLOR_ATTRIBUTE
    nt.links.new(attr.outputs["Color"], bsdf.inputs["Base Color"])
    bsdf.inputs["Roughness"].default_value = float(roughness)
    return mat


def create_ground_material(name: str, ground: GroundSpec):
    """Plain, checker or noise ground in the plane's object coordinates (= world metres; plane at the origin)."""
    if ground.pattern not in GROUND_PATTERNS:
        raise RenderError(f"ground.pattern: expected one of {GROUND_PATTERNS}, got {ground.pattern!r}; "
                          "fix the environment spec (synth.environment)")
    if ground.pattern != "plain" and not ground.pattern_scale_m > 0.0:
        raise RenderError(f"ground.pattern_scale_m: expected > 0 m for pattern {ground.pattern!r}, "
                          f"got {ground.pattern_scale_m}")
    mat = bpy.data.materials.new(name)
    nt, bsdf = _fresh_tree(mat)
    bsdf.inputs["Roughness"].default_value = float(ground.roughness)
    if ground.pattern == "plain":
        bsdf.inputs["Base Color"].default_value = _rgba(ground.base_color)
        return mat

    coords = nt.nodes.new("ShaderNodeTexCoord")
    mix = nt.nodes.new("ShaderNodeMix")
    mix.data_type = "RGBA"
    mix.clamp_factor = True
    _socket(mix.inputs, "A_Color").default_value = _rgba(ground.base_color)
    _socket(mix.inputs, "B_Color").default_value = _rgba(ground.secondary_color)
    nt.links.new(_socket(mix.outputs, "Result_Color"), bsdf.inputs["Base Color"])
    scale = float(ground.pattern_scale_m)

    if ground.pattern == "checker":
        # factor = (floor(x / s) + floor(y / s)) mod 2: squares of side s metres, exact.
        sep = nt.nodes.new("ShaderNodeSeparateXYZ")
        nt.links.new(coords.outputs["Object"], sep.inputs["Vector"])
        cells = []
        for axis in ("X", "Y"):
            div = nt.nodes.new("ShaderNodeMath")
            div.operation = "DIVIDE"
            nt.links.new(sep.outputs[axis], div.inputs[0])
            div.inputs[1].default_value = scale
            flo = nt.nodes.new("ShaderNodeMath")
            flo.operation = "FLOOR"
            nt.links.new(div.outputs["Value"], flo.inputs[0])
            cells.append(flo)
        add = nt.nodes.new("ShaderNodeMath")
        add.operation = "ADD"
        nt.links.new(cells[0].outputs["Value"], add.inputs[0])
        nt.links.new(cells[1].outputs["Value"], add.inputs[1])
        mod = nt.nodes.new("ShaderNodeMath")
        mod.operation = "FLOORED_MODULO"
        nt.links.new(add.outputs["Value"], mod.inputs[0])
        mod.inputs[1].default_value = 2.0
        nt.links.new(mod.outputs["Value"], _socket(mix.inputs, "Factor_Float"))
    else:  # noise: 2D noise with features of about `scale` metres, contrast stretched
        noise = nt.nodes.new("ShaderNodeTexNoise")
        noise.noise_dimensions = "2D"
        nt.links.new(coords.outputs["Object"], noise.inputs["Vector"])
        noise.inputs["Scale"].default_value = 1.0 / scale
        noise.inputs["Detail"].default_value = 3.0
        stretch = nt.nodes.new("ShaderNodeMapRange")
        stretch.clamp = True
        nt.links.new(noise.outputs["Factor"], stretch.inputs["Value"])
        stretch.inputs["From Min"].default_value = 0.3
        stretch.inputs["From Max"].default_value = 0.7
        nt.links.new(stretch.outputs["Result"], _socket(mix.inputs, "Factor_Float"))
    return mat


def create_world(name: str, color: tuple[float, float, float], strength: float):
    """A uniform sky: background colour times strength, lighting the scene and seen behind it."""
    world = bpy.data.worlds.new(name)
    nt = _node_tree(world)
    nt.nodes.clear()
    bg = nt.nodes.new("ShaderNodeBackground")
    out = nt.nodes.new("ShaderNodeOutputWorld")
    bg.inputs["Color"].default_value = _rgba(color)
    bg.inputs["Strength"].default_value = float(strength)
    nt.links.new(bg.outputs["Background"], out.inputs["Surface"])
    return world


def build_vertex_color_material(name: str, spec: MaterialSpec):
    """``kind: vertex_color``: Principled BSDF coloured by the mesh's per-vertex linear RGB (``SurfaceMesh.vertex_colors``)."""
    return create_person_material(name, spec.roughness)


#: Material kind -> builder ``fn(name, MaterialSpec) -> bpy.types.Material``. A new look (fabric, hair, wood, ...)
#: registers its builder here; ``SurfaceMesh.material.kind`` selects it.
MATERIAL_BUILDERS = {
    "vertex_color": build_vertex_color_material,
}
