"""BVH (Biovision hierarchy) read / write and forward kinematics.

A BVH file has a HIERARCHY (joints with an OFFSET from their parent, in file
units, and CHANNELS: positions and Euler rotations in a per-joint order) and a
MOTION block (one line of channel values per frame, angles in degrees). A joint
listing rotation channels ``Zrotation Xrotation Yrotation`` rotates by
``R = Rz @ Rx @ Ry`` (intrinsic, in listed order); joint ``j``'s world transform
is its parent's times ``[R_j | offset_j]`` (position channels, when present,
replace the offset). The root's position channels are added to its offset.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from synth.core.errors import AssetError, SynthError
from synth.core.atomic import write_text_atomic
from synth.core.rotations import euler_to_matrix, matrix_to_euler

UNITS_TO_M = {"m": 1.0, "cm": 0.01, "mm": 0.001, "inch": 0.0254, "in": 0.0254, "dm": 0.1}


@dataclass
class BvhSkeleton:
    """Joint hierarchy of a BVH file.

    names : list[str], len J (file order, parents before children)
    parents : (J,) int64, -1 for the root
    offsets : (J, 3) float64, file units, offset of each joint from its parent
    channels : per joint, its channel names in file order (e.g. ["Zrotation", "Xrotation", "Yrotation"])
    end_sites : joint index -> (3,) offset of its "End Site", file units
    """

    names: list[str]
    parents: np.ndarray
    offsets: np.ndarray
    channels: list[list[str]]
    end_sites: dict[int, np.ndarray] = field(default_factory=dict)

    @property
    def n_joints(self) -> int:
        return len(self.names)

    def index(self, name: str) -> int:
        try:
            return self.names.index(name)
        except ValueError:
            raise AssetError(f"BVH: no joint named {name!r}; joints are {self.names}") from None

    def rotation_order(self, j: int) -> str:
        """Euler order of joint j's rotation channels, e.g. 'ZXY' ('' if it has none)."""
        return "".join(c[0].upper() for c in self.channels[j] if c.lower().endswith("rotation"))


@dataclass
class BvhMotion:
    """Per-frame BVH motion.

    fps : float
    root_position : (T, 3) float64, file units, the root's position channels
    rotations : (T, J, 3, 3) float64, each joint's local rotation (identity where it has no rotation channels)
    positions : (T, J, 3) float64 or None, non-root position channels (None when no joint but the root has them)
    """

    fps: float
    root_position: np.ndarray
    rotations: np.ndarray
    positions: np.ndarray | None = None

    @property
    def n_frames(self) -> int:
        return int(self.rotations.shape[0])


# ----------------------------------------------------------------------------- reading
def _tokens(text: str) -> list[str]:
    return text.replace("{", " { ").replace("}", " } ").split()


