"""Posed geometry of a scene: every body at every frame (numpy/torch, no bpy)."""

from __future__ import annotations

from synth.bodies.base import BodyParams, PosedBody
from synth.recipe.spec import SceneSpec


def load_body(name: str, options: dict):
    from synth.bodies.registry import get_body_model

    return get_body_model(name, **options)


def person_params(p) -> BodyParams:
    """The ``BodyParams`` of a ``PersonSpec``."""
    return BodyParams(model=p.body_model, shape=p.shape, pose_rotvec=p.pose_rotvec,
                      T_world_from_root=p.T_world_from_root, extra=dict(p.extra))


def compute_people_geometry(spec: SceneSpec) -> list[PosedBody]:
    """Pose every person for every frame (world frame, metres, float32)."""
    out = []
    for p in spec.people:
        body = load_body(p.body_model, p.body_options)
        out.append(body.forward(person_params(p)))
    return out
