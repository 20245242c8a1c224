"""How a person looks: skin tone and garment *colour regions* painted on the body mesh.

Honest scope: there is no cloth geometry here. A "top" is the set of skin
vertices a top would cover (torso, and the arms down to a sampled sleeve
length), painted in the garment's colour; likewise "bottoms" (hips and legs
down to a sampled length: shorts ... trousers), "shoes" (feet up to a sampled
height) and a "hair" colour on the scalp. Silhouettes therefore stay those of
the bare body: no loose sleeves, skirts, collars or hair volume.

Regions are decided on the body in ``rest_pose()`` (upright, arms down) from
three coordinates, so they follow any shape, child or adult:

* arm coordinate: position along the polyline shoulder -> elbow -> wrist ->
  hand tip of the vertex's arm: 0 at the shoulder joint, 1 at the elbow, 2 at
  the wrist (negative above the shoulder joint);
* leg coordinate: hip -> knee -> ankle -> big toe: 0 at the hip joint, 1 at
  the knee, 2 at the ankle;
* torso coordinate: height between the hip joints (0) and the shoulders (1).

All colours are linear RGB in [0, 1] (``PersonAppearance.vertex_colors``).
"""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np

from synth.bodies.keypoints import KEYPOINT_INDEX
from synth.bodies.parts import PART_INDEX
from synth.clothing.palettes import (
    GARMENT_COLOURS,
    HAIR_COLOURS,
    IRIS_COLOURS,
    PUPIL_LINEAR,
    SCLERA_LINEAR,
    hex_to_linear,
    skin_albedo,
)
from synth.clothing.types import PersonAppearance
from synth.core.errors import SynthError

#: (name, probability, (low, high) arm coordinate)
SLEEVES: list[tuple[str, float, tuple[float, float]]] = [
    ("sleeveless", 0.15, (-0.25, -0.05)),
    ("short", 0.45, (0.3, 0.7)),
    ("three_quarter", 0.10, (1.3, 1.7)),
    ("long", 0.30, (1.85, 2.0)),
]
#: (name, probability, (low, high) leg coordinate)
LEGS: list[tuple[str, float, tuple[float, float]]] = [
    ("shorts", 0.30, (0.3, 0.75)),
    ("knee_to_calf", 0.15, (0.9, 1.6)),
    ("trousers", 0.55, (1.9, 2.0)),
]


class AppearanceError(SynthError):
    """Appearance sampling got options it cannot honour."""


@dataclass(frozen=True)
class Outfit:
    """One drawn appearance (store ``to_dict()`` with the labels).

    Colours: (3,) linear RGB. Lengths use the coordinates of the module
    docstring. ``shoe_rgb`` / ``hair_rgb`` are None when barefoot / bald.
    """

    fitzpatrick: float              # continuous skin type in [1, 6]
    skin_rgb: np.ndarray
    top_rgb: np.ndarray
    bottom_rgb: np.ndarray
    shoe_rgb: np.ndarray | None
    hair_rgb: np.ndarray | None
    iris_rgb: np.ndarray
    sleeve: str
    sleeve_length: float            # arm coordinate covered by the top
    legs: str
    leg_length: float               # leg coordinate covered by the bottoms
    top_hem: float                  # torso coordinate of the top's lower edge
    waist: float                    # torso coordinate of the bottoms' waistband
    neckline_depth_m: float         # 0: crew neck
    shoe_height: float              # leg coordinate above the ankle covered by shoes (0..0.4)
    hair_back_drop: float           # how far down the back of the head hair reaches (0..1)
    roughness: float
    texture_amplitude: float        # smooth brightness variation (fraction)
    texture_seed: int

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            out[f.name] = None if v is None else (np.asarray(v, np.float32).tolist() if isinstance(v, np.ndarray) else v)
        return out


def _choice(rng: np.random.Generator, table: dict[str, tuple], weight_col: int) -> str:
    names = list(table)
    w = np.array([table[n][weight_col] for n in names], dtype=np.float64)
    return names[int(rng.choice(len(names), p=w / w.sum()))]


