"""Gather per-person, per-view and per-contact statistics of a dataset from its HDF5 labels.

Reads only label arrays (never the images) of every shard listed in the dataset's manifest, through
``synth.io`` (``load_manifest``, ``fs.open_binary``), so it works on a local folder and on any fsspec URL a
cluster job wrote to (s3://, gs://, ...): h5py reads the needed chunks through the file object.

Measured quantities (see docs/contact.md, "synth stats"):

* per person: age (years, ``shape/age_years``), sex (Anny ``gender`` phenotype: < 0.5 male, else female;
  SMPL-X: its ``gender`` option), stature (m, the first frame's rest-like vertical extent is not used: the
  body model's ``compute_height`` where it has one, else the first frame's vertex z-range), BMI (mass /
  stature^2, mass = mesh volume of the first frame x 1010 kg/m^3, the mean density of the human body),
  motion source and clip;
* per person and view-frame: amodal box height (px), visible mask area (px), occlusion (1 - visible vertex
  fraction), keypoint visibility per keypoint;
* per view-frame: camera model, distance to the people (``root_distance_m``), pitch (degrees, the optical axis'
  elevation: negative looks down), horizontal field of view (degrees, ``2 atan(W / 2 fx)``; a pinhole-equivalent
  for fisheye models);
* per person-frame: for every ``contact_*`` label (ground, person, scene, self), which of the 24 body parts
  (``synth.bodies.parts.SEGMENT_NAMES``) have at least one vertex in contact; and which scene objects a person
  touches (names from the scene's ``environment["contact_objects"]``, the static meshes in label order).
"""

from __future__ import annotations

import json
import logging
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from synth.core.errors import DatasetError
from synth.io import fs
from synth.io.manifest import load_manifest
from synth.io.shards import FORMAT, FORMAT_VERSION

log = logging.getLogger(__name__)

BODY_DENSITY_KG_M3 = 1010.0


@dataclass
class DatasetStats:
    """Everything ``synth stats`` plots; lists hold one entry per person, per person-view-frame or per view-frame."""

    source: str
    scenes: int = 0
    shards: int = 0
    views: int = 0
    people: int = 0
    person: dict[str, list] = field(default_factory=lambda: defaultdict(list))       # age_years, sex, ...
    person_view: dict[str, list] = field(default_factory=lambda: defaultdict(list))  # bbox_height_px, ...
    view: dict[str, list] = field(default_factory=lambda: defaultdict(list))         # distance_m, pitch_deg, ...
    keypoint_names: list[str] = field(default_factory=list)
    keypoint_visible: np.ndarray | None = None      # (K,) count of visible
    keypoint_in_image: np.ndarray | None = None     # (K,) count of in-image
    keypoint_total: int = 0                          # person-view-frames counted for the two above
    part_names: list[str] = field(default_factory=list)
    contact_part_frames: dict[str, np.ndarray] = field(default_factory=dict)   # label -> (parts,) person-frames
    contact_any_frames: dict[str, int] = field(default_factory=dict)           # label -> person-frames with any
    contact_object_frames: Counter = field(default_factory=Counter)  # scene object name -> person-frames touching
    person_frames: int = 0
    motions: Counter = field(default_factory=Counter)
    clips: Counter = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)


def _mesh_volume_m3(vertices: np.ndarray, faces: np.ndarray) -> float:
    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces)
    return float(abs(np.einsum("ij,ij->i", v[f[:, 0]], np.cross(v[f[:, 1]], v[f[:, 2]])).sum()) / 6.0)


class _Bodies:
    """Body models by (name, options), loaded on first use for part labels and stature (None if unavailable)."""

    def __init__(self, stats: DatasetStats) -> None:
        self.cache: dict[str, Any] = {}
        self.stats = stats

    def get(self, model: str, options: dict) -> tuple[Any, np.ndarray | None]:
        key = json.dumps([model, options], sort_keys=True)
        if key not in self.cache:
            try:
                from synth.bodies.parts import vertex_segment_labels
                from synth.bodies.registry import get_body_model

                body = get_body_model(model, **{k: v for k, v in options.items() if k in ("topology", "rig")})
                self.cache[key] = (body, vertex_segment_labels(body))
            except Exception as err:  # the labels are still summarised, only parts and stature are missing
                self.stats.notes.append(f"body model {model} {options} not loadable here ({err}); contact per "
                                        "body part and stature from the model are left out for its people")
                self.cache[key] = (None, None)
        return self.cache[key]


