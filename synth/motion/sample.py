"""``sample_motion``: one motion for one body, from a recipe's motion settings.

Sources (``cfg["source"]``):

* ``static``  random pose within the joint limits near the rest pose, every frame identical (``scale``, 1.0,
  multiplies the spread of the pose prior)
* ``pose``  a held pose from a wide prior (``procedural.generate_pose``): arms anywhere from down to overhead or
  crossed, elbows straight to fully bent, the trunk leaning and turning, and a posture drawn from ``kind``
  (``stand``, ``squat``, ``lunge``, ``bend``, ``kneel``; random when absent) with the feet planted; ``spread``
  (1.0, in [0, 1]) scales every range
* ``walk``, ``run``  gait at ``speed_mps`` (optional ``turn_rate_deg_s`` for a curved path). Walking is capped
  at the walk-run transition of the body (Froude number 0.55, e.g. 1.5 m/s for a 0.45 m toddler leg). A ``run``
  given a walking ``speed_mps`` v < 2 (recipes share one speed for both) jogs at (2 + v) m/s scaled by
  sqrt(leg / 0.9 m). ``meta['speed_mps']`` is the speed actually used.
* ``turn``  turn on the spot (``angle_deg``), ``idle``, ``wave`` (``side``), ``squat`` (``depth``),
  ``reach`` (``side``, ``target_m``), ``jump`` (``height_m``)
* ``bvh``  a BVH file drawn from ``files`` (CMU-style names); ``unit`` ('cm' default, 'm', 'mm', 'inch', 'auto'
  or metres per unit), ``up_axis`` ('+y'), ``forward_axis`` ('+z': the way the rest pose faces), ``joint_map``
* ``pybullet``  a DeepMimic clip shipped with pybullet, drawn from ``clips`` (e.g. ``humanoid3d_walk``; all the
  everyday ones when empty); needs ``pip install synth[motion]``
* ``amass``  an AMASS SMPL-X / SMPL+H ``.npz`` drawn from ``files``
* motion capture also takes ``foot_lock`` (True: remove foot sliding by leg IK) and ``loop`` (repeat a clip
  that is not marked cyclic instead of holding its last frame)

Every source is sampled at ``fps`` for ``n_frames`` frames, starting at a random
phase / time (cycles and looping actions wrap around), put on the ground (z = 0:
the lowest vertex of every frame for grounded motions; jumps and runs keep their
flight phases) and centred (mean root position over the clip at x = y = 0; the
body faces -Y at the start of a gait).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from synth.bodies.base import BodyModel, forward_frames_independent
from synth.core.errors import RecipeError
from synth.motion import procedural as proc
from synth.motion.clip import MotionClip
from synth.motion.grounding import ground_motion, unground_motion
from synth.motion.skeleton import BodySkeleton

PROCEDURAL = ("static", "pose", "walk", "run", "turn", "idle", "wave", "squat", "reach", "jump")
SOURCES = PROCEDURAL + ("bvh", "pybullet", "amass")


def _cfg(source: dict[str, Any] | str) -> dict[str, Any]:
    if isinstance(source, str):
        return {"source": source}
    if not isinstance(source, dict) or "source" not in source:
        raise RecipeError(f"motion: expected a dict with a 'source' key (one of {list(SOURCES)}), got {source!r}")
    return dict(source)


def _num(cfg: dict[str, Any], key: str, default: float | None, lo: float, hi: float) -> float | None:
    v = cfg.get(key, default)
    if v is None:
        return None
    try:
        v = float(v)
    except (TypeError, ValueError):
        raise RecipeError(f"motion.{key}: expected a number in [{lo}, {hi}], got {v!r}") from None
    if not (lo <= v <= hi):
        raise RecipeError(f"motion.{key}: expected a number in [{lo}, {hi}], got {v}")
    return v


def _side(cfg: dict[str, Any]) -> str | None:
    s = cfg.get("side")
    if s is None:
        return None
    s = str(s).lower()
    if s in ("l", "left"):
        return "L"
    if s in ("r", "right"):
        return "R"
    raise RecipeError(f"motion.side: expected 'left' or 'right', got {cfg.get('side')!r}")


def _frame_times(n_frames: int, fps: float, start_s: float) -> np.ndarray:
    return start_s + np.arange(n_frames) / fps


def generate_procedural(skel: BodySkeleton, cfg: dict[str, Any], n_frames: int, fps: float,
                        rng: np.random.Generator) -> proc.GeneratedMotion:
    """Run the generator named ``cfg['source']`` for ``n_frames`` frames at ``fps`` from a random start."""
    name = cfg["source"]
    n = n_frames
    if name == "static":
        pose = proc.sample_static_pose(skel, rng, scale=_num(cfg, "scale", 1.0, 0.0, 3.0))
        local = np.broadcast_to(skel.param_to_local(pose), (n, skel.n_joints, 3, 3)).copy()
        R = np.broadcast_to(np.eye(3), (n, 3, 3)).copy()
        p = np.broadcast_to(np.array([skel.root_rest[0], skel.root_rest[1],
                                      skel.root_rest[2] - skel.ground_z]), (n, 3)).copy()
        return proc.GeneratedMotion(local=local, R_root=R, p_root=p, grounding="per_frame", meta={})
    if name == "pose":
        return proc.generate_pose(skel, n, rng, spread=_num(cfg, "spread", 1.0, 0.0, 1.0), kind=cfg.get("kind"))
    if name in ("walk", "run"):
        running = name == "run"
        requested = _num(cfg, "speed_mps", 3.2 if running else 1.3, 0.8 if running else 0.1,
                         9.0 if running else 2.4)
        speed = requested
        L = skel.leg_length
        if running and cfg.get("speed_mps") is not None and requested < 2.0:
            # recipes share one speed_mps for walk and run: a walking speed v asks for a jog at 2 + v m/s for a
            # 0.9 m leg, scaled by dynamic similarity (same Froude number) for other leg lengths
            speed = (2.0 + requested) * math.sqrt(L / 0.9)
        if not running:
            # nobody walks faster than the walk-run transition (Froude number v^2 / (g L) ~ 0.5): small
            # children asked for an adult's pace walk at their own top walking speed
            speed = min(speed, math.sqrt(0.55 * proc.G_ACC * L))
        turn = math.radians(_num(cfg, "turn_rate_deg_s", 0.0, -90.0, 90.0))
        style = proc.gait_style(skel, speed, running=running)
        t = _frame_times(n, fps, rng.uniform(0.0, 8.0 * style.period_s))
        g = proc.generate_gait(skel, t, style, proc.straight_path(speed, turn))
        g.meta.update(turn_rate_rad_s=turn, requested_speed_mps=requested)
        return g
    if name == "idle":
        return proc.generate_idle(skel, _frame_times(n, fps, rng.uniform(0.0, 60.0)), rng)
    if name == "wave":
        return proc.generate_wave(skel, _frame_times(n, fps, rng.uniform(0.0, 3.6)), rng, side=_side(cfg))
    if name == "squat":
        return proc.generate_squat(skel, _frame_times(n, fps, rng.uniform(0.0, 4.2)), rng,
                                   depth=_num(cfg, "depth", None, 0.05, 1.0))
    if name == "reach":
        target = cfg.get("target_m")
        if target is not None:
            target = np.asarray(target, dtype=np.float64)
            if target.shape != (3,):
                raise RecipeError(f"motion.target_m: expected [x, y, z] metres, got {cfg.get('target_m')!r}")
        return proc.generate_reach(skel, _frame_times(n, fps, rng.uniform(0.0, 3.2)), rng, side=_side(cfg),
                                   target=target)
    if name == "jump":
        h = _num(cfg, "height_m", None, 0.02, 1.0)
        g0 = proc.generate_jump(skel, np.zeros(1), rng, height_m=h)
        return proc.generate_jump(skel, _frame_times(n, fps, rng.uniform(0.0, g0.meta["cycle_s"])), rng,
                                  height_m=g0.meta["height_m"])
    if name == "turn":
        a = _num(cfg, "angle_deg", None, -720.0, 720.0)
        g0 = proc.generate_turn(skel, np.zeros(1), rng, angle_rad=None if a is None else math.radians(a))
        start = rng.uniform(0.0, g0.meta["cycle_s"])
        return proc.generate_turn(skel, _frame_times(n, fps, start), rng, angle_rad=g0.meta["angle_rad"])
    raise RecipeError(f"motion.source: unknown procedural source {name!r}; expected one of {list(PROCEDURAL)}")


# ----------------------------------------------------------------------------- entry points
@dataclass
class DrawnClip:
    """A motion with every random draw made, before it is put on the ground (:meth:`finish`).

    rotvec : (T, J, 3) float32, the clip's pose parameters (final: grounding only moves the root)
    Splitting the two lets a caller pose other frames of the same body in the grounding forward
    (``finish(also_pose=...)``): ``synth.recipe.sample`` poses the person's placement footprint there.
    """

    skel: BodySkeleton
    rotvec: np.ndarray
    meta: dict[str, Any]
    fps: float
    T_world_from_root_ungrounded: np.ndarray | None = None  # (T, 4, 4) centred, before grounding
    grounding: str = "none"                                 # GeneratedMotion.grounding
    finished: MotionClip | None = None                      # already grounded (motion capture grounds itself)

    def finish(self, also_pose: np.ndarray | None = None) -> tuple[MotionClip, np.ndarray | None]:
        """The grounded :class:`MotionClip`, and the vertices (F, V, 3) float32 of ``also_pose`` (F, J, 3) posed
        by the same body-model forward with the identity ``T_world_from_root`` (None when there was no forward
        to share). Both are the numbers of two separate forwards: the forward is shared only when the body model
        poses each frame of a batch on its own (``BodyModel.forward_frames_independent``, Anny;
        ``tests/test_motion_fast_paths_equal.py``); otherwise (SMPL-X) the clip is grounded by its own forward
        as before and ``also_pose`` is left to the caller (None)."""
        if self.finished is not None:
            return self.finished, None
        skel, rotvec = self.skel, self.rotvec
        T = self.T_world_from_root_ungrounded.copy()  # finishing twice gives the same clip
        lowest = extra = None
        n = len(rotvec)
        body = skel.body
        if (self.grounding != "none" and also_pose is not None and n + len(also_pose) <= 256
                and forward_frames_independent(body)):
            from synth.bodies.base import BodyParams

            eye = np.broadcast_to(np.eye(4), (len(also_pose), 4, 4))
            posed = body.forward(BodyParams(model=body.name, shape=skel.shape,
                                            pose_rotvec=np.concatenate([rotvec, also_pose]),
                                            T_world_from_root=np.concatenate([T, eye])))
            vertices = np.asarray(posed.vertices)
            lowest = vertices[:n, :, 2].min(axis=1).astype(np.float64)
            extra = vertices[n:]
        rotvec, T = ground_motion(skel, rotvec, T, self.grounding, lowest=lowest)
        return MotionClip.from_T(skel.joint_names, self.fps, rotvec, T, meta=self.meta), extra


def draw_motion_clip(body_model: BodyModel, source: dict[str, Any] | str, n_frames: int, fps: float,
                     rng: np.random.Generator, shape: dict[str, np.ndarray] | None = None) -> DrawnClip:
    """Every random draw of :func:`sample_motion_clip`; ``.finish()`` then grounds it (no more draws)."""
    cfg = _cfg(source)
    name = cfg["source"]
    if name not in SOURCES:
        raise RecipeError(f"motion.source: unknown source {name!r}; expected one of {list(SOURCES)}")
    if not isinstance(n_frames, (int, np.integer)) or n_frames < 1:
        raise RecipeError(f"motion: n_frames must be an integer >= 1, got {n_frames!r}")
    fps = float(fps)
    if not (np.isfinite(fps) and fps > 0):
        raise RecipeError(f"motion: fps must be > 0, got {fps!r}")
    skel = BodySkeleton.from_body(body_model, shape)
    if name in PROCEDURAL:
        g = generate_procedural(skel, cfg, int(n_frames), fps, rng)
        rotvec, T = unground_motion(skel, g.local, g.R_root, g.p_root, center=cfg.get("center", True))
        meta = {"source": name, **{k: v for k, v in g.meta.items()}}
        return DrawnClip(skel=skel, rotvec=rotvec, meta=meta, fps=fps, T_world_from_root_ungrounded=T,
                         grounding=g.grounding)
    from synth.motion import retarget
    clip = retarget.sample_mocap(skel, cfg, int(n_frames), fps, rng)
    return DrawnClip(skel=skel, rotvec=clip.rotvec, meta=clip.meta, fps=fps, finished=clip)


def sample_motion_clip(body_model: BodyModel, source: dict[str, Any] | str, n_frames: int, fps: float,
                       rng: np.random.Generator, shape: dict[str, np.ndarray] | None = None) -> MotionClip:
    """Like :func:`sample_motion`, returning a :class:`MotionClip` with ``meta`` describing what was drawn."""
    return draw_motion_clip(body_model, source, n_frames, fps, rng, shape=shape).finish()[0]


def sample_motion(body_model: BodyModel, source: dict[str, Any] | str, n_frames: int, fps: float, *,
                  rng: np.random.Generator, shape: dict[str, np.ndarray] | None = None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Draw one motion for ``body_model`` (with ``shape``; the model's default when None).

    source : the recipe's motion settings, e.g. ``{"source": "walk", "speed_mps": 1.2}``; see the module doc
    n_frames : frames to return; fps : frames per second
    Returns ``pose_rotvec`` (n_frames, J, 3) float32 radians (absolute local rotations, the model's pose input)
    and ``T_world_from_root`` (n_frames, 4, 4) float64 (metres, Z up; the body stands on z = 0, centred on the
    origin, initially facing -Y).
    """
    clip = sample_motion_clip(body_model, source, n_frames, fps, rng, shape=shape)
    return clip.rotvec, clip.T_world_from_root
