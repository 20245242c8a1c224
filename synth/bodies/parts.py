"""Coarse body parts shared by every body model.

A vertex's part is the part of the bone (joint) with the largest skinning
weight on it, so parts follow the skeleton: ``left_thigh`` is what moves with
the left hip joint, ``left_shin`` what moves with the left knee, and so on.
Left/right are the person's own.

Anny also ships a 14-label UV segmentation (body, head, hands, feet, eyes,
mouth cavity, tongue), but it lumps the whole trunk and limbs into one
``body`` label and needs UVs, which the small test topologies lack; the
skinning-based parts here are finer and exist for every topology.
"""

from __future__ import annotations

import numpy as np

PART_NAMES: list[str] = [
    "head", "neck", "torso", "pelvis",
    "left_upper_arm", "left_forearm", "left_hand",
    "right_upper_arm", "right_forearm", "right_hand",
    "left_thigh", "left_shin", "left_foot",
    "right_thigh", "right_shin", "right_foot",
    "left_eye", "right_eye",
]
PART_INDEX: dict[str, int] = {n: i for i, n in enumerate(PART_NAMES)}


def anny_bone_part(bone: str) -> str:
    """Part of an Anny (MakeHuman-derived) bone name, e.g. ``lowerarm01.L`` -> ``left_forearm``."""
    side = ""
    base = bone
    if bone.endswith(".L"):
        side, base = "left_", bone[:-2]
    elif bone.endswith(".R"):
        side, base = "right_", bone[:-2]
    if base in ("root", "pelvis", "spine05"):
        return "pelvis"
    if base.startswith("spine") or base in ("clavicle", "shoulder01", "breast"):
        return "torso"
    if base.startswith("neck"):
        return "neck"
    if base.startswith("upperarm"):
        return side + "upper_arm"
    if base.startswith("lowerarm"):
        return side + "forearm"
    if base in ("wrist",) or base.startswith(("finger", "metacarpal")):
        return side + "hand"
    if base.startswith("upperleg"):
        return side + "thigh"
    if base.startswith("lowerleg"):
        return side + "shin"
    if base == "foot" or base.startswith("toe"):
        return side + "foot"
    if base == "eye" and side:
        return side + "eye"
    return "head"  # head, jaw, tongue and the facial bones


SMPLX_JOINT_PART: dict[str, str] = {
    "pelvis": "pelvis", "spine1": "torso", "spine2": "torso", "spine3": "torso",
    "left_collar": "torso", "right_collar": "torso", "neck": "neck", "head": "head", "jaw": "head",
    "left_eye_smplhf": "left_eye", "right_eye_smplhf": "right_eye",
    "left_hip": "left_thigh", "right_hip": "right_thigh", "left_knee": "left_shin", "right_knee": "right_shin",
    "left_ankle": "left_foot", "right_ankle": "right_foot", "left_foot": "left_foot", "right_foot": "right_foot",
    "left_shoulder": "left_upper_arm", "right_shoulder": "right_upper_arm",
    "left_elbow": "left_forearm", "right_elbow": "right_forearm",
    "left_wrist": "left_hand", "right_wrist": "right_hand",
}


def _smplx_lookup(joint: str, table: dict[str, str], finger: str) -> str:
    """``table[joint]``; a joint the table lacks is a finger joint (-> that side's ``finger`` label) or the head."""
    if joint in table:
        return table[joint]
    for side in ("left_", "right_"):
        if joint.startswith(side):
            return side + finger
    return "head"


def smplx_joint_part(joint: str) -> str:
    """Part of an SMPL-X joint name (finger joints -> that side's hand)."""
    return _smplx_lookup(joint, SMPLX_JOINT_PART, "hand")


def compute_vertex_parts(argmax_bone: np.ndarray, bone_names: list[str], bone_part) -> np.ndarray:
    """(V,) int32 part index per vertex from each vertex's dominant bone.

    argmax_bone : (V,) int, index into ``bone_names`` of the bone with the largest skin weight.
    bone_part : callable bone name -> part name.
    """
    lut = np.array([PART_INDEX[bone_part(n)] for n in bone_names], dtype=np.int32)
    return lut[np.asarray(argmax_bone, dtype=np.int64)]


# ---- the 24-part segmentation (labels for a per-pixel part mask) --------------------------------------------------

#: 24 body parts of the per-vertex (and per-pixel) part segmentation, in label order (label = index; a part
#: pass stores index + 1 so that 0 stays background). Finer than ``PART_NAMES``: the trunk splits into chest
#: (with the clavicles), abdomen, pelvis and buttocks, the hands into palm (``hand``) and fingers, the feet into
#: rear foot and toes (the toe bones' region, i.e. the forefoot). Left/right are the person's own.
SEGMENT_NAMES: list[str] = [
    "head", "neck", "chest", "abdomen", "pelvis", "buttocks",
    "left_upper_arm", "left_forearm", "left_hand", "left_fingers",
    "right_upper_arm", "right_forearm", "right_hand", "right_fingers",
    "left_thigh", "left_shin", "left_foot", "left_toes",
    "right_thigh", "right_shin", "right_foot", "right_toes",
    "left_eye", "right_eye",
]
SEGMENT_INDEX: dict[str, int] = {n: i for i, n in enumerate(SEGMENT_NAMES)}

