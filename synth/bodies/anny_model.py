"""Anny (NAVER, Apache-2.0 code, CC0 MakeHuman data): the free default body model.

Frames. Anny's native frame is already Z-up, metres, facing -Y (the person's
left is +X); the model frame of ``synth.bodies.base`` only adds a vertical
shift: with zero root pose Anny's root joint (between the hips) sits at the
origin, and ``forward`` lifts the body by ``ground_offset`` (the root's height
above the lowest vertex in ``rest_pose()`` for that shape), so feet touch z = 0.

Pose. ``pose_rotvec[t, j]`` is bone j's rotation relative to its *reference*
orientation, in the bone's own axes (Anny's ``"local-bone"``
parameterisation, Blender convention): local Y runs along the bone from head
to tail, local X is the main hinge axis; the columns of
``reference_bone_orientations[j]`` are those axes in the model frame, so the
world-aligned (SMPL-like) rotation is ``U_j @ R(pose_rotvec[t, j]) @ U_j.T``.
Measured on this rig: +X flexes knees, elbows, fingers, spine and neck and
plantar-flexes the ankle; -X flexes the hip; +X flexes the shoulder
(``upperarm01``), +Z abducts the left shoulder and hip... see ``_LIMITS``.
Zero rotations give Anny's reference pose (an A-pose: arms ~42 degrees from
the body, elbows bent ~40 degrees); ``rest_pose()`` lowers the arms. The
reference orientations do not depend on the shape, so a pose means the same
thing for every body. ``pose_rotvec[:, 0]`` (bone ``root``) is the whole
body's orientation about the root joint.

Facial actions. The model is built with Anny's 52 ARKit facial actions
(``facial_action_names``: browDownLeft ... tongueOut, blend shapes of the face
mesh only); ``params.extra["facial_actions"]`` ((52,) or (T, 52), values in
[0, 1], absent = neutral) sets them per frame (see
``synth.bodies.expressions``).

Keypoints. ``keypoint_set="body"`` (default): the 23 COCO + feet points of
Anny's own regressor; ``"wholebody"``: COCO-WholeBody's 133 (those 23, 68 face
points, 2 x 21 hand points; see ``synth.bodies.wholebody``).

Build cost. The first ``Anny()`` build of a topology takes 30-120 s and writes
~0.8 GB to ``ANNY_CACHE_DIR``; synth builds once, saves the model data
(``$SYNTH_CACHE_DIR/anny/<topology>-<rig>-facial.safetensors``, ~35 MB for the
default topology) under a file lock, and every later process reloads that in
about a second.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from synth.bodies.anny_shape import (
    AGE_YEARS_KEY,
    DEFAULT_ADULT_AGE_YEARS,
    PHENOTYPE_NAMES,
    mean_phenotype,
    sample_anny_phenotype,
)
from synth.bodies.base import BodyParams, PosedBody
from synth.bodies.cache import file_lock, synth_cache_dir
from synth.bodies.keypoints import (
    DEFAULT_KEYPOINT_SET,
    KEYPOINT_NAMES,
    NUM_FACE_KEYPOINTS,
    keypoint_set_names,
)
from synth.bodies.parts import PART_NAMES, anny_bone_part, compute_vertex_parts
from synth.core.atomic import atomic_write
from synth.core.errors import BodyModelError
from synth.core.tolerance import TOL

logger = logging.getLogger(__name__)

#: synth topology name -> Anny topology spec. Anny's "smplx"/"smpl" topologies download
#: non-commercial data at build time and are deliberately not offered.
ANNY_TOPOLOGIES: dict[str, str] = {
    "default": "anny",
    "notoes": "notoes",
    "notoes_collapse3pc": "notoes_collapse3pc",
    "notoes_collapse5pc": "notoes_collapse5pc",
    "notoes_collapse10pc": "notoes_collapse10pc",
}
#: synth rig name -> Anny rig spec ("anny": MakeHuman default skeleton, 104 bones, pruned of
#: tongue/breast/facial-expression bones). Joint limits and the rest pose are defined for it.
ANNY_RIGS: dict[str, str] = {"default": "anny"}

_POSE_PARAMETERIZATION = "local-bone"

# --------------------------------------------------------------------------------------------
# Joint limits, radians, per bone *base name* (side suffix removed), as
# ((x_lo, x_hi), (y_lo, y_hi), (z_lo, z_hi)) in the bone's local axes, for the LEFT side.
# Bones in _MIRROR_Z get their Z range negated and swapped on the right side (their Z axis
# is mirrored: +Z abducts the left hip/shoulder and adducts the right one). Signs were
# measured on the model (see tests/test_bodies_anny.py::test_joint_limit_signs).
# --------------------------------------------------------------------------------------------
_SMALL = ((-0.05, 0.05),) * 3
_LIMITS: dict[str, tuple[tuple[float, float], ...]] = {
    "root": ((0.0, 0.0),) * 3,             # whole-body orientation: not anatomical; use T_world_from_root
    "pelvis": _SMALL,
    "upperleg01": ((-2.0, 0.5), (-0.6, 0.6), (-0.7, 0.35)),      # hip: -X flexion, -Z abduction (L), +Z (R)
    "upperleg02": ((-0.05, 0.05), (-0.3, 0.3), (-0.05, 0.05)),   # thigh twist
    "lowerleg01": ((0.0, 2.3), (-0.15, 0.15), (-0.05, 0.05)),    # knee: +X flexion
    "lowerleg02": ((-0.05, 0.05), (-0.2, 0.2), (-0.05, 0.05)),   # shin twist
    "foot": ((-0.35, 0.8), (-0.35, 0.35), (-0.35, 0.35)),        # ankle: +X plantar flexion
    "toe": ((-0.9, 0.5), (-0.05, 0.05), (-0.1, 0.1)),  # toes bend up 30-50 deg at heel-off
    "spine": ((-0.12, 0.3), (-0.12, 0.12), (-0.1, 0.1)),         # each of 5: +X flexion, Y twist, Z side bend
    "neck": ((-0.25, 0.25), (-0.35, 0.35), (-0.15, 0.15)),       # each of 3
    "head": ((-0.3, 0.3), (-0.3, 0.3), (-0.15, 0.15)),
    "eye": ((-0.35, 0.35), (0.0, 0.0), (-0.35, 0.35)),
    "clavicle": ((-0.2, 0.25), (-0.1, 0.1), (-0.1, 0.3)),        # +X protraction, +Z elevation (L)
    "shoulder01": ((-0.15, 0.15), (-0.1, 0.1), (-0.1, 0.2)),
    "upperarm01": ((-0.8, 2.2), (-1.0, 1.0), (-0.75, 1.9)),      # shoulder: +X flexion, +Z abduction (L)
    "upperarm02": ((-0.05, 0.05), (-0.5, 0.5), (-0.05, 0.05)),   # upper-arm twist
    "lowerarm01": ((-0.65, 1.9), (-0.2, 0.2), (-0.05, 0.05)),    # elbow: +X flexion (reference is ~0.7 flexed)
    "lowerarm02": ((-0.05, 0.05), (-0.8, 0.8), (-0.05, 0.05)),   # forearm pronation/supination
    "wrist": ((-0.8, 0.8), (-0.2, 0.2), (-0.35, 0.35)),
    "metacarpal": _SMALL,
    "finger-1": ((-0.15, 1.4), (-0.05, 0.05), (-0.2, 0.2)),      # MCP: +X flexion, Z spread
    "finger-2": ((-0.1, 1.5), (-0.05, 0.05), (-0.05, 0.05)),
    "finger-3": ((-0.1, 1.2), (-0.05, 0.05), (-0.05, 0.05)),
    "thumb-1": ((-0.3, 0.6), (-0.3, 0.3), (-0.4, 0.4)),
    "thumb-2": ((-0.2, 0.9), (-0.05, 0.05), (-0.1, 0.1)),
    "thumb-3": ((-0.2, 1.2), (-0.05, 0.05), (-0.05, 0.05)),
}
_MIRROR_Z = {"upperleg01", "clavicle", "shoulder01", "upperarm01"}


def _limit_key(base: str) -> str:
    if base.startswith("finger1-"):
        return "thumb-" + base.split("-")[1]
    if base.startswith("finger"):
        return "finger-" + base.split("-")[1]
    for prefix in ("toe", "spine", "neck", "metacarpal"):
        if base.startswith(prefix):
            return prefix
    return base


def _split_side(bone: str) -> tuple[str, str]:
    if bone.endswith(".L") or bone.endswith(".R"):
        return bone[:-2], bone[-1]
    return bone, ""


def compute_anny_joint_limits(bone_names: list[str]) -> np.ndarray:
    """(J, 3, 2) float32 radians for Anny's default-rig bone names (see ``_LIMITS``)."""
    out = np.zeros((len(bone_names), 3, 2), dtype=np.float32)
    for j, bone in enumerate(bone_names):
        base, side = _split_side(bone)
        key = _limit_key(base)
        if key not in _LIMITS:
            raise BodyModelError(f"Anny joint limits: no limits for bone {bone!r} (key {key!r}); only the default rig is supported")
        lim = np.array(_LIMITS[key], dtype=np.float32)
        if side == "R" and base in _MIRROR_Z:
            lim[2] = -lim[2][::-1]
        out[j] = lim
    return out


