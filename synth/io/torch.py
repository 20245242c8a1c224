"""PyTorch datasets over synth shards: one sample per frame, or one per person crop (top-down).

    from torch.utils.data import DataLoader
    from synth.io.torch import FrameDataset, PersonCropDataset, collate

    ds = PersonCropDataset("OUT", crop_size=(256, 192), fields=("image", "keypoints", "boxes"))
    loader = DataLoader(ds, batch_size=32, shuffle=True, num_workers=4, collate_fn=collate)

``OUT`` is a dataset folder written by ``synth generate`` or an fsspec URL of one
(``s3://bucket/run``, ``gs://...``, any filesystem fsspec knows). Only labels the
caller asks for are read (``fields``); see ``FIELD_GROUPS`` and ``docs/exports.md``.

Worker safety: the index (which frame / person lives where) is built once from small
label arrays and the shard files are closed again; each process (every DataLoader
worker) opens its own HDF5 handles on first use and keeps them. Handles never cross a
fork or a pickle. Multi-GPU: ``rank`` / ``world_size`` give each rank whole shards
(local reads, no shared files) and trim every rank to the same length; the plain
dataset also works with ``torch.utils.data.DistributedSampler``.

Coordinates follow the dataset format (docs/format.md): pixel (u, v) with integer
values at pixel centres, metres, OpenCV camera frame.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import h5py
import numpy as np
import torch
from torch.utils.data import Dataset

from synth.core.errors import DatasetError
from synth.io import fs
from synth.io.manifest import load_manifest
from synth.io.shards import FORMAT, FORMAT_VERSION, decode_png

#: field groups a user may ask for, and the sample keys each one fills
FIELD_GROUPS: dict[str, tuple[str, ...]] = {
    "image": ("image",),                      # (3, H, W) float32 RGB in [0, 1]
    "instance": ("instance",),                # frame: (H, W) int64, 0 = none, k = person k-1; crop: "mask" (h, w) bool
    "depth": ("depth_m",),                    # (H, W) float32 range in metres, inf = nothing
    "camera": ("K", "dist", "T_cam_from_world", "camera_model"),
    "keypoints": ("keypoints_2d", "keypoints_visible", "keypoints_in_image", "keypoints_3d_cam"),
    "joints": ("joints_2d", "joints_visible", "joints_3d_cam"),
    "boxes": ("bbox_xyxy", "bbox_visible_xyxy", "mask_area_px"),
    "body": ("body_model", "pose_rotvec", "T_world_from_root", "shape"),
    "vertices": ("vertices_world",),
    "contact": ("contact_ground", "contact_person"),
}
_NON_LABEL_GROUPS = ("image", "instance", "depth", "camera", "body", "vertices", "contact")


@dataclass(frozen=True)
class _FrameRef:
    shard: int      # index into the dataset's shard list
    scene_id: str
    view: str
    t: int


def _resolve_fields(fields: Iterable[str], label_names: Sequence[str]) -> tuple[set[str], list[str]]:
    """User field names -> (groups, label datasets to read). Raw label names are accepted too."""
    fields = [fields] if isinstance(fields, str) else list(fields)
    groups, labels = set(), []
    for f in fields:
        if f in FIELD_GROUPS:
            groups.add(f)
            if f not in _NON_LABEL_GROUPS:
                labels += [n for n in FIELD_GROUPS[f] if n in label_names]
        elif f in label_names:
            labels.append(f)
        else:
            raise DatasetError(f"fields: unknown field {f!r}; expected a group {sorted(FIELD_GROUPS)} "
                               f"or a label of this dataset {sorted(label_names)}")
    return groups, list(dict.fromkeys(labels))


def _open_h5(url: str) -> h5py.File:
    """Open one shard for reading: a local path, or any fsspec URL (streamed with range reads)."""
    try:
        if fs.is_remote(url):
            return h5py.File(fs.open_binary(url), "r")
        return h5py.File(fs.local_path(url), "r")
    except (OSError, FileNotFoundError) as err:
        raise DatasetError(f"{url}: cannot open the shard ({err}); is the dataset complete and reachable?") from None


def _check_format(f: h5py.File, url: str) -> None:
    if f.attrs.get("format") != FORMAT:
        raise DatasetError(f"{url}: not a synth shard (format={f.attrs.get('format')!r})")
    if int(f.attrs.get("format_version", -1)) != FORMAT_VERSION:
        raise DatasetError(f"{url}: shard format_version {f.attrs.get('format_version')}, "
                           f"this synth reads {FORMAT_VERSION}")


def _scenes_in_order(f: h5py.File) -> list[str]:
    return sorted(f["scenes"], key=lambda s: int(f["scenes"][s].attrs["scene_index"]))


class _ShardReader(Dataset):
    """Index + per-process HDF5 handles shared by both datasets."""

    def __init__(self, out: str, fields: Iterable[str], views: Sequence[str] | None,
                 rank: int | None, world_size: int | None, transform: Callable[[dict], dict] | None):
        self.out = str(out)
        manifest = load_manifest(self.out)
        records = sorted(manifest.shards, key=lambda s: s.shard_index)
        if not records:
            raise DatasetError(f"{self.out}: the manifest lists no finished shards; run `synth generate` first")
        self.shard_urls = [fs.join(self.out, "shards", r.name) for r in records]
        if (rank is None) != (world_size is None):
            raise DatasetError("rank / world_size: give both (e.g. rank=dist.get_rank(), "
                               "world_size=dist.get_world_size()) or neither")
        if world_size is not None:
            if not 0 <= int(rank) < int(world_size):
                raise DatasetError(f"rank: expected 0 <= rank < world_size={world_size}, got {rank}")
            if int(world_size) > len(records):
                raise DatasetError(f"world_size: {world_size} ranks but the dataset has {len(records)} shard(s); "
                                   "each rank reads whole shards — use fewer ranks, more shards "
                                   "(recipe.scenes_per_shard), or DistributedSampler without rank/world_size")
        self.rank, self.world_size = rank, world_size
        self.views = None if views is None else [views] if isinstance(views, str) else list(views)
        self.transform = transform
        self._handles: dict[int, h5py.File] = {}
        self._pid = os.getpid()
        self._bodies: dict[tuple[int, str], list[str]] = {}
        with _open_h5(self.shard_urls[0]) as f:
            _check_format(f, self.shard_urls[0])
            sid = _scenes_in_order(f)[0]
            vname = next(iter(f["scenes"][sid]["views"]))
            self.label_names = sorted(f["scenes"][sid]["views"][vname]["labels"])
            self.keypoint_names, self.joint_names = [], []
            for g in f["bodies"].values():
                self.keypoint_names = json.loads(g.attrs["keypoint_names"])
                self.joint_names = json.loads(g.attrs["joint_names"])
                break
        self.groups, self.labels = _resolve_fields(fields, self.label_names)

    # -- worker-safe handles ---------------------------------------------------------------
    def _file(self, shard: int) -> h5py.File:
        if os.getpid() != self._pid:  # forked into a DataLoader worker: never use the parent's handles
            self._handles, self._pid = {}, os.getpid()
        f = self._handles.get(shard)
        if f is None:
            f = self._handles[shard] = _open_h5(self.shard_urls[shard])
        return f

    def close(self) -> None:
        """Close this process's shard handles (they reopen on the next read)."""
        for f in self._handles.values():
            try:
                f.close()
            except Exception:
                pass
        self._handles = {}

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_handles"] = {}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._pid = os.getpid()

    # -- index ------------------------------------------------------------------------------
    def _my_shards(self) -> list[int]:
        n = len(self.shard_urls)
        return list(range(n)) if self.world_size is None else list(range(self.rank, n, self.world_size))

    def _build_index(self, per_view: Callable[[int, str, str, h5py.Group], list]) -> list:
        """Scan shards (labels only). With ranks, every rank's list is trimmed to the shortest rank's."""
        per_shard: dict[int, list] = {}
        for si in range(len(self.shard_urls)):
            if self.world_size is None and si not in self._my_shards():
                continue
            with _open_h5(self.shard_urls[si]) as f:
                _check_format(f, self.shard_urls[si])
                items = []
                for sid in _scenes_in_order(f):
                    g = f["scenes"][sid]
                    scene_items = []
                    for vname in g["views"]:
                        if self.views is None or vname in self.views:
                            scene_items += per_view(si, sid, vname, g["views"][vname])
                    # the reader's order: frame by frame, the views of a frame together
                    items += sorted(scene_items, key=lambda it: getattr(it, "frame", it).t)
                per_shard[si] = items
        if self.views is not None and not any(per_shard.values()):
            raise DatasetError(f"views: none of {self.views} is a camera of {self.out}")
        mine = [it for si in self._my_shards() for it in per_shard[si]]
        if self.world_size is not None:
            shortest = min(sum(len(per_shard[si]) for si in range(r, len(self.shard_urls), self.world_size))
                           for r in range(self.world_size))
            mine = mine[:shortest]
        return mine

    # -- reading one view ---------------------------------------------------------------------
    def _read_frame(self, ref: _FrameRef, people: Sequence[int] | None) -> dict[str, Any]:
        """Everything the fields ask for, per person arrays restricted to ``people`` (None = all)."""
        f = self._file(ref.shard)
        g = f["scenes"][ref.scene_id]
        vg = g["views"][ref.view]
        t = ref.t
        s: dict[str, Any] = {"scene_id": ref.scene_id, "scene_index": int(g.attrs["scene_index"]),
                             "frame_index": t, "view": ref.view}
        sel = slice(None) if people is None else list(people)
        if "image" in self.groups:
            s["image"] = decode_png(vg["rgb_png"][t])
        if "instance" in self.groups:
            s["instance"] = vg["instance"][t]
        if "depth" in self.groups:
            s["depth_m"] = vg["depth_m"][t]
        if "camera" in self.groups:
            s["K"] = vg["K"][t]
            s["dist"] = vg["dist"][t]
            s["T_cam_from_world"] = vg["T_cam_from_world"][t]
            s["camera_model"] = str(vg.attrs["model"])
        for name in self.labels:
            s[name] = vg["labels"][name][t][sel]
        person_keys = sorted(g["people"], key=int)
        chosen = person_keys if people is None else [person_keys[p] for p in people]
        pgs = [g["people"][k] for k in chosen]
        if "body" in self.groups:
            s["body_model"] = [str(pg.attrs["body_model"]) for pg in pgs]
            s["pose_rotvec"] = np.stack([pg["pose_rotvec"][t] for pg in pgs]) if pgs else np.zeros((0, 0, 3))
            s["T_world_from_root"] = (np.stack([pg["T_world_from_root"][t] for pg in pgs]) if pgs
                                      else np.zeros((0, 4, 4)))
            names = sorted(pgs[0]["shape"]) if pgs else []
            s["shape"] = {n: np.stack([np.asarray(pg["shape"][n][()], dtype=np.float32) for pg in pgs])
                          for n in names}
        if "vertices" in self.groups:
            s["vertices_world"] = np.stack([pg["vertices_world"][t] for pg in pgs]) if pgs else np.zeros((0, 0, 3))
        if "contact" in self.groups:
            for key, dtype in (("contact_ground", bool), ("contact_person", np.int64)):
                if pgs and all(key in pg for pg in pgs):
                    s[key] = np.stack([np.asarray(pg[key][t], dtype=dtype) for pg in pgs])
        return s


