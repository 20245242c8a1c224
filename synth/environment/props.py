"""Procedural props: chairs, stools, sofas, benches, tables, beds, steps/stairs, boxes, walls, railings.

A prop is built in its own frame: x across its width (centred), y across its depth (centred),
z up from the floor (z = 0). Its *front* is the -y side (where a person sits or steps up from;
a body at yaw 0 faces -y, so a person sitting on a seat at the prop's yaw faces out of it).
Every prop is a union of closed boxes / extruded profiles (``synth.environment.meshes``), so it
is watertight piece by piece.

Dimensions are drawn per kind from ranges of real furniture (``DIMENSION_RANGES``, metres);
``sample_prop_dimensions`` draws them, ``build_prop_mesh`` turns them into a mesh,
``support_surfaces`` lists the horizontal tops a person can sit, lie, stand or rest a hand on.
"""

from __future__ import annotations

import numpy as np

from synth.core.errors import RecipeError
from synth.environment.meshes import (
    box_mesh,
    merge_meshes,
    prism_mesh,
    transform_points,
)
from synth.environment.spec import PropSpec

PROP_KINDS = ("chair", "stool", "sofa", "bench", "table", "bed", "steps", "box", "wall", "railing")

#: (low, high) metres (``steps``: count) per kind; drawn uniformly.
DIMENSION_RANGES: dict[str, dict[str, tuple[float, float]]] = {
    "chair": {"width_m": (0.40, 0.52), "depth_m": (0.40, 0.52), "height_m": (0.80, 1.00),
              "seat_height_m": (0.42, 0.48)},
    "stool": {"width_m": (0.32, 0.45), "depth_m": (0.32, 0.45), "seat_height_m": (0.45, 0.75)},
    "sofa": {"width_m": (1.50, 2.20), "depth_m": (0.80, 0.95), "height_m": (0.75, 0.90),
             "seat_height_m": (0.40, 0.46)},
    "bench": {"width_m": (1.10, 1.80), "depth_m": (0.35, 0.45), "seat_height_m": (0.42, 0.48)},
    "table": {"width_m": (0.80, 1.80), "depth_m": (0.60, 0.90), "height_m": (0.72, 0.78)},
    "bed": {"width_m": (0.95, 1.65), "depth_m": (1.95, 2.10), "height_m": (0.45, 0.60)},
    "steps": {"width_m": (0.80, 1.40), "steps": (2, 4), "riser_m": (0.15, 0.19), "tread_m": (0.26, 0.32)},
    "box": {"width_m": (0.35, 0.70), "depth_m": (0.35, 0.70), "height_m": (0.20, 0.50)},
    "wall": {"width_m": (1.00, 2.50), "depth_m": (0.10, 0.20), "height_m": (0.90, 2.20)},
    "railing": {"width_m": (1.20, 2.50), "depth_m": (0.05, 0.06), "height_m": (0.90, 1.05)},
}

#: Material kinds each prop kind draws from (``synth.environment.materials``).
PROP_MATERIALS: dict[str, tuple[str, ...]] = {
    "chair": ("wood", "paint"), "stool": ("wood", "metal"), "sofa": ("upholstery",),
    "bench": ("wood", "concrete"), "table": ("wood", "paint"), "bed": ("upholstery",),
    "steps": ("concrete", "wood", "tiles"), "box": ("wood", "paint", "concrete"),
    "wall": ("plaster", "paint", "concrete"), "railing": ("metal", "wood"),
}


def sample_prop_dimensions(kind: str, rng: np.random.Generator) -> dict[str, float]:
    """Draw one prop's dimensions (metres; ``steps`` an int count)."""
    if kind not in DIMENSION_RANGES:
        raise RecipeError(f"environment.props.kinds: unknown prop kind {kind!r}; expected any of {list(PROP_KINDS)}")
    out: dict[str, float] = {}
    for name, (lo, hi) in DIMENSION_RANGES[kind].items():
        out[name] = int(rng.integers(int(lo), int(hi) + 1)) if name == "steps" else round(float(rng.uniform(lo, hi)), 4)
    return _derived_dimensions(kind, out)


