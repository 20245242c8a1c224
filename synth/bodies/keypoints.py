"""The standard keypoint sets every body model outputs, and per-keypoint surface proxies.

Keypoints (``KEYPOINT_NAMES``, K = 23): COCO-17 in COCO order, then 6 foot
points in the COCO-WholeBody / Halpe order. Left/right are the person's own
(``left_wrist`` is the wrist of the person's left arm, which appears on the
image's right when the person faces the camera).

Whole body (``WHOLEBODY_KEYPOINT_NAMES``, K = 133, COCO-WholeBody's order):
those 23, then 68 face points ``face_00`` .. ``face_67`` in the iBUG-68 /
300-W layout (jaw 0-16 from the person's right ear round the chin to the left
one, right brow 17-21, left brow 22-26, nose bridge 27-30, nose base 31-35,
right eye 36-41, left eye 42-47, outer lips 48-59, inner lips 60-67; "right"
is the person's right, the image's left in a frontal photo), then 21 points
of the left hand and 21 of the right hand in the OpenPose / COCO-WholeBody
hand order: ``left_hand_wrist``, then ``left_thumb_1..4``, ``left_index_1..4``,
``left_middle_1..4``, ``left_ring_1..4``, ``left_pinky_1..4``, each finger
from its base joint (thumb CMC, finger MCP) to its tip. A body model offers
either set (``keypoint_set="body"`` or ``"wholebody"``, see
``KEYPOINT_SETS``); ``docs/keypoints.md`` says how each point is defined on
each model.

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
   (nose, eyes, ears, ``face_*``), 1 cm for hand points and 4 cm elsewhere: a
   thin ring of skin around a joint, a small patch around a surface point;
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
#: The 23 body keypoints (an alias of ``KEYPOINT_NAMES``, the ``"body"`` keypoint set).
BODY_KEYPOINT_NAMES: list[str] = KEYPOINT_NAMES

NUM_FACE_KEYPOINTS = 68
NUM_HAND_KEYPOINTS = 21
#: The 68 face points, iBUG-68 order (see the module docstring).
FACE_KEYPOINT_NAMES: list[str] = [f"face_{i:02d}" for i in range(NUM_FACE_KEYPOINTS)]
#: Fingers in hand-keypoint order; each has 4 points, base joint (1) to tip (4).
FINGER_NAMES: tuple[str, ...] = ("thumb", "index", "middle", "ring", "pinky")


def hand_keypoint_names(side: str) -> list[str]:
    """The 21 hand keypoints of ``side`` ('left' or 'right'): wrist, then 5 fingers x 4, base to tip."""
    if side not in ("left", "right"):
        raise ValueError(f"hand_keypoint_names: side must be 'left' or 'right', got {side!r}")
    return [f"{side}_hand_wrist"] + [f"{side}_{f}_{k}" for f in FINGER_NAMES for k in range(1, 5)]


LEFT_HAND_KEYPOINT_NAMES: list[str] = hand_keypoint_names("left")
RIGHT_HAND_KEYPOINT_NAMES: list[str] = hand_keypoint_names("right")
#: COCO-WholeBody's 133 points: 23 body + 68 face + 21 left hand + 21 right hand.
WHOLEBODY_KEYPOINT_NAMES: list[str] = (
    KEYPOINT_NAMES + FACE_KEYPOINT_NAMES + LEFT_HAND_KEYPOINT_NAMES + RIGHT_HAND_KEYPOINT_NAMES)
WHOLEBODY_KEYPOINT_INDEX: dict[str, int] = {n: i for i, n in enumerate(WHOLEBODY_KEYPOINT_NAMES)}
#: Slices of the whole-body set.
FACE_SLICE = slice(23, 91)
LEFT_HAND_SLICE = slice(91, 112)
RIGHT_HAND_SLICE = slice(112, 133)

#: keypoint-set name -> keypoint names (what ``BodyModel.keypoint_names`` is for that set).
KEYPOINT_SETS: dict[str, list[str]] = {"body": KEYPOINT_NAMES, "wholebody": WHOLEBODY_KEYPOINT_NAMES}
DEFAULT_KEYPOINT_SET = "body"


def keypoint_set_names(keypoint_set: str) -> list[str]:
    """The keypoint names of a keypoint set ('body': 23, 'wholebody': 133); BodyModelError otherwise."""
    try:
        return list(KEYPOINT_SETS[keypoint_set])
    except (KeyError, TypeError):
        from synth.core.errors import BodyModelError

        raise BodyModelError(
            f"keypoint_set: expected one of {sorted(KEYPOINT_SETS)}, got {keypoint_set!r} "
            "('body': COCO-17 + 6 feet; 'wholebody': COCO-WholeBody's 133 points)") from None

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


def _face_edge_names() -> list[tuple[str, str]]:
    f = FACE_KEYPOINT_NAMES
    chains = [range(0, 17), range(17, 22), range(22, 27), range(27, 31), range(31, 36)]
    loops = [range(36, 42), range(42, 48), range(48, 60), range(60, 68)]
    edges = [(f[a], f[a + 1]) for c in chains for a in list(c)[:-1]]
    edges += [(f[a], f[b]) for lp in loops for a, b in zip(lp, list(lp[1:]) + [lp[0]])]
    edges += [(f[30], f[33])]  # nose tip to the nose base
    return edges


def _hand_edge_names(side: str) -> list[tuple[str, str]]:
    edges = []
    for finger in FINGER_NAMES:
        chain = [f"{side}_hand_wrist"] + [f"{side}_{finger}_{k}" for k in range(1, 5)]
        edges += list(zip(chain[:-1], chain[1:]))
    return edges


#: Edges for drawing the whole-body skeleton: the body edges, the face outlines
#: (jaw, brows, nose, closed eye and lip loops) and each hand's wrist-to-tip chains.
WHOLEBODY_SKELETON_EDGE_NAMES: list[tuple[str, str]] = (
    SKELETON_EDGE_NAMES + _face_edge_names() + _hand_edge_names("left") + _hand_edge_names("right")
    + [("left_wrist", "left_hand_wrist"), ("right_wrist", "right_hand_wrist")])
#: The same edges as (E, 2) int32 indices into ``WHOLEBODY_KEYPOINT_NAMES``.
WHOLEBODY_SKELETON_EDGES: np.ndarray = np.array(
    [(WHOLEBODY_KEYPOINT_INDEX[a], WHOLEBODY_KEYPOINT_INDEX[b]) for a, b in WHOLEBODY_SKELETON_EDGE_NAMES],
    dtype=np.int32)


#: iBUG-68 point -> its mirror image's point (jaw reversed, brows swapped, ...).
FACE_FLIP_PERMUTATION: tuple[int, ...] = tuple(
    list(range(16, -1, -1)) + list(range(26, 16, -1)) + [27, 28, 29, 30] + [35, 34, 33, 32, 31]
    + [45, 44, 43, 42, 47, 46, 39, 38, 37, 36, 41, 40] + [54, 53, 52, 51, 50, 49, 48, 59, 58, 57, 56, 55]
    + [64, 63, 62, 61, 60, 67, 66, 65])


def _flip_name(name: str) -> str:
    if name.startswith("left_"):
        return "right_" + name[5:]
    if name.startswith("right_"):
        return "left_" + name[6:]
    if name.startswith("face_"):
        return f"face_{FACE_FLIP_PERMUTATION[int(name[5:])]:02d}"
    return name


def compute_flip_index(names: list[str]) -> np.ndarray:
    """(K,) int32: index of each keypoint's mirror image in ``names`` (horizontal-flip augmentation)."""
    index = {n: i for i, n in enumerate(names)}
    return np.array([index[_flip_name(n)] for n in names], dtype=np.int32)


