"""Facial expressions for body models, carried in ``BodyParams.extra``.

Anny: its 52 ARKit facial actions (``ANNY_FACIAL_ACTION_NAMES``, e.g. ``jawOpen``,
``mouthSmileLeft``, ``eyeBlinkRight``; values in [0, 1]; "Left" is the person's
left, measured on the mesh). They are blend shapes of the face mesh only: the
skeleton, and so every body keypoint, stays where it is. ``BodyParams.extra
["facial_actions"]`` holds (52,) or (T, 52) float32 in that order.

SMPL-X: its ``expression`` coefficients (FLAME's expression PCA space,
``num_expression`` of them, unit variance, no named meaning): ``BodyParams.extra
["expression"]`` (n,) or (T, n). Named presets do not exist for it; only
``"neutral"`` (zeros) and random draws. (Opening the mouth is SMPL-X's ``jaw``
joint, a pose parameter.)

Use::

    extra = sample_expression(body, rng=rng)                       # one expression, all frames
    extra = sample_expression(body, rng=rng, style="smile")
    extra = sample_expression_sequence(body, n_frames, fps, rng=rng)  # (T, 52) with blinks
    params = BodyParams(..., extra={**params.extra, **extra})
"""

from __future__ import annotations

from typing import Any

import numpy as np

from synth.core.errors import BodyModelError, RecipeError
from synth.core.tolerance import TOL

#: Anny 0.6.2's facial actions (ARKit blend-shape names), the order of ``extra["facial_actions"]``.
ANNY_FACIAL_ACTION_NAMES: tuple[str, ...] = (
    "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight", "cheekPuff",
    "cheekSquintLeft", "cheekSquintRight", "eyeBlinkLeft", "eyeBlinkRight", "eyeLookDownLeft", "eyeLookDownRight",
    "eyeLookInLeft", "eyeLookInRight", "eyeLookOutLeft", "eyeLookOutRight", "eyeLookUpLeft", "eyeLookUpRight",
    "eyeSquintLeft", "eyeSquintRight", "eyeWideLeft", "eyeWideRight", "jawForward", "jawLeft", "jawOpen",
    "jawRight", "mouthClose", "mouthDimpleLeft", "mouthDimpleRight", "mouthFrownLeft", "mouthFrownRight",
    "mouthFunnel", "mouthLeft", "mouthLowerDownLeft", "mouthLowerDownRight", "mouthPressLeft", "mouthPressRight",
    "mouthPucker", "mouthRight", "mouthRollLower", "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper",
    "mouthSmileLeft", "mouthSmileRight", "mouthStretchLeft", "mouthStretchRight", "mouthUpperUpLeft",
    "mouthUpperUpRight", "noseSneerLeft", "noseSneerRight", "tongueOut",
)


def _both(name: str, value: float) -> dict[str, float]:
    return {f"{name}Left": value, f"{name}Right": value}