def _to_tensors(sample: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in sample.items():
        if isinstance(v, dict):
            out[k] = _to_tensors(v)
        elif isinstance(v, np.ndarray):
            if v.dtype == np.uint16:
                v = v.astype(np.int64)
            out[k] = torch.from_numpy(np.ascontiguousarray(v))
        elif isinstance(v, np.generic) and not isinstance(v, (np.str_, np.bytes_)):
            out[k] = torch.from_numpy(np.asarray(v).astype(np.int64 if v.dtype == np.uint16 else v.dtype))
        else:
            out[k] = v
    return out


def _image_tensor(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 -> (3, H, W) float32 in [0, 1]."""
    return np.ascontiguousarray(rgb.transpose(2, 0, 1), dtype=np.float32) / np.float32(255.0)


class FrameDataset(_ShardReader):
    """One sample per view of a frame, with every person in it.

    Parameters
    ----------
    out : dataset folder or fsspec URL
    fields : groups of ``FIELD_GROUPS`` and/or raw label names (``labels/<name>`` of the format)
    views : camera names to use (default: all)
    rank, world_size : read only this rank's shards (multi-GPU), every rank the same length
    transform : callable(sample dict of numpy arrays) -> sample dict, applied before tensor conversion

    A sample is a dict: ``scene_id``, ``scene_index``, ``frame_index``, ``view``, ``num_people`` and
    the fields' keys; per-person arrays have a leading P axis (people of the scene, in order).
    Batch with ``collate`` (pads P and adds ``person_valid``).
    """

    def __init__(self, out: str, fields: Iterable[str] = ("image", "keypoints", "boxes"),
                 views: Sequence[str] | None = None, rank: int | None = None, world_size: int | None = None,
                 transform: Callable[[dict], dict] | None = None):
        super().__init__(out, fields, views, rank, world_size, transform)

        def per_view(si, sid, vname, vg):
            return [_FrameRef(si, sid, vname, t) for t in range(int(vg["K"].shape[0]))]

        self.index: list[_FrameRef] = self._build_index(per_view)

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int) -> dict[str, Any]:
        ref = self.index[i]
        s = self._read_frame(ref, None)
        s["index"] = int(i)
        g = self._file(ref.shard)["scenes"][ref.scene_id]
        s["num_people"] = len(g["people"])
        if "image" in s:
            s["image"] = _image_tensor(s["image"])
        if self.transform is not None:
            s = self.transform(s)
        return _to_tensors(s)


@dataclass(frozen=True)
class _PersonRef:
    frame: _FrameRef
    person: int
    bbox_xyxy: tuple[float, float, float, float]


def crop_affine(bbox_xyxy: np.ndarray, crop_hw: tuple[int, int], padding: float) -> np.ndarray:
    """(2, 3) float64 ``A`` with ``uv_crop = A @ [u, v, 1]`` (pixel-centre coordinates in both images).

    The crop window is centred on the box, widened to the crop's aspect ratio and scaled by ``padding``.
    """
    x0, y0, x1, y1 = (float(c) for c in bbox_xyxy)
    h_out, w_out = crop_hw
    cx, cy = (x0 + x1) / 2.0, (y0 + y1) / 2.0
    w, h = max(x1 - x0, 1.0), max(y1 - y0, 1.0)
    if w * h_out > h * w_out:
        h = w * h_out / w_out
    else:
        w = h * w_out / h_out
    w, h = w * padding, h * padding
    s = w_out / w
    return np.array([[s, 0.0, -s * (cx - w / 2.0) - 0.5], [0.0, s, -s * (cy - h / 2.0) - 0.5]])


def warp_affine(img: np.ndarray, A: np.ndarray, out_hw: tuple[int, int], nearest: bool = False,
                fill: float = 0.0) -> np.ndarray:
    """Resample ``img`` (H, W[, C]) into (h, w[, C]) where output pixel ``A @ [u, v, 1]`` takes input (u, v).

    Bilinear (or nearest) sampling at pixel centres; samples outside the image are ``fill``.
    """
    h_out, w_out = out_hw
    M = np.vstack([A, [0.0, 0.0, 1.0]])
    Minv = np.linalg.inv(M)
    jj, ii = np.meshgrid(np.arange(w_out, dtype=np.float64), np.arange(h_out, dtype=np.float64))
    u = Minv[0, 0] * jj + Minv[0, 1] * ii + Minv[0, 2]
    v = Minv[1, 0] * jj + Minv[1, 1] * ii + Minv[1, 2]
    H, W = img.shape[:2]
    src = img.reshape(H, W, -1)
    if nearest:
        ui, vi = np.rint(u).astype(np.int64), np.rint(v).astype(np.int64)
        ok = (ui >= 0) & (ui < W) & (vi >= 0) & (vi < H)
        out = np.full((h_out, w_out, src.shape[2]), fill, dtype=src.dtype)
        out[ok] = src[vi[ok], ui[ok]]
        return out.reshape((h_out, w_out) + img.shape[2:])
    # a one-pixel border of ``fill`` around the image: clipped indices then read ``fill`` outside it
    padded = np.pad(src.astype(np.float32), ((1, 1), (1, 1), (0, 0)), constant_values=fill)
    u0, v0 = np.floor(u), np.floor(v)
    fu, fv = (u - u0).astype(np.float32)[..., None], (v - v0).astype(np.float32)[..., None]
    ua = np.clip(u0.astype(np.int64) + 1, 0, W + 1)
    ub = np.clip(u0.astype(np.int64) + 2, 0, W + 1)
    va = np.clip(v0.astype(np.int64) + 1, 0, H + 1)
    vb = np.clip(v0.astype(np.int64) + 2, 0, H + 1)
    top = (1 - fu) * padded[va, ua] + fu * padded[va, ub]
    bottom = (1 - fu) * padded[vb, ua] + fu * padded[vb, ub]
    out = (1 - fv) * top + fv * bottom
    return out.reshape((h_out, w_out) + img.shape[2:])


class PersonCropDataset(_ShardReader):
    """One sample per person seen in a view: a crop around the person's box (top-down pose / HMR).

    Parameters
    ----------
    crop_size : (height, width) of the crop in pixels
    padding : the box (widened to the crop's aspect ratio) is scaled by this factor
    box : "bbox_xyxy" (amodal box of the projected mesh, clipped) or "bbox_visible_xyxy" (visible pixels)
    min_mask_area_px : skip people with fewer visible pixels in the view
    min_visible_keypoints : skip people with fewer visible keypoints

    Besides the fields (per person, no P axis), a sample has ``person_index``, ``crop_from_image``
    ((2, 3) float32: ``uv_crop = A @ [u, v, 1]``) and, with "camera", ``K_crop`` (= A K; ``dist`` and
    the camera model are unchanged). 2D keypoints / joints / boxes are in crop coordinates;
    ``keypoints_in_crop`` flags points inside the crop. "instance" gives ``mask`` (the person's own
    pixels, bool) and "depth" the cropped range (nearest sampling, inf outside).
    """

    def __init__(self, out: str, crop_size: tuple[int, int] = (256, 192), padding: float = 1.25,
                 fields: Iterable[str] = ("image", "keypoints", "boxes"), views: Sequence[str] | None = None,
                 box: str = "bbox_xyxy", min_mask_area_px: int = 1, min_visible_keypoints: int = 0,
                 rank: int | None = None, world_size: int | None = None,
                 transform: Callable[[dict], dict] | None = None):
        super().__init__(out, fields, views, rank, world_size, transform)
        if box not in ("bbox_xyxy", "bbox_visible_xyxy"):
            raise DatasetError(f"box: expected 'bbox_xyxy' or 'bbox_visible_xyxy', got {box!r}")
        if len(crop_size) != 2 or min(int(c) for c in crop_size) <= 0:
            raise DatasetError(f"crop_size: expected (height, width) in pixels, got {crop_size!r}")
        if not padding > 0:
            raise DatasetError(f"padding: expected a positive factor (1.25 = 25% margin), got {padding!r}")
        self.crop_size = (int(crop_size[0]), int(crop_size[1]))
        self.padding = float(padding)

        def per_view(si, sid, vname, vg):
            L = vg["labels"]
            area = L["mask_area_px"][()]
            boxes = L[box][()]
            nvis = L["keypoints_visible"][()].sum(axis=-1)
            refs = []
            for t in range(area.shape[0]):
                for p in range(area.shape[1]):
                    b = boxes[t, p]
                    if area[t, p] >= min_mask_area_px and nvis[t, p] >= min_visible_keypoints and np.isfinite(b).all():
                        refs.append(_PersonRef(_FrameRef(si, sid, vname, t), p, tuple(float(x) for x in b)))
            return refs

        self.index: list[_PersonRef] = self._build_index(per_view)

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int) -> dict[str, Any]:
        ref = self.index[i]
        s = self._read_frame(ref.frame, [ref.person])
        hw = self.crop_size
        A = crop_affine(np.array(ref.bbox_xyxy), hw, self.padding)
        s["index"] = int(i)
        s["person_index"] = ref.person
        s["crop_from_image"] = A.astype(np.float32)
        if "image" in s:
            s["image"] = _image_tensor(warp_affine(s["image"].astype(np.float32), A, hw).clip(0, 255))
        if "instance" in s:
            s["mask"] = warp_affine(s.pop("instance"), A, hw, nearest=True) == ref.person + 1
        if "depth_m" in s:
            s["depth_m"] = warp_affine(s["depth_m"], A, hw, nearest=True, fill=np.inf)
        if "K" in s:
            s["K_crop"] = (np.vstack([A, [0, 0, 1]]) @ s["K"]).astype(np.float64)
        for k in list(s):
            if k in ("body_model",):
                s[k] = s[k][0]
            elif k == "shape":
                s[k] = {n: v[0] for n, v in s[k].items()}
            elif isinstance(s[k], np.ndarray) and k in self._per_person_keys():
                s[k] = s[k][0]
        for key in ("keypoints_2d", "joints_2d"):
            if key in s:
                uv = s[key].astype(np.float64)
                s[key] = (uv @ A[:, :2].T + A[:, 2]).astype(np.float32)
        if "keypoints_2d" in s:
            uv = s["keypoints_2d"]
            s["keypoints_in_crop"] = (np.isfinite(uv).all(-1) & (uv[:, 0] >= -0.5) & (uv[:, 0] < hw[1] - 0.5)
                                      & (uv[:, 1] >= -0.5) & (uv[:, 1] < hw[0] - 0.5))
        for key in ("bbox_xyxy", "bbox_visible_xyxy"):
            if key in s:
                b = s[key].astype(np.float64)
                s[key] = np.concatenate([A[:, :2] @ b[:2] + A[:, 2], A[:, :2] @ b[2:] + A[:, 2]]).astype(np.float32)
        if self.transform is not None:
            s = self.transform(s)
        return _to_tensors(s)

    def _per_person_keys(self) -> set[str]:
        return set(self.labels) | {"pose_rotvec", "T_world_from_root", "vertices_world", "contact_ground",
                                   "contact_person"}


def collate(batch: list[dict[str, Any]]) -> dict[str, Any]:
    """Batch samples of either dataset.

    Tensors of equal shape are stacked. Tensors whose shapes differ only in the first axis (the
    people of a frame) are padded to the largest P — NaN for floats, False for bools, -1 for
    integers — and the batch gets ``person_valid`` (B, P_max) bool. Strings and other values
    become lists; ints become a tensor; nested dicts (``shape``) are collated key by key.
    """
    if not batch:
        raise DatasetError("collate: got an empty batch")
    out: dict[str, Any] = {}
    for key in batch[0]:
        vals = [b[key] for b in batch]
        v0 = vals[0]
        if isinstance(v0, dict):
            out[key] = collate(vals)
        elif isinstance(v0, torch.Tensor):
            shapes = {tuple(v.shape) for v in vals}
            if len(shapes) == 1:
                out[key] = torch.stack(vals)
            elif len({s[1:] for s in shapes}) == 1 and all(len(s) >= 1 for s in shapes):
                n = max(s[0] for s in shapes)
                fill = False if v0.dtype == torch.bool else (float("nan") if v0.dtype.is_floating_point else -1)
                padded = torch.full((len(vals), n, *v0.shape[1:]), fill, dtype=v0.dtype)
                for i, v in enumerate(vals):
                    padded[i, :v.shape[0]] = v
                out[key] = padded
            else:
                raise DatasetError(f"collate: {key!r} has shapes {sorted(shapes)} that differ beyond the first "
                                   "(people) axis; resize in a transform or use batch_size=1")
        elif isinstance(v0, bool) or not isinstance(v0, (int, float)):
            out[key] = vals
        else:
            out[key] = torch.tensor(vals)
    if "num_people" in out and isinstance(out["num_people"], torch.Tensor):
        n_max = int(out["num_people"].max()) if len(batch) else 0
        out["person_valid"] = torch.arange(n_max)[None, :] < out["num_people"][:, None]
    return out


__all__ = ["FIELD_GROUPS", "FrameDataset", "PersonCropDataset", "collate", "crop_affine", "warp_affine"]