def _camera_angles(K: np.ndarray, T_cam_from_world: np.ndarray, width: int) -> tuple[float, float]:
    """(pitch_deg, horizontal fov_deg) of an OpenCV camera (x right, y down, z forward)."""
    forward_world = np.asarray(T_cam_from_world)[2, :3]        # row 2 of R_cam_from_world = optical axis in world
    pitch = float(np.degrees(np.arcsin(np.clip(forward_world[2] / np.linalg.norm(forward_world), -1, 1))))
    fov = float(np.degrees(2.0 * np.arctan(width / (2.0 * float(K[0, 0])))))
    return pitch, fov


def _scene(g, bodies_g, stats: DatasetStats, bodies: _Bodies) -> None:
    import h5py  # noqa: F401  (the group comes from an open file)

    stats.scenes += 1
    T = int(g.attrs["frames"])
    objects = json.loads(g.attrs["environment"]).get("contact_objects", []) if "environment" in g.attrs else []
    kp_names: list[str] = []
    for pk in sorted(g["people"], key=int):
        pg = g["people"][pk]
        model = str(pg.attrs["body_model"])
        options = json.loads(pg.attrs["body_options"]) if "body_options" in pg.attrs else {}
        shape = {k: np.asarray(v[()]) for k, v in pg["shape"].items()}
        motion = json.loads(pg.attrs["motion"])
        body, parts = bodies.get(model, options)
        faces = bodies_g[model]["faces"][()]
        kp_names = json.loads(bodies_g[model].attrs["keypoint_names"])
        v0 = pg["vertices_world"][0]
        stats.people += 1
        stats.person["body_model"].append(model)
        stats.person["age_years"].append(float(shape["age_years"]) if "age_years" in shape else np.nan)
        if "gender" in shape:
            stats.person["sex"].append("female" if float(shape["gender"]) >= 0.5 else "male")
        else:
            stats.person["sex"].append(str(options.get("gender", "unknown")))
        stature = np.nan
        if body is not None and hasattr(body, "compute_height"):
            try:
                stature = float(body.compute_height(shape))
            except Exception:  # pragma: no cover - a model without a usable height for this shape
                stature = np.nan
        if not np.isfinite(stature):
            stature = float(v0[:, 2].max() - v0[:, 2].min())
        mass = _mesh_volume_m3(v0, faces) * BODY_DENSITY_KG_M3
        stats.person["stature_m"].append(stature)
        stats.person["mass_kg"].append(mass)
        stats.person["bmi"].append(mass / stature ** 2)
        stats.motions[str(motion.get("source", "unknown"))] += 1
        clip = motion.get("clip", {})
        if isinstance(clip, dict) and clip.get("name"):
            stats.clips[str(clip["name"])] += 1
        stats.person_frames += T
        if "contact_scene" in pg:
            touched = pg["contact_scene"][()]                            # (T, V) object index, -1
            for t in range(T):
                for i in np.unique(touched[t][touched[t] >= 0]):
                    stats.contact_object_frames[objects[i] if i < len(objects) else f"object {i}"] += 1
        for name in sorted(k for k in pg.keys() if k.startswith("contact_")):
            lab = pg[name][()]
            touching = lab if lab.dtype == bool else lab >= 0          # (T, V)
            stats.contact_any_frames[name] = stats.contact_any_frames.get(name, 0) + int(touching.any(1).sum())
            if parts is not None and touching.shape[1] == len(parts):
                n_parts = len(stats.part_names)
                per = np.zeros((T, n_parts), dtype=bool)
                t_idx, v_idx = np.nonzero(touching)
                per[t_idx, parts[v_idx]] = True
                acc = stats.contact_part_frames.setdefault(name, np.zeros(n_parts, dtype=np.int64))
                acc += per.sum(0)
    for vname in g["views"]:
        vg = g["views"][vname]
        W = int(vg.attrs["width"])
        K, Tcw = vg["K"][()], vg["T_cam_from_world"][()]
        lab = vg["labels"]
        dist = lab["root_distance_m"][()] if "root_distance_m" in lab else None
        for t in range(T):
            pitch, fov = _camera_angles(K[t], Tcw[t], W)
            stats.views += 1
            stats.view["camera_model"].append(str(vg.attrs["model"]))
            stats.view["pitch_deg"].append(pitch)
            stats.view["fov_deg"].append(fov)
            stats.view["people_in_view"].append(int(lab["mask_area_px"].shape[1]) if "mask_area_px" in lab else 0)
            if dist is not None:
                stats.view["distance_m"].extend(float(d) for d in dist[t])
        box = lab["bbox_xyxy"][()]                                   # (T, P, 4)
        stats.person_view["bbox_height_px"].extend(np.nan_to_num(box[..., 3] - box[..., 1], nan=0.0).ravel().tolist())
        if "mask_area_px" in lab:
            stats.person_view["mask_area_px"].extend(lab["mask_area_px"][()].ravel().tolist())
        if "vertex_visible_fraction" in lab:
            stats.person_view["occlusion"].extend((1.0 - lab["vertex_visible_fraction"][()]).ravel().tolist())
        if "keypoints_visible" in lab:
            vis, inim = lab["keypoints_visible"][()], lab["keypoints_in_image"][()]   # (T, P, K)
            if stats.keypoint_visible is None:
                stats.keypoint_names = kp_names
                stats.keypoint_visible = np.zeros(vis.shape[-1], dtype=np.int64)
                stats.keypoint_in_image = np.zeros(vis.shape[-1], dtype=np.int64)
            if vis.shape[-1] == len(stats.keypoint_visible):
                stats.keypoint_visible += vis.reshape(-1, vis.shape[-1]).sum(0)
                stats.keypoint_in_image += inim.reshape(-1, vis.shape[-1]).sum(0)
                stats.keypoint_total += vis.shape[0] * vis.shape[1]


