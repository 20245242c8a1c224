"""Read a dataset: ``open_dataset(OUT)`` iterates frames with images and labels."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterator

import h5py
import numpy as np

from synth.cameras.base import CameraModel
from synth.core.errors import DatasetError
from synth.io import fs
from synth.io.manifest import Manifest, load_manifest
from synth.io.shards import FORMAT, FORMAT_VERSION, decode_png, sha256_file


@dataclass
class Frame:
    """One view of one frame of one scene."""

    scene_id: str
    scene_index: int
    frame_index: int
    view: str
    rgb: np.ndarray               # (H, W, 3) uint8
    instance: np.ndarray          # (H, W) uint16, 0 = no person, k = person k-1
    depth_m: np.ndarray           # (H, W) float32 range, inf = nothing
    camera: CameraModel
    labels: dict[str, np.ndarray]  # (P, ...) per person
    keypoint_names: list[str]
    joint_names: list[str]
    people: list[dict[str, Any]]   # per person: body_model, body_options, shape, pose_rotvec (J,3), vertices_world, ...
    faces: list[np.ndarray]        # per person (F, 3)
    segment: np.ndarray | None = None  # (H, W) uint16 clothing class per pixel (synth.clothing.garment.SEGMENT_CLASSES)


def check_shard(path: str) -> None:
    with h5py.File(path, "r") as f:
        if f.attrs.get("format") != FORMAT:
            raise DatasetError(f"{path}: not a synth shard (format={f.attrs.get('format')!r})")
        if int(f.attrs.get("format_version", -1)) != FORMAT_VERSION:
            raise DatasetError(f"{path}: shard format_version {f.attrs.get('format_version')}, expected {FORMAT_VERSION}")


class Dataset:
    """A finished (or partial) dataset folder written by ``synth generate``."""

    def __init__(self, out: str, verify: bool = False):
        self.out = str(out)
        self.manifest: Manifest = load_manifest(self.out)
        if fs.is_remote(self.out):
            raise DatasetError(f"{out}: reading remote datasets directly is not supported yet; copy it locally first")
        if verify:
            self.verify()

    def shard_paths(self) -> list[str]:
        return [fs.join(self.out, "shards", s.name) for s in sorted(self.manifest.shards, key=lambda s: s.shard_index)]

    def verify(self) -> None:
        """Check every listed shard: it exists as a regular file inside ``shards/``, matches its sha256, and
        holds the shard index, scenes and frame count its record says; raise DatasetError otherwise.
        (The manifest's own structure is checked on open: see ``load_manifest``.)"""
        import os

        shards_dir = os.path.realpath(fs.join(self.out, "shards"))
        for rec in self.manifest.shards:
            path = fs.join(self.out, "shards", rec.name)
            if not fs.exists(path):
                raise DatasetError(f"{path}: listed in the manifest but missing; re-run the job to regenerate it")
            if os.path.dirname(os.path.realpath(path)) != shards_dir or not os.path.isfile(path):
                raise DatasetError(f"{path}: not a regular file inside {shards_dir} (a link elsewhere?); the dataset "
                                   "folder was tampered with")
            digest = sha256_file(path)
            if digest != rec.sha256:
                raise DatasetError(f"{path}: sha256 {digest[:12]}... does not match the manifest's {rec.sha256[:12]}...")
            check_shard(path)
            with h5py.File(path, "r") as f:
                index = int(f.attrs.get("shard_index", -1))
                scenes = [int(x) for x in np.asarray(f.attrs.get("scene_indices", []))]
                frames = sum(int(g.attrs["frames"]) * len(g["views"]) for g in f["scenes"].values())
            if index != rec.shard_index or scenes != rec.scene_indices or frames != rec.n_frames:
                raise DatasetError(f"{path}: holds shard {index}, scenes {scenes[:8]}, {frames} views; the manifest "
                                   f"says shard {rec.shard_index}, scenes {rec.scene_indices[:8]}, {rec.n_frames} views")

    def __len__(self) -> int:
        return sum(s.n_frames for s in self.manifest.shards)

    def __iter__(self) -> Iterator[Frame]:
        for path in self.shard_paths():
            yield from iter_shard_frames(path)


#: per-person contact datasets beyond contact_ground / contact_person, when the shard has them
CONTACT_MORE = ("contact_self", "contact_scene", "scene_penetration_m")


def _json_attr(obj, key: str):
    return json.loads(obj.attrs[key])


def iter_shard_frames(path: str) -> Iterator[Frame]:
    check_shard(path)
    with h5py.File(path, "r") as f:
        bodies = {name: {"faces": g["faces"][()], "joint_names": _json_attr(g, "joint_names"),
                         "keypoint_names": _json_attr(g, "keypoint_names")} for name, g in f["bodies"].items()}
        for sid in sorted(f["scenes"], key=lambda s: int(f["scenes"][s].attrs["scene_index"])):
            g = f["scenes"][sid]
            people_g = [g["people"][k] for k in sorted(g["people"], key=int)]
            T = int(g.attrs["frames"])
            people_static = []
            for pg in people_g:
                people_static.append({
                    "body_model": pg.attrs["body_model"],
                    "body_options": _json_attr(pg, "body_options") if "body_options" in pg.attrs else None,
                    "shape": {k: v[()] for k, v in pg["shape"].items()},
                    "extra": {k: v[()] for k, v in pg["extra"].items()},
                    "motion": json.loads(pg.attrs["motion"]),
                    "clothing": json.loads(pg.attrs["clothing"]) if "clothing" in pg.attrs else [],
                    "pose_rotvec": pg["pose_rotvec"][()],
                    "T_world_from_root": pg["T_world_from_root"][()],
                    "vertices_world": pg["vertices_world"],
                    "joints_world": pg["joints_world"][()],
                    "keypoints_world": pg["keypoints_world"][()],
                    "contact_ground": pg["contact_ground"] if "contact_ground" in pg else None,
                    "contact_person": pg["contact_person"] if "contact_person" in pg else None,
                    "contact_more": {k: pg[k] for k in CONTACT_MORE if k in pg},
                })
            first_model = people_static[0]["body_model"] if people_static else next(iter(bodies), None)
            kp_names = bodies[first_model]["keypoint_names"] if first_model else []
            j_names = bodies[first_model]["joint_names"] if first_model else []
            for t in range(T):
                people_t = [{
                    "body_model": p["body_model"], "body_options": p["body_options"], "shape": p["shape"],
                    "extra": p["extra"], "motion": p["motion"], "clothing": p["clothing"],
                    "pose_rotvec": p["pose_rotvec"][t], "T_world_from_root": p["T_world_from_root"][t],
                    "vertices_world": p["vertices_world"][t], "joints_world": p["joints_world"][t],
                    "keypoints_world": p["keypoints_world"][t],
                    "contact_ground": None if p["contact_ground"] is None else p["contact_ground"][t],
                    "contact_person": None if p["contact_person"] is None else p["contact_person"][t],
                    **{k: v[t] for k, v in p["contact_more"].items()},
                } for p in people_static]
                faces = [bodies[p["body_model"]]["faces"] for p in people_static]
                for vname in g["views"]:
                    vg = g["views"][vname]
                    cam = CameraModel.from_record({
                        "model": vg.attrs["model"], "K": vg["K"][t], "dist": vg["dist"][t],
                        "T_cam_from_world": vg["T_cam_from_world"][t],
                        "width": int(vg.attrs["width"]), "height": int(vg.attrs["height"]),
                    })
                    yield Frame(
                        scene_id=sid, scene_index=int(g.attrs["scene_index"]), frame_index=t, view=vname,
                        rgb=decode_png(vg["rgb_png"][t]), instance=vg["instance"][t], depth_m=vg["depth_m"][t],
                        camera=cam, labels={k: v[t] for k, v in vg["labels"].items()},
                        keypoint_names=kp_names, joint_names=j_names, people=people_t, faces=faces,
                        segment=vg["segment"][t] if "segment" in vg else None,
                    )


def open_dataset(out: str, verify: bool = False) -> Dataset:
    """Open the dataset in folder ``out`` (written by ``synth generate``)."""
    return Dataset(out, verify=verify)
