"""Procedural garments made from the body's own surface (no downloads, any shape and age).

Each garment is cut out of the body in ``rest_pose()`` with the body's own
coordinates (``synth.clothing.appearance.compute_body_regions``: along the arm
0 shoulder .. 1 elbow .. 2 wrist, along the leg 0 hip .. 1 knee .. 2 ankle,
torso 0 hips .. 1 shoulders), lifted off the skin by its ease and fabric
thickness, and given real thickness (an inner and an outer layer joined at the
hems). Skirts and dresses are tubes around both legs (a convex envelope of the
hips and thighs per height, flared towards the hem) bound to the nearest trunk
or leg surface. Every garment vertex is bound to a body triangle
(``SurfaceBinding``), so the garment follows any pose.

Kinds (``GARMENT_KINDS``): tshirt, longsleeve, tank, shorts, trousers, skirt,
dress, socks, shoes. ``GarmentParams`` holds the drawn choices (lengths in the
body coordinates, ease and thickness in metres); ``sample_garment_params``
draws them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.spatial import ConvexHull

from synth.bodies.keypoints import KEYPOINT_INDEX
from synth.bodies.parts import PART_INDEX
from synth.clothing.appearance import BodyRegions, compute_body_regions, rest_forward
from synth.clothing.binding import (
    SurfaceBinding,
    TriangleCandidates,
    bind_points_blended,
    compute_vertex_normals,
    push_out_exact_and_bind,
)
from synth.clothing.garment import Garment
from synth.clothing.surface_cut import SurfacePiece, boundary_edges, cut_surface
from synth.core.errors import SynthError

GARMENT_KINDS: tuple[str, ...] = ("tshirt", "longsleeve", "tank", "shorts", "trousers", "skirt", "dress", "socks",
                                  "shoes")
#: kind -> (segmentation class, layer)
GARMENT_CLASS: dict[str, tuple[str, int]] = {
    "tshirt": ("top", 2), "longsleeve": ("top", 2), "tank": ("top", 2),
    "shorts": ("bottom", 1), "trousers": ("bottom", 1), "skirt": ("bottom", 1),
    "dress": ("dress", 2), "socks": ("shoes", 0), "shoes": ("shoes", 3),
}
#: base lift off the skin per layer (m): layers stack outwards without crossing
LAYER_LIFT_M = {0: 0.0012, 1: 0.0035, 2: 0.0065, 3: 0.0075, 4: 0.002}


class GarmentError(SynthError):
    """A garment cannot be made with the given parameters."""


@dataclass(frozen=True)
class GarmentParams:
    """Drawn parameters of one procedural garment (see the module doc for the coordinates).

    kind : one of GARMENT_KINDS
    ease_m : extra room between skin and fabric (0.002 tight .. 0.03 loose)
    thickness_m : fabric thickness (0.0008 .. 0.003; shoes 0.004 .. 0.008)
    sleeve_length : arm coordinate the sleeve reaches (tops; tank: <= 0 = no sleeve)
    hem : torso coordinate of a top's lower edge (<0: below the hip joints)
    neckline_depth_m : how far below the neck base the front neckline dips (0 crew neck)
    waist : torso coordinate of the waistband (bottoms, skirt)
    leg_length : leg coordinate the legs reach (shorts ~0.5, trousers ~1.95; skirt/dress hem, e.g. 1.0 knee)
    flare : skirt/dress widening at the hem per metre of length (0 straight .. 0.6 A-line)
    height : socks/shoes: leg coordinate above the ankle they reach (0 .. 0.6)
    sole_m : shoes: sole thickness under the foot
    """

    kind: str
    ease_m: float = 0.006
    thickness_m: float = 0.0015
    sleeve_length: float = 0.5
    hem: float = -0.1
    neckline_depth_m: float = 0.0
    waist: float = 0.25
    leg_length: float = 1.95
    flare: float = 0.2
    height: float = 0.15
    sole_m: float = 0.012

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def sample_garment_params(kind: str, rng: np.random.Generator, *, fit: float | None = None) -> GarmentParams:
    """Draw the parameters of one garment of ``kind``; ``fit`` in [0, 1] (0 tight .. 1 loose) or drawn."""
    if kind not in GARMENT_KINDS:
        raise GarmentError(f"sample_garment_params: unknown garment kind {kind!r}; expected one of {list(GARMENT_KINDS)}")
    fit = float(rng.uniform(0.0, 1.0)) if fit is None else float(fit)
    ease = 0.002 + 0.02 * fit ** 1.5
    thick = float(rng.uniform(0.0008, 0.0025))
    u = rng.uniform
    if kind == "tshirt":
        return GarmentParams(kind, ease, thick, sleeve_length=float(u(0.3, 0.75)), hem=float(u(-0.25, 0.0)),
                             neckline_depth_m=float(u(0.0, 0.06) if rng.random() < 0.35 else 0.0))
    if kind == "longsleeve":
        return GarmentParams(kind, ease, thick, sleeve_length=float(u(1.8, 1.95)), hem=float(u(-0.25, 0.0)),
                             neckline_depth_m=float(u(0.0, 0.04) if rng.random() < 0.3 else 0.0))
    if kind == "tank":
        return GarmentParams(kind, min(ease, 0.008), thick, sleeve_length=float(u(-0.25, -0.1)), hem=float(u(-0.2, 0.05)),
                             neckline_depth_m=float(u(0.03, 0.1)))
    if kind == "shorts":
        return GarmentParams(kind, ease, float(u(0.001, 0.003)), waist=float(u(0.15, 0.35)), leg_length=float(u(0.35, 0.8)))
    if kind == "trousers":
        return GarmentParams(kind, ease, float(u(0.001, 0.003)), waist=float(u(0.15, 0.35)), leg_length=float(u(1.85, 1.97)))
    if kind == "skirt":
        return GarmentParams(kind, 0.004 + 0.01 * fit, thick, waist=float(u(0.2, 0.4)), leg_length=float(u(0.5, 1.6)),
                             flare=float(u(0.05, 0.5)))
    if kind == "dress":
        return GarmentParams(kind, 0.002 + 0.01 * fit, thick, sleeve_length=float(u(-0.2, 0.6)), hem=0.15,
                             neckline_depth_m=float(u(0.0, 0.08)), waist=0.35, leg_length=float(u(0.6, 1.6)),
                             flare=float(u(0.05, 0.5)))
    if kind == "socks":
        return GarmentParams(kind, 0.0, 0.0008, height=float(u(0.05, 0.5)))
    return GarmentParams(kind, float(u(0.002, 0.006)), float(u(0.004, 0.007)), height=float(u(0.0, 0.25)),
                         sole_m=float(u(0.008, 0.02)))


# ----------------------------------------------------------------------------- fields
def _nz(a: np.ndarray, fill: float) -> np.ndarray:
    return np.nan_to_num(a, nan=fill)


def top_field(r: BodyRegions, p: GarmentParams) -> np.ndarray:
    """>= 0 where a top covers the body: trunk above the hem, arms down to the sleeve, minus the neckline."""
    P = PART_INDEX
    trunk = np.isin(r.parts, [P["torso"], P["pelvis"]])
    arms = ~np.isnan(r.arm)
    g = np.full(len(r.parts), -1.0)
    g[trunk] = r.torso[trunk] - p.hem
    g[arms] = p.sleeve_length - r.arm[arms]
    neck = r.parts == P["neck"]
    g[neck] = -0.05
    if p.neckline_depth_m > 0:
        front = ~np.isnan(r.front_neck_depth)
        g[front] = np.minimum(g[front], (r.front_neck_depth[front] - p.neckline_depth_m) * 5.0)
    return g


def bottom_field(r: BodyRegions, p: GarmentParams) -> np.ndarray:
    """>= 0 under the waistband on the trunk and down the legs to ``leg_length``."""
    P = PART_INDEX
    trunk = np.isin(r.parts, [P["torso"], P["pelvis"]])
    legs = np.isin(r.parts, [P["left_thigh"], P["left_shin"], P["right_thigh"], P["right_shin"]])
    g = np.full(len(r.parts), -1.0)
    g[trunk] = p.waist - r.torso[trunk]
    g[legs] = p.leg_length - _nz(r.leg[legs], 9.0)
    return g


def foot_field(r: BodyRegions, p: GarmentParams) -> np.ndarray:
    """>= 0 on the feet and up the shin to ``height`` above the ankle."""
    P = PART_INDEX
    feet = np.isin(r.parts, [P["left_foot"], P["right_foot"]])
    legs = np.isin(r.parts, [P["left_shin"], P["right_shin"], P["left_thigh"], P["right_thigh"]])
    g = np.full(len(r.parts), -1.0)
    g[legs] = _nz(r.leg[legs], -9.0) - (2.0 - p.height)
    g[feet] = np.maximum(_nz(r.leg[feet], 9.0) - (2.0 - p.height), 0.05)
    return g


# ----------------------------------------------------------------------------- building
def solidify(piece: SurfacePiece, outer_offset_m: np.ndarray, thickness_m: float, n_body_vertices: int
             ) -> tuple[np.ndarray, SurfaceBinding]:
    """Outer layer at ``outer_offset_m`` (N,), inner layer ``thickness_m`` below it, rims at the open edges.

    Returns (faces (M, 3) int32, binding of 2N vertices: outer 0..N-1, inner N..2N-1).
    """
    N = len(piece.face)
    inner = np.maximum(outer_offset_m - thickness_m, 0.0005)
    off = np.zeros((2 * N, 3))
    off[:N, 0] = outer_offset_m
    off[N:, 0] = inner
    binding = SurfaceBinding.single(np.concatenate([piece.face, piece.face]), np.concatenate([piece.bary, piece.bary]),
                                    off, n_body_vertices)
    f = piece.faces.astype(np.int64)
    rim = boundary_edges(f)
    a, b = rim[:, 0], rim[:, 1]
    rim_faces = np.concatenate([np.stack([b, a, a + N], 1), np.stack([b, a + N, b + N], 1)])
    faces = np.concatenate([f, f[:, ::-1] + N, rim_faces]).astype(np.int32)
    return faces, binding


@dataclass(frozen=True)
class RestBody:
    """A body in ``rest_pose()`` with what garments are cut from.

    ``regions`` are the body coordinates of the model's *mean* shape (same vertex -> same coordinate for
    every person), so a garment design (a sleeve to the elbow, a hem at the hips) covers the same
    anatomical surface on a child and an adult, and a garment made on one body is the garment made on
    any other: its binding transfers exactly.
    """

    vertices: np.ndarray     # (V, 3) float64, this shape
    faces: np.ndarray        # (F, 3) int64
    normals: np.ndarray      # (V, 3) float64, this shape
    keypoints: np.ndarray    # (K, 3) float64, this shape
    regions: BodyRegions     # coordinates on the mean shape
    # the lower-leg triangle index, once built; not an init field, so ``dataclasses.replace`` (other vertices)
    # starts without it instead of carrying an index of the old vertices
    _index: list = field(default_factory=list, init=False, repr=False, compare=False)

    def lower_leg_index(self) -> TriangleCandidates:
        """The closest-triangle index of the whole rest mesh for points on the lower legs and feet (socks,
        shoes): the triangles below the knees are indexed, the rest only when a query needs them (built on
        first use, then shared by every garment made on this body)."""
        if not self._index:
            K = KEYPOINT_INDEX
            z_knee = max(self.keypoints[K["left_knee"], 2], self.keypoints[K["right_knee"], 2])
            self._index.append(TriangleCandidates(self.vertices, self.faces, z_max=float(z_knee)))
        return self._index[0]


_CANONICAL_REGIONS: dict[tuple, BodyRegions] = {}


def canonical_regions(body_model: Any) -> BodyRegions:
    """Body coordinates of ``body_model``'s mean shape (cached per model kind and topology)."""
    key = (getattr(body_model, "name", None), getattr(body_model, "topology", None),
           getattr(body_model, "model_path", None), len(body_model.faces), int(np.asarray(body_model.faces).max()))
    if key not in _CANONICAL_REGIONS:
        _CANONICAL_REGIONS[key] = compute_body_regions(body_model, body_model.default_params(None).shape)
    return _CANONICAL_REGIONS[key]