#: (K,) int32: index of each keypoint's mirror (for horizontal-flip augmentation).
KEYPOINT_FLIP_INDEX: np.ndarray = compute_flip_index(KEYPOINT_NAMES)
#: (133,) int32: the same for ``WHOLEBODY_KEYPOINT_NAMES``.
WHOLEBODY_FLIP_INDEX: np.ndarray = compute_flip_index(WHOLEBODY_KEYPOINT_NAMES)

_FACE = {"nose", "left_eye", "right_eye", "left_ear", "right_ear"}


def _keypoint_parts(name: str) -> list[str]:
    if name.startswith("face_"):
        return ["head"]
    side = "left_" if name.startswith("left_") else "right_" if name.startswith("right_") else ""
    base = name[len(side):]
    if base == "hand_wrist":
        return [side + "forearm", side + "hand"]
    if base.split("_")[0] in FINGER_NAMES:
        return [side + "hand"]
    table = {
        "nose": ["head"], "eye": ["head", side + "eye"], "ear": ["head"],
        "shoulder": ["torso", side + "upper_arm"], "elbow": [side + "upper_arm", side + "forearm"],
        "wrist": [side + "forearm", side + "hand"], "hip": ["pelvis", side + "thigh"],
        "knee": [side + "thigh", side + "shin"], "ankle": [side + "shin", side + "foot"],
        "big_toe": [side + "foot"], "small_toe": [side + "foot"], "heel": [side + "foot"],
    }
    return table[base]


