"""Pictures of per-vertex contact on the body model's rest mesh, drawn with numpy + PIL (no OpenGL).

``rest_mesh_views`` draws the rest mesh (Anny's native frame: Z up, facing -Y, +X the body's left) with an
orthographic camera from the front, the back and below, each face shaded by its normal towards the viewer
and coloured by its vertices (grey, or the colour of the contact channel a vertex is predicted in), faces
drawn far to near (painter's algorithm); from below only the feet are drawn. ``contact_overlay`` puts the person crop beside these views.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

#: RGB of a vertex in contact, per channel (ground, person), and of a vertex in none.
CHANNEL_COLOURS = {"ground": (40, 220, 60), "person": (255, 40, 200)}
NO_CONTACT = (175, 175, 175)
#: The view from below draws the faces this close to the lowest vertex (m): the feet.
FEET_HEIGHT_M = 0.15
#: view name -> (image-right axis, image-up axis, towards-the-viewer axis) in the mesh frame.
VIEWS = {
    "front": (np.array([1.0, 0, 0]), np.array([0, 0, 1.0]), np.array([0, -1.0, 0])),
    "back": (np.array([-1.0, 0, 0]), np.array([0, 0, 1.0]), np.array([0, 1.0, 0])),
    "below": (np.array([1.0, 0, 0]), np.array([0, -1.0, 0]), np.array([0, 0, -1.0])),
}


def vertex_colours(contact: dict[str, np.ndarray], num_vertices: int) -> np.ndarray:
    """(V, 3) float RGB: grey, or the channel's colour where a vertex is in contact (later channels on top)."""
    out = np.tile(np.asarray(NO_CONTACT, np.float64), (num_vertices, 1))
    for name, mask in contact.items():
        out[np.asarray(mask, bool)] = CHANNEL_COLOURS.get(name, (255, 200, 0))
    return out


def draw_view(vertices_m: np.ndarray, faces: np.ndarray, colours: np.ndarray, view: str, size: int,
              *, extent_m: float | None = None, supersample: int = 2) -> Image.Image:
    """(size x size) orthographic picture of the mesh from ``view`` (``VIEWS``), the drawn vertices' bounding
    box centred; ``extent_m`` is the side of the square in metres (default: the largest extent of the
    projection x 1.05)."""
    right, up, towards = VIEWS[view]
    v = np.asarray(vertices_m, np.float64)
    f = np.asarray(faces, np.int64)
    uv = np.stack([v @ right, v @ up], axis=1)[np.unique(f)]
    lo, hi = uv.min(0), uv.max(0)
    extent = float(extent_m or 1.05 * (hi - lo).max())
    s_px = size * supersample
    scale = s_px / extent
    px = np.stack([s_px / 2 + (v @ right - (lo[0] + hi[0]) / 2) * scale,
                   s_px / 2 - (v @ up - (lo[1] + hi[1]) / 2) * scale], axis=1)
    tri = v[f]
    normals = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)
    facing = normals @ towards
    shade = 0.35 + 0.65 * np.abs(facing)                  # two-sided: a flipped face still reads as surface
    rgb = np.clip(colours[f].mean(axis=1) * shade[:, None], 0, 255).astype(np.uint8)
    depth = (tri @ towards).mean(axis=1)                   # larger = nearer the viewer
    img = Image.new("RGB", (s_px, s_px), (0, 0, 0))
    d = ImageDraw.Draw(img)
    for k in np.argsort(depth, kind="stable"):            # far to near
        d.polygon([tuple(p) for p in px[f[k]]], fill=tuple(int(c) for c in rgb[k]))
    return img.resize((size, size), Image.LANCZOS) if supersample > 1 else img


def rest_mesh_views(vertices_m: np.ndarray, faces: np.ndarray, contact: dict[str, np.ndarray], size: int
                    ) -> list[Image.Image]:
    """Front, back and below views (``draw_view``) of the rest mesh with ``contact`` (channel -> (V,) bool)
    coloured; front and back share one scale; from below only the feet are drawn (the faces within
    ``FEET_HEIGHT_M`` of the lowest vertex), filling the picture."""
    colours = vertex_colours(contact, len(vertices_m))
    v = np.asarray(vertices_m, np.float64)
    f = np.asarray(faces, np.int64)
    extent = 1.05 * float(max(np.ptp(v[:, 0]), np.ptp(v[:, 2])))
    feet = f[(v[f, 2] < v[:, 2].min() + FEET_HEIGHT_M).all(axis=1)]
    return [draw_view(v, f, colours, "front", size, extent_m=extent),
            draw_view(v, f, colours, "back", size, extent_m=extent),
            draw_view(v, feet if len(feet) else f, colours, "below", size)]


def contact_overlay(crops: list[np.ndarray], contacts: list[dict[str, np.ndarray]], vertices_m: np.ndarray,
                    faces: np.ndarray, *, height: int = 256, captions: list[str] | None = None) -> Image.Image:
    """One row per person: the crop (scaled to ``height``), then the rest mesh from the front, the back and
    below with its predicted contact vertices coloured (``CHANNEL_COLOURS``), and a caption line."""
    rows = []
    for n, (crop, contact) in enumerate(zip(crops, contacts)):
        c = Image.fromarray(np.asarray(crop, np.uint8))
        c = c.resize((max(1, round(c.width * height / c.height)), height), Image.BILINEAR)
        views = rest_mesh_views(vertices_m, faces, contact, height)
        row = Image.new("RGB", (c.width + 3 * height + 12, height + 16), (0, 0, 0))
        row.paste(c, (0, 16))
        for k, im in enumerate(views):
            row.paste(im, (c.width + 4 + k * (height + 4), 16))
        d = ImageDraw.Draw(row)
        d.text((2, 2), captions[n] if captions else "", fill=(255, 255, 255))
        for k, name in enumerate(("front", "back", "below")):
            d.text((c.width + 8 + k * (height + 4), 18), name, fill=(255, 255, 255))
        rows.append(row)
    width = max(r.width for r in rows)
    out = Image.new("RGB", (width, sum(r.height for r in rows)), (0, 0, 0))
    y = 0
    for r in rows:
        out.paste(r, (0, y))
        y += r.height
    return out
