"""Export per-person records for HMR-style trainers (the BEDLAM training-label layout).

``DEST/synth_{train,val}.npz`` hold one record per person seen in a view (a person crop), every array
with N rows, plus ``DEST/images/*.png``. Keys with BEDLAM's names mean what they mean there:

=====================  ==================  ============================================================
key                    shape, dtype        meaning
=====================  ==================  ============================================================
imgname                (N,) str            image path relative to DEST
center                 (N, 2) float32      centre of the person's box, px (pixel-centre coordinates)
scale                  (N,) float32        max(box width, height) x 1.2 / 200 (BEDLAM / SPIN crop scale)
cam_int                (N, 3, 3) float64   intrinsics K, px
cam_ext                (N, 4, 4) float64   T_cam_from_world, metres
gtkps                  (N, K, 3) float32   2D keypoints x, y (px) and flag v: 2 visible, 1 occluded, 0 outside
shape                  (N, S) float32      body shape: SMPL-X betas, or Anny phenotype values (``shape_names``)
sub                    (N,) str            person identity: "<scene_id>/<person index>"
=====================  ==================  ============================================================

and synth's own, named by what they hold: ``bbox_xyxy`` (N, 4) (amodal box, px), ``camera_model`` (N,)
str and ``cam_dist`` (N, D) (the camera model's lens coefficients, zero-padded to the longest model's count:
fisheye views are not pinhole), ``keypoints_3d_cam``
(N, K, 3) m, ``joints_2d`` (N, J, 2) px / ``joints_3d_cam`` (N, J, 3) m (the body model's joints),
``pose_rotvec`` (N, J, 3) rad (local joint rotations, the model's own parameterisation),
``T_world_from_root`` / ``T_cam_from_root`` (N, 4, 4) float64 (the body's root placement; ``T_cam_from_root =
cam_ext @ T_world_from_root``), ``body_model`` (N,) str, ``age_years`` (N,), ``mask_area_px`` (N,),
``vertex_visible_fraction`` (N,), ``root_distance_m`` (N,), ``scene_index``, ``frame_index``,
``person_index`` (N,) int, ``view`` (N,) str; with ``with_vertices`` also ``vertices_cam`` (N, V, 3) m.
Arrays without a row per record: ``shape_names`` (S,), ``keypoint_names`` (K,), ``joint_names`` (J,).

Pixel coordinates follow the dataset format (integer = pixel centre), consistent with ``cam_int``:
projecting ``keypoints_3d_cam`` with ``cam_int`` (and ``cam_dist`` for the camera model) gives ``gtkps``.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from synth.core.atomic import write_bytes_atomic
from synth.core.errors import DatasetError
from synth.io.export_common import check_image_format, image_stem, val_scene_indices, write_image

BBOX_SCALE_FACTOR = 1.2   # BEDLAM's SCALE_FACTOR_BBOX
SCALE_UNIT_PX = 200.0     # the SPIN / BEDLAM convention: scale = box size / 200


def _shape_vector(shape: dict, names: list[str]) -> np.ndarray:
    parts = [np.asarray(shape[n], dtype=np.float32).reshape(-1) for n in names]
    return np.concatenate(parts) if parts else np.zeros(0, np.float32)


def export_npz(out: str, dest: str, image_format: str = "png", val_fraction: float = 0.1,
               with_vertices: bool = False, min_visible_keypoints: int = 0) -> list[str]:
    """Write ``synth_train.npz`` (and ``synth_val.npz`` when scenes are held out) and the images."""
    from synth.io.reader import open_dataset

    check_image_format(image_format)
    ds = open_dataset(out, verify=True)
    val_scenes = val_scene_indices([i for s in ds.manifest.shards for i in s.scene_indices], val_fraction)
    root = Path(dest)
    records: dict[str, dict[str, list]] = {"train": {}, "val": {}}
    meta: dict[str, list[str]] = {}
    for frame in ds:
        L = frame.labels
        people = [p for p in range(L["keypoints_2d"].shape[0])
                  if int(L["mask_area_px"][p]) > 0 and np.isfinite(L["bbox_xyxy"][p]).all()
                  and int(L["keypoints_visible"][p].sum()) >= min_visible_keypoints]
        if not people:
            continue
        stem = image_stem(frame.scene_id, frame.frame_index, frame.view)
        imgname = f"images/{stem}.{image_format}"
        write_image(root / imgname, frame.rgb, image_format)
        split = "val" if frame.scene_index in val_scenes else "train"
        cam = frame.camera
        for p in people:
            person = frame.people[p]
            if "shape_names" not in meta:
                meta["shape_names"] = sorted(person["shape"])
                meta["keypoint_names"] = list(frame.keypoint_names)
                meta["joint_names"] = list(frame.joint_names)
            x0, y0, x1, y1 = (float(c) for c in L["bbox_xyxy"][p])
            vis, inside = L["keypoints_visible"][p], L["keypoints_in_image"][p]
            flags = np.where(vis, 2.0, np.where(inside, 1.0, 0.0))
            gtkps = np.concatenate([np.nan_to_num(L["keypoints_2d"][p]), flags[:, None]], axis=1)
            gtkps[flags == 0, :2] = 0.0
            T_wr = np.asarray(person["T_world_from_root"], dtype=np.float64)
            row = {
                "imgname": imgname, "center": [(x0 + x1) / 2, (y0 + y1) / 2],
                "scale": max(x1 - x0, y1 - y0) * BBOX_SCALE_FACTOR / SCALE_UNIT_PX,
                "cam_int": cam.K, "cam_ext": cam.T_cam_from_world, "gtkps": gtkps,
                "shape": _shape_vector(person["shape"], meta["shape_names"]),
                "sub": f"{frame.scene_id}/{p}",
                "bbox_xyxy": L["bbox_xyxy"][p], "camera_model": cam.model_name, "cam_dist": cam.dist,
                "keypoints_3d_cam": L["keypoints_3d_cam"][p], "joints_2d": L["joints_2d"][p],
                "joints_3d_cam": L["joints_3d_cam"][p], "pose_rotvec": person["pose_rotvec"],
                "T_world_from_root": T_wr, "T_cam_from_root": cam.T_cam_from_world @ T_wr,
                "body_model": person["body_model"],
                "age_years": float(np.asarray(person["shape"].get("age_years", np.nan)).reshape(-1)[0]),
                "mask_area_px": int(L["mask_area_px"][p]),
                "vertex_visible_fraction": float(L["vertex_visible_fraction"][p]),
                "root_distance_m": float(L["root_distance_m"][p]),
                "scene_index": frame.scene_index, "frame_index": frame.frame_index, "person_index": p,
                "view": frame.view,
            }
            if with_vertices:
                row["vertices_cam"] = cam.world_to_cam(np.asarray(person["vertices_world"], dtype=np.float64))
            for k, v in row.items():
                records[split].setdefault(k, []).append(v)
    if not records["train"] and not records["val"]:
        raise DatasetError(f"{out}: no person is seen in any view; nothing to export")
    paths = []
    for split, cols in records.items():
        if not cols:
            continue
        arrays = {}
        n_dist = max(len(d) for d in cols["cam_dist"])
        cols["cam_dist"] = [np.pad(np.asarray(d, dtype=np.float64), (0, n_dist - len(d))) for d in cols["cam_dist"]]
        for k, vals in cols.items():
            if isinstance(vals[0], str):
                arrays[k] = np.array(vals, dtype=str)
            elif isinstance(vals[0], int):
                arrays[k] = np.array(vals, dtype=np.int64)
            else:  # cameras and transforms keep float64; labels are float32
                exact = k.startswith(("cam_", "T_"))
                arrays[k] = np.asarray(vals, dtype=np.float64 if exact else np.float32)
        for k, v in meta.items():
            arrays[k] = np.array(v, dtype=str)
        path = root / f"synth_{split}.npz"
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        write_bytes_atomic(path, buf.getvalue())
        paths.append(str(path))
    return paths