def collect_stats(out: str, progress: bool = True) -> DatasetStats:
    """Statistics of the dataset at ``out`` (a folder or fsspec URL written by ``synth generate``)."""
    import h5py

    from synth.bodies.parts import SEGMENT_NAMES

    manifest = load_manifest(out)
    if not manifest.shards:
        raise DatasetError(f"{out}: the manifest lists no finished shard yet; nothing to report")
    stats = DatasetStats(source=str(out), part_names=list(SEGMENT_NAMES))
    bodies = _Bodies(stats)
    records = sorted(manifest.shards, key=lambda s: s.shard_index)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=sum(r.n_scenes for r in records), unit="scene", desc="stats", leave=False)
    for rec in records:
        url = fs.join(out, "shards", rec.name)
        if not fs.exists(url):
            raise DatasetError(f"{url}: listed in the manifest but missing; re-run the job to regenerate it")
        with fs.open_binary(url) as fobj, h5py.File(fobj, "r") as f:
            if f.attrs.get("format") != FORMAT or int(f.attrs.get("format_version", -1)) != FORMAT_VERSION:
                raise DatasetError(f"{url}: not a synth shard of format version {FORMAT_VERSION}")
            stats.shards += 1
            for sid in sorted(f["scenes"], key=lambda s: int(f["scenes"][s].attrs["scene_index"])):
                _scene(f["scenes"][sid], f["bodies"], stats, bodies)
                if bar is not None:
                    bar.update(1)
    if bar is not None:
        bar.close()
    if not manifest.complete:
        stats.notes.append(f"partial dataset: {len(manifest.shards)} of {manifest.shards_total} shards finished")
    return stats
