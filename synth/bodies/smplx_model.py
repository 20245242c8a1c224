"""SMPL-X (user-supplied model files, non-commercial licence) behind ``BodyModel``.

Files. Register at https://smpl-x.is.tue.mpg.de (licence: non-commercial
scientific research only), download the SMPL-X model (npz) and put
``SMPLX_NEUTRAL.npz`` (and/or ``SMPLX_MALE.npz``, ``SMPLX_FEMALE.npz``) in
``$SYNTH_SMPLX_DIR`` or ``~/.cache/synth/smplx/`` (``$SYNTH_CACHE_DIR/smplx``),
directly or in a ``smplx/`` subfolder. The model is loaded through
``smplx.create`` (smplx 0.1.28) with ``use_pca=False, flat_hand_mean=True``.

Frames. SMPL-X is Y-up, facing +Z, the person's left at +X. It is converted
once to synth's Z-up model frame (facing -Y, left at +X) by
``T_ZUP_FROM_SMPLX`` (a +90 degree rotation about X: x -> x, y -> z, z -> -y),
then shifted so the pelvis joint sits above the origin at the height where the
feet of the body in ``rest_pose()`` touch z = 0 (see ``synth.bodies.base``).

Pose. ``pose_rotvec`` (T, 55, 3) holds the SMPL-X joints in the model's own
order (``joint_names``): [0] global_orient (rotation about the pelvis),
[1:22] body_pose, [22] jaw, [23] left eye, [24] right eye, [25:40] left hand,
[40:55] right hand; zero = T-pose with flat hands. Shape: ``{"betas":
(num_betas,)}``; per-frame ``expression`` may come in ``params.extra``.

Keypoints (``synth.bodies.keypoints.KEYPOINT_NAMES``): shoulders, elbows,
wrists, hips, knees and ankles are SMPL-X skeleton joints (left_shoulder=16,
right_shoulder=17, left_elbow=18, right_elbow=19, left_wrist=20,
right_wrist=21, left_hip=1, right_hip=2, left_knee=4, right_knee=5,
left_ankle=7, right_ankle=8); nose, eyes, ears, toes and heels are the mesh
vertices smplx itself uses for them (``smplx.vertex_ids.vertex_ids['smplx']``:
nose 9120, leye 9448, reye 9929, lear 6, rear 616, LBigToe 5770, LSmallToe 5780,
LHeel 8846, RBigToe 8463, RSmallToe 8474, RHeel 8635). SMPL-X hip joints sit
lower and wider than COCO's annotated hips; no correction is applied. With
``keypoint_set="wholebody"`` 110 more follow (COCO-WholeBody's 133): the 68
face landmarks of the model file (51 static + the frontal row of its contour
table) and 2 x 21 hand points (finger joints + smplx's fingertip vertices);
see ``synth.bodies.wholebody``.

Safety. Model files are read without pickle: an ``.npz`` must be a zip
archive of plain arrays (``np.load(allow_pickle=False)`` reads every member
before ``smplx.create`` sees the file), so a crafted file (a pickle renamed
``.npz``, or an object array) is refused with an AssetError and its payload
never runs. The older ``.pkl`` release *is* a pickle: loading it runs code the
file contains, so it is read only when the user opts in with
``SmplxBody(..., allow_pickle_code_execution=True)`` or the environment
variable ``SYNTH_SMPLX_ALLOW_PICKLE_CODE_EXECUTION=1``.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from synth.bodies.base import BodyParams, PosedBody
from synth.bodies.cache import synth_cache_dir
from synth.bodies.keypoints import DEFAULT_KEYPOINT_SET, KEYPOINT_NAMES, keypoint_set_names
from synth.bodies.parts import PART_NAMES, compute_vertex_parts, smplx_joint_part
from synth.core.errors import AssetError, BodyModelError

#: (4, 4) rigid transform from SMPL-X's native Y-up frame (facing +Z) to synth's Z-up frame (facing -Y).
T_ZUP_FROM_SMPLX = np.array(
    [[1.0, 0.0, 0.0, 0.0],
     [0.0, 0.0, -1.0, 0.0],
     [0.0, 1.0, 0.0, 0.0],
     [0.0, 0.0, 0.0, 1.0]])

SMPLX_REGISTER_URL = "https://smpl-x.is.tue.mpg.de"
SMPLX_NUM_JOINTS = 55
_GENDERS = ("neutral", "male", "female")

# keypoint -> ("joint", index) or ("vertex", smplx vertex_ids key)
_KEYPOINT_SOURCES: dict[str, tuple[str, Any]] = {
    "nose": ("vertex", "nose"), "left_eye": ("vertex", "leye"), "right_eye": ("vertex", "reye"),
    "left_ear": ("vertex", "lear"), "right_ear": ("vertex", "rear"),
    "left_shoulder": ("joint", 16), "right_shoulder": ("joint", 17),
    "left_elbow": ("joint", 18), "right_elbow": ("joint", 19),
    "left_wrist": ("joint", 20), "right_wrist": ("joint", 21),
    "left_hip": ("joint", 1), "right_hip": ("joint", 2),
    "left_knee": ("joint", 4), "right_knee": ("joint", 5),
    "left_ankle": ("joint", 7), "right_ankle": ("joint", 8),
    "left_big_toe": ("vertex", "LBigToe"), "left_small_toe": ("vertex", "LSmallToe"), "left_heel": ("vertex", "LHeel"),
    "right_big_toe": ("vertex", "RBigToe"), "right_small_toe": ("vertex", "RSmallToe"), "right_heel": ("vertex", "RHeel"),
}


def smplx_search_dirs(model_dir: str | os.PathLike | None = None) -> list[Path]:
    """Folders searched for SMPL-X files: ``model_dir`` if given, else ``$SYNTH_SMPLX_DIR`` and ``$SYNTH_CACHE_DIR/smplx``."""
    if model_dir is not None:
        return [Path(model_dir).expanduser()]
    dirs = []
    env = os.environ.get("SYNTH_SMPLX_DIR")
    if env:
        dirs.append(Path(env).expanduser())
    dirs.append(synth_cache_dir() / "smplx")
    return dirs


PICKLE_OPT_IN_ENV = "SYNTH_SMPLX_ALLOW_PICKLE_CODE_EXECUTION"


def pickle_allowed(allow_pickle_code_execution: bool | None = None) -> bool:
    """The opt-in for ``.pkl`` model files: the argument, else ``$SYNTH_SMPLX_ALLOW_PICKLE_CODE_EXECUTION=1``."""
    if allow_pickle_code_execution is not None:
        return bool(allow_pickle_code_execution)
    return os.environ.get(PICKLE_OPT_IN_ENV, "") == "1"


def _refuse_pickle(path: Path) -> AssetError:
    return AssetError(
        f"SMPL-X model file {path} is a pickle (.pkl): loading it runs any code the file contains. Use the .npz "
        f"release from {SMPLX_REGISTER_URL} instead, or, for a file you trust, opt in with "
        f"{PICKLE_OPT_IN_ENV}=1 (or SmplxBody(..., allow_pickle_code_execution=True))")


def read_model_arrays(path: str | os.PathLike, allow_pickle_code_execution: bool | None = None) -> dict[str, Any]:
    """Every array of an SMPL-X model file, read without running code from it.

    ``.npz``: must be a zip archive whose members are plain arrays (no object arrays, which numpy
    stores as pickles); anything else is an AssetError. ``.pkl``: only with the opt-in (see
    ``pickle_allowed``), since unpickling runs the file's code."""
    p = Path(path)
    if p.suffix.lower() == ".pkl":
        if not pickle_allowed(allow_pickle_code_execution):
            raise _refuse_pickle(p)
        import pickle

        with open(p, "rb") as f:
            data = pickle.load(f, encoding="latin1")  # noqa: S301 - the user opted in for this file
        if not isinstance(data, dict):
            raise AssetError(f"SMPL-X model file {p}: expected a dict of arrays, got {type(data).__name__}")
        return data
    if not zipfile.is_zipfile(p):
        raise AssetError(f"SMPL-X model file {p} is not an .npz (zip) archive (a pickle renamed .npz?); refusing to "
                         f"load it. Download the .npz model from {SMPLX_REGISTER_URL}")
    out: dict[str, Any] = {}
    try:
        with np.load(p, allow_pickle=False) as data:
            for key in data.files:
                out[key] = data[key]
    except ValueError as err:
        raise AssetError(f"SMPL-X model file {p}: member {key!r} is not a plain array ({err}); the SMPL-X .npz "
                         "release holds only plain arrays, so this file is refused (it could run code)") from None
    except (OSError, zipfile.BadZipFile, EOFError) as err:
        raise AssetError(f"SMPL-X model file {p} cannot be read ({err}); download it again") from None
    return out


