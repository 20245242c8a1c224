"""Procedural hair shell (short hair with volume) and eyebrows, cut from the head's own surface.

Hair: the scalp above a hairline (``compute_body_regions``: ``scalp`` 0 at the
hairline .. 1 at the crown, reaching further down the back of the head by
``back_drop``), lifted by ``volume_m`` on the crown and tapering to a couple of
millimetres at the hairline, with real thickness at its edge. Eyebrows: an
arched strip above each eye (found from the eyeball vertices of the body's eye
parts), lifted 1.5 mm.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from synth.bodies.parts import PART_INDEX
from synth.clothing.garment import Garment
from synth.clothing.procedural import GarmentError, RestBody, solidify
from synth.clothing.surface_cut import SurfacePiece, cut_surface

HAIR_LAYER = 4


@dataclass(frozen=True)
class HairParams:
    """Drawn hair shell: ``volume_m`` (0.004 cropped .. 0.035 voluminous) lift at the crown; ``back_drop``
    (0 .. 1) how far down the back of the head it reaches; ``hairline`` (-0.2 .. 0.2) moves the front
    hairline down (<0) or up (>0) in scalp units."""

    volume_m: float = 0.015
    back_drop: float = 0.6
    hairline: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def sample_hair_params(rng: np.random.Generator) -> HairParams:
    return HairParams(volume_m=float(rng.uniform(0.004, 0.035)), back_drop=float(rng.uniform(0.2, 1.0)),
                      hairline=float(rng.uniform(-0.15, 0.15)))


def hair_field(body: RestBody, params: HairParams) -> np.ndarray:
    """>= 0 on the hair-covered scalp (scalp units: 1 = hairline to crown)."""
    r = body.regions
    head = r.parts == PART_INDEX["head"]
    sc = np.nan_to_num(r.scalp, nan=-9.0) - params.hairline
    g = np.full(len(r.parts), -1.0)
    g[head] = sc[head]
    back = head & r.back_of_head
    g[back] = np.maximum(sc[back], sc[back] + 1.2 * params.back_drop)
    return g


def make_hair_shell(body: RestBody, params: HairParams) -> Garment:
    """The hair shell of one rest body (``procedural.compute_rest_body``)."""
    piece = cut_surface(body.faces, hair_field(body, params))
    taper = np.clip(piece.field / 0.35, 0.0, 1.0)
    taper = taper * taper * (3 - 2 * taper)
    outer = 0.002 + params.volume_m * taper
    faces, binding = solidify(piece, outer, 0.0015, len(body.vertices))
    return Garment(name="hair_short", segment="hair", faces=faces, binding=binding, layer=HAIR_LAYER,
                   params=params.to_dict())


def eyebrow_field(body: RestBody, thickness_scale: float = 1.0) -> np.ndarray:
    """>= 0 on an arched strip above each eye (metres of slack inside the strip)."""
    r = body.regions
    v = body.vertices
    head = r.parts == PART_INDEX["head"]
    g = np.full(len(v), -1.0)
    for side, sign in (("left", 1.0), ("right", -1.0)):
        eye = r.parts == PART_INDEX[f"{side}_eye"]
        if eye.sum() < 4:
            raise GarmentError(f"eyebrows: the body has no {side} eye vertices to place eyebrows above")
        c = v[eye].mean(0)
        rad = float(np.linalg.norm(v[eye] - c, axis=1).max())
        u = sign * (v[:, 0] - c[0]) / (1.9 * rad)          # -1 at the nose end .. 1 at the temple
        u0 = u - 0.15
        z_mid = c[2] + 1.35 * rad + 0.35 * rad * (1.0 - np.clip(u0, -1, 1) ** 2)
        half = thickness_scale * 0.26 * rad * (1.0 - 0.45 * np.clip((u0 + 1) / 2, 0, 1))
        strip = np.minimum(1.0 - np.abs(u0), (half - np.abs(v[:, 2] - z_mid)) / max(rad, 1e-6))
        front = head & (v[:, 1] < c[1] - 0.3 * rad) & (np.abs(u0) < 1.2)
        g[front] = np.maximum(g[front], strip[front])
    return g


def make_eyebrows(body: RestBody, rng: np.random.Generator | None = None, *, thickness_scale: float | None = None
                  ) -> Garment:
    """Both eyebrows as one thin garment (hair class)."""
    if thickness_scale is None:
        thickness_scale = 1.0 if rng is None else float(rng.uniform(0.7, 1.3))
    piece: SurfacePiece = cut_surface(body.faces, eyebrow_field(body, thickness_scale))
    faces, binding = solidify(piece, np.full(len(piece.face), 0.0015), 0.0008, len(body.vertices))
    return Garment(name="eyebrows", segment="hair", faces=faces, binding=binding, layer=HAIR_LAYER,
                   params={"thickness_scale": thickness_scale})
