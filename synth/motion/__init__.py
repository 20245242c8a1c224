"""Motion for body models: procedural everyday actions, BVH / DeepMimic / AMASS import and retargeting.

Entry point: :func:`sample_motion` (used by the recipe sampler). Poses are absolute local
rotations by joint name, as the body model takes them (see :mod:`synth.motion.skeleton`);
:class:`MotionClip` holds them with the root transform and resamples them. Sources and their
parameters: :mod:`synth.motion.sample`; quality metrics: :mod:`synth.motion.quality`.
"""

from synth.motion.bvh import BvhMotion, BvhSkeleton, compute_bvh_fk, load_bvh, write_bvh
from synth.motion.clip import MotionClip
from synth.motion.quality import compute_foot_skate, compute_joint_limit_violations
from synth.motion.sample import SOURCES, sample_motion, sample_motion_clip
from synth.motion.skeleton import BodySkeleton

__all__ = [
    "BodySkeleton", "BvhMotion", "BvhSkeleton", "MotionClip", "SOURCES", "compute_bvh_fk", "compute_foot_skate",
    "compute_joint_limit_violations", "load_bvh", "sample_motion", "sample_motion_clip", "write_bvh",
]
