"""``synth preview``: a contact sheet of sampled scenes in seconds (pyrender on EGL, pinhole only).

Previews exist to iterate on a recipe; Blender stays the renderer of record for
datasets, and nothing here feeds the labels. Fisheye views are previewed
through a pinhole camera with the same pose (the tile says so).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

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


def render_preview_view(scene_geometry, camera, environment, appearances, faces) -> np.ndarray:
    """One preview tile (H, W, 3) uint8 of people (per-vertex colours) on the ground."""
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
    for verts, f, app in zip(scene_geometry, faces, appearances):
        m = trimesh.Trimesh(vertices=verts, faces=f, process=False)
        cols = np.clip(app.vertex_colors, 0, 1) ** (1 / 2.2)
        m.visual.vertex_colors = (np.concatenate([cols, np.ones((len(cols), 1))], 1) * 255).astype(np.uint8)
        scene.add(pyrender.Mesh.from_trimesh(m, smooth=True))
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


def write_contact_sheet(recipe, output: str, n_scenes: int = 6, tile_px: int = 256) -> str:
    """Sample ``n_scenes`` scenes (frame 0, first camera) and tile their previews into one PNG."""
    import imageio.v3 as iio
    from PIL import Image, ImageDraw

    from synth.clothing.appearance import sample_appearance
    from synth.pipeline.camera_tracks import compute_camera_tracks
    from synth.pipeline.geometry import compute_people_geometry, load_body
    from synth.recipe.sample import sample_scene

    tiles = []
    for i in range(min(n_scenes, recipe.scenes)):
        spec = sample_scene(recipe, i)
        posed = compute_people_geometry(spec)
        bodies = [load_body(p.body_model, p.body_options) for p in spec.people]
        apps = [sample_appearance(b, p.shape, rng=np.random.default_rng(p.appearance_seed))
                for b, p in zip(bodies, spec.people)]
        cam = compute_camera_tracks(spec, posed)[0].at(0)
        img = render_preview_view([p.vertices[0] for p in posed], cam, spec.environment, apps,
                                  [b.faces for b in bodies])
        tile = Image.fromarray(img).resize((tile_px, int(tile_px * img.shape[0] / img.shape[1])))
        ImageDraw.Draw(tile).text((4, 4), f"scene {i}: {len(spec.people)} people, {cam.model_name}", fill=(255, 255, 0))
        tiles.append(np.asarray(tile))
    cols = min(3, len(tiles))
    rows = math.ceil(len(tiles) / cols)
    h, w = tiles[0].shape[:2]
    sheet = np.zeros((rows * h, cols * w, 3), dtype=np.uint8)
    for k, t in enumerate(tiles):
        sheet[(k // cols) * h:(k // cols) * h + t.shape[0], (k % cols) * w:(k % cols) * w + t.shape[1]] = t
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    iio.imwrite(output, sheet)
    return str(output)
