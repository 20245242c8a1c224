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


def smplx_joint_part(joint: str) -> str:
    """Part of an SMPL-X joint name (finger joints -> that side's hand)."""
    if joint in SMPLX_JOINT_PART:
        return SMPLX_JOINT_PART[joint]
    if joint.startswith("left_"):
        return "left_hand"
    if joint.startswith("right_"):
        return "right_hand"
    return "head"


def compute_vertex_parts(argmax_bone: np.ndarray, bone_names: list[str], bone_part) -> np.ndarray:
    """(V,) int32 part index per vertex from each vertex's dominant bone.

    argmax_bone : (V,) int, index into ``bone_names`` of the bone with the largest skin weight.
    bone_part : callable bone name -> part name.
    """
    lut = np.array([PART_INDEX[bone_part(n)] for n in bone_names], dtype=np.int32)
    return lut[np.asarray(argmax_bone, dtype=np.int64)]