# --------------------------------------------------------------------------------------------
# Loading / building with an on-disk cache
# --------------------------------------------------------------------------------------------

def _check_names(topology: str, rig: str) -> tuple[str, str]:
    if topology in ("smplx", "smpl"):
        raise BodyModelError(
            f"AnnyBody: topology {topology!r} is not available: Anny builds it from non-commercial "
            "data it downloads at build time. Use topology='default' (13718 vertices) or a "
            f"'notoes*' topology, or the SMPL-X body model itself (synth.bodies.smplx_model).")
    if topology not in ANNY_TOPOLOGIES:
        raise BodyModelError(f"AnnyBody: unknown topology {topology!r}; expected one of {sorted(ANNY_TOPOLOGIES)}")
    if rig not in ANNY_RIGS:
        raise BodyModelError(
            f"AnnyBody: rig {rig!r} is not supported; expected one of {sorted(ANNY_RIGS)} "
            "(joint limits, the rest pose and body parts are defined for Anny's default rig)")
    return ANNY_TOPOLOGIES[topology], ANNY_RIGS[rig]


def anny_model_data_path(topology: str = "default", rig: str = "default") -> Path:
    """Where the built model data of (topology, rig), with the 52 facial actions, is cached."""
    return synth_cache_dir() / "anny" / f"{topology}-{rig}-facial.safetensors"


