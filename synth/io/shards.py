"""HDF5 shards: a group of whole scenes, written atomically (see docs/format.md).

Layout (FORMAT_VERSION 1)::

    /                       attrs: format, format_version, synth_version, shard_index, scene_indices
    /bodies/<model>/        faces (F,3) int32; attrs joint_names, keypoint_names (JSON), joint_parents
    /scenes/<scene_id>/     attrs: scene_index, seed, frames, fps, width, height, environment (JSON)
        people/<p>/         attrs body_model, body_options, motion, clothing (JSON); shape/<name>; pose_rotvec (T,J,3);
                            T_world_from_root (T,4,4); vertices_world (T,V,3); joints_world (T,J,3);
                            keypoints_world (T,K,3); contact_ground (T,V) bool; contact_person (T,V) int8
        views/<camera>/     attrs model, rig, width, height, params (JSON);
                            K (T,3,3); dist (T,D); T_cam_from_world (T,4,4);
                            rgb_png (T,) PNG bytes; instance (T,H,W) uint16; depth_m (T,H,W) float32;
                            segment (T,H,W) uint16 (clothing class per pixel; optional);
                            labels/<name> (T,P,...)
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from dataclasses import dataclass, field
from typing import Any

import h5py
import numpy as np

FORMAT = "synth-shard"
FORMAT_VERSION = 1
_GZ = {"compression": "gzip", "compression_opts": 4, "shuffle": True}


def shard_name(shard_index: int) -> str:
    return f"shard-{shard_index:06d}.h5"


#: zlib level of the frame PNGs: 3 encodes a 256 px render in a third of level 6's CPU time (5.5 vs 16.8 ms)
#: for ~8 % more bytes; the pixels are the same (PNG is lossless)
PNG_COMPRESS_LEVEL = 3


def encode_png(rgb: np.ndarray, compress_level: int = PNG_COMPRESS_LEVEL) -> np.ndarray:
    """(N,) uint8 PNG bytes of an (H, W, 3|4) uint8 image (lossless; ``decode_png`` gives the pixels back)."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb)).save(buf, format="PNG", compress_level=compress_level)
    return np.frombuffer(buf.getvalue(), dtype=np.uint8)


def decode_png(blob: np.ndarray) -> np.ndarray:
    import imageio.v3 as iio

    return iio.imread(io.BytesIO(np.asarray(blob, dtype=np.uint8).tobytes()), extension=".png")


def sha256_file(path: str, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(chunk)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def _json_default(o: Any):
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, tuple):
        return list(o)
    raise TypeError(f"not JSON serialisable: {type(o)}")


def to_json(obj: Any) -> str:
    return json.dumps(obj, default=_json_default)


@dataclass
class ViewData:
    """One camera's frames of one scene."""

    name: str
    model: str
    rig: str
    width: int
    height: int
    params: dict[str, Any]
    K: np.ndarray                 # (T, 3, 3)
    dist: np.ndarray              # (T, D)
    T_cam_from_world: np.ndarray  # (T, 4, 4)
    rgb: list[np.ndarray]         # T x (H, W, 3) uint8
    instance: np.ndarray          # (T, H, W) uint16
    depth_m: np.ndarray           # (T, H, W) float32
    labels: dict[str, np.ndarray]  # name -> (T, P, ...)
    segment: np.ndarray | None = None  # (T, H, W) uint16 clothing class per pixel (SEGMENT_CLASSES), None = not rendered


@dataclass
class PersonData:
    body_model: str
    body_options: dict[str, Any]
    motion: dict[str, Any]
    shape: dict[str, np.ndarray]
    pose_rotvec: np.ndarray
    T_world_from_root: np.ndarray
    vertices_world: np.ndarray
    joints_world: np.ndarray
    keypoints_world: np.ndarray
    extra: dict[str, np.ndarray]
    contact_ground: np.ndarray | None = None   # (T, V) bool
    contact_person: np.ndarray | None = None   # (T, V) int8, -1 = none
    #: further dense contact labels by dataset name (synth.groundtruth.contact.compute_contact_labels):
    #: contact_self (T, V) int32, contact_scene (T, V) int32, scene_penetration_m (T,) float32
    contact_more: dict[str, np.ndarray] = field(default_factory=dict)
    #: the person's drawn garments, hair and eyebrows (synth.clothing.outfit.GarmentSpec.to_dict()); [] = none
    clothing: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class SceneData:
    scene_index: int
    scene_id: str
    seed: int
    frames: int
    fps: float
    width: int
    height: int
    environment: dict[str, Any]
    people: list[PersonData]
    views: list[ViewData]


