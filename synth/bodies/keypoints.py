"""The standard keypoint set every body model outputs, and per-keypoint surface proxies.

Keypoints (``KEYPOINT_NAMES``, K = 23): COCO-17 in COCO order, then 6 foot
points in the COCO-WholeBody / Halpe order. Left/right are the person's own
(``left_wrist`` is the wrist of the person's left arm, which appears on the
image's right when the person faces the camera).

Surface proxies, for visibility. A keypoint is a point *inside* the body (a
joint centre) or on its skin (nose, eyes, toes). The ground-truth module calls
a keypoint **visible** in a view when at least one of its proxy vertices passes
the depth test (is the first surface hit along its camera ray, within a small
tolerance) and lies inside the image. The proxy set of keypoint k is computed
once per model, on the mean shape in ``rest_pose()``:

1. candidates: vertices whose body part (``synth.bodies.parts``) belongs to
   the keypoint (``KEYPOINT_PARTS``: e.g. the left knee takes left-thigh and
   left-shin vertices, never the other leg or a hand resting nearby);
2. keep the candidates within ``d_min + margin`` of the keypoint, ``d_min``
   being the nearest candidate's distance, ``margin`` 1.5 cm for face points
   and 4 cm elsewhere: a thin ring of skin around a joint, a small patch around
   a surface point;
3. at most 30: a farthest-point subsample spreads them around the joint (so
   the knee is seen from the front, back and sides); at least 5: the 5 nearest.
"""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np

from synth.bodies.parts import PART_INDEX

KEYPOINT_NAMES: list[str] = [
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
    "left_big_toe", "left_small_toe", "left_heel", "right_big_toe", "right_small_toe", "right_heel",
]
KEYPOINT_INDEX: dict[str, int] = {n: i for i, n in enumerate(KEYPOINT_NAMES)}
NUM_COCO_KEYPOINTS = 17

#: Edges for drawing a skeleton, as keypoint-name pairs (COCO's 19 limbs, then feet).
SKELETON_EDGE_NAMES: list[tuple[str, str]] = [
    ("left_ankle", "left_knee"), ("left_knee", "left_hip"), ("right_ankle", "right_knee"), ("right_knee", "right_hip"),
    ("left_hip", "right_hip"), ("left_shoulder", "left_hip"), ("right_shoulder", "right_hip"),
    ("left_shoulder", "right_shoulder"), ("left_shoulder", "left_elbow"), ("right_shoulder", "right_elbow"),
    ("left_elbow", "left_wrist"), ("right_elbow", "right_wrist"), ("left_eye", "right_eye"), ("nose", "left_eye"),
    ("nose", "right_eye"), ("left_eye", "left_ear"), ("right_eye", "right_ear"), ("left_ear", "left_shoulder"),
    ("right_ear", "right_shoulder"),
    ("left_ankle", "left_heel"), ("left_ankle", "left_big_toe"), ("left_big_toe", "left_small_toe"),
    ("right_ankle", "right_heel"), ("right_ankle", "right_big_toe"), ("right_big_toe", "right_small_toe"),
]
#: The same edges as (E, 2) int32 indices into ``KEYPOINT_NAMES``.
SKELETON_EDGES: np.ndarray = np.array(
    [(KEYPOINT_INDEX[a], KEYPOINT_INDEX[b]) for a, b in SKELETON_EDGE_NAMES], dtype=np.int32)


def _flip_name(name: str) -> str:
    if name.startswith("left_"):
        return "right_" + name[5:]
    if name.startswith("right_"):
        return "left_" + name[6:]
    return name


#: (K,) int32: index of each keypoint's mirror (for horizontal-flip augmentation).
KEYPOINT_FLIP_INDEX: np.ndarray = np.array([KEYPOINT_INDEX[_flip_name(n)] for n in KEYPOINT_NAMES], dtype=np.int32)

_FACE = {"nose", "left_eye", "right_eye", "left_ear", "right_ear"}


