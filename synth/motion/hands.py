"""Finger poses: relaxed, fist, open, point; drawn with mild randomness, within the joint limits.

A hand pose is a dict ``joint name -> (3,) float32 rotation vector`` (radians, the
body model's own pose parameterization: Anny's "local-bone" axes, SMPL-X's native
axes), holding every finger joint of the hands it poses. It replaces those joints'
rotations in a motion::

    hand = sample_hand_pose(body, rng=rng)                   # style drawn per hand
    hand = sample_hand_pose(body, rng=rng, style="fist")     # both hands
    hand = sample_hand_pose(body, rng=rng, style={"left": "point", "right": "open"})
    pose_rotvec = apply_hand_pose(pose_rotvec, body, hand)   # (T, J, 3), every frame

Styles are described per hand by a few numbers (:class:`HandShape`): the curl of
each finger's three joints (0 straight .. 1 fully bent, as a fraction of a
typical maximal flexion: MCP 75 deg, PIP 83 deg, DIP 60 deg), the spread of each
finger (radians, + towards the thumb) and the thumb's opposition (CMC flexion
towards the palm), abduction (away from the index) and curl. They map onto each
model's joints:

* Anny ("local-bone", measured on the rig): local +X flexes every finger joint on
  both hands; local Z spreads the fingers at the MCP (+Z towards the thumb on the
  left hand, -Z on the right); the thumb's CMC (``finger1-1``) opposes with +X
  and abducts with +Z on the left, -Z on the right.
* SMPL-X (native axes, T-pose, palms down, zero = flat hand): fingers flex about
  Z (negative on the left hand, positive on the right) and spread about Y; the
  thumb flexes about ``d x n`` (``d`` its direction, ``n`` between the palm
  normal and the direction to the little finger) and abducts about the palm
  normal, both measured on the body's zero pose. Style ``relaxed`` starts from
  the model's own mean hand (``rest_pose()``, the MANO mean).

Everything is clipped to ``body_model.joint_limits()``.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from synth.core.errors import BodyModelError, RecipeError
from synth.core.tolerance import TOL

HAND_STYLES: tuple[str, ...] = ("relaxed", "fist", "open", "point")
#: Default probabilities of the styles when ``style`` is None.
DEFAULT_STYLE_WEIGHTS: dict[str, float] = {"relaxed": 0.45, "fist": 0.2, "open": 0.2, "point": 0.15}
SIDES = ("left", "right")
FINGERS = ("index", "middle", "ring", "pinky")  # the four long fingers; the thumb is separate

#: Flexion (rad) at curl = 1 of the MCP, PIP and DIP joints.
FLEX_AT_FULL_CURL = np.array([1.3, 1.45, 1.05])
#: Thumb: opposition (rad) at 1, abduction (rad) at 1, MCP / IP flexion (rad) at curl 1.
THUMB_OPPOSITION_RAD = 0.6
THUMB_ABDUCTION_RAD = 0.4
THUMB_FLEX_RAD = np.array([0.9, 1.2])


@dataclass(frozen=True)
class HandShape:
    """One hand's posture in model-independent numbers.

    curl : (4, 3) index..pinky x (MCP, PIP, DIP), 0 straight .. 1 fully bent (may dip slightly below 0)
    spread : (4,) radians at the MCP, + towards the thumb
    thumb_opposition : CMC flexion towards the palm, -0.5 (extended) .. 1
    thumb_abduction : -1 (against the index) .. 1 (away from it)
    thumb_curl : (2,) MCP and IP curl, 0 .. 1
    """

    curl: np.ndarray
    spread: np.ndarray
    thumb_opposition: float
    thumb_abduction: float
    thumb_curl: np.ndarray


def _shape(curl, spread, opp, abd, tcurl) -> HandShape:
    return HandShape(np.array(curl, dtype=np.float64), np.array(spread, dtype=np.float64), float(opp), float(abd),
                     np.array(tcurl, dtype=np.float64))


#: The canonical shape of each style (before randomness).
STYLE_SHAPES: dict[str, HandShape] = {
    "relaxed": _shape([[0.2, 0.25, 0.15], [0.25, 0.3, 0.2], [0.3, 0.35, 0.2], [0.35, 0.4, 0.25]],
                      [0.04, 0.0, -0.03, -0.07], 0.2, 0.0, [0.15, 0.15]),
    "fist": _shape([[0.9, 1.0, 0.75]] * 4, [0.0, 0.0, 0.0, -0.02], 0.75, -0.4, [0.55, 0.45]),
    "open": _shape([[-0.03, 0.0, 0.0]] * 4, [0.17, 0.02, -0.1, -0.19], -0.4, 0.9, [0.0, 0.0]),
    "point": _shape([[0.02, 0.02, 0.02], [0.9, 1.0, 0.75], [0.9, 1.0, 0.75], [0.9, 1.0, 0.75]],
                    [0.02, 0.0, 0.0, -0.02], 0.75, -0.4, [0.55, 0.45]),
}


def _family(body_model: Any) -> str:
    names = set(body_model.joint_names)
    if {"finger2-1.L", "finger1-1.L", "finger2-1.R"} <= names:
        return "anny"
    if {"left_index1", "left_thumb1", "right_index1"} <= names:
        return "smplx"
    raise BodyModelError(
        f"hands: body model {getattr(body_model, 'name', '?')!r} has no known finger joints (expected Anny's "
        "finger<N>-<k>.<L|R> or SMPL-X's left_index1 ...); finger poses are defined for Anny and SMPL-X")


def _anny_finger_joints(side: str) -> dict[str, list[str]]:
    s = side[0].upper()
    out = {"thumb": [f"finger1-{k}.{s}" for k in (1, 2, 3)]}
    for n, f in enumerate(FINGERS, start=2):
        out[f] = [f"finger{n}-{k}.{s}" for k in (1, 2, 3)]
    return out


def _smplx_finger_joints(side: str) -> dict[str, list[str]]:
    out = {"thumb": [f"{side}_thumb{k}" for k in (1, 2, 3)]}
    for f in FINGERS:
        out[f] = [f"{side}_{f}{k}" for k in (1, 2, 3)]
    return out


def hand_joint_names(body_model: Any, side: str = "both") -> list[str]:
    """The finger joints a hand pose of ``side`` ('left', 'right', 'both') sets, thumb first, base to tip."""
    fam = _family(body_model)
    sides = _sides(side)
    fn = _anny_finger_joints if fam == "anny" else _smplx_finger_joints
    return [j for s in sides for chain in fn(s).values() for j in chain]


def _sides(side: str) -> tuple[str, ...]:
    if side == "both":
        return SIDES
    if side in SIDES:
        return (side,)
    raise RecipeError(f"hands: side must be 'left', 'right' or 'both', got {side!r}")


# ----------------------------------------------------------------------------------------------- SMPL-X geometry
_SMPLX_AXES: "weakref.WeakKeyDictionary[Any, dict[str, dict[str, np.ndarray]]]" = weakref.WeakKeyDictionary()


def _smplx_thumb_axes(body_model: Any) -> dict[str, dict[str, np.ndarray]]:
    """Per side: the thumb's flexion and abduction axes (unit, SMPL-X native frame), from the zero pose."""
    try:
        return _SMPLX_AXES[body_model]
    except (KeyError, TypeError):
        pass
    from synth.bodies.base import BodyParams
    from synth.bodies.smplx_model import T_ZUP_FROM_SMPLX

    J = len(body_model.joint_names)
    zero = BodyParams(model=body_model.name, shape=body_model.default_params().shape,
                      pose_rotvec=np.zeros((1, J, 3), np.float32), T_world_from_root=np.eye(4)[None])
    joints = np.asarray(body_model.forward(zero).joints[0], dtype=np.float64) @ T_ZUP_FROM_SMPLX[:3, :3]  # native
    idx = {n: i for i, n in enumerate(body_model.joint_names)}
    palmar = np.array([0.0, -1.0, 0.0])  # T-pose: palms face down
    out = {}
    for side in SIDES:
        t1, t3 = joints[idx[f"{side}_thumb1"]], joints[idx[f"{side}_thumb3"]]
        i1, p1 = joints[idx[f"{side}_index1"]], joints[idx[f"{side}_pinky1"]]
        d = _unit(t3 - t1)
        to_pinky = _unit(p1 - i1)
        flex = _unit(np.cross(d, _unit(palmar + to_pinky)))
        abd = palmar.copy()
        if np.dot(np.cross(abd, d), t3 - i1) < 0:  # positive rotation must move the tip away from the index
            abd = -abd
        out[side] = {"flex": flex, "abd": abd}
    try:
        _SMPLX_AXES[body_model] = out
    except TypeError:
        pass
    return out


