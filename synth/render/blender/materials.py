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


def _vertex_color_bsdf(name: str, roughness: float):
    """A new material: Principled BSDF whose base colour is the mesh's per-vertex colour attribute.

    Returns (material, its Principled BSDF node) so people's material kinds can set their other inputs."""
    mat = bpy.data.materials.new(name)
    nt, bsdf = _fresh_tree(mat)
    attr = nt.nodes.new("ShaderNodeAttribute")
    attr.attribute_type = "GEOMETRY"
    attr.attribute_name = VERTEX_COLOR_ATTRIBUTE
    nt.links.new(attr.outputs["Color"], bsdf.inputs["Base Color"])
    bsdf.inputs["Roughness"].default_value = float(roughness)
    return mat, bsdf


def create_person_material(name: str, roughness: float):
    """Principled BSDF whose base colour is the mesh's per-vertex colour attribute."""
    return _vertex_color_bsdf(name, roughness)[0]


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


# --------------------------------------------------------------------------- room and prop materials
# Builders for the surface materials of rooms and props (``synth.environment.spec.MaterialSpec``, or any
# object with ``kind``, ``base_color``, ``roughness`` and ``params``). Patterns are laid out in object
# coordinates, which are world metres for the static room and prop meshes. A surface's 2D pattern
# coordinates are (x, y) on floors and tops (|normal z| > 0.5) and (x + y, z) on walls and sides, so
# tiles and planks keep their size on every face.

SURFACE_MATERIAL_KINDS = ("wood", "tiles", "carpet", "concrete", "plaster", "paint", "upholstery", "metal")


def _param(spec, key: str, default):
    params = getattr(spec, "params", None) or {}
    return params.get(key, default)


def _surface_coords(nt):
    """A vector socket: (x, y, 0) on horizontal faces, (x + y, z, 0) on vertical ones (object coords, metres)."""
    coords = nt.nodes.new("ShaderNodeTexCoord")
    geom = nt.nodes.new("ShaderNodeNewGeometry")
    sep = nt.nodes.new("ShaderNodeSeparateXYZ")
    nt.links.new(coords.outputs["Object"], sep.inputs["Vector"])
    nsep = nt.nodes.new("ShaderNodeSeparateXYZ")
    nt.links.new(geom.outputs["Normal"], nsep.inputs["Vector"])
    absn = nt.nodes.new("ShaderNodeMath")
    absn.operation = "ABSOLUTE"
    nt.links.new(nsep.outputs["Z"], absn.inputs[0])
    horiz = nt.nodes.new("ShaderNodeMath")
    horiz.operation = "GREATER_THAN"
    nt.links.new(absn.outputs["Value"], horiz.inputs[0])
    horiz.inputs[1].default_value = 0.5
    xy = nt.nodes.new("ShaderNodeCombineXYZ")
    nt.links.new(sep.outputs["X"], xy.inputs["X"])
    nt.links.new(sep.outputs["Y"], xy.inputs["Y"])
    add = nt.nodes.new("ShaderNodeMath")
    add.operation = "ADD"
    nt.links.new(sep.outputs["X"], add.inputs[0])
    nt.links.new(sep.outputs["Y"], add.inputs[1])
    side = nt.nodes.new("ShaderNodeCombineXYZ")
    nt.links.new(add.outputs["Value"], side.inputs["X"])
    nt.links.new(sep.outputs["Z"], side.inputs["Y"])
    mix = nt.nodes.new("ShaderNodeMix")
    mix.data_type = "VECTOR"
    nt.links.new(horiz.outputs["Value"], _socket(mix.inputs, "Factor_Float"))
    nt.links.new(side.outputs["Vector"], _socket(mix.inputs, "A_Vector"))
    nt.links.new(xy.outputs["Vector"], _socket(mix.inputs, "B_Vector"))
    return _socket(mix.outputs, "Result_Vector")


def _mix_colors(nt, factor_socket, a, b, bsdf):
    mix = nt.nodes.new("ShaderNodeMix")
    mix.data_type = "RGBA"
    mix.clamp_factor = True
    _socket(mix.inputs, "A_Color").default_value = _rgba(a)
    _socket(mix.inputs, "B_Color").default_value = _rgba(b)
    nt.links.new(factor_socket, _socket(mix.inputs, "Factor_Float"))
    nt.links.new(_socket(mix.outputs, "Result_Color"), bsdf.inputs["Base Color"])
    return mix