def _jitter(rng: np.random.Generator, rgb: np.ndarray, value: float = 0.15, chroma: float = 0.12) -> np.ndarray:
    """Vary brightness and saturation of a linear colour a little (keeps hue)."""
    rgb = np.asarray(rgb, dtype=np.float64)
    grey = rgb.mean()
    sat = 1.0 + rng.uniform(-chroma, chroma)
    out = grey + (rgb - grey) * sat
    out = out * np.exp(rng.uniform(-value, value))
    return np.clip(out, 0.0, 1.0)


def _pick(rng: np.random.Generator, table: list[tuple[str, float, tuple[float, float]]], force: str | None):
    names = [t[0] for t in table]
    if force is not None:
        if force not in names:
            raise AppearanceError(f"sample_outfit: unknown style {force!r}; expected one of {names}")
        i = names.index(force)
    else:
        p = np.array([t[1] for t in table])
        i = int(rng.choice(len(table), p=p / p.sum()))
    lo, hi = table[i][2]
    return table[i][0], float(rng.uniform(lo, hi))


def sample_outfit(
    rng: np.random.Generator,
    *,
    age_years: float | None = None,
    fitzpatrick_range: tuple[float, float] = (1.0, 6.0),
    sleeve: str | None = None,
    legs: str | None = None,
    p_barefoot: float = 0.07,
    p_bald: float = 0.10,
    p_crop_top: float = 0.04,
    p_scoop_neck: float = 0.3,
) -> Outfit:
    """Draw skin tone, garment colours and lengths.

    fitzpatrick_range : continuous skin type range in [1, 6], drawn uniformly
        (the default spans types I-VI evenly, not any population's mix).
    sleeve : force 'sleeveless' | 'short' | 'three_quarter' | 'long'; legs: 'shorts' |
        'knee_to_calf' | 'trousers'. age_years: greys hair from 50 on (None: adult mix).
    """
    lo, hi = float(fitzpatrick_range[0]), float(fitzpatrick_range[1])
    if not 1.0 <= lo <= hi <= 6.0:
        raise AppearanceError(f"sample_outfit: fitzpatrick_range must satisfy 1 <= low <= high <= 6, got {fitzpatrick_range}")
    fitz = float(rng.uniform(lo, hi))
    skin = _jitter(rng, skin_albedo(fitz), value=0.08, chroma=0.06)
    top = _jitter(rng, hex_to_linear(GARMENT_COLOURS[_choice(rng, GARMENT_COLOURS, 1)][0]))
    bottom = _jitter(rng, hex_to_linear(GARMENT_COLOURS[_choice(rng, GARMENT_COLOURS, 2)][0]))
    shoe = None if rng.random() < p_barefoot else _jitter(rng, hex_to_linear(GARMENT_COLOURS[_choice(rng, GARMENT_COLOURS, 3)][0]))
    older = age_years is not None and age_years >= 50
    hair = None
    if rng.random() >= p_bald * (2.0 if older else 1.0):
        hair = _jitter(rng, hex_to_linear(HAIR_COLOURS[_choice(rng, HAIR_COLOURS, 2 if older else 1)][0]), value=0.2, chroma=0.1)
    iris = _jitter(rng, hex_to_linear(IRIS_COLOURS[_choice(rng, IRIS_COLOURS, 1)][0]), value=0.2, chroma=0.1)
    sleeve_name, sleeve_len = _pick(rng, SLEEVES, sleeve)
    legs_name, leg_len = _pick(rng, LEGS, legs)
    waist = float(rng.uniform(0.12, 0.38))
    crop = rng.random() < p_crop_top
    hem = float(rng.uniform(waist + 0.1, waist + 0.3)) if crop else float(rng.uniform(-0.2, 0.1))
    neck = float(rng.uniform(0.02, 0.12)) if rng.random() < p_scoop_neck else 0.0
    return Outfit(
        fitzpatrick=fitz, skin_rgb=skin, top_rgb=top, bottom_rgb=bottom, shoe_rgb=shoe, hair_rgb=hair, iris_rgb=iris,
        sleeve=sleeve_name, sleeve_length=sleeve_len, legs=legs_name, leg_length=leg_len, top_hem=hem, waist=waist,
        neckline_depth_m=neck, shoe_height=float(rng.uniform(0.0, 0.4)), hair_back_drop=float(rng.uniform(0.0, 1.0)),
        roughness=float(rng.uniform(0.45, 0.75)), texture_amplitude=float(rng.uniform(0.02, 0.06)),
        texture_seed=int(rng.integers(0, 2**31 - 1)),
    )