#: Named expressions as ARKit weights (full intensity); absent actions are 0.
EXPRESSION_PRESETS: dict[str, dict[str, float]] = {
    "neutral": {},
    "smile": {**_both("mouthSmile", 0.8), **_both("cheekSquint", 0.35), **_both("eyeSquint", 0.2),
              **_both("mouthDimple", 0.2)},
    "grin": {**_both("mouthSmile", 0.9), **_both("cheekSquint", 0.45), **_both("eyeSquint", 0.25), "jawOpen": 0.25,
             **_both("mouthUpperUp", 0.3), **_both("mouthLowerDown", 0.3)},
    "surprise": {"browInnerUp": 0.8, **_both("browOuterUp", 0.7), **_both("eyeWide", 0.6), "jawOpen": 0.45,
                 "mouthFunnel": 0.15},
    "sad": {"browInnerUp": 0.6, **_both("mouthFrown", 0.6), "mouthShrugLower": 0.3, **_both("mouthPress", 0.2),
            **_both("eyeSquint", 0.1)},
    "angry": {**_both("browDown", 0.8), **_both("eyeSquint", 0.35), **_both("noseSneer", 0.35),
              **_both("mouthPress", 0.4), **_both("mouthFrown", 0.3), "jawForward": 0.1},
    "disgust": {**_both("noseSneer", 0.7), **_both("mouthUpperUp", 0.5), **_both("browDown", 0.35),
                **_both("cheekSquint", 0.3), "mouthShrugUpper": 0.2},
    "fear": {"browInnerUp": 0.7, **_both("eyeWide", 0.7), **_both("mouthStretch", 0.5), "jawOpen": 0.15},
    "talk": {"jawOpen": 0.2, "mouthFunnel": 0.1, **_both("mouthLowerDown", 0.2)},
    "eyes_closed": _both("eyeBlink", 1.0),
}
EXPRESSION_STYLES: tuple[str, ...] = tuple(EXPRESSION_PRESETS)
#: Default probabilities of the presets when ``style`` is None (Anny).
DEFAULT_EXPRESSION_WEIGHTS: dict[str, float] = {
    "neutral": 0.3, "smile": 0.2, "grin": 0.05, "talk": 0.15, "surprise": 0.06, "sad": 0.06, "angry": 0.06,
    "disgust": 0.04, "fear": 0.03, "eyes_closed": 0.05,
}
#: SMPL-X expression coefficients are drawn N(0, SMPLX_EXPRESSION_STD^2), clipped to +-SMPLX_EXPRESSION_CLIP.
SMPLX_EXPRESSION_STD = 0.7
SMPLX_EXPRESSION_CLIP = 2.0


def _kind(body_model: Any) -> str:
    names = getattr(body_model, "facial_action_names", None)
    if names is not None:
        if tuple(names) != ANNY_FACIAL_ACTION_NAMES:
            raise BodyModelError(
                f"expressions: body model {body_model.name!r} has facial actions {list(names)[:4]}..., "
                "expected Anny 0.6.2's 52 ARKit actions")
        return "anny"
    if getattr(body_model, "num_expression", None) is not None:
        return "smplx"
    raise BodyModelError(f"expressions: body model {getattr(body_model, 'name', '?')!r} exposes neither Anny's "
                         "facial_action_names nor SMPL-X's num_expression; it has no facial expressions")


def compute_facial_actions(expression: str | dict[str, float], intensity: float = 1.0) -> np.ndarray:
    """(52,) float32 Anny facial actions of a preset name or an {ARKit name: value} dict, times ``intensity``."""
    if isinstance(expression, str):
        if expression not in EXPRESSION_PRESETS:
            raise RecipeError(f"expression: unknown preset {expression!r}; expected one of {list(EXPRESSION_STYLES)} "
                              "or a dict of ARKit facial actions")
        weights = EXPRESSION_PRESETS[expression]
    elif isinstance(expression, dict):
        weights = expression
    else:
        raise RecipeError(f"expression: expected a preset name or a dict of ARKit facial actions, got {expression!r}")
    out = np.zeros(len(ANNY_FACIAL_ACTION_NAMES), dtype=np.float32)
    index = {n: i for i, n in enumerate(ANNY_FACIAL_ACTION_NAMES)}
    for name, value in weights.items():
        if name not in index:
            raise RecipeError(
                f"expression: unknown facial action {name!r}; Anny's are {list(ANNY_FACIAL_ACTION_NAMES)}")
        out[index[name]] = float(value)
    out *= float(intensity)
    if not (np.isfinite(out).all() and out.min() >= 0.0 and out.max() <= 1.0 + TOL.rounding):
        raise RecipeError(
            f"expression: facial action values must lie in [0, 1], got [{out.min():.3g}, {out.max():.3g}]")
    return out