#: Body parts whose vertices may serve as a keypoint's surface proxy (every whole-body keypoint).
KEYPOINT_PARTS: dict[str, list[str]] = {n: _keypoint_parts(n) for n in WHOLEBODY_KEYPOINT_NAMES}


def _margin_kind(name: str) -> str:
    if name in _FACE or name.startswith("face_"):
        return "face"
    if name.endswith("hand_wrist") or any(f"_{f}_" in name for f in FINGER_NAMES):
        return "hand"
    return "body"


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
    hand_margin_m: float = 0.01,
    min_count: int = 5,
    max_count: int = 30,
    names: list[str] | None = None,
) -> list[np.ndarray]:
    """Per-keypoint proxy vertex indices, by the rule in the module docstring.

    vertices : (V, 3) float, metres, one body (rest pose).
    keypoints : (K, 3) float, metres, in the order of ``names``, same body.
    part_labels : (V,) int, index into ``synth.bodies.parts.PART_NAMES``.
    names : the keypoint names (default: ``KEYPOINT_NAMES`` for K = 23,
        ``WHOLEBODY_KEYPOINT_NAMES`` for K = 133).
    Returns K int64 arrays of sorted vertex indices, each of length in [min_count, max_count].
    """
    vertices = np.asarray(vertices, dtype=np.float64)
    keypoints = np.asarray(keypoints, dtype=np.float64)
    part_labels = np.asarray(part_labels)
    if names is None:
        by_count = {len(v): v for v in KEYPOINT_SETS.values()}
        if len(keypoints) not in by_count:
            raise ValueError(f"compute_keypoint_surface_vertices: {len(keypoints)} keypoints; pass their names")
        names = by_count[len(keypoints)]
    if len(names) != len(keypoints):
        raise ValueError(f"compute_keypoint_surface_vertices: {len(keypoints)} keypoints but {len(names)} names")
    margins = {"face": face_margin_m, "hand": hand_margin_m, "body": margin_m}
    out: list[np.ndarray] = []
    for k, name in enumerate(names):
        allowed = np.isin(part_labels, [PART_INDEX[p] for p in KEYPOINT_PARTS[name]])
        cand = np.flatnonzero(allowed)
        if len(cand) < min_count:  # a model without that part: fall back to the whole mesh
            cand = np.arange(len(vertices))
        d = np.linalg.norm(vertices[cand] - keypoints[k], axis=1)
        order = np.argsort(d, kind="stable")
        cand, d = cand[order], d[order]
        margin = margins[_margin_kind(name)]
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
    sets = compute_keypoint_surface_vertices(posed.vertices[0], posed.keypoints[0], model.vertex_part_labels(),
                                             names=list(model.keypoint_names))
    _SURFACE_CACHE[model] = sets
    return sets