def compute_rest_body(body_model: Any, shape: dict[str, np.ndarray]) -> RestBody:
    """The body of ``shape`` in ``rest_pose()`` (model frame) with the mean shape's region coordinates."""
    v, kp = rest_forward(body_model, shape)
    f = np.asarray(body_model.faces, dtype=np.int64)
    return RestBody(vertices=v, faces=f, normals=compute_vertex_normals(v, f), keypoints=kp,
                    regions=canonical_regions(body_model))


def _surface_garment(body: RestBody, field: np.ndarray, outer_offset, params: GarmentParams, *,
                     smooth_iterations: int = 0) -> tuple[np.ndarray, SurfaceBinding]:
    """Cut the piece where ``field >= 0``, lift it by ``outer_offset`` (metres, or piece -> (N,) metres), solidify.

    smooth_iterations > 0: lift along normals averaged over that many rings of neighbours (the fabric bridges
    the gaps between toes instead of following each), then bind the lifted points as free points.
    """
    piece = cut_surface(body.faces, field)
    off = outer_offset(piece) if callable(outer_offset) else np.full(len(piece.face), float(outer_offset))
    faces, binding = solidify(piece, off, params.thickness_m, len(body.vertices))
    if smooth_iterations <= 0:
        return faces, binding
    N = len(piece.face)
    p0 = piece.interpolate(body.faces, body.vertices)
    n = piece.interpolate(body.faces, body.normals)
    f = piece.faces.astype(np.int64)
    rows = np.concatenate([f[:, 0], f[:, 1], f[:, 2], f[:, 1], f[:, 2], f[:, 0]])
    cols = np.concatenate([f[:, 1], f[:, 2], f[:, 0], f[:, 0], f[:, 1], f[:, 2]])
    from scipy.sparse import coo_matrix
    A = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(N, N)).tocsr()
    A.data[:] = 1.0
    deg = np.asarray(A.sum(axis=1)).reshape(-1, 1)
    for _ in range(smooth_iterations):
        n = 0.5 * n + 0.5 * (A @ n) / np.maximum(deg, 1)
        n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)
    pts = np.concatenate([p0 + binding.offset_m[:N, 0, :1] * n, p0 + binding.offset_m[N:, 0, :1] * n])
    near = np.zeros(len(body.vertices), dtype=bool)
    near[body.faces[np.unique(piece.face)].reshape(-1)] = True
    _, bound = push_out_exact_and_bind(pts, body.vertices, body.faces, face_mask=near[body.faces].all(axis=1),
                                       clearance_m=0.001, normals=body.normals, index=body.lower_leg_index())
    return faces, bound