def _unit(v: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    if n < TOL.degenerate:
        raise BodyModelError("hands: degenerate hand geometry (coincident finger joints)")
    return v / n


# ----------------------------------------------------------------------------------------------- shape -> joints
def compute_hand_rotations(body_model: Any, shape: HandShape, side: str) -> dict[str, np.ndarray]:
    """Rotation vectors (model parameterization) of one hand's 15 finger joints for ``shape``, clipped to the limits."""
    fam = _family(body_model)
    if side not in SIDES:
        raise RecipeError(f"hands: side must be 'left' or 'right', got {side!r}")
    curl = np.asarray(shape.curl, dtype=np.float64).reshape(4, 3)
    spread = np.asarray(shape.spread, dtype=np.float64).reshape(4)
    tcurl = np.asarray(shape.thumb_curl, dtype=np.float64).reshape(2)
    out: dict[str, np.ndarray] = {}
    if fam == "anny":
        chains = _anny_finger_joints(side)
        mirror = 1.0 if side == "left" else -1.0
        for f, fi in zip(FINGERS, range(4)):
            for k, j in enumerate(chains[f]):
                rv = np.array([curl[fi, k] * FLEX_AT_FULL_CURL[k], 0.0, 0.0])
                if k == 0:
                    rv[2] = mirror * spread[fi]
                out[j] = rv
        t = chains["thumb"]
        out[t[0]] = np.array([shape.thumb_opposition * THUMB_OPPOSITION_RAD, 0.0,
                              mirror * shape.thumb_abduction * THUMB_ABDUCTION_RAD])
        out[t[1]] = np.array([tcurl[0] * THUMB_FLEX_RAD[0], 0.0, 0.0])
        out[t[2]] = np.array([tcurl[1] * THUMB_FLEX_RAD[1], 0.0, 0.0])
    else:
        chains = _smplx_finger_joints(side)
        flex_sign = -1.0 if side == "left" else 1.0
        for f, fi in zip(FINGERS, range(4)):
            for k, j in enumerate(chains[f]):
                rv = np.array([0.0, 0.0, flex_sign * curl[fi, k] * FLEX_AT_FULL_CURL[k]])
                if k == 0:
                    rv[1] = flex_sign * spread[fi]  # towards the thumb: -Y on the left hand, +Y on the right
                out[j] = rv
        ax = _smplx_thumb_axes(body_model)[side]
        t = chains["thumb"]
        out[t[0]] = (shape.thumb_opposition * THUMB_OPPOSITION_RAD * ax["flex"]
                     + shape.thumb_abduction * THUMB_ABDUCTION_RAD * ax["abd"])
        out[t[1]] = tcurl[0] * THUMB_FLEX_RAD[0] * ax["flex"]
        out[t[2]] = tcurl[1] * THUMB_FLEX_RAD[1] * ax["flex"]
    lim = np.asarray(body_model.joint_limits(), dtype=np.float64)
    idx = {n: i for i, n in enumerate(body_model.joint_names)}
    return {j: np.clip(rv, lim[idx[j], :, 0], lim[idx[j], :, 1]).astype(np.float32) for j, rv in out.items()}


def _perturb(shape: HandShape, rng: np.random.Generator, noise: float) -> HandShape:
    curl = shape.curl + noise * (rng.normal(0.0, 0.06, size=(4, 1)) + rng.normal(0.0, 0.04, size=(4, 3)))
    return replace(
        shape,
        curl=np.clip(curl, -0.1, 1.0),
        spread=shape.spread + noise * rng.normal(0.0, 0.03, size=4),
        thumb_opposition=float(np.clip(shape.thumb_opposition + noise * rng.normal(0.0, 0.08), -0.5, 1.0)),
        thumb_abduction=float(np.clip(shape.thumb_abduction + noise * rng.normal(0.0, 0.1), -1.0, 1.0)),
        thumb_curl=np.clip(shape.thumb_curl + noise * rng.normal(0.0, 0.06, size=2), 0.0, 1.0),
    )


def _resolve_styles(style: Any, sides: tuple[str, ...], rng: np.random.Generator,
                    weights: dict[str, float] | None) -> dict[str, str]:
    if isinstance(style, dict):
        unknown = set(style) - set(SIDES)
        if unknown:
            raise RecipeError(f"hands: style keys must be 'left'/'right', got {sorted(unknown)}")
        return {s: _resolve_styles(style.get(s), (s,), rng, weights)[s] for s in sides}
    if style is None:
        w = dict(DEFAULT_STYLE_WEIGHTS if weights is None else weights)
        bad = [k for k in w if k not in HAND_STYLES]
        if bad or not w or any(v < 0 for v in w.values()) or sum(w.values()) <= 0:
            raise RecipeError(f"hands: style weights must be non-negative over {list(HAND_STYLES)}, got {w}")
        names = list(w)
        p = np.array([w[n] for n in names], dtype=np.float64)
        return {s: names[int(rng.choice(len(names), p=p / p.sum()))] for s in sides}
    if style not in HAND_STYLES:
        raise RecipeError(f"hands: unknown hand style {style!r}; expected one of {list(HAND_STYLES)}")
    return {s: style for s in sides}


def sample_hand_pose(body_model: Any, *, rng: np.random.Generator, style: str | dict[str, str] | None = None,
                     side: str = "both", noise: float = 1.0,
                     style_weights: dict[str, float] | None = None) -> dict[str, np.ndarray]:
    """Draw a finger pose for one or both hands.

    style : a name in ``HAND_STYLES`` for every posed hand, ``{"left": ..., "right": ...}``, or
        None to draw each hand's style from ``style_weights`` (default ``DEFAULT_STYLE_WEIGHTS``)
    side : 'left', 'right' or 'both'
    noise : scale of the randomness (0: the canonical style exactly; 1: curls +-0.07, spreads
        +-0.03 rad, thumb +-0.1, one standard deviation)
    Returns {finger joint name: (3,) float32 rotation vector, radians}: every finger joint of the
    posed hands (``hand_joint_names(body_model, side)``), within the joint limits. For SMPL-X,
    ``relaxed`` is the model's mean hand (``rest_pose()``) plus the randomness.
    """
    if not (np.isfinite(noise) and noise >= 0):
        raise RecipeError(f"hands: noise must be >= 0, got {noise!r}")
    sides = _sides(side)
    styles = _resolve_styles(style, sides, rng, style_weights)
    fam = _family(body_model)
    out: dict[str, np.ndarray] = {}
    for s in sides:
        shape = _perturb(STYLE_SHAPES[styles[s]], rng, noise)
        if fam == "smplx" and styles[s] == "relaxed":
            out.update(_smplx_relaxed(body_model, shape, s))
        else:
            out.update(compute_hand_rotations(body_model, shape, s))
    return out


def _smplx_relaxed(body_model: Any, shape: HandShape, side: str) -> dict[str, np.ndarray]:
    """SMPL-X's mean hand plus the randomness of ``shape`` relative to the canonical relaxed shape."""
    base = STYLE_SHAPES["relaxed"]
    delta = replace(shape, curl=shape.curl - base.curl, spread=shape.spread - base.spread,
                    thumb_opposition=shape.thumb_opposition - base.thumb_opposition,
                    thumb_abduction=shape.thumb_abduction - base.thumb_abduction,
                    thumb_curl=shape.thumb_curl - base.thumb_curl)
    d = compute_hand_rotations(body_model, delta, side)
    rest = np.asarray(body_model.rest_pose(), dtype=np.float64)
    lim = np.asarray(body_model.joint_limits(), dtype=np.float64)
    idx = {n: i for i, n in enumerate(body_model.joint_names)}
    return {j: np.clip(rest[idx[j]] + rv, lim[idx[j], :, 0], lim[idx[j], :, 1]).astype(np.float32)
            for j, rv in d.items()}


def apply_hand_pose(pose_rotvec: np.ndarray, body_model: Any, hand_pose: dict[str, np.ndarray]) -> np.ndarray:
    """A copy of ``pose_rotvec`` with the finger joints of ``hand_pose`` replaced.

    pose_rotvec : (T, J, 3) float radians, the body model's pose input.
    hand_pose : {joint name: (3,) rotation vector for every frame, or (T, 3) per frame}.
    Returns (T, J, 3) float32.
    """
    pose = np.array(pose_rotvec, dtype=np.float32, copy=True)
    J = len(body_model.joint_names)
    if pose.ndim != 3 or pose.shape[1:] != (J, 3):
        raise BodyModelError(f"apply_hand_pose: pose_rotvec must be (T, {J}, 3), got {pose.shape}")
    idx = {n: i for i, n in enumerate(body_model.joint_names)}
    for name, rv in hand_pose.items():
        if name not in idx:
            raise BodyModelError(f"apply_hand_pose: {name!r} is not a joint of body model {body_model.name!r}")
        rv = np.asarray(rv, dtype=np.float32)
        if rv.shape not in ((3,), (pose.shape[0], 3)):
            raise BodyModelError(f"apply_hand_pose: {name!r}: expected (3,) or ({pose.shape[0]}, 3), got {rv.shape}")
        pose[:, idx[name]] = rv
    return pose
