"""``vertex_visible_fraction`` never exceeds what one view can see: a constructed case with an exact answer.

A sphere of radius r seen from distance d shows the spherical cap of area fraction (1 - r/d) / 2; an
icosphere's vertices are spread evenly, so the fraction of its vertices the view sees must match the cap.
Instance ids and ranges are ray-traced analytically (as in test_groundtruth.py).
"""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from synth.cameras import PinholeCamera
from synth.core.transforms import look_at_T_cam_from_world
from synth.groundtruth.labels import PersonFrameGeometry, compute_view_labels
from synth.groundtruth.visibility import (compute_front_facing, compute_vertex_visibility,
                                          compute_vertex_visible_fraction)

import test_groundtruth as tg  # noqa: E402 - tests/ is on sys.path under pytest


def _scene(width: int, radius: float = 0.4, distance: float = 4.0, monkeypatch=None):
    f = 0.9 * width
    K = np.array([[f, 0, (width - 1) / 2], [0, f, (width - 1) / 2], [0, 0, 1]])
    cam = PinholeCamera(K=K, T_cam_from_world=look_at_T_cam_from_world([0, -distance, 1], [0, 0, 1]),
                        width=width, height=width)
    c = np.array([0.0, 0.0, 1.0])
    mesh = trimesh.creation.icosphere(subdivisions=4, radius=radius)
    monkeypatch.setattr(tg, "W", width)
    monkeypatch.setattr(tg, "H", width)
    inst, depth = tg.trace_spheres(cam, [c], [radius])
    return cam, (mesh.vertices + c).astype(np.float32), mesh.faces, inst, depth


@pytest.mark.parametrize("width", [32, 64, 256])
def test_sphere_fraction_is_the_visible_cap(width, monkeypatch):
    cam, verts, faces, inst, depth = _scene(width, monkeypatch=monkeypatch)
    cap = (1 - 0.4 / 4.0) / 2                        # 0.45
    frac = compute_vertex_visible_fraction(cam, verts, faces, 1, inst, depth)
    assert frac <= compute_front_facing(cam, verts, faces).mean() + 1e-9
    assert abs(frac - cap) < 0.02, frac
    # the same through the label, and with the mesh wound the other way round
    labels = compute_view_labels(cam, [PersonFrameGeometry(verts, verts[:3], verts[:3], faces)], inst, depth)
    assert labels["vertex_visible_fraction"][0] == pytest.approx(frac)
    assert compute_vertex_visible_fraction(cam, verts, faces[:, ::-1], 1, inst, depth) == pytest.approx(frac)


def test_depth_test_alone_overcounts_at_low_resolution(monkeypatch):
    """The defect this definition fixes: the depth test's tolerance lets back-facing vertices through."""
    cam, verts, faces, inst, depth = _scene(32, monkeypatch=monkeypatch)
    assert compute_vertex_visibility(cam, verts, 1, inst, depth).mean() > 0.55   # measured 0.61 > cap 0.45


def test_occluded_sphere_sees_nothing(monkeypatch):
    cam, verts, faces, _, _ = _scene(64, monkeypatch=monkeypatch)
    front = np.array([0.0, -2.0, 1.0])   # a bigger sphere right in front hides it completely
    inst, depth = tg.trace_spheres(cam, [np.array([0.0, 0.0, 1.0]), front], [0.4, 0.5])
    assert compute_vertex_visible_fraction(cam, verts, faces, 1, inst, depth) == 0.0