def _ray_polygon_radius(a: np.ndarray, b: np.ndarray, dirs: np.ndarray, hull: np.ndarray) -> np.ndarray:
    """(S,) distance from the origin along each unit direction ``dirs`` (S, 2) to the furthest crossing of the
    polygon edges a -> b (H, 2) (the hull's farthest vertex where a ray crosses no edge); all directions at once,
    each with the arithmetic of ``_ray_polygon_radius_reference``."""
    e = b - a
    dx, dy = dirs[:, :1], dirs[:, 1:2]                                  # (S, 1)
    den = dx * e[:, 1] - dy * e[:, 0]                                   # (S, H)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (a[:, 0] * e[:, 1] - a[:, 1] * e[:, 0]) / den
        s = (a[:, 0] * dy - a[:, 1] * dx) / den
    hit = (np.abs(den) > 1e-12) & (s >= -1e-9) & (s <= 1 + 1e-9) & (t > 0)
    far = np.where(hit, t, -np.inf).max(axis=1)
    return np.where(hit.any(axis=1), far, np.linalg.norm(hull, axis=1).max())


def _ray_polygon_radius_reference(a: np.ndarray, b: np.ndarray, dirs: np.ndarray, hull: np.ndarray) -> np.ndarray:
    """``_ray_polygon_radius`` as first written (one direction at a time): the reference it is tested against."""
    radius = np.zeros(len(dirs))
    for j, d in enumerate(dirs):
        e = b - a
        den = d[0] * e[:, 1] - d[1] * e[:, 0]
        with np.errstate(divide="ignore", invalid="ignore"):
            t = (a[:, 0] * e[:, 1] - a[:, 1] * e[:, 0]) / den
            s = (a[:, 0] * d[1] - a[:, 1] * d[0]) / den
        hit = (np.abs(den) > 1e-12) & (s >= -1e-9) & (s <= 1 + 1e-9) & (t > 0)
        radius[j] = t[hit].max() if hit.any() else np.linalg.norm(hull, axis=1).max()
    return radius