# ---------------------------------------------------------------------------------------------
# Geometry: per-vertex coordinates on the rest-pose body
# ---------------------------------------------------------------------------------------------

def _polyline_coordinate(points: np.ndarray, nodes: np.ndarray) -> np.ndarray:
    """(N,) position of each point along a polyline: i + t on segment i (t in [0, 1]);
    points beyond the first/last node extrapolate (< 0, > n_segments)."""
    n_seg = len(nodes) - 1
    best_d = np.full(len(points), np.inf)
    coord = np.zeros(len(points))
    for i in range(n_seg):
        a, b = nodes[i], nodes[i + 1]
        ab = b - a
        t = (points - a) @ ab / max(float(ab @ ab), 1e-12)
        tc = np.clip(t, 0.0, 1.0)
        d = np.linalg.norm(points - (a + tc[:, None] * ab), axis=1)
        t_out = tc.copy()
        if i == 0:
            t_out = np.where(t < 0, t, t_out)
        if i == n_seg - 1:
            t_out = np.where(t > 1, t, t_out)
        better = d < best_d
        best_d = np.where(better, d, best_d)
        coord = np.where(better, i + t_out, coord)
    return coord


@dataclass(frozen=True)
class BodyRegions:
    """Per-vertex data the painter needs (rest pose, one shape). Arrays are (V,)."""

    parts: np.ndarray           # int, synth.bodies.parts index
    arm: np.ndarray             # float, arm coordinate (nan off the arms)
    leg: np.ndarray             # float, leg coordinate (nan off the legs)
    torso: np.ndarray           # float, torso coordinate (everywhere)
    scalp: np.ndarray           # float, 0 at the hairline, 1 at the crown (nan off the head, <0 face)
    back_of_head: np.ndarray    # bool
    front_neck_depth: np.ndarray  # float metres below the neck base, front of the torso (nan elsewhere)
    eye_cos: np.ndarray         # float, cosine between a vertex's direction from its eye centre and the gaze
    vertices: np.ndarray        # (V, 3) float, rest pose


#: how many (body model, shape) rest bodies ``rest_forward`` keeps (a scene has a few people; the pipelined
#: worker builds the next scene while the current one is labelled)
REST_CACHE_SIZE = 16
_REST_CACHE: OrderedDict = OrderedDict()
_REST_LOCK = threading.Lock()


def _shape_key(shape: dict[str, Any] | None) -> tuple | None:
    if shape is None:
        return None
    out = []
    for k in sorted(shape):
        a = np.asarray(shape[k])
        out.append((k, a.dtype.str, a.shape, a.tobytes()))
    return tuple(out)


def rest_forward(body_model: Any, shape: dict[str, np.ndarray] | None) -> tuple[np.ndarray, np.ndarray]:
    """(vertices (V, 3), keypoints (K, 3)) float64, read-only: ``body_model`` with ``shape`` in ``rest_pose()``.

    The same numbers as ``body_model.forward(body_model.default_params(shape))``, computed once per body
    model and shape and kept for the last ``REST_CACHE_SIZE`` of them: a person's garments, body regions and
    garment colours are all made from that rest body.
    """
    key = (id(body_model), _shape_key(shape))
    with _REST_LOCK:
        hit = _REST_CACHE.get(key)
        if hit is not None and hit[0] is body_model:
            _REST_CACHE.move_to_end(key)
            return hit[1], hit[2]
    posed = body_model.forward(body_model.default_params(shape))
    v = posed.vertices[0].astype(np.float64)
    kp = posed.keypoints[0].astype(np.float64)
    v.setflags(write=False)
    kp.setflags(write=False)
    with _REST_LOCK:
        _REST_CACHE[key] = (body_model, v, kp)
        _REST_CACHE.move_to_end(key)
        while len(_REST_CACHE) > REST_CACHE_SIZE:
            _REST_CACHE.popitem(last=False)
    return v, kp