def _set_anny_build_cache() -> None:
    """Point Anny's own build cache to ``$SYNTH_CACHE_DIR/anny-build`` unless the user set ANNY_CACHE_DIR."""
    import anny.paths

    if "ANNY_CACHE_DIR" not in os.environ:
        path = synth_cache_dir() / "anny-build"
        os.environ["ANNY_CACHE_DIR"] = str(path)
        anny.paths.set_anny_cache_path(path)  # anny reads the variable at import time


def _quiet_warp() -> None:
    """Silence NVIDIA Warp's start-up banner and kernel-load lines (Anny's skinning backend)."""
    try:
        import warp

        if warp.config.log_level <= warp.LOG_INFO:
            warp.config.log_level = warp.LOG_WARNING
    except Exception:  # warp missing: Anny falls back to torch skinning
        pass


def _from_model_data(path: Path, rig_spec: str):
    import anny
    from anny.models.model_data import ModelData, RigConfig

    rig_cfg = RigConfig.from_string(rig_spec)
    data = ModelData.load_safetensors(path)
    model = anny.Anny.from_model_data(
        data,
        pose_parameterization=_POSE_PARAMETERIZATION,
        bone_orientation=rig_cfg.bone_orientation,
        root_identity_orientation=rig_cfg.root_identity_orientation,
    )
    return model


def load_anny(topology: str = "default", rig: str = "default"):
    """An ``anny.Anny`` (float32, CPU, "local-bone" poses) for (topology, rig), built once per machine.

    The first call builds it with Anny (30-120 s, ~0.8 GB in ``ANNY_CACHE_DIR``,
    default ``$SYNTH_CACHE_DIR/anny-build``) and saves its model data atomically
    to ``anny_model_data_path(topology, rig)`` under a file lock, so concurrent
    processes build it once; later calls reload that file.
    """
    _quiet_warp()
    import anny

    topo_spec, rig_spec = _check_names(topology, rig)
    path = anny_model_data_path(topology, rig)
    model = None
    if path.exists():
        try:
            model = _from_model_data(path, rig_spec)
        except Exception as exc:  # stale file (other anny data version) or truncated: rebuild
            logger.warning("cannot reload %s (%s); rebuilding", path, exc)
    if model is None:
        with file_lock(path.with_name(path.name + ".lock")):
            if path.exists():
                try:
                    model = _from_model_data(path, rig_spec)
                except Exception as exc:
                    logger.warning("cannot reload %s (%s); rebuilding", path, exc)
            if model is None:
                _set_anny_build_cache()
                t0 = time.perf_counter()
                logger.info("building Anny topology=%s rig=%s (first time only, 30-120 s)", topology, rig)
                try:
                    built = anny.Anny(rig=rig_spec, topology=topo_spec, pose_parameterization=_POSE_PARAMETERIZATION,
                                      facial_actions="all")
                except Exception as exc:
                    raise BodyModelError(
                        f"AnnyBody: building Anny topology={topology!r} rig={rig!r} failed: {exc!r}. "
                        "Check that anny==0.6.2 is installed and ANNY_CACHE_DIR is writable "
                        f"(now {os.environ.get('ANNY_CACHE_DIR')}).") from exc
                data = built.to(dtype=torch.float32).to_model_data()  # float32: ~27 MB, what we run anyway
                atomic_write(path, data.save_safetensors)
                logger.info("built Anny %s-%s in %.1f s -> %s", topology, rig, time.perf_counter() - t0, path)
                model = _from_model_data(path, rig_spec)
    model = model.to(dtype=torch.float32)
    model.eval()
    return model


def _keypoint_regressor_path(topology: str, rig: str) -> Path:
    return synth_cache_dir() / "anny" / f"{topology}-{rig}.keypoints.npz"


def _face_regressor_path(topology: str, rig: str) -> Path:
    return synth_cache_dir() / "anny" / f"{topology}-{rig}.face68.npz"