def find_smplx_file(model_dir: str | os.PathLike | None = None, gender: str = "neutral",
                    allow_pickle_code_execution: bool | None = None) -> Path:
    """Path of ``SMPLX_<GENDER>.npz`` (or ``.pkl`` with the opt-in), or AssetError saying where to put it and
    where to get it."""
    if gender not in _GENDERS:
        raise BodyModelError(f"SmplxBody: gender must be one of {_GENDERS}, got {gender!r}")
    if model_dir is not None and Path(model_dir).is_file():
        if Path(model_dir).suffix.lower() == ".pkl" and not pickle_allowed(allow_pickle_code_execution):
            raise _refuse_pickle(Path(model_dir))
        return Path(model_dir)
    fname = f"SMPLX_{gender.upper()}.npz"
    tried = []
    pkl_seen = None
    for d in smplx_search_dirs(model_dir):
        for cand in (d / fname, d / "smplx" / fname):
            tried.append(str(cand))
            if cand.is_file():
                return cand
            if cand.with_suffix(".pkl").is_file():
                pkl_seen = cand.with_suffix(".pkl")
    if pkl_seen is not None:
        if pickle_allowed(allow_pickle_code_execution):
            return pkl_seen
        raise _refuse_pickle(pkl_seen)
    raise AssetError(
        f"SMPL-X model file {fname} not found (looked at: {', '.join(tried)}). SMPL-X is not bundled: "
        f"register at {SMPLX_REGISTER_URL} (licence: non-commercial research only), download the SMPL-X "
        f"npz model files and put {fname} in $SYNTH_SMPLX_DIR or ~/.cache/synth/smplx/ "
        "(or pass model_dir=...). Anny (body model 'anny') needs no download.")