def _noise(nt, vector_socket, scale_m: float, detail: float, seed: float):
    noise = nt.nodes.new("ShaderNodeTexNoise")
    noise.noise_dimensions = "4D"
    nt.links.new(vector_socket, noise.inputs["Vector"])
    noise.inputs["W"].default_value = float(seed)
    noise.inputs["Scale"].default_value = 1.0 / max(float(scale_m), 1e-4)
    noise.inputs["Detail"].default_value = float(detail)
    return noise


def _bump(nt, height_socket, bsdf, strength: float, distance_m: float = 0.002) -> None:
    bump = nt.nodes.new("ShaderNodeBump")
    bump.inputs["Strength"].default_value = float(strength)
    bump.inputs["Distance"].default_value = float(distance_m)
    nt.links.new(height_socket, bump.inputs["Height"])
    nt.links.new(bump.outputs["Normal"], bsdf.inputs["Normal"])


def create_surface_material(name: str, spec):
    """A room / prop material of ``spec.kind`` (one of ``SURFACE_MATERIAL_KINDS``)."""
    kind = spec.kind
    if kind not in SURFACE_MATERIAL_KINDS:
        raise RenderError(f"material kind {kind!r} has no builder; expected one of {SURFACE_MATERIAL_KINDS}")
    mat = bpy.data.materials.new(name)
    nt, bsdf = _fresh_tree(mat)
    base = tuple(spec.base_color)
    second = tuple(_param(spec, "secondary_color", base))
    seed = float(_param(spec, "seed", 0.0))
    bsdf.inputs["Roughness"].default_value = float(spec.roughness)
    if kind == "metal":
        bsdf.inputs["Base Color"].default_value = _rgba(base)
        bsdf.inputs["Metallic"].default_value = float(_param(spec, "metallic", 1.0))
        return mat
    uv = _surface_coords(nt)
    if kind == "tiles":
        brick = nt.nodes.new("ShaderNodeTexBrick")
        brick.offset = 0.0
        brick.squash = 1.0
        nt.links.new(uv, brick.inputs["Vector"])
        size = float(_param(spec, "tile_size_m", 0.3))
        brick.inputs["Scale"].default_value = 1.0
        brick.inputs["Brick Width"].default_value = size
        brick.inputs["Row Height"].default_value = size
        brick.inputs["Mortar Size"].default_value = float(_param(spec, "grout_m", 0.006))
        brick.inputs["Bias"].default_value = 0.0
        brick.inputs["Color1"].default_value = _rgba(base)
        brick.inputs["Color2"].default_value = _rgba(tuple(0.9 * c for c in base))
        brick.inputs["Mortar"].default_value = _rgba(second)
        nt.links.new(brick.outputs["Color"], bsdf.inputs["Base Color"])
        _bump(nt, brick.outputs["Fac"], bsdf, 0.3)
        return mat
    if kind == "wood":
        # planks across y (floor) / z (sides): a per-plank shade, and wavy grain along x
        plank = float(_param(spec, "plank_width_m", 0.15))
        sep = nt.nodes.new("ShaderNodeSeparateXYZ")
        nt.links.new(uv, sep.inputs["Vector"])
        div = nt.nodes.new("ShaderNodeMath")
        div.operation = "DIVIDE"
        nt.links.new(sep.outputs["Y"], div.inputs[0])
        div.inputs[1].default_value = plank
        flo = nt.nodes.new("ShaderNodeMath")
        flo.operation = "FLOOR"
        nt.links.new(div.outputs["Value"], flo.inputs[0])
        white = nt.nodes.new("ShaderNodeTexWhiteNoise")
        white.noise_dimensions = "2D"
        comb = nt.nodes.new("ShaderNodeCombineXYZ")
        nt.links.new(flo.outputs["Value"], comb.inputs["X"])
        comb.inputs["Y"].default_value = seed
        nt.links.new(comb.outputs["Vector"], white.inputs["Vector"])
        wave = nt.nodes.new("ShaderNodeTexWave")
        wave.wave_type = "BANDS"
        wave.bands_direction = "Y"
        nt.links.new(uv, wave.inputs["Vector"])
        wave.inputs["Scale"].default_value = 1.0 / max(float(_param(spec, "scale_m", 0.1)), 1e-3)
        wave.inputs["Distortion"].default_value = 4.0
        wave.inputs["Detail"].default_value = 3.0
        fac = nt.nodes.new("ShaderNodeMath")
        fac.operation = "MULTIPLY_ADD"
        nt.links.new(wave.outputs["Factor"] if "Factor" in wave.outputs else wave.outputs["Fac"], fac.inputs[0])
        fac.inputs[1].default_value = 0.5
        nt.links.new(white.outputs["Value"], fac.inputs[2])
        scale = nt.nodes.new("ShaderNodeMath")
        scale.operation = "MULTIPLY"
        nt.links.new(fac.outputs["Value"], scale.inputs[0])
        scale.inputs[1].default_value = 0.7
        _mix_colors(nt, scale.outputs["Value"], base, second, bsdf)
        return mat
    scale = float(_param(spec, "scale_m", 0.5))
    detail = {"carpet": 2.0, "upholstery": 2.0, "concrete": 6.0, "plaster": 4.0, "paint": 1.0}[kind]
    noise = _noise(nt, uv, scale, detail, seed)
    stretch = nt.nodes.new("ShaderNodeMapRange")
    stretch.clamp = True
    nt.links.new(noise.outputs["Factor"], stretch.inputs["Value"])
    stretch.inputs["From Min"].default_value = 0.35
    stretch.inputs["From Max"].default_value = 0.65
    _mix_colors(nt, stretch.outputs["Result"], base, second if kind != "paint" else base, bsdf)
    if kind in ("carpet", "upholstery", "concrete", "plaster"):
        fine = _noise(nt, uv, 0.004 if kind in ("carpet", "upholstery") else 0.02, 2.0, seed + 1.0)
        _bump(nt, fine.outputs["Factor"], bsdf, 0.25 if kind in ("carpet", "upholstery") else 0.1)
    return mat