def _coco_regressor(model) -> np.ndarray:
    import anny

    reg = anny.KeypointsRegressor.coco(model, labels=list(KEYPOINT_NAMES))
    return reg.regression_weights.detach().cpu().numpy().astype(np.float32)


# --------------------------------------------------------------------------------------------
# The body model
# --------------------------------------------------------------------------------------------

class AnnyBody:
    """Anny behind ``synth.bodies.base.BodyModel``.

    topology : ``"default"`` (13718 vertices, 27420 triangles, UVs) or a reduced
        ``"notoes*"`` mesh (``"notoes_collapse5pc"``: 615 vertices, for tests).
    rig : ``"default"`` (Anny's 104-bone skeleton: root, pelvis, legs, toes,
        spine05..01, clavicles, arms, full fingers, neck01..03, head, eyes).
    keypoint_set : ``"body"`` (23 points, default) or ``"wholebody"`` (133 points:
        + 68 face, 2 x 21 hands); see ``synth.bodies.keypoints``.

    Shapes are dicts of 0-d float32 arrays with the six Anny phenotypes in
    [0, 1] (``gender`` 0 male .. 1 female, ``age`` 0 newborn .. 1 = 110 years,
    ``muscle``, ``weight``, ``height``, ``proportions``; missing ones default to
    0.5) plus an optional informational ``age_years``.
    """

    name = "anny"
    #: a frame's output does not depend on the rest of the batch (tests/test_motion_fast_paths_equal.py)
    forward_frames_independent = True

    def __init__(self, topology: str = "default", rig: str = "default",
                 keypoint_set: str = DEFAULT_KEYPOINT_SET) -> None:
        _check_names(topology, rig)
        kp_names = keypoint_set_names(keypoint_set)
        self.topology = topology
        self.rig = rig
        self.keypoint_set = keypoint_set
        t0 = time.perf_counter()
        self._model = load_anny(topology, rig)
        self.load_time_s = time.perf_counter() - t0
        m = self._model
        self.joint_names: list[str] = list(m.bone_labels)
        self.joint_parents = np.asarray(m.bone_parents, dtype=np.int64)
        self.joint_parents[0] = -1
        self.faces = m.faces.detach().cpu().numpy().astype(np.int32)
        self.num_vertices = int(m.template_vertices.shape[0])
        self.keypoint_names: list[str] = kp_names
        self.part_names: list[str] = list(PART_NAMES)
        #: Anny's 52 ARKit facial actions, the order of ``params.extra["facial_actions"]``.
        self.facial_action_names: list[str] = list(m.facial_action_labels)
        if len(self.facial_action_names) != 52:
            raise BodyModelError(
                f"AnnyBody: the model data at {anny_model_data_path(topology, rig)} has "
                f"{len(self.facial_action_names)} facial actions, expected Anny's 52; delete it to rebuild")
        self.phenotype_names: list[str] = list(m.phenotype_labels)
        if tuple(self.phenotype_names) != PHENOTYPE_NAMES:
            raise BodyModelError(f"AnnyBody: unexpected phenotype set {self.phenotype_names}, expected {list(PHENOTYPE_NAMES)}")
        #: (J, 3, 3) float32: each bone's reference orientation (columns = local axes in the model frame).
        self.reference_bone_orientations = m.reference_bone_orientations.detach().cpu().numpy().astype(np.float32)
        self._limits = compute_anny_joint_limits(self.joint_names)
        self._regressor = torch.from_numpy(self._load_regressor())
        self._rest_pose = self._compute_rest_pose()
        if keypoint_set == "wholebody":
            self._init_wholebody()

    # ---- static data ------------------------------------------------------------------------

    def __repr__(self) -> str:
        return f"AnnyBody(topology={self.topology!r}, rig={self.rig!r}, V={self.num_vertices}, J={len(self.joint_names)})"

    def joint_index(self, name: str) -> int:
        try:
            return self.joint_names.index(name)
        except ValueError:
            raise BodyModelError(f"AnnyBody: no joint named {name!r}") from None

    def vertex_part_labels(self) -> np.ndarray:
        """(V,) int32 index into ``part_names``: the part of each vertex's most-weighted bone."""
        m = self._model
        w = m.vertex_bone_weights.detach().cpu().numpy()
        idx = m.vertex_bone_indices.detach().cpu().numpy()
        dominant = idx[np.arange(len(idx)), np.argmax(w, axis=1)]
        return compute_vertex_parts(dominant, self.joint_names, anny_bone_part)

    def joint_limits(self) -> np.ndarray:
        """(J, 3, 2) float32 radians, bounds per local rotation-vector axis (copy)."""
        return self._limits.copy()

    def rest_pose(self) -> np.ndarray:
        """(J, 3) float32: natural standing pose, arms lowered to the sides, elbows slightly bent."""
        return self._rest_pose.copy()

    def mean_shape(self, age_years: float = DEFAULT_ADULT_AGE_YEARS, gender: float = 0.5) -> dict[str, np.ndarray]:
        """Expected phenotype at an age (default a 30-year-old, androgynous)."""
        return mean_phenotype(age_years, gender)

    def sample_shape(self, rng: np.random.Generator, **distribution: Any) -> dict[str, np.ndarray]:
        """Draw a phenotype: see ``synth.bodies.anny_shape.sample_anny_phenotype``.

        Keywords: ``age_range=(min_years, max_years)`` (default (1, 90)),
        ``gender`` (None 50:50, 'male', 'female', 'any', a value or range in [0, 1]),
        ``height_scale`` (spread of heights around the WHO-calibrated mean).
        """
        try:
            return sample_anny_phenotype(rng, **distribution)
        except TypeError as exc:
            raise BodyModelError(f"AnnyBody.sample_shape: {exc}; accepted keywords: age_range, gender, height_scale") from None

    def default_params(self, shape: dict[str, np.ndarray] | None = None, frames: int = 1) -> BodyParams:
        """``frames`` frames of the rest pose, identity root, ``shape`` or the mean adult."""
        if shape is None:
            shape = self.mean_shape()
        pose = np.broadcast_to(self._rest_pose, (frames, *self._rest_pose.shape)).copy()
        T = np.broadcast_to(np.eye(4), (frames, 4, 4)).copy()
        return BodyParams(model=self.name, shape=dict(shape), pose_rotvec=pose, T_world_from_root=T)

    # ---- forward ----------------------------------------------------------------------------

    def _phenotype_tensor(self, shape: dict[str, np.ndarray]) -> torch.Tensor:
        unknown = set(shape) - set(PHENOTYPE_NAMES) - {AGE_YEARS_KEY}
        if unknown:
            raise BodyModelError(
                f"AnnyBody: unknown shape keys {sorted(unknown)}; expected Anny phenotypes {list(PHENOTYPE_NAMES)} (+ '{AGE_YEARS_KEY}')")
        values = []
        for name in PHENOTYPE_NAMES:
            v = np.asarray(shape.get(name, 0.5), dtype=np.float64)
            if v.size != 1 or not np.isfinite(v).all() or not (-TOL.rounding <= float(v.reshape(())) <= 1 + TOL.rounding):
                raise BodyModelError(f"AnnyBody: shape[{name!r}] must be one number in [0, 1], got {v!r}")
            values.append(float(v.reshape(())))
        return torch.tensor([values], dtype=torch.float32)

    def _run(self, pose_rotvec: np.ndarray, shape: dict[str, np.ndarray],
             facial_actions: np.ndarray | None = None) -> dict[str, torch.Tensor]:
        """Anny forward for (B, J, 3) local-bone rotvecs (and optional (B, 52) facial actions);
        native frame (root joint at the origin)."""
        import roma

        rv = torch.from_numpy(np.ascontiguousarray(pose_rotvec, dtype=np.float32))
        B, J = rv.shape[:2]
        delta = torch.zeros((B, J, 4, 4), dtype=torch.float32)
        delta[..., :3, :3] = roma.rotvec_to_rotmat(rv)
        delta[..., 3, 3] = 1.0
        fa = None
        if facial_actions is not None:
            fa = torch.from_numpy(np.ascontiguousarray(facial_actions, dtype=np.float32))
        with torch.inference_mode():
            return self._model(pose_parameters=delta, phenotype_kwargs=self._phenotype_tensor(shape), facial_actions=fa)

    def forward_torch(self, local_rotmats: torch.Tensor, phenotypes: torch.Tensor,
                      facial_actions: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Differentiable Anny forward (for training estimators through the body model).

        local_rotmats : (B, J, 3, 3) float32 local-bone rotations (``pose_rotvec``'s matrices).
        phenotypes : (B, 6) float32 in [0, 1], in Anny's phenotype order (gender, age, muscle, weight,
            height, proportions).  facial_actions : (B, 52) float32 or None.
        Returns (vertices (B, V, 3), body keypoints (B, 23, 3)) float32, metres, Anny's native frame (root
        joint at the origin), with autograd: unlike ``forward`` this runs outside ``torch.inference_mode``.
        """
        B, J = local_rotmats.shape[:2]
        top = torch.cat([local_rotmats, torch.zeros(B, J, 3, 1, dtype=local_rotmats.dtype)], dim=-1)
        bottom = torch.tensor([0.0, 0.0, 0.0, 1.0], dtype=local_rotmats.dtype).expand(B, J, 1, 4)
        out = self._model(pose_parameters=torch.cat([top, bottom], dim=-2), phenotype_kwargs=phenotypes,
                          facial_actions=facial_actions)
        verts = out["vertices"]
        return verts, torch.einsum("kv,bvd->bkd", self._regressor, verts)

    def _facial_actions(self, extra: dict[str, np.ndarray] | None, T: int) -> np.ndarray | None:
        """(T, 52) float32 from ``extra["facial_actions"]`` ((52,) or (T, 52), values in [0, 1]), or None."""
        fa = (extra or {}).get("facial_actions")
        if fa is None:
            return None
        n = len(self.facial_action_names)
        fa = np.asarray(fa, dtype=np.float32)
        if fa.shape == (n,):
            fa = np.broadcast_to(fa, (T, n))
        if fa.shape != (T, n):
            raise BodyModelError(
                f"AnnyBody: extra['facial_actions'] must be ({n},) or ({T}, {n}) (Anny's ARKit facial actions, "
                f"order body.facial_action_names), got shape {fa.shape}")
        if not np.isfinite(fa).all() or fa.min() < -TOL.rounding or fa.max() > 1 + TOL.rounding:
            raise BodyModelError(
                f"AnnyBody: extra['facial_actions'] must be finite values in [0, 1], got range "
                f"[{np.nanmin(fa):.3g}, {np.nanmax(fa):.3g}]; see synth.bodies.expressions for presets")
        return np.ascontiguousarray(np.clip(fa, 0.0, 1.0))

    def _check_params(self, params: BodyParams) -> tuple[np.ndarray, np.ndarray]:
        pose = np.asarray(params.pose_rotvec, dtype=np.float32)
        J = len(self.joint_names)
        if pose.ndim != 3 or pose.shape[1:] != (J, 3):
            raise BodyModelError(f"AnnyBody.forward: pose_rotvec must be (T, {J}, 3) radians, got shape {pose.shape}")
        T = pose.shape[0]
        Tw = np.asarray(params.T_world_from_root, dtype=np.float64)
        if Tw.shape == (4, 4):
            Tw = np.broadcast_to(Tw, (T, 4, 4))
        if Tw.shape != (T, 4, 4):
            raise BodyModelError(f"AnnyBody.forward: T_world_from_root must be (T, 4, 4) = ({T}, 4, 4), got {Tw.shape}")
        if not (np.isfinite(pose).all() and np.isfinite(Tw).all()):
            raise BodyModelError("AnnyBody.forward: pose_rotvec / T_world_from_root contain NaN or inf")
        return pose, Tw

    def forward(self, params: BodyParams) -> PosedBody:
        """Pose the body for all T frames in one batched Anny call.

        Returns vertices (T, V, 3), joints (T, J, 3) (bone heads) and keypoints
        (T, K, 3) (K = 23, or 133 for ``keypoint_set="wholebody"``), float32,
        metres, world frame. ``params.extra["facial_actions"]`` ((52,) or (T, 52)
        in [0, 1]) sets the facial expression.
        """
        if params.model != self.name:
            raise BodyModelError(f"AnnyBody.forward: params are for model {params.model!r}, not 'anny'")
        pose, Tw = self._check_params(params)
        T = pose.shape[0]
        batch = np.concatenate([pose, self._rest_pose[None]], axis=0)  # last frame: rest pose, for the floor
        fa = self._facial_actions(params.extra, T)
        if fa is not None:
            fa = np.concatenate([fa, np.zeros((1, fa.shape[1]), np.float32)], axis=0)
        out = self._run(batch, params.shape, fa)
        verts = out["vertices"]
        joints = out["bone_poses"][..., :3, 3]
        kps = torch.einsum("kv,bvd->bkd", self._regressor, verts)
        if self.keypoint_set == "wholebody":
            kps = torch.cat([kps, self._wholebody_extra(verts, joints)], dim=1)
        ground = -verts[T, :, 2].min()
        lift = torch.tensor([0.0, 0.0, float(ground)], dtype=torch.float32)
        R = torch.from_numpy(Tw[:, :3, :3].astype(np.float32))
        t = torch.from_numpy(Tw[:, :3, 3].astype(np.float32))

        def to_world(x: torch.Tensor) -> np.ndarray:
            x = x[:T] + lift
            return (torch.einsum("tij,tnj->tni", R, x) + t[:, None, :]).numpy()

        return PosedBody(vertices=to_world(verts), joints=to_world(joints), keypoints=to_world(kps))

    def compute_ground_offset(self, shape: dict[str, np.ndarray]) -> float:
        """Height (m) of the root joint above the lowest vertex, body in ``rest_pose()``."""
        out = self._run(self._rest_pose[None], shape)
        return float(-out["vertices"][0, :, 2].min())

    def compute_height(self, shape: dict[str, np.ndarray]) -> float:
        """Standing height (m): vertical extent of the body in ``rest_pose()``."""
        v = self._run(self._rest_pose[None], shape)["vertices"][0, :, 2]
        return float(v.max() - v.min())

    def compute_native_params(self, params: BodyParams) -> dict[str, np.ndarray]:
        """Anny-native parameters to store with labels (phenotypes + 'local-bone' rotations
        + the (T, 52) facial actions when ``params.extra`` has them)."""
        out = {f"phenotype_{k}": np.asarray(params.shape.get(k, 0.5), dtype=np.float32) for k in PHENOTYPE_NAMES}
        out["pose_rotvec_local_bone"] = np.asarray(params.pose_rotvec, dtype=np.float32)
        fa = self._facial_actions(params.extra, np.asarray(params.pose_rotvec).shape[0])
        if fa is not None:
            out["facial_actions"] = fa
        return out

    # ---- whole-body keypoints -----------------------------------------------------------------

    def _init_wholebody(self) -> None:
        """Face regressor (68, V) and hand sources (joint index or fingertip vertex) for the 133-point set."""
        from synth.bodies.wholebody import (
            anny_hand_sources,
            compute_anny_fingertip_vertices,
        )

        W = self._load_face_regressor()
        width = max(1, int((W != 0).sum(axis=1).max()))
        order = np.argsort(-np.abs(W), axis=1, kind="stable")[:, :width]    # sparse: each point's few vertices
        self._face_idx = torch.from_numpy(order.astype(np.int64))
        self._face_w = torch.from_numpy(np.take_along_axis(W, order, axis=1).astype(np.float32))
        zero = np.zeros((1, len(self.joint_names), 3), dtype=np.float32)
        out = self._run(zero, self.mean_shape())
        m = self._model
        w = m.vertex_bone_weights.detach().cpu().numpy()
        idx = m.vertex_bone_indices.detach().cpu().numpy()
        dominant = idx[np.arange(len(idx)), np.argmax(w, axis=1)]
        tips = compute_anny_fingertip_vertices(out["vertices"][0].numpy(), out["bone_poses"][0].numpy(),
                                               dominant, self.joint_names)
        src = anny_hand_sources("left") + anny_hand_sources("right")
        self._hand_joint = torch.tensor([self.joint_index(b) if kind == "joint" else 0 for kind, b in src])
        self._hand_vertex = torch.tensor([tips[b] if kind == "tip" else 0 for kind, b in src])
        self._hand_is_vertex = torch.tensor([kind == "tip" for kind, _ in src])[None, :, None]

    def _wholebody_extra(self, verts: torch.Tensor, joints: torch.Tensor) -> torch.Tensor:
        """(B, 110, 3): 68 face points then 42 hand points, native frame."""
        face = torch.einsum("bkcd,kc->bkd", verts[:, self._face_idx], self._face_w)
        hands = torch.where(self._hand_is_vertex, verts[:, self._hand_vertex], joints[:, self._hand_joint])
        return torch.cat([face, hands], dim=1)

    def _load_face_regressor(self) -> np.ndarray:
        """(68, V) float32: one-hot on the default topology's face vertices, or a fitted transfer (cached)."""
        from synth.bodies.wholebody import (
            ANNY_DEFAULT_TOPOLOGY_VERTICES,
            ANNY_FACE68_VERTICES,
            fit_face_transfer_regressor,
        )

        shape = (NUM_FACE_KEYPOINTS, self.num_vertices)
        if self.topology == "default":
            if self.num_vertices != ANNY_DEFAULT_TOPOLOGY_VERTICES:
                raise BodyModelError(
                    f"AnnyBody: the default topology has {self.num_vertices} vertices, expected "
                    f"{ANNY_DEFAULT_TOPOLOGY_VERTICES} (anny 0.6.2); the face keypoint vertices do not apply")
            W = np.zeros(shape, dtype=np.float32)
            W[np.arange(NUM_FACE_KEYPOINTS), np.asarray(ANNY_FACE68_VERTICES)] = 1.0
            return W
        path = _face_regressor_path(self.topology, self.rig)

        def cached() -> np.ndarray | None:
            if path.exists():
                with np.load(path) as f:
                    if f["weights"].shape == shape:
                        return f["weights"].astype(np.float32)
            return None

        W = cached()
        if W is not None:
            return W
        with file_lock(path.with_name(path.name + ".lock")):
            W = cached()
            if W is not None:
                return W
            W, err = fit_face_transfer_regressor(self, AnnyBody("default", self.rig))
            logger.info("fitted %s face keypoint regressor: RMS error %.1f mm", self.topology, 1000 * err)

            def write(tmp: Path) -> None:
                with open(tmp, "wb") as fh:
                    np.savez(fh, weights=W, rms_error_m=np.float32(err))

            atomic_write(path, write)
            return W

    # ---- derived data -------------------------------------------------------------------------

    def _load_regressor(self) -> np.ndarray:
        """(K, V) float32 keypoint regressor: Anny's COCO+feet weights, or a fitted transfer for reduced topologies."""
        if self.topology == "default":
            return _coco_regressor(self._model)
        path = _keypoint_regressor_path(self.topology, self.rig)
        if path.exists():
            with np.load(path) as f:
                W = f["weights"]
            if W.shape == (len(KEYPOINT_NAMES), self.num_vertices):
                return W.astype(np.float32)
        with file_lock(path.with_name(path.name + ".lock")):
            if path.exists():
                with np.load(path) as f:
                    W = f["weights"]
                if W.shape == (len(KEYPOINT_NAMES), self.num_vertices):
                    return W.astype(np.float32)
            W, err = self._fit_transfer_regressor()
            logger.info("fitted %s keypoint regressor: RMS error %.1f mm", self.topology, 1000 * err)

            def write(tmp: Path) -> None:
                with open(tmp, "wb") as fh:
                    np.savez(fh, weights=W, rms_error_m=np.float32(err))

            atomic_write(path, write)
            return W

    def _fit_transfer_regressor(self, samples: int = 96, candidates: int = 16, seed: int = 0) -> tuple[np.ndarray, float]:
        """Fit (K, V) weights on this topology reproducing the default topology's COCO keypoints.

        Anny's COCO weights exist only for its base mesh. Both topologies share the
        rig, so the same phenotypes and poses give the same body: draw ``samples``
        bodies (uniform phenotypes, poses within half the joint limits), and per
        keypoint solve an affine (weights sum to 1) least-squares combination of its
        ``candidates`` nearest vertices, with a small ridge for stability.
        """
        big = AnnyBody("default", self.rig)
        rng = np.random.default_rng(seed)
        lim = self._limits
        lo, hi = lim[..., 0] * 0.5, lim[..., 1] * 0.5
        pose = rng.uniform(lo, hi, size=(samples, *lo.shape)).astype(np.float32)
        pose[:, 0] = 0.0
        Vs, Ks = [], []
        for s in range(samples):
            shape = {k: np.float32(rng.uniform()) for k in PHENOTYPE_NAMES}
            Vs.append(self._run(pose[s:s + 1], shape)["vertices"][0].numpy())
            vb = big._run(pose[s:s + 1], shape)["vertices"]
            Ks.append(torch.einsum("kv,bvd->bkd", big._regressor, vb)[0].numpy())
        V = np.stack(Vs).astype(np.float64)   # (S, V, 3)
        Kp = np.stack(Ks).astype(np.float64)  # (S, K, 3)
        W = np.zeros((len(KEYPOINT_NAMES), self.num_vertices), dtype=np.float64)
        sq = []
        for k in range(len(KEYPOINT_NAMES)):
            d = np.linalg.norm(V - Kp[:, k:k + 1], axis=2).mean(0)
            c = np.argsort(d)[:candidates]
            A = V[:, c, :].transpose(0, 2, 1).reshape(-1, len(c))  # (S*3, C)
            b = Kp[:, k, :].reshape(-1)
            lam = 1e-4 * np.trace(A.T @ A) / len(c)
            # KKT system for min |Aw - b|^2 + lam |w|^2  s.t.  sum(w) = 1
            n = len(c)
            M = np.zeros((n + 1, n + 1))
            M[:n, :n] = A.T @ A + lam * np.eye(n)
            M[:n, n] = 1.0
            M[n, :n] = 1.0
            rhs = np.concatenate([A.T @ b, [1.0]])
            w = np.linalg.solve(M, rhs)[:n]
            W[k, c] = w
            sq.append(np.mean((A @ w - b) ** 2) * 3)
        return W.astype(np.float32), float(np.sqrt(np.mean(sq)))

    def _compute_rest_pose(self) -> np.ndarray:
        """Reference A-pose -> arms ~8 degrees from the body, elbows ~15 degrees flexed (mean adult shape)."""
        import roma

        J = len(self.joint_names)
        pose = np.zeros((J, 3), dtype=np.float32)
        shape = self.mean_shape()
        heads = self._run(pose[None], shape)["bone_poses"][0, :, :3, 3].numpy().astype(np.float64)
        U = self.reference_bone_orientations.astype(np.float64)
        for side, sign in (("L", 1.0), ("R", -1.0)):
            s_i = self.joint_index(f"upperarm01.{side}")
            e_i = self.joint_index(f"lowerarm01.{side}")
            w_i = self.joint_index(f"wrist.{side}")
            arm = heads[e_i] - heads[s_i]
            # angle of the upper arm from straight down, in the frontal (XZ) plane
            current = np.arctan2(sign * arm[0], -arm[2])
            target = np.deg2rad(8.0)
            # world rotation about +Y lowering the arm: a positive angle about +Y moves -Z towards +X
            ang = sign * (current - target)
            R_world = roma.rotvec_to_rotmat(torch.tensor([0.0, ang, 0.0], dtype=torch.float64)).numpy()
            D = U[s_i].T @ R_world @ U[s_i]  # same rotation in the bone's local axes
            pose[s_i] = roma.rotmat_to_rotvec(torch.from_numpy(D)).numpy()
            # elbow: reduce the reference flexion to ~15 degrees about the local X (hinge) axis
            fore = heads[w_i] - heads[e_i]
            flex = np.arccos(np.clip(arm @ fore / (np.linalg.norm(arm) * np.linalg.norm(fore)), -1, 1))
            pose[e_i] = [-(flex - np.deg2rad(15.0)), 0.0, 0.0]
        return pose
