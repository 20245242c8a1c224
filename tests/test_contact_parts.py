"""The 24-part segmentation: every part present on Anny, a refinement of the coarse parts, SMPL-X labelled too."""

from __future__ import annotations

import numpy as np
import pytest

from synth.bodies.parts import (PART_INDEX, SEGMENT_INDEX, SEGMENT_NAMES, SEGMENT_TO_PART, face_segment_labels,
                                vertex_segment_labels)
from synth.bodies.registry import get_body_model


def test_anny_segments_refine_the_coarse_parts():
    body = get_body_model("anny")
    seg = vertex_segment_labels(body)
    assert len(SEGMENT_NAMES) == 24 and seg.shape == (body.num_vertices,) and seg.dtype == np.int32
    counts = np.bincount(seg, minlength=24)
    assert (counts > 0).all(), dict(zip(SEGMENT_NAMES, counts))
    coarse = body.vertex_part_labels()
    mapped = np.array([PART_INDEX[SEGMENT_TO_PART[n]] for n in SEGMENT_NAMES])[seg]
    not_buttocks = seg != SEGMENT_INDEX["buttocks"]
    assert np.array_equal(mapped[not_buttocks], coarse[not_buttocks])
    # buttocks: behind and around the hips, left-right symmetric, never on the front of the body
    rest = body.forward(body.default_params(frames=1)).vertices[0]
    b = rest[seg == SEGMENT_INDEX["buttocks"]]
    assert b[:, 1].min() > rest[:, 1].mean() and abs(b[:, 0].mean()) < 0.01
    assert abs((b[:, 0] > 0).sum() - (b[:, 0] < 0).sum()) <= 0.05 * len(b)
    # one label per face: the majority corner label
    f = face_segment_labels(seg, body.faces)
    assert f.shape == (len(body.faces),)
    corners = seg[body.faces]
    agree = (corners == f[:, None]).sum(1)
    assert (agree >= 2).mean() > 0.99 and (agree >= 1).all()


def test_smplx_segments(tmp_path):
    pytest.importorskip("smplx")
    from test_bodies_smplx import write_fake_smplx_npz

    from synth.bodies.smplx_model import SmplxBody

    write_fake_smplx_npz(tmp_path / "SMPLX_NEUTRAL.npz")
    body = SmplxBody(model_dir=tmp_path)
    seg = vertex_segment_labels(body)
    assert seg.shape == (len(body.vertex_part_labels()),)
    mapped = np.array([PART_INDEX[SEGMENT_TO_PART[n]] for n in SEGMENT_NAMES])[seg]
    keep = seg != SEGMENT_INDEX["buttocks"]
    assert np.array_equal(mapped[keep], body.vertex_part_labels()[keep])
    # the fake model's special vertices: 9120 on the head, 8846 on the left ankle joint (rear foot), 5770 on the
    # left "foot" joint (SMPL-X's toe base: the toes)
    assert seg[9120] == SEGMENT_INDEX["head"] and seg[8846] == SEGMENT_INDEX["left_foot"]
    assert seg[5770] == SEGMENT_INDEX["left_toes"]