@dataclass
class BodyTopology:
    name: str
    faces: np.ndarray
    joint_names: list[str]
    joint_parents: np.ndarray
    keypoint_names: list[str]


def write_shard(path: str, shard_index: int, scenes: list[SceneData], bodies: list[BodyTopology],
                synth_version: str) -> None:
    """Write a complete shard to ``path`` (a local temp path; publish it with ``synth.io.fs.publish_file``)."""
    with h5py.File(path, "w") as f:
        f.attrs["format"] = FORMAT
        f.attrs["format_version"] = FORMAT_VERSION
        f.attrs["synth_version"] = synth_version
        f.attrs["shard_index"] = shard_index
        f.attrs["scene_indices"] = np.array([s.scene_index for s in scenes], dtype=np.int64)
        gb = f.create_group("bodies")
        for b in bodies:
            g = gb.create_group(b.name)
            g.create_dataset("faces", data=np.asarray(b.faces, dtype=np.int32), **_GZ)
            g.create_dataset("joint_parents", data=np.asarray(b.joint_parents, dtype=np.int32))
            g.attrs["joint_names"] = to_json(list(b.joint_names))
            g.attrs["keypoint_names"] = to_json(list(b.keypoint_names))
        gs = f.create_group("scenes")
        for s in scenes:
            g = gs.create_group(s.scene_id)
            for k in ("scene_index", "seed", "frames", "fps", "width", "height"):
                g.attrs[k] = getattr(s, k)
            g.attrs["environment"] = to_json(s.environment)
            gp = g.create_group("people")
            for i, p in enumerate(s.people):
                pg = gp.create_group(str(i))
                pg.attrs["body_model"] = p.body_model
                pg.attrs["body_options"] = to_json(p.body_options)
                pg.attrs["motion"] = to_json(p.motion)
                pg.attrs["clothing"] = to_json(list(p.clothing))
                sg = pg.create_group("shape")
                for k, v in p.shape.items():
                    sg.create_dataset(k, data=np.asarray(v))
                eg = pg.create_group("extra")
                for k, v in p.extra.items():
                    eg.create_dataset(k, data=np.asarray(v))
                pg.create_dataset("pose_rotvec", data=np.asarray(p.pose_rotvec, dtype=np.float32), **_GZ)
                pg.create_dataset("T_world_from_root", data=np.asarray(p.T_world_from_root, dtype=np.float64))
                pg.create_dataset("vertices_world", data=np.asarray(p.vertices_world, dtype=np.float32), **_GZ)
                pg.create_dataset("joints_world", data=np.asarray(p.joints_world, dtype=np.float32), **_GZ)
                pg.create_dataset("keypoints_world", data=np.asarray(p.keypoints_world, dtype=np.float32))
                if p.contact_ground is not None:
                    pg.create_dataset("contact_ground", data=np.asarray(p.contact_ground, dtype=bool), **_GZ)
                if p.contact_person is not None:
                    pg.create_dataset("contact_person", data=np.asarray(p.contact_person, dtype=np.int8), **_GZ)
                for k, v in p.contact_more.items():
                    pg.create_dataset(k, data=np.asarray(v), **_GZ)
            gv = g.create_group("views")
            for v in s.views:
                vg = gv.create_group(v.name)
                vg.attrs["model"] = v.model
                vg.attrs["rig"] = v.rig
                vg.attrs["width"] = v.width
                vg.attrs["height"] = v.height
                vg.attrs["params"] = to_json(v.params)
                vg.create_dataset("K", data=np.asarray(v.K, dtype=np.float64))
                vg.create_dataset("dist", data=np.asarray(v.dist, dtype=np.float64))
                vg.create_dataset("T_cam_from_world", data=np.asarray(v.T_cam_from_world, dtype=np.float64))
                dt = h5py.vlen_dtype(np.dtype("uint8"))
                ds = vg.create_dataset("rgb_png", shape=(len(v.rgb),), dtype=dt)
                for t, img in enumerate(v.rgb):
                    ds[t] = encode_png(img)
                vg.create_dataset("instance", data=np.asarray(v.instance, dtype=np.uint16), **_GZ)
                vg.create_dataset("depth_m", data=np.asarray(v.depth_m, dtype=np.float32), **_GZ)
                if v.segment is not None:
                    vg.create_dataset("segment", data=np.asarray(v.segment, dtype=np.uint16), **_GZ)
                lg = vg.create_group("labels")
                for k, arr in v.labels.items():
                    lg.create_dataset(k, data=np.asarray(arr))
        f.flush()
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())