def _keypoint_parts(name: str) -> list[str]:
    side = "left_" if name.startswith("left_") else "right_" if name.startswith("right_") else ""
    base = name[len(side):]
    table = {
        "nose": ["head"], "eye": ["head", side + "eye"], "ear": ["head"],
        "shoulder": ["torso", side + "upper_arm"], "elbow": [side + "upper_arm", side + "forearm"],
        "wrist": [side + "forearm", side + "hand"], "hip": ["pelvis", side + "thigh"],
        "knee": [side + "thigh", side + "shin"], "ankle": [side + "shin", side + "foot"],
        "big_toe": [side + "foot"], "small_toe": [side + "foot"], "heel": [side + "foot"],
    }
    return table[base]


#: Body parts whose vertices may serve as a keypoint's surface proxy.
KEYPOINT_PARTS: dict[str, list[str]] = {n: _keypoint_parts(n) for n in KEYPOINT_NAMES}


def _farthest_point_subsample(points: np.ndarray, count: int) -> np.ndarray:
    """Indices of ``count`` points spread out by farthest-point sampling (deterministic, starts at index 0)."""
    chosen = [0]
    d = np.linalg.norm(points - points[0], axis=1)
    for _ in range(count - 1):
        i = int(np.argmax(d))
        chosen.append(i)
        d = np.minimum(d, np.linalg.norm(points - points[i], axis=1))
    return np.array(chosen, dtype=np.int64)


def compute_keypoint_surface_vertices(
    vertices: np.ndarray,
    keypoints: np.ndarray,
    part_labels: np.ndarray,
    *,
    margin_m: float = 0.04,
    face_margin_m: float = 0.015,
    min_count: int = 5,
    max_count: int = 30,
) -> list[np.ndarray]:
    """Per-keypoint proxy vertex indices, by the rule in the module docstring.

    vertices : (V, 3) float, metres, one body (rest pose).
    keypoints : (K, 3) float, metres, ``KEYPOINT_NAMES`` order, same body.
    part_labels : (V,) int, index into ``synth.bodies.parts.PART_NAMES``.
    Returns K int64 arrays of sorted vertex indices, each of length in [min_count, max_count].
    """
    vertices = np.asarray(vertices, dtype=np.float64)
    keypoints = np.asarray(keypoints, dtype=np.float64)
    part_labels = np.asarray(part_labels)
    out: list[np.ndarray] = []
    for k, name in enumerate(KEYPOINT_NAMES):
        allowed = np.isin(part_labels, [PART_INDEX[p] for p in KEYPOINT_PARTS[name]])
        cand = np.flatnonzero(allowed)
        if len(cand) < min_count:  # a model without that part: fall back to the whole mesh
            cand = np.arange(len(vertices))
        d = np.linalg.norm(vertices[cand] - keypoints[k], axis=1)
        order = np.argsort(d, kind="stable")
        cand, d = cand[order], d[order]
        margin = face_margin_m if name in _FACE else margin_m
        sel = cand[d <= d[0] + margin]
        if len(sel) < min_count:
            sel = cand[:min_count]
        elif len(sel) > max_count:
            sel = sel[_farthest_point_subsample(vertices[sel], max_count)]
        out.append(np.sort(sel))
    return out


_SURFACE_CACHE: "weakref.WeakKeyDictionary[Any, list[np.ndarray]]" = weakref.WeakKeyDictionary()


def keypoint_surface_vertices(model: Any) -> list[np.ndarray]:
    """Per-keypoint proxy vertex indices of a body model (computed once per model object).

    model : a ``synth.bodies.base.BodyModel`` (uses ``default_params``, ``forward``,
        ``vertex_part_labels``). Vertex indices are shape-independent, so the
        sets apply to every shape and pose of that model.
    """
    try:
        return _SURFACE_CACHE[model]
    except KeyError:
        pass
    posed = model.forward(model.default_params())
    sets = compute_keypoint_surface_vertices(posed.vertices[0], posed.keypoints[0], model.vertex_part_labels())
    _SURFACE_CACHE[model] = sets
    return sets
