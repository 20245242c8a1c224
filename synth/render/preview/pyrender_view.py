"""Fast preview tiles of a posed scene (pyrender on EGL, pinhole only): the drawing half of ``synth preview``.

Previews exist to iterate on a recipe; Blender stays the renderer of record for
datasets, and nothing here feeds the labels. Fisheye views are previewed
through a pinhole camera with the same pose (the tile says so).
"""

from __future__ import annotations

import math
import os

import numpy as np

from synth.core.errors import RenderError
from synth.core.transforms import T_BLENDERCAM_FROM_CVCAM


def _pyrender():
    os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
    try:
        import pyrender
    except ImportError as err:
        raise RenderError("synth preview needs pyrender: pip install 'synth[preview]' (pyrender==0.1.45)") from err
    return pyrender


def render_preview_view(meshes, vertices, camera, environment) -> np.ndarray:
    """One preview tile (H, W, 3) uint8 of a posed scene's meshes on the ground.

    meshes : ``SurfaceMesh`` items (``PosedScene.surface_meshes()``); vertices : per mesh (V, 3) world metres,
    or None for a static mesh (``PosedScene.frame_vertices(t)``). Vertex-coloured meshes show their colours,
    others their material's base colour.
    """
    pyrender = _pyrender()
    import trimesh

    W, H = camera.width, camera.height
    bg = np.clip(np.asarray(environment.sky_color) * min(environment.sky_strength, 1.0), 0, 1)
    scene = pyrender.Scene(bg_color=np.append(bg, 1.0), ambient_light=np.full(3, 0.35))
    if environment.ground is not None:
        g = environment.ground
        plane = trimesh.creation.box(extents=(g.size_m, g.size_m, 0.01))
        plane.apply_translation((0, 0, -0.005))
        plane.visual.vertex_colors = (np.append(np.asarray(g.base_color) ** (1 / 2.2), 1.0) * 255).astype(np.uint8)
        scene.add(pyrender.Mesh.from_trimesh(plane, smooth=False))
    for mesh, verts in zip(meshes, vertices):
        verts = mesh.vertices if verts is None else verts
        m = trimesh.Trimesh(vertices=verts, faces=mesh.faces, process=False)
        linear = (mesh.vertex_colors if mesh.vertex_colors is not None
                  else np.broadcast_to(np.asarray(mesh.material.base_color, np.float32), (len(verts), 3)))
        cols = np.clip(linear, 0, 1) ** (1 / 2.2)
        m.visual.vertex_colors = (np.concatenate([cols, np.ones((len(cols), 1))], 1) * 255).astype(np.uint8)
        scene.add(pyrender.Mesh.from_trimesh(m, smooth=mesh.smooth))
    K = camera.K
    if camera.model_name == "pinhole":
        cam = pyrender.IntrinsicsCamera(fx=K[0, 0], fy=K[1, 1], cx=K[0, 2] + 0.5, cy=K[1, 2] + 0.5, znear=0.02, zfar=200)
    else:
        cam = pyrender.PerspectiveCamera(yfov=math.radians(100.0), aspectRatio=W / H, znear=0.02, zfar=200)
    scene.add(cam, pose=camera.T_world_from_cam @ T_BLENDERCAM_FROM_CVCAM)
    light = pyrender.DirectionalLight(color=np.ones(3), intensity=2.0)
    scene.add(light, pose=camera.T_world_from_cam @ T_BLENDERCAM_FROM_CVCAM)
    r = pyrender.OffscreenRenderer(W, H)
    try:
        color, _ = r.render(scene)
    finally:
        r.delete()
    return color[..., :3].copy()
