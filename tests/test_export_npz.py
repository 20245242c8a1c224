"""Per-person npz export (BEDLAM layout): one record per person crop, consistent cameras and labels."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
from tiny_dataset_util import tiny_wholebody_dataset

from synth.io import open_dataset

pytestmark = pytest.mark.blender
ROOT = Path(__file__).resolve().parents[1]


def test_npz_records_round_trip(tmp_path_factory):
    ds_dir = tiny_wholebody_dataset(tmp_path_factory)
    dest = tmp_path_factory.mktemp("npz")
    res = subprocess.run([sys.executable, "-m", "synth.cli", "export", str(ds_dir), "--format", "npz",
                          "--dest", str(dest), "--val-fraction", "0.34", "--with-vertices"],
                         capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == [str(dest / "synth_train.npz"), str(dest / "synth_val.npz")]
    frames = {(f.scene_id, f.frame_index, f.view): f for f in open_dataset(str(ds_dir))}
    n_records = 0
    for split in ("train", "val"):
        z = np.load(dest / f"synth_{split}.npz")
        N = len(z["imgname"])
        for key in ("center", "scale", "cam_int", "cam_ext", "gtkps", "shape", "sub", "pose_rotvec",
                    "T_cam_from_root", "keypoints_3d_cam", "vertices_cam", "camera_model"):
            assert z[key].shape[0] == N, key
        assert set(z["scene_index"].tolist()) == ({2} if split == "val" else {0, 1})
        names = z["shape_names"].tolist()
        for i in range(N):
            sid, p = z["sub"][i].split("/")
            f = frames[(sid, int(z["frame_index"][i]), str(z["view"][i]))]
            p = int(p)
            assert int(z["person_index"][i]) == p and f.labels["mask_area_px"][p] > 0
            assert np.array_equal(iio.imread(dest / z["imgname"][i]), f.rgb)
            x0, y0, x1, y1 = f.labels["bbox_xyxy"][p]
            assert np.allclose(z["center"][i], [(x0 + x1) / 2, (y0 + y1) / 2], atol=1e-4)
            assert z["scale"][i] == pytest.approx(max(x1 - x0, y1 - y0) * 1.2 / 200, rel=1e-5)
            assert np.allclose(z["cam_int"][i], f.camera.K) and np.allclose(z["cam_ext"][i], f.camera.T_cam_from_world)
            flags = z["gtkps"][i, :, 2]
            assert np.array_equal(flags, np.where(f.labels["keypoints_visible"][p], 2,
                                                  np.where(f.labels["keypoints_in_image"][p], 1, 0)))
            ok = flags > 0
            assert np.allclose(z["gtkps"][i, ok, :2], f.labels["keypoints_2d"][p][ok], atol=1e-4)
            person = f.people[p]
            assert np.allclose(z["shape"][i], [float(person["shape"][n]) for n in names])
            assert np.allclose(z["pose_rotvec"][i], person["pose_rotvec"])
            assert np.allclose(z["T_cam_from_root"][i], z["cam_ext"][i] @ z["T_world_from_root"][i])
            # the camera-frame vertices and keypoints project onto the labels with the record's own camera
            V = z["vertices_cam"][i].astype(np.float64)
            assert np.allclose(V, f.camera.world_to_cam(person["vertices_world"]), atol=1e-4)
            if z["camera_model"][i] == "pinhole":
                X = z["keypoints_3d_cam"][i].astype(np.float64)
                uv = (z["cam_int"][i] @ (X / X[:, 2:3]).T).T[:, :2]
                assert np.allclose(uv[ok], z["gtkps"][i, ok, :2], atol=1e-3)
            n_records += 1
    assert n_records == sum(int((f.labels["mask_area_px"] > 0).sum()) for f in frames.values()) >= 12