def _derived_dimensions(kind: str, d: dict[str, float]) -> dict[str, float]:
    d = dict(d)
    if kind == "stool" or kind == "bench":
        d["height_m"] = d["seat_height_m"]
    elif kind == "steps":
        d["depth_m"] = round(d["steps"] * d["tread_m"], 4)
        d["height_m"] = round(d["steps"] * d["riser_m"], 4)
    return d


def _legs(w: float, d: float, z1: float, leg_m: float, inset_m: float = 0.0) -> list:
    xs = (-w / 2 + inset_m, w / 2 - inset_m - leg_m)
    ys = (-d / 2 + inset_m, d / 2 - inset_m - leg_m)
    return [box_mesh(x, x + leg_m, y, y + leg_m, 0.0, z1) for x in xs for y in ys]


def build_prop_mesh(kind: str, dims: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
    """The prop's mesh in its own frame: vertices (V, 3) float64 metres, faces (F, 3) int64."""
    w, d, h = dims.get("width_m", 0.0), dims.get("depth_m", 0.0), dims.get("height_m", 0.0)
    parts: list = []
    if kind == "box":
        parts = [box_mesh(-w / 2, w / 2, -d / 2, d / 2, 0.0, h)]
    elif kind in ("chair", "stool"):
        s = dims["seat_height_m"]
        t = 0.04 if kind == "chair" else 0.035
        leg = 0.035
        parts = [box_mesh(-w / 2, w / 2, -d / 2, d / 2, s - t, s)] + _legs(w, d, s - t, leg, 0.01)
        if kind == "chair":
            parts.append(box_mesh(-w / 2, w / 2, d / 2 - 0.04, d / 2, s, h))
    elif kind == "bench":
        s = dims["seat_height_m"]
        t, slab = 0.05, 0.06
        parts = [box_mesh(-w / 2, w / 2, -d / 2, d / 2, s - t, s),
                 box_mesh(-w / 2 + 0.08, -w / 2 + 0.08 + slab, -d / 2 + 0.03, d / 2 - 0.03, 0.0, s - t),
                 box_mesh(w / 2 - 0.08 - slab, w / 2 - 0.08, -d / 2 + 0.03, d / 2 - 0.03, 0.0, s - t)]
    elif kind == "table":
        t = 0.04
        parts = [box_mesh(-w / 2, w / 2, -d / 2, d / 2, h - t, h)] + _legs(w, d, h - t, 0.05, 0.04)
    elif kind == "sofa":
        s = dims["seat_height_m"]
        back, arm = 0.18, 0.16
        arm_h = s + 0.20
        parts = [box_mesh(-w / 2 + arm, w / 2 - arm, -d / 2, d / 2 - back, 0.0, s),
                 box_mesh(-w / 2, w / 2, d / 2 - back, d / 2, 0.0, h),
                 box_mesh(-w / 2, -w / 2 + arm, -d / 2, d / 2 - back, 0.0, arm_h),
                 box_mesh(w / 2 - arm, w / 2, -d / 2, d / 2 - back, 0.0, arm_h)]
    elif kind == "bed":
        head = 0.06
        parts = [box_mesh(-w / 2, w / 2, -d / 2, d / 2 - head, 0.0, h - 0.2),
                 box_mesh(-w / 2 + 0.02, w / 2 - 0.02, -d / 2 + 0.02, d / 2 - head, h - 0.2, h),
                 box_mesh(-w / 2, w / 2, d / 2 - head, d / 2, 0.0, h + 0.45)]
    elif kind == "steps":
        n, r, tr = int(dims["steps"]), dims["riser_m"], dims["tread_m"]
        y0 = -d / 2
        prof = [(y0 + n * tr, 0.0), (y0, 0.0)]
        for i in range(n):
            prof += [(y0 + i * tr, (i + 1) * r), (y0 + (i + 1) * tr, (i + 1) * r)]
        parts = [prism_mesh(np.array(prof[:-1] + [prof[-1]]), -w / 2, w / 2)]
    elif kind == "wall":
        parts = [box_mesh(-w / 2, w / 2, -d / 2, d / 2, 0.0, h)]
    elif kind == "railing":
        post, rail_t = 0.05, 0.05
        n_posts = max(2, int(np.ceil(w / 1.0)) + 1)
        xs = np.linspace(-w / 2, w / 2 - post, n_posts)
        parts = [box_mesh(x, x + post, -d / 2, d / 2, 0.0, h - rail_t) for x in xs]
        parts.append(box_mesh(-w / 2, w / 2, -d / 2, d / 2, h - rail_t, h))
        parts.append(box_mesh(-w / 2 + post, w / 2 - post, -d / 2 + 0.01, d / 2 - 0.01, 0.45 * h, 0.45 * h + 0.03))
    else:
        raise RecipeError(f"environment.props.kinds: unknown prop kind {kind!r}; expected any of {list(PROP_KINDS)}")
    return merge_meshes(parts)


def support_surfaces(kind: str, dims: dict[str, float]) -> list[dict]:
    """Horizontal tops a person can use, in the prop frame: ``{"use", "z_m", "x_m": (lo, hi), "y_m": (lo, hi)}``.

    use: ``sit`` (seats), ``lie`` (beds), ``stand`` (boxes, steps), ``hand`` (tables, railings, walls).
    """
    w, d, h = dims.get("width_m", 0.0), dims.get("depth_m", 0.0), dims.get("height_m", 0.0)
    if kind in ("chair", "stool", "bench"):
        back = 0.04 if kind == "chair" else 0.0
        return [{"use": "sit", "z_m": dims["seat_height_m"], "x_m": (-w / 2, w / 2), "y_m": (-d / 2, d / 2 - back)}]
    if kind == "sofa":
        return [{"use": "sit", "z_m": dims["seat_height_m"], "x_m": (-w / 2 + 0.16, w / 2 - 0.16),
                 "y_m": (-d / 2, d / 2 - 0.18)}]
    if kind == "bed":
        return [{"use": "lie", "z_m": h, "x_m": (-w / 2 + 0.02, w / 2 - 0.02), "y_m": (-d / 2 + 0.02, d / 2 - 0.06)},
                {"use": "sit", "z_m": h, "x_m": (-w / 2 + 0.02, w / 2 - 0.02), "y_m": (-d / 2 + 0.02, d / 2 - 0.06)}]
    if kind == "box":
        return [{"use": "stand", "z_m": h, "x_m": (-w / 2, w / 2), "y_m": (-d / 2, d / 2)},
                {"use": "sit", "z_m": h, "x_m": (-w / 2, w / 2), "y_m": (-d / 2, d / 2)}]
    if kind == "steps":
        n, r, tr = int(dims["steps"]), dims["riser_m"], dims["tread_m"]
        return [{"use": "stand", "z_m": (i + 1) * r, "x_m": (-w / 2, w / 2),
                 "y_m": (-d / 2 + i * tr, -d / 2 + (i + 1) * tr)} for i in range(n)]
    if kind in ("table", "wall", "railing"):
        return [{"use": "hand", "z_m": h, "x_m": (-w / 2, w / 2), "y_m": (-d / 2, d / 2)}]
    raise RecipeError(f"environment.props.kinds: unknown prop kind {kind!r}; expected any of {list(PROP_KINDS)}")


def prop_world_mesh(prop: PropSpec) -> tuple[np.ndarray, np.ndarray]:
    """The prop's mesh placed in the world: vertices (V, 3) float32 metres, faces (F, 3) int32."""
    v, f = build_prop_mesh(prop.kind, prop.dimensions)
    return transform_points(v, prop.x_m, prop.y_m, prop.yaw_rad).astype(np.float32), f.astype(np.int32)


def prop_footprint_half_extents(kind: str, dims: dict[str, float]) -> tuple[float, float]:
    """Half width and half depth (m) of the prop's floor rectangle (its mesh's xy bounds, centred)."""
    v, _ = build_prop_mesh(kind, dims)
    return float(np.abs(v[:, 0]).max()), float(np.abs(v[:, 1]).max())