def _tube(body: RestBody, z_top: float, z_bottom: float, ease_m: float, flare: float, *, segments: int = 64,
          rings: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A skirt tube around the trunk and legs from height z_top down to z_bottom (rest pose, metres).

    Each ring is the convex envelope (in the horizontal plane) of the trunk/leg vertices within 1.5 cm of
    its height, pushed out by ``ease_m`` and by ``flare`` x (depth below z_top). Returns (points (R*S, 3),
    quad faces as triangles (M, 3)) with rings from top to bottom.
    """
    P = PART_INDEX
    r = body.regions
    ok = np.isin(r.parts, [P["torso"], P["pelvis"], P["left_thigh"], P["right_thigh"], P["left_shin"],
                           P["right_shin"]])
    v = body.vertices
    K = KEYPOINT_INDEX
    centre = 0.5 * (body.keypoints[K["left_hip"], :2] + body.keypoints[K["right_hip"], :2])
    length = max(z_top - z_bottom, 0.02)
    n_rings = rings or max(6, int(np.ceil(length / 0.03)) + 1)
    theta = np.linspace(0.0, 2 * np.pi, segments, endpoint=False)
    dirs = np.stack([np.cos(theta), np.sin(theta)], 1)
    pts = []
    prev = np.zeros(segments)
    for i, z in enumerate(np.linspace(z_top, z_bottom, n_rings)):
        sel = ok & (np.abs(v[:, 2] - z) < 0.015)
        if sel.sum() < 3:
            radius = prev
        else:
            xy = v[sel, :2] - centre
            hull = xy[ConvexHull(xy).vertices]
            # radius of the hull polygon along each direction (ray from the centre)
            a, b = hull, np.roll(hull, -1, axis=0)
            radius = _ray_polygon_radius(a, b, dirs, hull)
        radius = np.maximum(radius, prev * 0.98 if i else 0.0)  # the tube does not narrow below the hips
        prev = radius
        rr = radius + ease_m + flare * (z_top - z)
        pts.append(np.column_stack([centre[0] + rr * dirs[:, 0], centre[1] + rr * dirs[:, 1], np.full(segments, z)]))
    pts = np.concatenate(pts)
    S = segments
    faces = []
    for i in range(n_rings - 1):
        a = i * S + np.arange(S)
        b = i * S + (np.arange(S) + 1) % S
        c, d = a + S, b + S
        # outward-facing winding (seen from outside: counter-clockwise)
        faces.append(np.stack([a, c, b], 1))
        faces.append(np.stack([b, c, d], 1))
    return pts, np.concatenate(faces).astype(np.int64)


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def _tube_garment(body: RestBody, z_top: float, z_bottom: float, params: GarmentParams, *, segments: int = 64
                  ) -> tuple[np.ndarray, SurfaceBinding]:
    """A skirt tube (outer and inner wall, rims) bound with three anchors per vertex: the trunk, the left
    leg and the right leg, blended by height (trunk above the crotch) and side (a smooth left/right split
    through the middle), so the tube spans the legs instead of tearing between them."""
    pts, faces = _tube(body, z_top, z_bottom, LAYER_LIFT_M[1] + params.ease_m, params.flare, segments=segments)
    P = PART_INDEX
    K = KEYPOINT_INDEX
    r = body.regions
    kp = body.keypoints
    centre = 0.5 * (kp[K["left_hip"], :2] + kp[K["right_hip"], :2])
    radial = pts[:, :2] - centre
    radial /= np.maximum(np.linalg.norm(radial, axis=1, keepdims=True), 1e-9)
    inner = pts.copy()
    inner[:, :2] -= params.thickness_m * radial
    N = len(pts)
    allp = np.concatenate([pts, inner])

    def mask(parts: list[str]) -> np.ndarray:
        ok = np.isin(r.parts, [P[p] for p in parts])
        return ok[body.faces].all(axis=1)

    # the tube hangs from a band of the trunk around its top ring (skin there moves with the spine and
    # pelvis, not with the thighs)
    band = np.abs(body.vertices[:, 2] - z_top) < 0.06
    trunk = mask(["torso", "pelvis"]) & band[body.faces].all(axis=1)
    left = mask(["left_thigh", "left_shin"])
    right = mask(["right_thigh", "right_shin"])
    v = body.vertices
    mid = (r.parts == P["pelvis"]) & (np.abs(v[:, 0] - centre[0]) < 0.02)
    z_crotch = float(v[mid, 2].min()) if mid.any() else float(np.mean([kp[K["left_hip"], 2], kp[K["right_hip"], 2]]) - 0.08)
    hip_half = 0.5 * abs(kp[K["left_hip"], 0] - kp[K["right_hip"], 0])
    # the tube hangs from the trunk; each leg pushes it out where it would poke through (envelope)
    w_left = _smoothstep(0.5 + (allp[:, 0] - centre[0]) / (1.2 * hip_half))
    below = allp[:, 2] < z_crotch + 0.08
    weights = np.zeros((len(allp), 3))
    weights[:, 0] = 1.0
    envelope = np.stack([np.ones(len(allp), bool), below & (w_left > 0.02), below & (w_left < 0.98)], 1)
    out_dir = np.column_stack([radial, np.zeros(len(radial))])
    binding = bind_points_blended(allp, body.vertices, body.faces, [trunk, left, right], weights, envelope=envelope,
                                  envelope_dir=np.concatenate([out_dir, out_dir]), normals=body.normals)
    rim_top = np.arange(segments)
    rim_bottom = N - segments + np.arange(segments)
    rims = []
    for ring in (rim_top, rim_bottom):
        a, b = ring, np.roll(ring, -1)
        rims += [np.stack([a, b, a + N], 1), np.stack([b, b + N, a + N], 1)]
    all_faces = np.concatenate([faces, faces[:, ::-1] + N, *rims]).astype(np.int32)
    return all_faces, binding


def _leg_height(body: RestBody, side: str, coord: float) -> float:
    """Rest-pose height of leg coordinate ``coord`` (0 hip .. 1 knee .. 2 ankle) on one side."""
    K = KEYPOINT_INDEX
    kp = body.keypoints
    zs = [kp[K[f"{side}_hip"], 2], kp[K[f"{side}_knee"], 2], kp[K[f"{side}_ankle"], 2]]
    return float(np.interp(coord, [0.0, 1.0, 2.0], zs))


def _torso_height(body: RestBody, coord: float) -> float:
    K = KEYPOINT_INDEX
    kp = body.keypoints
    hip = 0.5 * (kp[K["left_hip"], 2] + kp[K["right_hip"], 2])
    sh = 0.5 * (kp[K["left_shoulder"], 2] + kp[K["right_shoulder"], 2])
    return float(hip + coord * (sh - hip))


def make_procedural_garment(body: RestBody, params: GarmentParams) -> Garment:
    """Cut, lift and bind one procedural garment on a rest body (``compute_rest_body``)."""
    if params.kind not in GARMENT_KINDS:
        raise GarmentError(f"make_procedural_garment: unknown kind {params.kind!r}; expected one of {list(GARMENT_KINDS)}")
    segment, layer = GARMENT_CLASS[params.kind]
    lift = LAYER_LIFT_M[layer] + params.ease_m + params.thickness_m
    r = body.regions
    k = params.kind
    if k in ("tshirt", "longsleeve", "tank"):
        faces, binding = _surface_garment(body, top_field(r, params), lift, params)
    elif k in ("shorts", "trousers"):
        faces, binding = _surface_garment(body, bottom_field(r, params), lift, params)
    elif k == "socks":
        faces, binding = _surface_garment(body, foot_field(r, params), lift, params, smooth_iterations=6)
    elif k == "shoes":
        nz = body.normals[:, 2]
        floor = body.vertices[:, 2].min()
        low = np.clip(1.0 - (body.vertices[:, 2] - floor) / 0.02, 0.0, 1.0)
        sole_weight = np.clip((-nz - 0.3) / 0.5, 0.0, 1.0) * low        # downward-facing skin near the floor

        def shoe_offset(piece: SurfacePiece) -> np.ndarray:
            return lift + params.sole_m * piece.interpolate(body.faces, sole_weight)

        faces, binding = _surface_garment(body, foot_field(r, params), shoe_offset, params, smooth_iterations=10)
    elif k == "skirt":
        z_top = _torso_height(body, params.waist)
        z_bot = min(_leg_height(body, "left", params.leg_length), _leg_height(body, "right", params.leg_length))
        faces, binding = _tube_garment(body, z_top, z_bot, params)
    else:  # dress: a sleeveless/short-sleeved bodice down to the hips + a skirt from the waist down
        top = dataclasses.replace(params, hem=params.hem)
        f1, b1 = _surface_garment(body, top_field(r, top), lift, params)
        z_top = _torso_height(body, params.waist)
        z_bot = min(_leg_height(body, "left", params.leg_length), _leg_height(body, "right", params.leg_length))
        f2, b2 = _tube_garment(body, z_top, z_bot, params)
        faces = np.concatenate([f1, f2 + len(b1)]).astype(np.int32)
        binding = SurfaceBinding.concatenate([b1, b2])
    return Garment(name=k, segment=segment, faces=faces, binding=binding, layer=layer, params=params.to_dict())