#: coarse ``PART_NAMES`` part of every segment; segments refine parts, except ``buttocks``, cut out of the
#: pelvis and the back of the thighs
SEGMENT_TO_PART: dict[str, str] = {
    "head": "head", "neck": "neck", "chest": "torso", "abdomen": "torso", "pelvis": "pelvis", "buttocks": "pelvis",
    "left_eye": "left_eye", "right_eye": "right_eye",
    **{f"{s}_{a}": f"{s}_{b}" for s in ("left", "right") for a, b in (
        ("upper_arm", "upper_arm"), ("forearm", "forearm"), ("hand", "hand"),
        ("fingers", "hand"), ("thigh", "thigh"), ("shin", "shin"), ("foot", "foot"), ("toes", "foot"))},
}


def anny_bone_segment(bone: str) -> str:
    """Segment of an Anny bone name, e.g. ``finger2-3.L`` -> ``left_fingers``, ``spine04`` -> ``abdomen``.

    Anny's spine runs spine05 (lowest, pelvis) .. spine01 (top of the chest)."""
    side, base = "", bone
    if bone.endswith(".L"):
        side, base = "left_", bone[:-2]
    elif bone.endswith(".R"):
        side, base = "right_", bone[:-2]
    if base in ("spine04", "spine03"):
        return "abdomen"
    if base in ("spine02", "spine01", "breast", "clavicle", "shoulder01"):
        return "chest"
    if base.startswith("finger"):
        return side + "fingers"
    if base.startswith("toe"):
        return side + "toes"
    part = anny_bone_part(bone)
    return "pelvis" if part == "torso" else part


SMPLX_JOINT_SEGMENT: dict[str, str] = {
    "pelvis": "pelvis", "spine1": "abdomen", "spine2": "chest", "spine3": "chest",
    "left_collar": "chest", "right_collar": "chest", "neck": "neck", "head": "head", "jaw": "head",
    "left_eye_smplhf": "left_eye", "right_eye_smplhf": "right_eye",
    "left_hip": "left_thigh", "right_hip": "right_thigh", "left_knee": "left_shin", "right_knee": "right_shin",
    "left_ankle": "left_foot", "right_ankle": "right_foot", "left_foot": "left_toes", "right_foot": "right_toes",
    "left_shoulder": "left_upper_arm", "right_shoulder": "right_upper_arm",
    "left_elbow": "left_forearm", "right_elbow": "right_forearm",
    "left_wrist": "left_hand", "right_wrist": "right_hand",
}


def smplx_joint_segment(joint: str) -> str:
    """Segment of an SMPL-X joint name (finger joints -> that side's fingers)."""
    return _smplx_lookup(joint, SMPLX_JOINT_SEGMENT, "fingers")


def _dominant_bone(body) -> np.ndarray:
    """(V,) index into ``body.joint_names`` of each vertex's most-weighted bone (Anny or SMPL-X)."""
    m = body._model
    if body.name == "anny":
        w = m.vertex_bone_weights.detach().cpu().numpy()
        idx = m.vertex_bone_indices.detach().cpu().numpy()
        return idx[np.arange(len(idx)), np.argmax(w, axis=1)]
    if body.name == "smplx":
        return np.argmax(m.lbs_weights.detach().cpu().numpy(), axis=1)
    raise ValueError(f"part segmentation: no bone-to-segment map for body model {body.name!r} (anny, smplx)")


def vertex_segment_labels(body) -> np.ndarray:
    """(V,) int32 index into ``SEGMENT_NAMES`` for every vertex of an Anny or SMPL-X body.

    The segment of the vertex's most-weighted bone, except ``buttocks``: the pelvis and thigh vertices at least
    2 cm behind the hip joints' frontal plane, from 7 % of the stature below the hip joints (the gluteal fold)
    to 3 % above them, measured on the body's rest mesh (mean shape, rest pose: Z up, facing -Y).
    """
    bone_segment = anny_bone_segment if body.name == "anny" else smplx_joint_segment
    dominant = _dominant_bone(body)
    lut = np.array([SEGMENT_INDEX[bone_segment(n)] for n in body.joint_names], dtype=np.int32)
    seg = lut[dominant]
    posed = body.forward(body.default_params(frames=1))
    v, j = posed.vertices[0], posed.joints[0]
    hips = [i for i, n in enumerate(body.joint_names) if n in ("upperleg01.L", "upperleg01.R", "left_hip", "right_hip")]
    hip_y = float(j[hips, 1].mean())
    hip_z = float(j[hips, 2].mean())
    trunk_legs = np.isin(seg, [SEGMENT_INDEX[n] for n in ("pelvis", "left_thigh", "right_thigh")])
    stature = float(v[:, 2].max() - v[:, 2].min())
    band = (v[:, 2] > hip_z - 0.07 * stature) & (v[:, 2] < hip_z + 0.03 * stature)
    seg[trunk_legs & (v[:, 1] > hip_y + 0.02) & band] = SEGMENT_INDEX["buttocks"]
    return seg


def face_segment_labels(vertex_labels: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """(F,) int32 segment per triangle: the label most of its three vertices carry (the first vertex's on a
    three-way tie), so a face-domain attribute renders one exact label per triangle."""
    lab = np.asarray(vertex_labels)[np.asarray(faces)]
    a, b, c = lab[:, 0], lab[:, 1], lab[:, 2]
    return np.where((b == c) & (a != b), b, a).astype(np.int32)
