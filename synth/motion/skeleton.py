"""A body model's skeleton, measured once, with the numpy kinematics motion needs.

Pose convention (``BodyParams.pose_rotvec``, checked against the model's own
``forward`` when a :class:`BodySkeleton` is built):

* ``pose_rotvec[t, j]`` is joint ``j``'s *absolute* local rotation, axis-angle,
  radians, relative to its parent, as the body model's pose input (not an offset
  from ``rest_pose()``). All zeros is the model's zero pose (for Anny the
  MakeHuman A-pose, for SMPL-X the T-pose). A model may express joint ``j``'s
  rotation ``D_j`` in its own axes ``F_j`` (columns: the axes in the zero-pose
  model frame; Anny's "local-bone" axes, ``reference_bone_orientations``; SMPL-X:
  identity). Motion works with the world-aligned local rotation
  ``L_j = F_j D_j F_j^T``: global rotations (relative to the zero pose) compose as
  ``G_j = G_parent(j) @ L_j`` and joint positions as
  ``p_j = p_parent + G_parent @ (J0_j - J0_parent)`` (``J0``: zero-pose joint
  positions), like SMPL.
* ``T_world_from_root[t]`` is applied after the model: ``X_world = T @ X_model``.
  Motion keeps the root joint's local rotation at its rest value and puts the
  body's global orientation and position in ``T_world_from_root``.

The canonical body frame of every motion here is the models' native world frame:
Z up, the body faces -Y, its left is +X, metres.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from synth.bodies.base import BodyModel, BodyParams
from synth.core.errors import BodyModelError
from synth.core.rotations import matrix_to_rotvec, rotvec_to_matrix
from synth.core.tolerance import TOL

UP = np.array([0.0, 0.0, 1.0])
FORWARD = np.array([0.0, -1.0, 0.0])
LEFT = np.array([1.0, 0.0, 0.0])

# Roles -> joint names, per body model family. A role maps to one joint, or to a
# list for chains (spine bottom -> top, neck bottom -> top, the toe bases).
ANNY_ROLES: dict[str, Any] = {
    "root": "root",
    "spine": ["spine05", "spine04", "spine03", "spine02", "spine01"],
    "neck": ["neck01", "neck02", "neck03"],
    "head": "head",
}
SMPLX_ROLES: dict[str, Any] = {
    "root": "pelvis",
    "spine": ["spine1", "spine2", "spine3"],
    "neck": ["neck"],
    "head": "head",
}
for _s, _side in (("L", "left"), ("R", "right")):
    ANNY_ROLES.update({
        f"hip_{_s}": f"upperleg01.{_s}", f"knee_{_s}": f"lowerleg01.{_s}", f"ankle_{_s}": f"foot.{_s}",
        f"ball_{_s}": f"toe3-1.{_s}",
        f"toes_{_s}": [f"toe{i}-1.{_s}" for i in range(1, 6)],
        f"clavicle_{_s}": f"clavicle.{_s}", f"shoulder_{_s}": f"upperarm01.{_s}",
        f"elbow_{_s}": f"lowerarm01.{_s}", f"wrist_{_s}": f"wrist.{_s}",
        f"hand_tip_{_s}": f"finger3-3.{_s}", f"forearm_twist_{_s}": f"lowerarm02.{_s}",
    })
    SMPLX_ROLES.update({
        f"hip_{_s}": f"{_side}_hip", f"knee_{_s}": f"{_side}_knee", f"ankle_{_s}": f"{_side}_ankle",
        f"ball_{_s}": f"{_side}_foot",
        f"toes_{_s}": [f"{_side}_foot"],
        f"clavicle_{_s}": f"{_side}_collar", f"shoulder_{_s}": f"{_side}_shoulder",
        f"elbow_{_s}": f"{_side}_elbow", f"wrist_{_s}": f"{_side}_wrist",
        f"hand_tip_{_s}": f"{_side}_middle3", f"forearm_twist_{_s}": f"{_side}_elbow",
    })

KNOWN_ROLE_MAPS = {"anny": ANNY_ROLES, "smplx": SMPLX_ROLES}


def detect_skeleton_family(joint_names: list[str]) -> str:
    """'anny' or 'smplx' from the joint names; raises BodyModelError for anything else."""
    names = set(joint_names)
    for family, roles in KNOWN_ROLE_MAPS.items():
        needed = {roles[r] for r in ("root", "hip_L", "knee_L", "ankle_L", "shoulder_L", "elbow_L", "wrist_L")}
        if needed <= names:
            return family
    raise BodyModelError(
        f"motion: cannot tell which skeleton these {len(joint_names)} joints are (first ones: {joint_names[:6]}); "
        "expected Anny's default rig (upperleg01.L, lowerleg01.L, foot.L, ...) or SMPL-X names "
        "(left_hip, left_knee, ...). Add a role map for this body model to synth.motion.skeleton.KNOWN_ROLE_MAPS.")


def _default_shape(body: BodyModel) -> dict[str, np.ndarray]:
    for attr in ("default_shape", "mean_shape"):
        fn = getattr(body, attr, None)
        if callable(fn):
            return dict(fn())
    fn = getattr(body, "default_params", None)
    if callable(fn):
        return dict(fn(None, 1).shape)
    return {}


def _pose_frames(body: BodyModel, J: int, family: str) -> np.ndarray:
    """(J, 3, 3) axes in which the model takes each joint's rotation (see the module doc).

    A body model may say so itself with ``pose_axes()`` -> (J, 3, 3); otherwise Anny's "local-bone" axes come from
    ``reference_bone_orientations`` and SMPL-X's native (Y-up) axes from ``T_ZUP_FROM_SMPLX``.
    """
    fn = getattr(body, "pose_axes", None)
    if callable(fn):
        return np.asarray(fn(), dtype=np.float64).reshape(J, 3, 3)
    U = getattr(body, "reference_bone_orientations", None)
    if U is None:
        if family == "smplx":
            from synth.bodies.smplx_model import T_ZUP_FROM_SMPLX

            return np.broadcast_to(T_ZUP_FROM_SMPLX[:3, :3], (J, 3, 3)).copy()
        return np.broadcast_to(np.eye(3), (J, 3, 3)).copy()
    U = np.asarray(U, dtype=np.float64).reshape(J, 3, 3)
    # re-orthonormalise (stored as float32)
    u, _, vt = np.linalg.svd(U)
    U = u @ vt
    return np.einsum("ba,jbc->jac", U[0], U)  # F_j = U_0^T U_j


@dataclass
class BodySkeleton:
    """Joint hierarchy, zero-pose / rest-pose geometry and limits of one body (model + shape).

    zero_joints : (J, 3) float64, metres, model frame: joint positions for all-zero rotations
    rest_rotvec : (J, 3) float64 radians: the model's ``rest_pose()`` (absolute local rotations)
    rest_global : (J, 3, 3) float64: global rotations of the rest pose (model frame)
    rest_joints : (J, 3) float64, metres: joint positions in the rest pose (model frame)
    limits : (J, 3, 2) float64 radians: ``joint_limits()``
    ground_z : float, metres: height of the lowest vertex of the rest pose (model frame)
    sole_vertices : (4,) int: heel and toe-tip vertex of the left then right foot
    """

    body: Any
    shape: dict[str, np.ndarray]
    frames: np.ndarray  # (J, 3, 3) F_j: axes of each joint's pose parameter (zero-pose model frame)
    joint_names: list[str]
    parents: np.ndarray
    zero_joints: np.ndarray
    rest_rotvec: np.ndarray
    rest_local: np.ndarray
    rest_global: np.ndarray
    rest_joints: np.ndarray
    limits: np.ndarray
    family: str
    roles: dict[str, Any]
    ground_z: float
    sole_vertices: np.ndarray
    sole_offsets: np.ndarray  # (4, 3) heel_L, toe_L, heel_R, toe_R minus their ankle, zero-pose frame
    order: np.ndarray = field(repr=False, default=None)  # type: ignore[assignment]

    # ------------------------------------------------------------------ build
    @classmethod
    def from_body(cls, body: BodyModel, shape: dict[str, np.ndarray] | None = None) -> "BodySkeleton":
        """Measure ``body`` (with ``shape``; the model's default when None) and check its pose convention.

        The skeletons of the last few (body, shape) pairs are kept: a person's skeleton is needed for their
        motion and again to seat, stand, lay or pair them (one body-model forward each time otherwise). A kept
        skeleton is the same object, with read-only arrays (it is shared), and holds its own copy of the shape.
        """
        shape = dict(shape) if shape is not None else _default_shape(body)
        key = (id(body), tuple((k, np.asarray(v).dtype.str, np.shape(v), np.asarray(v).tobytes())
                               for k, v in sorted(shape.items())))
        hit = _SKELETONS.get(key)
        if hit is not None and hit.body is body:
            return hit
        skel = cls._measure(body, {k: np.array(v, copy=True) if isinstance(v, np.ndarray) else v
                                   for k, v in shape.items()})
        for name in ("frames", "parents", "zero_joints", "rest_rotvec", "rest_local", "rest_global", "rest_joints",
                     "limits", "sole_vertices", "sole_offsets", "order"):
            getattr(skel, name).setflags(write=False)
        while len(_SKELETONS) >= _SKELETONS_SIZE:
            _SKELETONS.pop(next(iter(_SKELETONS)))
        _SKELETONS[key] = skel
        return skel

    @classmethod
    def _measure(cls, body: BodyModel, shape: dict[str, np.ndarray]) -> BodySkeleton:
        names = list(body.joint_names)
        parents = np.asarray(body.joint_parents, dtype=np.int64)
        J = len(names)
        if parents.shape != (J,) or parents[0] != -1:
            raise BodyModelError(f"motion: body model {body.name!r} joint_parents must be ({J},) with -1 first, "
                                 f"got shape {parents.shape} starting {parents[:3].tolist()}")
        rest = np.asarray(body.rest_pose(), dtype=np.float64).reshape(J, 3)
        limits = np.asarray(body.joint_limits(), dtype=np.float64).reshape(J, 3, 2)
        family = detect_skeleton_family(names)
        roles = KNOWN_ROLE_MAPS[family]

        # One forward call, three frames: zero pose, rest pose, a check pose with a rotated root.
        check = rest.copy()
        check[0] = rest[0] + np.array([0.3, -0.2, 0.5])
        poses = np.stack([np.zeros((J, 3)), rest, check]).astype(np.float32)
        T = np.broadcast_to(np.eye(4), (3, 4, 4)).copy()
        posed = body.forward(BodyParams(model=body.name, shape=shape, pose_rotvec=poses, T_world_from_root=T))
        joints = np.asarray(posed.joints, dtype=np.float64)
        verts = np.asarray(posed.vertices, dtype=np.float64)
        zero = joints[0]
        frames = _pose_frames(body, J, family)
        skel = cls(body=body, shape=shape, frames=frames, joint_names=names, parents=parents, zero_joints=zero,
                   rest_rotvec=rest, rest_local=np.zeros((J, 3, 3)), rest_global=np.zeros((J, 3, 3)),
                   rest_joints=np.zeros((J, 3)), limits=limits, family=family, roles=roles,
                   ground_z=float(verts[1, :, 2].min()), sole_vertices=np.zeros(4, dtype=np.int64),
                   sole_offsets=np.zeros((4, 3)))
        skel.order = _topological_order(parents)
        skel.rest_local = skel.param_to_local(rest)
        G, P = skel.fk(skel.rest_local[None], np.eye(3)[None], zero[0][None])
        skel.rest_global, skel.rest_joints = G[0], P[0]
        # the body model must follow the documented convention (SMPL-like local rotations)
        Gc, Pc = skel.fk(skel.param_to_local(check)[None], np.eye(3)[None], zero[0][None])
        err = max(np.abs(P[0] - joints[1]).max(), np.abs(Pc[0] - joints[2]).max())
        if err > 2e-3:
            raise BodyModelError(
                f"motion: body model {body.name!r} does not pose like SMPL-style local rotations (joint error "
                f"{err * 1000:.1f} mm between its forward() and synth.motion's kinematics, expected < 2 mm). "
                "Its pose_rotvec must be absolute local rotations in world-aligned zero-pose frames (Anny "
                "'local-ref', SMPL-X axis-angle), with the root rotating about its own joint.")
        skel._measure_feet(verts[1])
        return skel

    def _measure_feet(self, rest_verts: np.ndarray) -> None:
        out = []
        offsets = []
        for s in ("L", "R"):
            a = self.rest_joints[self.idx(f"ankle_{s}")]
            near = (np.sign(rest_verts[:, 0]) == np.sign(a[0])) & \
                (np.linalg.norm(rest_verts[:, :2] - a[:2], axis=1) < 0.35) & (rest_verts[:, 2] < a[2])
            near = np.flatnonzero(near)
            if near.size < 2:
                raise BodyModelError(f"motion: found no sole vertices under the {s} ankle of {self.body.name!r}")
            zmin = rest_verts[near, 2].min()
            cand = near[rest_verts[near, 2] < zmin + 0.025]
            if cand.size < 2:
                cand = near[np.argsort(rest_verts[near, 2])[:2]]
            fwd = rest_verts[cand] @ FORWARD
            heel, toe = cand[np.argmin(fwd)], cand[np.argmax(fwd)]
            out += [heel, toe]
            Ga = self.rest_global[self.idx(f"ankle_{s}")]
            offsets += [Ga.T @ (rest_verts[heel] - a), Ga.T @ (rest_verts[toe] - a)]
        self.sole_vertices = np.asarray(out, dtype=np.int64)
        self.sole_offsets = np.asarray(offsets)

    # ------------------------------------------------------------------ names
    @property
    def n_joints(self) -> int:
        return len(self.joint_names)

    def idx(self, role_or_name: str) -> int:
        """Index of a joint given its role (``knee_L``) or its name."""
        name = self.roles.get(role_or_name, role_or_name)
        if isinstance(name, list):
            raise KeyError(f"role {role_or_name!r} is a chain; use idxs()")
        try:
            return self.joint_names.index(name)
        except ValueError:
            raise BodyModelError(f"motion: joint {name!r} (role {role_or_name!r}) is not in body model "
                                 f"{self.body.name!r}") from None

    def idxs(self, role: str) -> list[int]:
        names = self.roles[role]
        names = names if isinstance(names, list) else [names]
        return [self.joint_names.index(n) for n in names if n in self.joint_names]

    def children(self, j: int) -> list[int]:
        return [int(c) for c in np.flatnonzero(self.parents == j)]

    # ------------------------------------------------------------------ measures
    @property
    def root_rest(self) -> np.ndarray:
        """(3,) root joint position in the rest pose, model frame."""
        return self.rest_joints[0]

    def rest_height_above_ground(self, role: str) -> float:
        return float(self.rest_joints[self.idx(role), 2] - self.ground_z)

    def segment_length(self, a: str, b: str) -> float:
        return float(np.linalg.norm(self.zero_joints[self.idx(b)] - self.zero_joints[self.idx(a)]))

    @property
    def leg_length(self) -> float:
        """Hip joint height above the ground in the rest pose, metres (mean of both sides)."""
        return 0.5 * (self.rest_height_above_ground("hip_L") + self.rest_height_above_ground("hip_R"))

    # ------------------------------------------------------------------ kinematics
    def fk(self, local: np.ndarray, R_root_world: np.ndarray, p_root_world: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray]:
        """Forward kinematics.

        local : (T, J, 3, 3) local rotations (absolute, the model's pose input)
        R_root_world : (T, 3, 3) rotation of ``T_world_from_root``
        p_root_world : (T, 3) metres, world position of the root joint
        Returns global rotations (T, J, 3, 3) (world, relative to the zero pose) and joint positions (T, J, 3).
        """
        T = local.shape[0]
        J = self.n_joints
        G = np.zeros((T, J, 3, 3))
        P = np.zeros((T, J, 3))
        for j in self.order:
            p = self.parents[j]
            if p < 0:
                G[:, j] = R_root_world @ local[:, j]
                P[:, j] = p_root_world
            else:
                G[:, j] = G[:, p] @ local[:, j]
                P[:, j] = P[:, p] + np.einsum("tab,b->ta", G[:, p], self.zero_joints[j] - self.zero_joints[p])
        return G, P

    def T_world_from_root(self, R_root_world: np.ndarray, p_root_world: np.ndarray) -> np.ndarray:
        """(T, 4, 4) float64 transform placing the model so its root joint sits at ``p_root_world`` (T, 3)."""
        Tn = R_root_world.shape[0]
        out = np.broadcast_to(np.eye(4), (Tn, 4, 4)).copy()
        out[:, :3, :3] = R_root_world
        out[:, :3, 3] = p_root_world - np.einsum("tab,b->ta", R_root_world, self.zero_joints[0])
        return out

    def root_from_T(self, T_world_from_root: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Inverse of :meth:`T_world_from_root`: (R (T, 3, 3), root joint world position (T, 3))."""
        R = T_world_from_root[:, :3, :3]
        return R, T_world_from_root[:, :3, 3] + np.einsum("tab,b->ta", R, self.zero_joints[0])

    def compose(self, R_root_world: np.ndarray, p_root_world: np.ndarray,
                deltas: dict[int, np.ndarray] | None = None,
                globals_: dict[int, np.ndarray] | None = None,
                base_local: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Build local rotations from per-joint controls, parents first.

        deltas[j] : (T, 3, 3) a rotation applied to joint j *in the rest pose's world-aligned axes* (for a body
            standing at rest facing -Y: X left, Y back, Z up), on top of its rest local rotation:
            ``local_j = C^T @ delta @ C @ rest_local_j`` with ``C`` the parent's rest global rotation.
        globals_[j] : (T, 3, 3) the joint's world rotation (relative to the zero pose) - overrides deltas.
        Other joints keep their rest local rotation, or ``base_local`` (T, J, 3, 3) when given.
        Returns local (T, J, 3, 3), global (T, J, 3, 3), positions (T, J, 3) (world).
        """
        deltas = deltas or {}
        globals_ = globals_ or {}
        T = R_root_world.shape[0]
        J = self.n_joints
        local = np.broadcast_to(self.rest_local, (T, J, 3, 3)).copy() if base_local is None else base_local.copy()
        G = np.zeros((T, J, 3, 3))
        P = np.zeros((T, J, 3))
        for j in self.order:
            p = self.parents[j]
            if p < 0:
                if j in deltas:
                    local[:, j] = deltas[j] @ self.rest_local[j]
                G[:, j] = R_root_world @ local[:, j]
                P[:, j] = p_root_world
                continue
            if j in globals_:
                local[:, j] = np.swapaxes(G[:, p], -1, -2) @ globals_[j]
            elif j in deltas:
                C = self.rest_global[p]
                local[:, j] = C.T @ deltas[j] @ C @ self.rest_local[j]
            G[:, j] = G[:, p] @ local[:, j]
            P[:, j] = P[:, p] + np.einsum("tab,b->ta", G[:, p], self.zero_joints[j] - self.zero_joints[p])
        return local, G, P

    def hinge_rest(self, j: int) -> np.ndarray:
        """(3,) world direction, rest pose, of hinge joint j's flexion axis, pointing to the body's left (+X).

        For models that pose joints in their own axes (Anny: local X is the main hinge axis) this is that axis;
        otherwise the body's lateral axis.
        """
        if np.allclose(self.frames[j], np.eye(3), atol=TOL.rounding):
            return LEFT.copy()
        x = (self.rest_global[j] @ self.frames[j])[:, 0]
        x = x / np.linalg.norm(x)
        return x if np.dot(x, LEFT) >= 0 else -x

    def sole_points(self, G: np.ndarray, P: np.ndarray) -> np.ndarray:
        """(T, 4, 3) heel_L, toe_L, heel_R, toe_R positions (rigid in the ankle frames) from FK output."""
        out = []
        for k, s in enumerate(("L", "L", "R", "R")):
            a = self.idx(f"ankle_{s}")
            out.append(P[:, a] + np.einsum("tab,b->ta", G[:, a], self.sole_offsets[k]))
        return np.stack(out, axis=1)

    def param_to_local(self, rotvec: np.ndarray) -> np.ndarray:
        """Model pose parameters (..., J, 3) -> world-aligned local rotations L (..., J, 3, 3)."""
        D = rotvec_to_matrix(np.asarray(rotvec, dtype=np.float64))
        return self.frames @ D @ np.swapaxes(self.frames, -1, -2)

    def local_to_param(self, local: np.ndarray) -> np.ndarray:
        """World-aligned local rotations (..., J, 3, 3) -> model pose parameters (..., J, 3) float64."""
        return matrix_to_rotvec(np.swapaxes(self.frames, -1, -2) @ local @ self.frames)

    def to_rotvec(self, local: np.ndarray) -> np.ndarray:
        """(T, J, 3, 3) world-aligned locals -> (T, J, 3) float32 model pose parameters (axis-angle)."""
        return self.local_to_param(local).astype(np.float32)


#: skeletons of the last few (body, shape) pairs (see :meth:`BodySkeleton.from_body`)
_SKELETONS: dict[tuple, BodySkeleton] = {}
_SKELETONS_SIZE = 8


def _topological_order(parents: np.ndarray) -> np.ndarray:
    order: list[int] = []
    seen = np.zeros(len(parents), dtype=bool)
    for j in range(len(parents)):
        chain = []
        k = j
        while k >= 0 and not seen[k]:
            chain.append(k)
            k = parents[k]
        for c in reversed(chain):
            seen[c] = True
            order.append(c)
    return np.asarray(order, dtype=np.int64)


def two_bone_ik(root: np.ndarray, target: np.ndarray, l1: float, l2: float, pole: np.ndarray,
                max_extension: float = 0.9995) -> tuple[np.ndarray, np.ndarray]:
    """Analytic two-bone IK.

    root, target, pole : (T, 3); ``pole`` is the direction the middle joint bends towards.
    Returns the middle joint (T, 3) and end (T, 3) positions (the end equals ``target`` when reachable).
    """
    v = target - root
    d = np.linalg.norm(v, axis=-1)
    u = v / np.maximum(d, TOL.degenerate)[:, None]
    d = np.clip(d, abs(l1 - l2) + TOL.rounding, (l1 + l2) * max_extension)
    cos_a = np.clip((l1 * l1 + d * d - l2 * l2) / (2 * l1 * d), -1.0, 1.0)
    sin_a = np.sqrt(1.0 - cos_a ** 2)
    w = pole - np.sum(pole * u, axis=-1, keepdims=True) * u
    w /= np.maximum(np.linalg.norm(w, axis=-1, keepdims=True), TOL.degenerate)
    mid = root + l1 * (cos_a[:, None] * u + sin_a[:, None] * w)
    end = root + d[:, None] * u
    return mid, end