def compute_body_regions(body_model: Any, shape: dict[str, np.ndarray]) -> BodyRegions:
    """Coordinates of every vertex of ``body_model`` with ``shape`` in ``rest_pose()``."""
    v, kp = rest_forward(body_model, shape)
    parts = np.asarray(body_model.vertex_part_labels())
    K = KEYPOINT_INDEX
    V = len(v)
    arm = np.full(V, np.nan)
    leg = np.full(V, np.nan)
    for side in ("left", "right"):
        s, e, w = kp[K[f"{side}_shoulder"]], kp[K[f"{side}_elbow"]], kp[K[f"{side}_wrist"]]
        tip = w + 0.7 * (w - e)
        m = np.isin(parts, [PART_INDEX[f"{side}_upper_arm"], PART_INDEX[f"{side}_forearm"], PART_INDEX[f"{side}_hand"]])
        arm[m] = _polyline_coordinate(v[m], np.stack([s, e, w, tip]))
        h, k, a, toe = kp[K[f"{side}_hip"]], kp[K[f"{side}_knee"]], kp[K[f"{side}_ankle"]], kp[K[f"{side}_big_toe"]]
        m = np.isin(parts, [PART_INDEX[f"{side}_thigh"], PART_INDEX[f"{side}_shin"], PART_INDEX[f"{side}_foot"]])
        leg[m] = _polyline_coordinate(v[m], np.stack([h, k, a, toe]))
    hip_z = 0.5 * (kp[K["left_hip"], 2] + kp[K["right_hip"], 2])
    sh = 0.5 * (kp[K["left_shoulder"]] + kp[K["right_shoulder"]])
    torso = (v[:, 2] - hip_z) / max(sh[2] - hip_z, 1e-6)
    # head: hairline above the eyes in front of the ears; crown = top of the head
    head = parts == PART_INDEX["head"]
    eye_z = 0.5 * (kp[K["left_eye"], 2] + kp[K["right_eye"], 2])
    ear_y = 0.5 * (kp[K["left_ear"], 1] + kp[K["right_ear"], 1])
    top_z = v[head, 2].max() if head.any() else eye_z + 0.1
    scalp = np.full(V, np.nan)
    hairline = eye_z + 0.45 * (top_z - eye_z)
    scalp[head] = (v[head, 2] - hairline) / max(top_z - hairline, 1e-6)
    back_of_head = head & (v[:, 1] > ear_y)
    # neckline: depth below the neck base (shoulder-keypoint height) on the front of the torso
    front_neck = np.full(V, np.nan)
    shoulder_width = abs(kp[K["left_shoulder"], 0] - kp[K["right_shoulder"], 0])
    torso_m = parts == PART_INDEX["torso"]
    front = torso_m & (v[:, 1] < sh[1]) & (np.abs(v[:, 0] - sh[0]) < 0.3 * shoulder_width)
    front_neck[front] = sh[2] + 0.04 * shoulder_width / 0.33 - v[front, 2]
    # eyes: direction from the eyeball centre vs the gaze (-Y, forward, in rest pose)
    eye_cos = np.full(V, np.nan)
    for side in ("left", "right"):
        m = parts == PART_INDEX[f"{side}_eye"]
        if m.sum() >= 4:
            c = v[m].mean(0)
            d = v[m] - c
            eye_cos[m] = -d[:, 1] / np.maximum(np.linalg.norm(d, axis=1), 1e-9)
    return BodyRegions(parts=parts, arm=arm, leg=leg, torso=torso, scalp=scalp, back_of_head=back_of_head,
                       front_neck_depth=front_neck, eye_cos=eye_cos, vertices=v)