def compute_expression(body_model: Any, expression: str | dict[str, float] = "neutral", intensity: float = 1.0,
                       frames: int | None = None) -> dict[str, np.ndarray]:
    """``BodyParams.extra`` entries for a named / explicit expression (deterministic).

    Anny: ``{"facial_actions": (52,) or (frames, 52)}``; SMPL-X: ``{"expression": (n,) or (frames, n)}``
    (only ``"neutral"``, or a dict ``{"coefficients": [...]}``).
    """
    kind = _kind(body_model)
    if kind == "anny":
        v = compute_facial_actions(expression, intensity)
        key = "facial_actions"
    else:
        n = int(body_model.num_expression)
        if expression == "neutral":
            v = np.zeros(n, dtype=np.float32)
        elif isinstance(expression, dict) and set(expression) == {"coefficients"}:
            v = np.asarray(expression["coefficients"], dtype=np.float32).reshape(-1) * float(intensity)
            if v.shape != (n,) or not np.isfinite(v).all():
                raise RecipeError(f"expression: SMPL-X coefficients must be {n} finite numbers, got shape {v.shape}")
        else:
            raise RecipeError(
                f"expression: SMPL-X expression coefficients have no named presets; got {expression!r}. Use "
                "'neutral', {'coefficients': [...]} or sample_expression(...) (random coefficients)")
        key = "expression"
    if frames is not None:
        v = np.broadcast_to(v, (int(frames), v.shape[0])).copy()
    return {key: v}


def _draw_style(rng: np.random.Generator, weights: dict[str, float] | None) -> str:
    w = dict(DEFAULT_EXPRESSION_WEIGHTS if weights is None else weights)
    bad = [k for k in w if k not in EXPRESSION_PRESETS]
    if bad or not w or any(v < 0 for v in w.values()) or sum(w.values()) <= 0:
        raise RecipeError(f"expression: weights must be non-negative over {list(EXPRESSION_STYLES)}, got {w}")
    names = list(w)
    p = np.array([w[n] for n in names], dtype=np.float64)
    return names[int(rng.choice(len(names), p=p / p.sum()))]


def sample_expression(body_model: Any, *, rng: np.random.Generator, style: str | None = None,
                      intensity: float | tuple[float, float] = (0.5, 1.0),
                      style_weights: dict[str, float] | None = None) -> dict[str, np.ndarray]:
    """Draw one facial expression as ``BodyParams.extra`` entries (the same for every frame).

    Anny: a preset (``style``, or drawn from ``style_weights``, default
    ``DEFAULT_EXPRESSION_WEIGHTS``) at an intensity (a number, or a uniform range,
    default U(0.5, 1)), each active action jittered by x U(0.8, 1.2) independently
    (mild asymmetry), plus gaze: eyeLook* up to 0.3 -> ``{"facial_actions": (52,) float32}``.
    SMPL-X: ``style`` None draws coefficients N(0, 0.7^2) clipped to +-2, 'neutral' gives
    zeros -> ``{"expression": (num_expression,) float32}``.
    """
    kind = _kind(body_model)
    if kind == "smplx":
        if style is not None and style != "neutral":
            raise RecipeError(
                f"expression: SMPL-X has no named expression presets (got {style!r}); use None or 'neutral'")
        n = int(body_model.num_expression)
        if style == "neutral":
            return {"expression": np.zeros(n, dtype=np.float32)}
        e = np.clip(rng.normal(0.0, SMPLX_EXPRESSION_STD, size=n), -SMPLX_EXPRESSION_CLIP, SMPLX_EXPRESSION_CLIP)
        return {"expression": e.astype(np.float32)}
    name = _draw_style(rng, style_weights) if style is None else style
    if isinstance(intensity, (tuple, list)):
        lo, hi = float(intensity[0]), float(intensity[1])
        if not (0.0 <= lo <= hi <= 1.0):
            raise RecipeError(f"expression: intensity range must satisfy 0 <= lo <= hi <= 1, got {intensity!r}")
        level = rng.uniform(lo, hi)
    else:
        level = float(intensity)
        if not (0.0 <= level <= 1.0):
            raise RecipeError(f"expression: intensity must be in [0, 1], got {intensity!r}")
    fa = compute_facial_actions(name, level)
    fa *= rng.uniform(0.8, 1.2, size=fa.shape).astype(np.float32)
    # gaze: look in one random direction a little (both eyes together)
    idx = {n: i for i, n in enumerate(ANNY_FACIAL_ACTION_NAMES)}
    horizontal = rng.uniform(-0.3, 0.3)
    vertical = rng.uniform(-0.2, 0.2)
    # looking to the person's left: left eye looks out, right eye looks in
    fa[idx["eyeLookOutLeft"]] += max(horizontal, 0.0)
    fa[idx["eyeLookInRight"]] += max(horizontal, 0.0)
    fa[idx["eyeLookInLeft"]] += max(-horizontal, 0.0)
    fa[idx["eyeLookOutRight"]] += max(-horizontal, 0.0)
    for s in ("Left", "Right"):
        fa[idx[f"eyeLookUp{s}"]] += max(vertical, 0.0)
        fa[idx[f"eyeLookDown{s}"]] += max(-vertical, 0.0)
    return {"facial_actions": np.clip(fa, 0.0, 1.0).astype(np.float32)}


