"""Dense contact labels on real Anny geometry: feet on the ground, bodies touching."""

from __future__ import annotations

import numpy as np

from synth.bodies.base import BodyParams
from synth.bodies.registry import get_body_model
from synth.core.transforms import make_T, rot_z
from synth.groundtruth.contact import compute_ground_contact, compute_person_contact


def posed(body, x=0.0, y=0.0, z=0.0, yaw=0.0):
    p = body.default_params(frames=1)
    T = make_T(rot_z(yaw), [x, y, z])[None]
    return body.forward(BodyParams("anny", p.shape, p.pose_rotvec, T)).vertices[0]


def test_standing_feet_touch_the_ground_and_nothing_else():
    body = get_body_model("anny", topology="notoes_collapse5pc")
    v = posed(body)
    c = compute_ground_contact(v)
    assert c.any()
    assert v[c, 2].max() <= 0.02                       # only vertices near the floor
    assert np.all(v[c, 2] < 0.1 * (v[:, 2].max()))     # ... i.e. the feet
    lifted = compute_ground_contact(posed(body, z=0.3))
    assert not lifted.any()                            # a body in the air touches nothing


def test_touching_bodies_are_labelled_on_both_sides():
    body = get_body_model("anny", topology="notoes_collapse5pc")
    a = posed(body)
    # a second body facing the first, moved until its front surface nearly touches the first's
    far = posed(body, y=-1.0, yaw=np.pi)
    gap = a[:, 1].min() - far[:, 1].max()
    b = far + np.array([0.0, gap + 0.01, 0.0], dtype=np.float32)   # 1 cm overlap of the bounding boxes
    ca, cb = compute_person_contact([a, b], [body.faces, body.faces])
    assert (ca == 1).any() and (cb == 0).any()
    assert set(np.unique(ca)) <= {-1, 1} and set(np.unique(cb)) <= {-1, 0}
    # apart: no contact
    ca, cb = compute_person_contact([a, far], [body.faces, body.faces])
    assert (ca < 0).all() and (cb < 0).all()