def compute_garment_masks(regions: BodyRegions, outfit: Outfit) -> dict[str, np.ndarray]:
    """(V,) bool masks 'top', 'bottoms', 'shoes', 'hair', 'iris', 'pupil', 'sclera' (they may overlap;
    ``compute_vertex_colors`` paints bottoms, then the top over them, then shoes, hair and eyes)."""
    P = PART_INDEX
    parts = regions.parts
    trunk = np.isin(parts, [P["torso"], P["pelvis"]])
    arm_ok = ~np.isnan(regions.arm)
    leg_ok = ~np.isnan(regions.leg)
    top = (trunk & (regions.torso >= outfit.top_hem)) | (arm_ok & (np.nan_to_num(regions.arm, nan=9.0) <= outfit.sleeve_length))
    if outfit.neckline_depth_m > 0:
        neck = ~np.isnan(regions.front_neck_depth) & (np.nan_to_num(regions.front_neck_depth, nan=9.0) < outfit.neckline_depth_m)
        top &= ~neck
    bottoms = (trunk & (regions.torso < outfit.waist)) | (leg_ok & (np.nan_to_num(regions.leg, nan=9.0) <= outfit.leg_length))
    feet = np.isin(parts, [P["left_foot"], P["right_foot"]])
    shoes = np.zeros_like(top)
    if outfit.shoe_rgb is not None:
        shoes = feet | (leg_ok & (np.nan_to_num(regions.leg, nan=-9.0) >= 2.0 - outfit.shoe_height))
    hair = np.zeros_like(top)
    if outfit.hair_rgb is not None:
        sc = np.nan_to_num(regions.scalp, nan=-9.0)
        back_limit = -outfit.hair_back_drop * 1.2  # hair reaches further down at the back of the head
        hair = (sc >= 0.0) | (regions.back_of_head & (sc >= back_limit))
    ec = np.nan_to_num(regions.eye_cos, nan=-2.0)
    eyes = ~np.isnan(regions.eye_cos)
    pupil = eyes & (ec > 0.97)
    iris = eyes & (ec > 0.86) & ~pupil
    sclera = eyes & ~iris & ~pupil
    return {"top": top, "bottoms": bottoms, "shoes": shoes, "hair": hair, "iris": iris, "pupil": pupil, "sclera": sclera}


def _smooth_texture(v: np.ndarray, seed: int, amplitude: float) -> np.ndarray:
    """(V,) brightness factor around 1: a few random 3D sine waves (5-30 cm), like fabric/skin unevenness."""
    rng = np.random.default_rng(seed)
    out = np.zeros(len(v))
    for _ in range(4):
        k = rng.normal(size=3)
        k *= 2 * np.pi / (np.linalg.norm(k) * rng.uniform(0.05, 0.3))
        out += np.sin(v @ k + rng.uniform(0, 2 * np.pi))
    return 1.0 + amplitude * out / 2.0


def compute_vertex_colors(regions: BodyRegions, outfit: Outfit) -> np.ndarray:
    """(V, 3) float32 linear RGB in [0, 1]: skin, then bottoms, top, shoes, hair, eyes painted over it."""
    masks = compute_garment_masks(regions, outfit)
    V = len(regions.parts)
    col = np.broadcast_to(outfit.skin_rgb, (V, 3)).copy()
    col[masks["bottoms"]] = outfit.bottom_rgb
    col[masks["top"]] = outfit.top_rgb
    if outfit.shoe_rgb is not None:
        col[masks["shoes"]] = outfit.shoe_rgb
    if outfit.hair_rgb is not None:
        col[masks["hair"]] = outfit.hair_rgb
    col *= _smooth_texture(regions.vertices, outfit.texture_seed, outfit.texture_amplitude)[:, None]
    col[masks["sclera"]] = SCLERA_LINEAR
    col[masks["iris"]] = outfit.iris_rgb
    col[masks["pupil"]] = PUPIL_LINEAR
    return np.clip(col, 0.0, 1.0).astype(np.float32)


def sample_appearance(body_model: Any, shape: dict[str, np.ndarray], rng: np.random.Generator, **options: Any) -> PersonAppearance:
    """Draw an outfit (``sample_outfit(rng, **options)``) and paint it on ``body_model`` with ``shape``.

    body_model : a ``synth.bodies.base.BodyModel``; shape : its shape dict (Anny's
        ``age_years``, if present, informs hair greying unless ``age_years`` is given).
    Returns ``PersonAppearance(vertex_colors (V, 3) float32 linear RGB, roughness)``.
    Use ``sample_outfit`` + ``compute_body_regions`` + ``compute_vertex_colors`` to keep the
    ``Outfit`` for labels.
    """
    if "age_years" not in options and "age_years" in shape:
        options["age_years"] = float(np.asarray(shape["age_years"]))
    outfit = sample_outfit(rng, **options)
    regions = compute_body_regions(body_model, shape)
    return PersonAppearance(vertex_colors=compute_vertex_colors(regions, outfit), roughness=outfit.roughness)