def load_bvh(path: str | os.PathLike) -> tuple[BvhSkeleton, BvhMotion]:
    """Read a BVH file. Raises AssetError saying what is wrong where."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise AssetError(f"BVH file {str(path)!r} does not exist; give the path of a .bvh motion file")
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise AssetError(f"BVH file {str(path)!r} cannot be read: {exc}") from None
    try:
        return parse_bvh(text)
    except AssetError as exc:
        raise AssetError(f"{path}: {exc}") from None


def parse_bvh(text: str) -> tuple[BvhSkeleton, BvhMotion]:
    """Parse BVH text (see :func:`load_bvh`)."""
    head, sep, motion_text = text.partition("MOTION")
    if not sep:
        raise AssetError("BVH: no MOTION section; expected 'HIERARCHY ... MOTION Frames: N Frame Time: dt ...'")
    tok = _tokens(head)
    if not tok or tok[0] != "HIERARCHY":
        raise AssetError(f"BVH: expected the file to start with HIERARCHY, got {tok[:1]}")
    names: list[str] = []
    parents: list[int] = []
    offsets: list[list[float]] = []
    channels: list[list[str]] = []
    end_sites: dict[int, np.ndarray] = {}
    stack: list[int] = []
    i = 1
    pending: int | None = None  # joint whose '{' is expected
    in_end = False
    try:
        while i < len(tok):
            t = tok[i]
            if t in ("ROOT", "JOINT"):
                names.append(tok[i + 1])
                parents.append(stack[-1] if stack else -1)
                offsets.append([0.0, 0.0, 0.0])
                channels.append([])
                pending = len(names) - 1
                i += 2
            elif t == "End":
                in_end = True
                pending = None
                i += 2  # "End Site"
            elif t == "{":
                if in_end:
                    stack.append(-2)
                else:
                    if pending is None:
                        raise AssetError(f"BVH: unexpected '{{' at token {i}")
                    stack.append(pending)
                    pending = None
                i += 1
            elif t == "}":
                top = stack.pop()
                if top == -2:
                    in_end = False
                i += 1
            elif t == "OFFSET":
                vals = [float(v) for v in tok[i + 1:i + 4]]
                if in_end:
                    end_sites[stack[-2] if stack[-1] == -2 else stack[-1]] = np.array(vals)
                else:
                    offsets[stack[-1]] = vals
                i += 4
            elif t == "CHANNELS":
                n = int(tok[i + 1])
                channels[stack[-1]] = tok[i + 2:i + 2 + n]
                i += 2 + n
            else:
                raise AssetError(f"BVH: unexpected token {t!r} in HIERARCHY")
    except (IndexError, ValueError) as exc:
        raise AssetError(f"BVH: malformed HIERARCHY ({exc!r})") from None
    if not names:
        raise AssetError("BVH: no ROOT joint in HIERARCHY")
    skel = BvhSkeleton(names=names, parents=np.asarray(parents, dtype=np.int64),
                       offsets=np.asarray(offsets, dtype=np.float64), channels=channels, end_sites=end_sites)
    for j, ch in enumerate(channels):
        for c in ch:
            if c.lower() not in ("xposition", "yposition", "zposition", "xrotation", "yrotation", "zrotation"):
                raise AssetError(f"BVH: joint {names[j]!r} has unknown channel {c!r}")

    mt = motion_text.split()
    try:
        if mt[0] != "Frames:" or mt[2] != "Frame" or mt[3] != "Time:":
            raise ValueError("header")
        n_frames = int(mt[1])
        dt = float(mt[4])
        values = np.asarray([float(v) for v in mt[5:]], dtype=np.float64)
    except (IndexError, ValueError):
        raise AssetError("BVH: MOTION must start with 'Frames: N' and 'Frame Time: dt' followed by numbers") from None
    n_ch = sum(len(c) for c in channels)
    if dt <= 0:
        raise AssetError(f"BVH: Frame Time must be > 0, got {dt}")
    if values.size != n_frames * n_ch:
        raise AssetError(f"BVH: expected {n_frames} frames x {n_ch} channels = {n_frames * n_ch} values, "
                         f"got {values.size}")
    data = values.reshape(n_frames, n_ch)
    return skel, channels_to_motion(skel, data, 1.0 / dt)


def channels_to_motion(skel: BvhSkeleton, data: np.ndarray, fps: float) -> BvhMotion:
    """(T, C) channel values (file order, degrees) -> :class:`BvhMotion`."""
    T = data.shape[0]
    J = skel.n_joints
    rot = np.broadcast_to(np.eye(3), (T, J, 3, 3)).copy()
    root_pos = np.zeros((T, 3))
    positions = None
    col = 0
    for j, ch in enumerate(skel.channels):
        cols = {c.lower(): col + k for k, c in enumerate(ch)}
        col += len(ch)
        pos_cols = [cols.get(a) for a in ("xposition", "yposition", "zposition")]
        if any(c is not None for c in pos_cols):
            p = np.stack([data[:, c] if c is not None else np.full(T, skel.offsets[j, k] if j else 0.0)
                          for k, c in enumerate(pos_cols)], -1)
            if j == 0:
                root_pos = p
            else:
                if positions is None:
                    positions = np.broadcast_to(skel.offsets, (T, J, 3)).copy()
                positions[:, j] = p
        order = skel.rotation_order(j)
        if order:
            ang = np.stack([data[:, cols[f"{a.lower()}rotation"]] for a in order], -1)
            rot[:, j] = euler_to_matrix(np.radians(ang), order)
    return BvhMotion(fps=float(fps), root_position=root_pos, rotations=rot, positions=positions)


# ----------------------------------------------------------------------------- writing
def write_bvh(path: str | os.PathLike, skeleton: BvhSkeleton, motion: BvhMotion, precision: int = 6) -> None:
    """Write ``motion`` of ``skeleton`` as a BVH file (atomically: ``*.tmp`` then rename).

    Each joint keeps its channel list; a joint without rotation channels must have identity rotations.
    """
    J = skeleton.n_joints
    if motion.rotations.shape[1:] != (J, 3, 3):
        raise SynthError(f"write_bvh: motion has rotations {motion.rotations.shape}, skeleton has {J} joints")
    children: dict[int, list[int]] = {j: [] for j in range(J)}
    for j in range(1, J):
        children[int(skeleton.parents[j])].append(j)
    fmt = f"{{:.{precision}f}}"
    lines = ["HIERARCHY"]

    def emit(j: int, depth: int) -> None:
        ind = "  " * depth
        kw = "ROOT" if skeleton.parents[j] < 0 else "JOINT"
        lines.append(f"{ind}{kw} {skeleton.names[j]}")
        lines.append(f"{ind}{{")
        lines.append(f"{ind}  OFFSET " + " ".join(fmt.format(v) for v in skeleton.offsets[j]))
        lines.append(f"{ind}  CHANNELS {len(skeleton.channels[j])} " + " ".join(skeleton.channels[j]))
        for c in children[j]:
            emit(c, depth + 1)
        if not children[j]:
            end = skeleton.end_sites.get(j, np.zeros(3))
            lines.append(f"{ind}  End Site")
            lines.append(f"{ind}  {{")
            lines.append(f"{ind}    OFFSET " + " ".join(fmt.format(v) for v in end))
            lines.append(f"{ind}  }}")
        lines.append(f"{ind}}}")

    roots = [j for j in range(J) if skeleton.parents[j] < 0]
    if len(roots) != 1:
        raise SynthError(f"write_bvh: expected exactly one root joint, got {len(roots)}")
    emit(roots[0], 0)
    T = motion.n_frames
    lines += ["MOTION", f"Frames: {T}", f"Frame Time: {1.0 / motion.fps:.8f}"]
    cols = []
    for j, ch in enumerate(skeleton.channels):
        order = skeleton.rotation_order(j)
        eul = np.degrees(matrix_to_euler(motion.rotations[:, j], order)) if order else None
        for c in ch:
            cl = c.lower()
            if cl.endswith("position"):
                k = "xyz".index(cl[0])
                if j == 0:
                    cols.append(motion.root_position[:, k])
                elif motion.positions is not None:
                    cols.append(motion.positions[:, j, k])
                else:
                    cols.append(np.full(T, skeleton.offsets[j, k]))
            else:
                cols.append(eul[:, order.index(cl[0].upper())])
    data = np.stack(cols, -1) if cols else np.zeros((T, 0))
    for row in data:
        lines.append(" ".join(fmt.format(v) for v in row))
    write_text_atomic(path, "\n".join(lines) + "\n")


# ----------------------------------------------------------------------------- kinematics
def compute_bvh_fk(skeleton: BvhSkeleton, motion: BvhMotion, scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """World rotations (T, J, 3, 3) and positions (T, J, 3) (file units times ``scale``) of every joint."""
    T, J = motion.n_frames, skeleton.n_joints
    G = np.zeros((T, J, 3, 3))
    P = np.zeros((T, J, 3))
    for j in range(J):
        p = int(skeleton.parents[j])
        if p < 0:
            G[:, j] = motion.rotations[:, j]
            P[:, j] = (skeleton.offsets[j] + motion.root_position) * scale
        else:
            off = motion.positions[:, j] if motion.positions is not None else \
                np.broadcast_to(skeleton.offsets[j], (T, 3))
            G[:, j] = G[:, p] @ motion.rotations[:, j]
            P[:, j] = P[:, p] + np.einsum("tab,tb->ta", G[:, p], off) * scale
    return G, P


def bvh_unit_scale(unit: str | float, skeleton: BvhSkeleton | None = None) -> float:
    """Metres per file unit: 'm', 'cm', 'mm', 'inch', a number, or 'auto' (from the skeleton's leg length)."""
    if isinstance(unit, (int, float)) and not isinstance(unit, bool):
        if unit <= 0:
            raise SynthError(f"BVH unit scale must be > 0, got {unit}")
        return float(unit)
    u = str(unit).lower()
    if u in UNITS_TO_M:
        return UNITS_TO_M[u]
    if u == "auto":
        if skeleton is None:
            raise SynthError("bvh_unit_scale('auto') needs the skeleton")
        # rest pose: height span of the joints ~ 1.5-1.8 m for an adult
        zero = BvhMotion(fps=1.0, root_position=np.zeros((1, 3)),
                         rotations=np.broadcast_to(np.eye(3), (1, skeleton.n_joints, 3, 3)).copy())
        _, P = compute_bvh_fk(skeleton, zero)
        span = float(np.max(np.ptp(P[0], axis=0)))
        for name, s in (("m", 1.0), ("dm", 0.1), ("inch", 0.0254), ("cm", 0.01), ("mm", 0.001)):
            if 0.9 <= span * s <= 2.6:
                return s
        raise SynthError(f"BVH unit 'auto': cannot guess the unit of a skeleton {span:.3g} units tall; "
                         "pass unit='cm', 'm', 'mm', 'inch' or a number of metres per unit")
    raise SynthError(f"BVH unit must be one of {sorted(UNITS_TO_M)}, 'auto' or a number, got {unit!r}")