def sample_expression_sequence(body_model: Any, n_frames: int, fps: float, *, rng: np.random.Generator,
                               style: str | None = None, blinks: bool = True,
                               blink_interval_s: float = 3.5, blink_duration_s: float = 0.25,
                               **kwargs: Any) -> dict[str, np.ndarray]:
    """Per-frame expression for a clip: one :func:`sample_expression` held, plus life.

    Anny: eye blinks (intervals ~ 0.8 s + exponential with mean ``blink_interval_s`` - 0.8 s,
    each closing and reopening over ``blink_duration_s``), and for ``talk`` a jaw that opens
    and closes at syllable rate (~4 Hz, smoothed noise) -> ``{"facial_actions": (T, 52)}``.
    SMPL-X: the drawn coefficients for every frame -> ``{"expression": (T, n)}``.
    Extra keywords go to :func:`sample_expression`.
    """
    if not isinstance(n_frames, (int, np.integer)) or n_frames < 1:
        raise RecipeError(f"expression: n_frames must be an integer >= 1, got {n_frames!r}")
    if not (np.isfinite(fps) and fps > 0):
        raise RecipeError(f"expression: fps must be > 0, got {fps!r}")
    name = style
    if _kind(body_model) == "anny" and style is None:
        name = _draw_style(rng, kwargs.pop("style_weights", None))
    base = sample_expression(body_model, rng=rng, style=name, **kwargs)
    key, v = next(iter(base.items()))
    seq = np.broadcast_to(v, (int(n_frames), v.shape[0])).copy()
    if key != "facial_actions":
        return {key: seq}
    t = np.arange(int(n_frames)) / float(fps)
    idx = {n: i for i, n in enumerate(ANNY_FACIAL_ACTION_NAMES)}
    if blinks and name != "eyes_closed":
        closure = np.zeros_like(t)
        start = rng.uniform(0.0, blink_interval_s)
        while start < t[-1] + blink_duration_s:
            phase = (t - start) / blink_duration_s
            inside = (phase >= 0) & (phase <= 1)
            closure = np.maximum(closure, np.where(inside, np.sin(np.pi * np.clip(phase, 0, 1)), 0))
            start += 0.8 + rng.exponential(max(blink_interval_s - 0.8, 0.1))
        for s in ("Left", "Right"):
            j = idx[f"eyeBlink{s}"]
            seq[:, j] = np.maximum(seq[:, j], closure)
    if name == "talk":
        # syllables: a smoothed random walk of jaw opening around the preset value
        k = max(1, int(round(fps / 8.0)))
        raw = rng.uniform(0.0, 1.0, size=len(t) + 2 * k)
        smooth = np.convolve(raw, np.ones(2 * k + 1) / (2 * k + 1), mode="same")[k:k + len(t)]
        osc = 0.5 + 0.5 * np.sin(2 * np.pi * 4.0 * t + rng.uniform(0, 2 * np.pi))
        seq[:, idx["jawOpen"]] = np.clip(0.05 + 0.3 * osc * smooth / max(smooth.max(), TOL.rounding), 0.0, 1.0)
    return {key: np.clip(seq, 0.0, 1.0).astype(np.float32)}