def _smplx_parent_limits() -> dict[int, tuple[tuple[float, float], ...]]:
    """Joint limits in SMPL-X's axes (native frame, T-pose; X left, Y up, Z forward)."""
    L: dict[int, tuple[tuple[float, float], ...]] = {}
    small = ((-0.05, 0.05),) * 3
    L[0] = ((0.0, 0.0),) * 3                                   # global orientation: not anatomical
    L[1] = ((-2.0, 0.5), (-0.6, 0.6), (-0.35, 0.7))            # left hip: -X flexion, +Z abduction
    L[2] = ((-2.0, 0.5), (-0.6, 0.6), (-0.7, 0.35))            # right hip: -Z abduction
    for j in (3, 6, 9):                                        # spine1..3: +X flexion
        L[j] = ((-0.2, 0.5), (-0.2, 0.2), (-0.15, 0.15))
    L[4] = L[5] = ((0.0, 2.3), (-0.15, 0.15), (-0.05, 0.05))   # knees: +X flexion
    L[7] = L[8] = ((-0.35, 0.8), (-0.35, 0.35), (-0.35, 0.35))  # ankles: +X plantar flexion
    L[10] = L[11] = ((-0.3, 0.5), (-0.1, 0.1), (-0.1, 0.1))    # toes
    L[12] = ((-0.4, 0.5), (-0.6, 0.6), (-0.3, 0.3))            # neck
    L[13] = ((-0.1, 0.1), (-0.3, 0.3), (-0.35, 0.3))           # left collar: +Z elevation
    L[14] = ((-0.1, 0.1), (-0.3, 0.3), (-0.3, 0.35))           # right collar: -Z elevation
    L[15] = ((-0.4, 0.4), (-0.5, 0.5), (-0.25, 0.25))          # head
    L[16] = ((-1.0, 1.0), (-1.6, 0.6), (-1.6, 1.0))            # left shoulder: -Y forward, +Z raise
    L[17] = ((-1.0, 1.0), (-0.6, 1.6), (-1.0, 1.6))            # right shoulder: +Y forward, -Z raise
    L[18] = ((-0.8, 0.8), (-2.4, 0.0), (-0.05, 0.05))          # left elbow: -Y flexion, X twist
    L[19] = ((-0.8, 0.8), (0.0, 2.4), (-0.05, 0.05))           # right elbow: +Y flexion
    L[20] = L[21] = ((-0.4, 0.4), (-0.4, 0.4), (-0.8, 0.8))    # wrists
    L[22] = ((0.0, 0.4), (-0.05, 0.05), (-0.05, 0.05))         # jaw: +X opens
    L[23] = L[24] = ((-0.35, 0.35), (-0.35, 0.35), (0.0, 0.0))  # eyes
    # fingers: 25..39 left, 40..54 right; per hand index, middle, pinky, ring, thumb (3 joints each)
    for base, sign in ((25, 1.0), (40, -1.0)):
        for f in range(5):
            for k in range(3):
                j = base + 3 * f + k
                if f == 4:  # thumb
                    L[j] = ((-0.5, 0.5), (-0.5, 0.5), (-0.5, 0.5)) if k == 0 else ((-0.3, 0.3), (-0.8, 0.8), (-0.3, 0.3))
                else:       # flexion about Z: negative on the left hand, positive on the right
                    flex = (-1.4, 0.15) if sign > 0 else (-0.15, 1.4)
                    spread = (-0.2, 0.2) if k == 0 else (-0.05, 0.05)
                    L[j] = ((-0.05, 0.05), spread, flex)
    for j in range(SMPLX_NUM_JOINTS):
        L.setdefault(j, small)
    return L


