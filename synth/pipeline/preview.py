"""``synth preview``: a contact sheet of sampled scenes in seconds (pyrender on EGL, pinhole only).

The same ``build_posed_scene`` as the worker makes the scene; only the drawing differs. Previews
exist to iterate on a recipe; Blender stays the renderer of record for datasets, and nothing here
feeds the labels. Fisheye views are previewed through a pinhole camera with the same pose (the tile
says so).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from synth.pipeline.posed_scene import build_posed_scene
from synth.recipe.sample import sample_scene
from synth.render.preview.pyrender_view import render_preview_view


def write_contact_sheet(recipe, output: str, n_scenes: int = 6, tile_px: int = 256) -> str:
    """Sample ``n_scenes`` scenes (frame 0, first camera) and tile their previews into one PNG."""
    import imageio.v3 as iio
    from PIL import Image, ImageDraw

    tiles = []
    for i in range(min(n_scenes, recipe.scenes)):
        spec = sample_scene(recipe, i)
        scene = build_posed_scene(spec)
        cam = scene.camera_tracks[0].at(0)
        img = render_preview_view(scene.surface_meshes(), scene.frame_vertices(0), cam, spec.environment)
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