for _kind in SURFACE_MATERIAL_KINDS:
    MATERIAL_BUILDERS[_kind] = create_surface_material


# --------------------------------------------------------------------------- people: skin, fabric, leather, hair
# Base colour from the mesh's per-vertex linear RGB (``SurfaceMesh.vertex_colors``: skin tone, garment colour and
# pattern); what differs is how light meets the surface. Values from the usual physically based references:
# skin scatters light under the surface (red travels furthest), cloth has a soft sheen at grazing angles and
# almost no specular, leather a thin glossy coat, hair a brighter, rougher sheen.

def build_skin_material(name: str, spec: MaterialSpec):
    """``kind: skin``: vertex-coloured skin with subsurface scattering (random walk; radius per channel in metres
    times ``params['subsurface_scale_m']``, default 4 mm) and a mild specular layer."""
    mat, bsdf = _vertex_color_bsdf(name, spec.roughness)
    bsdf.subsurface_method = "RANDOM_WALK"
    bsdf.inputs["Subsurface Weight"].default_value = float(_param(spec, "subsurface_weight", 0.2))
    bsdf.inputs["Subsurface Radius"].default_value = (1.0, 0.35, 0.2)
    bsdf.inputs["Subsurface Scale"].default_value = float(_param(spec, "subsurface_scale_m", 0.004))
    bsdf.inputs["Specular IOR Level"].default_value = 0.45
    return mat


def build_fabric_material(name: str, spec: MaterialSpec):
    """``kind: fabric``: matte cloth: low specular, a sheen at grazing angles (``params['sheen']``, default 0.6)."""
    mat, bsdf = _vertex_color_bsdf(name, spec.roughness)
    bsdf.inputs["Specular IOR Level"].default_value = 0.25
    bsdf.inputs["Sheen Weight"].default_value = float(_param(spec, "sheen", 0.6))
    bsdf.inputs["Sheen Roughness"].default_value = 0.45
    return mat


def build_leather_material(name: str, spec: MaterialSpec):
    """``kind: leather``: shoes: a thin clear coat over the coloured base."""
    mat, bsdf = _vertex_color_bsdf(name, spec.roughness)
    bsdf.inputs["Coat Weight"].default_value = float(_param(spec, "coat", 0.35))
    bsdf.inputs["Coat Roughness"].default_value = 0.25
    return mat


def build_hair_material(name: str, spec: MaterialSpec):
    """``kind: hair``: the hair shell and eyebrows: a tinted sheen and a little specular, no subsurface."""
    mat, bsdf = _vertex_color_bsdf(name, spec.roughness)
    bsdf.inputs["Specular IOR Level"].default_value = 0.6
    bsdf.inputs["Sheen Weight"].default_value = 0.3
    bsdf.inputs["Sheen Roughness"].default_value = 0.3
    return mat


MATERIAL_BUILDERS.update(skin=build_skin_material, fabric=build_fabric_material, leather=build_leather_material,
                         hair=build_hair_material)