class SmplxBody:
    """SMPL-X behind ``synth.bodies.base.BodyModel`` (see the module docstring).

    model_dir : folder with ``SMPLX_<GENDER>.npz`` (or ``smplx/SMPLX_<GENDER>.npz``), or
        the file itself; default ``$SYNTH_SMPLX_DIR``, then ``~/.cache/synth/smplx``.
    gender : 'neutral', 'male' or 'female' (which file to load).
    num_betas, num_expression : shape and expression coefficients used.
    keypoint_set : ``"body"`` (23 points, default) or ``"wholebody"`` (133 points).
    """

    name = "smplx"
    #: smplx's forward gives different bits for batches of 1-2 and >= 3 frames (up to ~1e-7 m): a frame's
    #: output depends on its batch, so no forward is shared (tests/test_smplx_batch_independence.py)
    forward_frames_independent = False

    def __init__(self, model_dir: str | os.PathLike | None = None, gender: str = "neutral",
                 num_betas: int = 10, num_expression: int = 10, keypoint_set: str = DEFAULT_KEYPOINT_SET,
                 allow_pickle_code_execution: bool | None = None) -> None:
        import smplx
        from smplx.joint_names import JOINT_NAMES
        from smplx.vertex_ids import vertex_ids

        kp_names = keypoint_set_names(keypoint_set)
        self.keypoint_set = keypoint_set
        self.model_path = find_smplx_file(model_dir, gender, allow_pickle_code_execution)
        self.gender = gender
        # read (and so check) every array without pickle before smplx opens the file: smplx itself calls
        # np.load(allow_pickle=True), harmless on a zip of plain arrays only
        self._arrays = read_model_arrays(self.model_path, allow_pickle_code_execution)
        ext = "pkl" if self.model_path.suffix.lower() == ".pkl" else "npz"
        try:
            self._model = smplx.create(
                str(self.model_path), model_type="smplx", gender=gender, num_betas=num_betas,
                num_expression_coeffs=num_expression, use_pca=False, flat_hand_mean=True,
                use_face_contour=False, ext=ext, batch_size=1)
        except Exception as exc:
            raise AssetError(
                f"SmplxBody: cannot load {self.model_path} with smplx.create: {exc!r}. Expected the SMPL-X "
                f"npz from {SMPLX_REGISTER_URL} (keys v_template, f, J_regressor, weights, kintree_table, "
                "shapedirs, posedirs, hands_components{l,r}, hands_mean{l,r}, lmk_*).") from exc
        self._model.eval()
        m = self._model
        self.num_betas = int(m.num_betas)
        self.num_expression = int(m.num_expression_coeffs)
        self.joint_names: list[str] = list(JOINT_NAMES[:SMPLX_NUM_JOINTS])
        parents = m.parents.detach().cpu().numpy().astype(np.int64)
        if len(parents) != SMPLX_NUM_JOINTS:
            raise AssetError(f"SmplxBody: {self.model_path} has {len(parents)} joints, expected {SMPLX_NUM_JOINTS} (SMPL-X)")
        parents[0] = -1
        self.joint_parents = parents
        self.faces = np.asarray(m.faces, dtype=np.int32)
        self.num_vertices = int(m.v_template.shape[0])
        if self.num_vertices <= max(vertex_ids["smplx"].values()):
            raise AssetError(f"SmplxBody: {self.model_path} has {self.num_vertices} vertices; SMPL-X has 10475")
        self.keypoint_names: list[str] = kp_names
        self.part_names: list[str] = list(PART_NAMES)
        self._kp_joint = np.array([src[1] if src[0] == "joint" else -1 for src in _KEYPOINT_SOURCES.values()])
        self._kp_vertex = np.array([vertex_ids["smplx"][src[1]] if src[0] == "vertex" else -1
                                    for src in _KEYPOINT_SOURCES.values()])
        assert list(_KEYPOINT_SOURCES) == KEYPOINT_NAMES
        if keypoint_set == "wholebody":
            self._init_wholebody()
        self._R = torch.tensor(T_ZUP_FROM_SMPLX[:3, :3], dtype=torch.float32)
        L = _smplx_parent_limits()
        self._limits = np.array([L[j] for j in range(SMPLX_NUM_JOINTS)], dtype=np.float32)
        self._rest_pose = self._compute_rest_pose()
        # the rest pose (e.g. the file's mean hand pose) always lies within the limits
        self._limits[..., 0] = np.minimum(self._limits[..., 0], self._rest_pose)
        self._limits[..., 1] = np.maximum(self._limits[..., 1], self._rest_pose)
        del self._arrays   # smplx keeps its own copies

    def __repr__(self) -> str:
        return f"SmplxBody({str(self.model_path)!r}, gender={self.gender!r}, V={self.num_vertices})"

    def _init_wholebody(self) -> None:
        """Face landmark triangles/barycentrics (68) and hand sources (42) for the 133-point set."""
        from synth.bodies.wholebody import load_smplx_face68, smplx_hand_sources

        faces, bary = load_smplx_face68(self.model_path, len(self.faces), data=self._arrays)
        self._face_vertex_idx = torch.from_numpy(self.faces[faces].astype(np.int64))   # (68, 3)
        self._face_bary = torch.from_numpy(bary.astype(np.float32))                    # (68, 3)
        src = smplx_hand_sources("left", self.joint_names) + smplx_hand_sources("right", self.joint_names)
        if max(i for kind, i in src if kind == "vertex") >= self.num_vertices:
            raise AssetError(f"SmplxBody: {self.model_path} has {self.num_vertices} vertices; SMPL-X has 10475")
        self._hand_joint = torch.tensor([i if kind == "joint" else 0 for kind, i in src])
        self._hand_vertex = torch.tensor([i if kind == "vertex" else 0 for kind, i in src])
        self._hand_is_vertex = torch.tensor([kind == "vertex" for kind, _ in src])[None, :, None]

    def _wholebody_extra(self, verts: torch.Tensor, joints: torch.Tensor) -> torch.Tensor:
        """(B, 110, 3): 68 face landmarks then 42 hand points (native frame)."""
        face = torch.einsum("bkcd,kc->bkd", verts[:, self._face_vertex_idx], self._face_bary)
        hands = torch.where(self._hand_is_vertex, verts[:, self._hand_vertex], joints[:, self._hand_joint])
        return torch.cat([face, hands], dim=1)

    # ---- static data ------------------------------------------------------------------------

    def vertex_part_labels(self) -> np.ndarray:
        """(V,) int32 index into ``part_names``: the part of each vertex's most-weighted joint."""
        w = self._model.lbs_weights.detach().cpu().numpy()
        return compute_vertex_parts(np.argmax(w, axis=1), self.joint_names, smplx_joint_part)

    def joint_limits(self) -> np.ndarray:
        """(J, 3, 2) float32 radians per native axis (X left, Y up, Z forward at T-pose)."""
        return self._limits.copy()

    def rest_pose(self) -> np.ndarray:
        """(55, 3) float32: arms lowered ~80 degrees from the T-pose, elbows ~15 degrees, relaxed hands."""
        return self._rest_pose.copy()

    def _compute_rest_pose(self) -> np.ndarray:
        pose = np.zeros((SMPLX_NUM_JOINTS, 3), dtype=np.float32)
        pose[13] = [0.0, 0.0, -0.15]   # left collar down
        pose[14] = [0.0, 0.0, 0.15]
        pose[16] = [0.0, 0.0, -1.25]   # left shoulder: arm down along the body
        pose[17] = [0.0, 0.0, 1.25]
        pose[18] = [0.0, -0.26, 0.0]   # left elbow ~15 degrees flexed
        pose[19] = [0.0, 0.26, 0.0]
        # relaxed hands: the file's mean hand pose (zero is a flat hand with flat_hand_mean=True)
        data = self._arrays
        pose[25:40] = np.asarray(data["hands_meanl"], dtype=np.float32).reshape(15, 3)
        pose[40:55] = np.asarray(data["hands_meanr"], dtype=np.float32).reshape(15, 3)
        return pose

    def mean_shape(self) -> dict[str, np.ndarray]:
        return {"betas": np.zeros(self.num_betas, dtype=np.float32)}

    def sample_shape(self, rng: np.random.Generator, *, betas_std: float = 1.0, betas_clip: float = 2.5,
                     age_range: tuple[float, float] | None = None, gender: Any = None) -> dict[str, np.ndarray]:
        """Betas ~ N(0, betas_std^2) clipped to +-betas_clip (SMPL-X's shape space is a unit-variance PCA).

        SMPL-X has adult shapes only: an ``age_range`` reaching below 16 years is an
        error (use Anny for children). ``gender`` must match the loaded file
        (None = whatever the file is).
        """
        if age_range is not None and float(age_range[0]) < 16.0:
            raise BodyModelError(
                f"SmplxBody.sample_shape: age_range {tuple(age_range)} includes children, but SMPL-X has adult "
                "shapes only; use body model 'anny' for children or an age_range starting at 16+")
        if gender is not None and gender != self.gender:
            raise BodyModelError(
                f"SmplxBody.sample_shape: gender {gender!r} requested but this model was loaded from "
                f"{self.model_path.name} ({self.gender!r}); create SmplxBody(gender={gender!r}) instead")
        if not (betas_std >= 0 and betas_clip > 0):
            raise BodyModelError(f"SmplxBody.sample_shape: need betas_std >= 0 and betas_clip > 0, got {betas_std}, {betas_clip}")
        b = rng.normal(0.0, betas_std, size=self.num_betas)
        return {"betas": np.clip(b, -betas_clip, betas_clip).astype(np.float32)}

    def default_params(self, shape: dict[str, np.ndarray] | None = None, frames: int = 1) -> BodyParams:
        shape = self.mean_shape() if shape is None else shape
        pose = np.broadcast_to(self._rest_pose, (frames, *self._rest_pose.shape)).copy()
        T = np.broadcast_to(np.eye(4), (frames, 4, 4)).copy()
        return BodyParams(model=self.name, shape=dict(shape), pose_rotvec=pose, T_world_from_root=T)

    # ---- forward ----------------------------------------------------------------------------

    def _betas(self, shape: dict[str, np.ndarray]) -> np.ndarray:
        unknown = set(shape) - {"betas"}
        if unknown:
            raise BodyModelError(f"SmplxBody: unknown shape keys {sorted(unknown)}; expected {{'betas': ({self.num_betas},)}}")
        b = np.asarray(shape.get("betas", np.zeros(self.num_betas)), dtype=np.float32).reshape(-1)
        if b.shape != (self.num_betas,) or not np.isfinite(b).all():
            raise BodyModelError(f"SmplxBody: shape['betas'] must be ({self.num_betas},) finite, got {b.shape}")
        return b

    def _expression(self, extra: dict[str, np.ndarray], T: int) -> np.ndarray:
        e = extra.get("expression") if extra else None
        if e is None:
            return np.zeros((T, self.num_expression), dtype=np.float32)
        e = np.asarray(e, dtype=np.float32)
        if e.shape == (self.num_expression,):
            e = np.broadcast_to(e, (T, self.num_expression))
        if e.shape != (T, self.num_expression):
            raise BodyModelError(f"SmplxBody: extra['expression'] must be ({self.num_expression},) or ({T}, {self.num_expression}), got {e.shape}")
        return e

    def _run(self, pose: np.ndarray, betas: np.ndarray, expression: np.ndarray):
        """Native SMPL-X forward, transl = 0: vertices (B, V, 3), joints (B, J', 3), native frame."""
        B = pose.shape[0]
        p = torch.from_numpy(np.ascontiguousarray(pose, dtype=np.float32))
        with torch.inference_mode():
            out = self._model(
                betas=torch.from_numpy(betas)[None].expand(B, -1).contiguous(),
                expression=torch.from_numpy(np.ascontiguousarray(expression)),
                global_orient=p[:, 0], body_pose=p[:, 1:22].reshape(B, 63),
                jaw_pose=p[:, 22], leye_pose=p[:, 23], reye_pose=p[:, 24],
                left_hand_pose=p[:, 25:40].reshape(B, 45), right_hand_pose=p[:, 40:55].reshape(B, 45),
                transl=torch.zeros(B, 3), return_verts=True)
        return out.vertices, out.joints

    def _check_params(self, params: BodyParams) -> tuple[np.ndarray, np.ndarray]:
        if params.model != self.name:
            raise BodyModelError(f"SmplxBody.forward: params are for model {params.model!r}, not 'smplx'")
        pose = np.asarray(params.pose_rotvec, dtype=np.float32)
        if pose.ndim != 3 or pose.shape[1:] != (SMPLX_NUM_JOINTS, 3):
            raise BodyModelError(f"SmplxBody.forward: pose_rotvec must be (T, 55, 3) radians, got {pose.shape}")
        T = pose.shape[0]
        Tw = np.asarray(params.T_world_from_root, dtype=np.float64)
        if Tw.shape == (4, 4):
            Tw = np.broadcast_to(Tw, (T, 4, 4))
        if Tw.shape != (T, 4, 4):
            raise BodyModelError(f"SmplxBody.forward: T_world_from_root must be ({T}, 4, 4), got {Tw.shape}")
        if not (np.isfinite(pose).all() and np.isfinite(Tw).all()):
            raise BodyModelError("SmplxBody.forward: pose_rotvec / T_world_from_root contain NaN or inf")
        return pose, Tw

    def _model_frame(self, params: BodyParams):
        """Vertices, joints (55), keypoints in the model frame (torch, T frames), the native root joint
        per frame (T, 3) (it moves with the expression blend shapes) and the ground offset."""
        pose, Tw = self._check_params(params)
        T = pose.shape[0]
        betas = self._betas(params.shape)
        expr = self._expression(params.extra, T)
        batch = np.concatenate([pose, self._rest_pose[None]], axis=0)
        expr = np.concatenate([expr, np.zeros((1, self.num_expression), np.float32)], axis=0)
        verts, joints = self._run(batch, betas, expr)
        j0 = joints[:, 0:1, :]  # root joint (pelvis), unaffected by the root rotation
        kp_j = joints[:, np.where(self._kp_joint >= 0, self._kp_joint, 0)]
        kp_v = verts[:, np.where(self._kp_vertex >= 0, self._kp_vertex, 0)]
        use_v = torch.from_numpy(self._kp_vertex >= 0)[None, :, None]
        kps = torch.where(use_v, kp_v, kp_j)
        if self.keypoint_set == "wholebody":
            kps = torch.cat([kps, self._wholebody_extra(verts, joints)], dim=1)

        def zup(x: torch.Tensor) -> torch.Tensor:
            return (x - j0) @ self._R.T

        v, j, k = zup(verts), zup(joints[:, :SMPLX_NUM_JOINTS]), zup(kps)
        ground = float(-v[T, :, 2].min())
        lift = torch.tensor([0.0, 0.0, ground])
        return v[:T] + lift, j[:T] + lift, k[:T] + lift, j0[:T, 0].numpy().astype(np.float64), ground, Tw

    def forward(self, params: BodyParams) -> PosedBody:
        """Pose all T frames in one batched SMPL-X call.

        Returns float32 world-frame vertices, 55 joints and 23 (``keypoint_set="wholebody"``: 133) keypoints.
        """
        v, j, k, _, _, Tw = self._model_frame(params)
        R = torch.from_numpy(Tw[:, :3, :3].astype(np.float32))
        t = torch.from_numpy(Tw[:, :3, 3].astype(np.float32))

        def to_world(x: torch.Tensor) -> np.ndarray:
            return (torch.einsum("tij,tnj->tni", R, x) + t[:, None, :]).numpy()

        return PosedBody(vertices=to_world(v), joints=to_world(j), keypoints=to_world(k))

    def compute_ground_offset(self, shape: dict[str, np.ndarray]) -> float:
        """Height (m) of the pelvis joint above the lowest vertex, body in ``rest_pose()``."""
        return self._model_frame(self.default_params(shape))[4]

    def compute_native_params(self, params: BodyParams) -> dict[str, np.ndarray]:
        """SMPL-X parameters reproducing ``forward(params)`` with plain smplx.

        ``smplx.create(path, model_type='smplx', use_pca=False, flat_hand_mean=True)``
        called with these (batch T) gives vertices ``X``; then
        ``X @ T_ZUP_FROM_SMPLX[:3, :3].T`` equals ``forward(params).vertices``.
        ``global_orient`` and ``transl`` absorb ``T_world_from_root`` and the floor shift.
        """
        from synth.core.transforms import matrix_to_rotvec, rotvec_to_matrix

        pose, Tw = self._check_params(params)
        T = pose.shape[0]
        _, _, _, j0, ground, _ = self._model_frame(params)
        Rz = T_ZUP_FROM_SMPLX[:3, :3]
        Rw, tw = Tw[:, :3, :3], Tw[:, :3, 3]
        R_go = Rz.T @ Rw @ Rz @ rotvec_to_matrix(pose[:, 0].astype(np.float64))
        transl = (np.einsum("ij,tj->ti", Rz.T, np.einsum("tij,j->ti", Rw, [0.0, 0.0, ground]) + tw) - j0)
        return {
            "betas": self._betas(params.shape),
            "expression": self._expression(params.extra, T).astype(np.float32),
            "global_orient": matrix_to_rotvec(R_go).astype(np.float32),
            "body_pose": pose[:, 1:22].reshape(T, 63),
            "jaw_pose": pose[:, 22], "leye_pose": pose[:, 23], "reye_pose": pose[:, 24],
            "left_hand_pose": pose[:, 25:40].reshape(T, 45), "right_hand_pose": pose[:, 40:55].reshape(T, 45),
            "transl": transl.astype(np.float32),
        }
