"""Camera rigs: look-at, overhead, bone-attached cameras and the outside-the-body push."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from synth.cameras import FisheyeEquidistantCamera, PinholeCamera
from synth.cameras.rigs import (
    CameraTrack,
    body_worn,
    head_mounted_fisheye,
    mount_offset,
    push_mount_outside_mesh,
    sample_close_range,
    sample_orbit_pinhole,
    sample_overhead_fisheye,
    sample_smooth_noise,
    track_from_bone,
)
from synth.core.errors import CameraError
from synth.core.mesh import point_mesh_distance, points_inside_mesh, winding_number
from synth.core.transforms import make_T, rotvec_to_matrix

TARGET = np.array([0.3, -0.2, 1.0])


def _dist_to_centre(track: CameraTrack, X: np.ndarray) -> np.ndarray:
    uv = track.project(X[None])[:, 0]
    c = track.camera.K[:2, 2]
    return np.hypot(*(uv - c).T)


def test_orbit_static_looks_at_subject_and_respects_ranges():
    for seed in range(20):
        tr = sample_orbit_pinhole(rng=np.random.default_rng(seed), target=TARGET, width=320, height=240,
                                  look_at_jitter_m=0.0)
        assert tr.n_frames == 1
        assert _dist_to_centre(tr, TARGET).max() < 1e-9
        d = np.linalg.norm(tr.centers_world[0] - TARGET)
        assert 2.5 <= d <= 5.0 and abs(d - tr.meta["distance_m"][0]) < 1e-9
        el = np.arcsin((tr.centers_world[0, 2] - TARGET[2]) / d)
        assert -0.05 - 1e-9 <= el <= 0.35 + 1e-9
        assert np.radians(35) - 1e-9 <= tr.meta["fov_rad"] <= np.radians(65) + 1e-9
        # world up appears as image up: a point above the target projects above the centre
        uv_up = tr.at(0).project((TARGET + [0, 0, 0.3])[None])[0]
        assert uv_up[1] < tr.camera.K[1, 2] - 5
    # with jitter the subject stays near the centre (0.1 m at >= 2.5 m is < 0.1 / 2.5 * f px)
    tr = sample_orbit_pinhole(rng=np.random.default_rng(1), target=TARGET, width=320, height=240)
    f = tr.camera.K[0, 0]
    assert _dist_to_centre(tr, TARGET)[0] < 4 * 0.1 / 2.5 * f
    # seeded: the same rng seed gives the same track
    a = sample_orbit_pinhole(rng=np.random.default_rng(7), target=TARGET, width=64, height=48)
    b = sample_orbit_pinhole(rng=np.random.default_rng(7), target=TARGET, width=64, height=48)
    np.testing.assert_array_equal(a.T_cam_from_world, b.T_cam_from_world)


def test_orbit_moving_with_focal_range_dolly_and_shake():
    fps, n = 30.0, 90
    tr = sample_orbit_pinhole(rng=np.random.default_rng(3), target=TARGET, width=320, height=240, n_frames=n,
                              fps=fps, fov_rad=None, focal_length_px=(400.0, 500.0), orbit_speed_rad_s=0.5,
                              dolly_speed_m_s=-0.2, distance_m=4.0, look_at_jitter_m=0.0)
    assert tr.n_frames == n and 400 <= tr.camera.K[0, 0] <= 500
    c = tr.centers_world - TARGET
    az = np.unwrap(np.arctan2(c[:, 1], c[:, 0]))
    np.testing.assert_allclose(np.diff(az), 0.5 / fps, atol=1e-9)
    np.testing.assert_allclose(np.linalg.norm(c, axis=1), 4.0 - 0.2 * np.arange(n) / fps, atol=1e-9)
    assert _dist_to_centre(tr, TARGET).max() < 1e-6
    # hand-held shake: the subject wanders a little, smoothly
    shaky = sample_orbit_pinhole(rng=np.random.default_rng(3), target=TARGET, width=320, height=240, n_frames=n,
                                 fps=fps, distance_m=4.0, look_at_jitter_m=0.0, shake_rotation_rad=0.01,
                                 shake_translation_m=0.01, shake_frequency_hz=1.0)
    dev = _dist_to_centre(shaky, TARGET)
    f = shaky.camera.K[0, 0]
    assert 0.1 < dev.max() < 4 * (0.01 * np.sqrt(2) + 0.01 / 4.0) * f
    step = np.hypot(*np.diff(shaky.project(TARGET[None])[:, 0], axis=0).T)
    assert step.max() < 0.1 * f * 0.01 * 2 * np.pi  # smooth: no frame-to-frame jumps
    for R in shaky.T_cam_from_world[:, :3, :3]:
        np.testing.assert_allclose(R @ R.T, np.eye(3), atol=1e-12)


def test_smooth_noise_rms_and_smoothness():
    x = sample_smooth_noise(3000, 30.0, rng=np.random.default_rng(0), amplitude=0.02, frequency_hz=1.0)
    assert x.shape == (3000, 3)
    np.testing.assert_allclose(np.sqrt((x ** 2).mean(0)), 0.02, rtol=0.25)
    assert np.abs(np.diff(x, axis=0)).max() < 0.02 * 2 * np.pi * 1.5 * 2.5 / 30.0


def test_close_range_records_focal_and_distance():
    for seed in range(10):
        tr = sample_close_range(rng=np.random.default_rng(seed), target=TARGET, width=256, height=192,
                                look_at_jitter_m=0.0)
        m = tr.meta
        assert 0.3 <= m["subject_distance_m"] <= 1.5 and 12.0 <= m["focal_length_mm"] <= 24.0
        np.testing.assert_allclose(m["focal_length_px"], m["focal_length_mm"] / 36.0 * 256)
        np.testing.assert_allclose(tr.camera.K[0, 0], m["focal_length_px"])
        np.testing.assert_allclose(np.linalg.norm(tr.centers_world[0] - TARGET), m["subject_distance_m"])
        assert _dist_to_centre(tr, TARGET)[0] < 1e-9
        assert np.degrees(m["fov_rad"]) > 70  # wide


def test_overhead_fisheye_looks_straight_down():
    for seed in range(10):
        tr = sample_overhead_fisheye(rng=np.random.default_rng(seed), center_xy=[1.0, 2.0], width=160, height=160,
                                     n_frames=3)
        cam = tr.at(2)
        R_world_from_cam = cam.T_world_from_cam[:3, :3]
        np.testing.assert_allclose(R_world_from_cam[:, 2], [0, 0, -1], atol=1e-12)  # optical axis down
        h = tr.meta["ceiling_height_m"]
        assert 2.4 <= h <= 3.2 and abs(cam.center_world[2] - h) < 1e-12
        below = np.array([[cam.center_world[0], cam.center_world[1], 0.0]])
        np.testing.assert_allclose(cam.project(below)[0], cam.K[:2, 2], atol=1e-9)
        # a person standing 2 m away sideways is imaged (well inside the 170-200 degree field)
        feet = below + [2.0, 0.0, 0.0]
        assert cam.in_image(cam.project(feet))[0]
        # the ceiling plane (horizon, 90 degrees) is at the edge or beyond for a <=180 fov
        assert isinstance(cam, FisheyeEquidistantCamera)


def _moving_bone(n: int = 12, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 1, n)
    rv = np.stack([0.8 * np.sin(2 * np.pi * t), 0.5 * np.cos(3 * t), 1.5 * t], -1) + rng.normal(0, 0.05, (n, 3))
    pos = np.stack([0.5 * t, np.sin(t), 1.0 + 0.2 * t], -1)
    return np.stack([make_T(R, p) for R, p in zip(rotvec_to_matrix(rv), pos)])


def test_body_worn_follows_bone_exactly():
    Tb = _moving_bone()
    offset = mount_offset([0.0, 0.12, 0.05], forward_bone=[0, 1, 0], up_bone=[0, 0, 1])
    cam = PinholeCamera.from_fov(64, 48, np.radians(90))
    tr = body_worn(Tb, rng=np.random.default_rng(0), camera=cam, T_bone_from_cam=offset, bone_name="chest")
    for t in range(len(Tb)):
        np.testing.assert_allclose(tr.at(t).T_world_from_cam, Tb[t] @ offset, atol=1e-12)
        # the camera's pose in the bone frame is constant
        np.testing.assert_allclose(np.linalg.inv(Tb[t]) @ tr.at(t).T_world_from_cam, offset, atol=1e-12)
    # a point fixed to the bone projects to the same pixel in every frame
    p_bone = np.array([0.0, 0.6, 0.1, 1.0])
    pts = (Tb @ p_bone)[:, None, :3]
    uv = tr.project(pts)[:, 0]
    np.testing.assert_allclose(uv - uv[0], 0.0, atol=1e-9)
    assert tr.meta["bone"] == "chest"
    # mount jitter changes the offset, once per track
    tj = body_worn(Tb, rng=np.random.default_rng(0), camera=cam, T_bone_from_cam=offset, mount_jitter_m=0.01,
                   mount_jitter_rad=0.05)
    off = np.array(tj.meta["T_bone_from_cam"])
    assert np.abs(off - offset).max() > 1e-4
    np.testing.assert_allclose(tj.at(5).T_world_from_cam, Tb[5] @ off, atol=1e-12)


def _limb_mesh_per_frame(Tb: np.ndarray, radius: float = 0.05):
    """A capsule limb (axis = bone z, from -0.2 to 0.2 m, radius 5 cm) posed by each bone transform."""
    m = trimesh.creation.capsule(height=0.4, radius=radius, count=[24, 24])
    V = np.asarray(m.vertices)
    Vt = np.einsum("tij,vj->tvi", Tb[:, :3, :3], V) + Tb[:, None, :3, 3]
    return Vt, np.asarray(m.faces), m


def test_mesh_inside_and_distance_helpers_match_trimesh():
    m = trimesh.creation.capsule(height=0.4, radius=0.05, count=[24, 24])
    rng = np.random.default_rng(0)
    P = rng.uniform(-0.12, 0.12, (300, 3)) * [1, 1, 2.5]
    # analytic capsule (the mesh is inscribed: allow the facet sag)
    axis_d = np.hypot(P[:, 0], P[:, 1])
    seg = np.clip(P[:, 2], -0.2, 0.2)
    d_axis = np.sqrt(axis_d ** 2 + (P[:, 2] - seg) ** 2)
    inside = points_inside_mesh(P, m.vertices, m.faces)
    sure = np.abs(d_axis - 0.05) > 0.002
    np.testing.assert_array_equal(inside[sure], (d_axis < 0.05)[sure])
    w = winding_number(P, m.vertices, m.faces[:, ::-1])  # flipped faces: -1 inside, still |w| = 1
    np.testing.assert_allclose(np.abs(w[sure]), (d_axis < 0.05)[sure].astype(float), atol=1e-9)
    d = point_mesh_distance(P, m.vertices, m.faces)
    _, d_ref, _ = trimesh.proximity.closest_point_naive(m, P)
    np.testing.assert_allclose(d, d_ref, atol=1e-9)


def test_body_worn_pushed_outside_a_moving_limb():
    Tb = _moving_bone(10, seed=1)
    Vt, F, _ = _limb_mesh_per_frame(Tb)
    # nominal mount 2 cm from the limb axis: inside the 5 cm limb; pushed along bone x (its offset direction)
    offset = mount_offset([0.02, 0.0, 0.0], forward_bone=[1, 0, 0], up_bone=[0, 0, 1])
    cam = PinholeCamera.from_fov(64, 48, np.radians(90))
    inside0 = points_inside_mesh((Tb @ offset)[:, :3, 3][:1], Vt[0], F)
    assert inside0[0]
    tr = body_worn(Tb, rng=np.random.default_rng(0), camera=cam, T_bone_from_cam=offset, vertices=Vt, faces=F,
                   clearance_m=0.01)
    push = tr.meta["mount_push_m"]
    assert 0.04 - 0.001 < push < 0.04 + 0.003  # from 2 cm to >= 5 cm + 1 cm clearance off the axis
    C = tr.centers_world
    for t in range(len(Tb)):
        assert not points_inside_mesh(C[t:t + 1], Vt[t], F)[0]
        assert point_mesh_distance(C[t:t + 1], Vt[t], F)[0] >= 0.01 - 1e-12
        # independent check with the analytic capsule in the bone frame
        p = (np.linalg.inv(Tb[t]) @ np.append(C[t], 1.0))[:3]
        d_axis = np.sqrt(p[0] ** 2 + p[1] ** 2 + (p[2] - np.clip(p[2], -0.2, 0.2)) ** 2)
        assert d_axis > 0.05 + 0.01 - 1e-3
        # still rigidly on the bone, only moved along the outward (bone x) direction
        np.testing.assert_allclose(tr.at(t).T_world_from_cam, Tb[t] @ np.array(tr.meta["T_bone_from_cam"]),
                                   atol=1e-12)
    np.testing.assert_allclose(np.array(tr.meta["T_bone_from_cam"])[:3, 3], [0.02 + push, 0.0, 0.0], atol=1e-12)
    # a mount that is already outside is not moved
    far = mount_offset([0.2, 0.0, 0.0], forward_bone=[1, 0, 0], up_bone=[0, 0, 1])
    out, push2 = push_mount_outside_mesh(Tb, far, Vt, F, clearance_m=0.01)
    assert push2 == 0.0
    np.testing.assert_array_equal(out, far)


def test_head_mounted_fisheye_sees_the_body_below():
    n = 5
    Tb = np.stack([make_T(rotvec_to_matrix(np.array([0.0, 0.0, 0.3 * i])), [0.1 * i, 0.0, 1.6]) for i in range(n)])
    # head frame: x forward, z up; the camera 10 cm in front of the face looking forward-down
    T_head_from_cam = mount_offset([0.10, 0.0, 0.0], forward_bone=[0.3, 0.0, -1.0], up_bone=[1.0, 0.0, 0.0])
    tr = head_mounted_fisheye(Tb, rng=np.random.default_rng(0), width=128, height=128,
                              T_head_from_cam=T_head_from_cam)
    assert tr.camera.model_name == "fisheye_equidistant"
    assert np.radians(180) <= tr.meta["fov_rad"] <= np.radians(200)
    feet = np.array([[0.1 * i + 0.1, 0.0, 0.0] for i in range(n)])  # below the head
    uv = tr.project(feet[:, None, :])[:, 0]
    assert tr.at(0).in_image(uv).all()
    for t in range(n):
        np.testing.assert_allclose(tr.at(t).T_world_from_cam, Tb[t] @ T_head_from_cam, atol=1e-12)
    with pytest.raises(CameraError, match="vertices and faces"):
        head_mounted_fisheye(Tb, rng=np.random.default_rng(0), width=64, height=64, T_head_from_cam=T_head_from_cam,
                             vertices=np.zeros((n, 3, 3)))


def test_track_record_and_errors():
    Tb = _moving_bone(4)
    cam = PinholeCamera.from_fov(32, 24, np.radians(60))
    tr = track_from_bone(cam, Tb, np.eye(4), meta={"x": 1})
    rec = tr.to_record()
    assert rec["T_cam_from_world"].shape == (4, 4, 4) and rec["meta"] == {"x": 1} and rec["model"] == "pinhole"
    with pytest.raises(CameraError, match="out of range"):
        tr.at(4)
    with pytest.raises(CameraError, match=r"\(T, 4, 4\)"):
        CameraTrack(cam, np.eye(4))
    with pytest.raises(CameraError, match="exactly one"):
        sample_orbit_pinhole(rng=np.random.default_rng(0), target=TARGET, width=32, height=24, focal_length_px=100.0)
    with pytest.raises(CameraError, match="hi < lo"):
        sample_orbit_pinhole(rng=np.random.default_rng(0), target=TARGET, width=32, height=24, distance_m=(3.0, 2.0))
