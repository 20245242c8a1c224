"""Photographed worlds: the eight CC0 HDRIs bundled with the ``bpy`` wheel, and user HDRIs from a folder.

The bundled ones (Poly Haven originals, CC0; ``license.txt`` beside them) live in
``bpy/<version>/datafiles/studiolights/world/``; they are found through the installed package's
location, without importing ``bpy`` (which costs ~0.5 s and 256 MiB).

Exposure: a photo is stored at its own absolute radiance (city at noon is 14x brighter than the
night golf course). The renderer's Background strength is ``exposure_scale * drawn strength`` where
``exposure_scale = min(TARGET_ILLUMINANCE / E_h, TARGET_MEAN_RADIANCE / L_mean)``, ``E_h`` the photo's
horizontal illuminance (the integral of radiance x cos over the upper hemisphere) and ``L_mean`` its
mean radiance. ``TARGET_ILLUMINANCE`` = 3 matches the sun + sky exposure of the procedural worlds;
the second bound keeps bright skies (courtyard, sunset) from burning out. A drawn strength of 1 looks
like an auto-exposed photo.

Ground: a shadow-catcher plane keeps the photo's own ground visible and darkens it where people
cast shadows (``tests/test_environment_hdri.py`` measures it); the alternative ``matched`` ground is
opaque with the albedo that reproduces the photo's ground radiance under the photo's light,
``albedo = pi * L_ground / E_h`` (clipped to [0.02, 0.9]; ``L_ground``: mean radiance 8-45 degrees
below the horizon).
"""

from __future__ import annotations

import importlib.util
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from synth.core.errors import AssetError, RecipeError

#: Horizontal illuminance (Blender units) a drawn strength of 1 gives at most ...
TARGET_ILLUMINANCE = 3.0
#: ... and the mean background radiance it gives at most (a bright sky must not burn out).
TARGET_MEAN_RADIANCE = 0.6
#: File types Cycles reads as HDR environment maps.
HDRI_SUFFIXES = (".exr", ".hdr")
GROUND_MODES = ("shadow_catcher", "matched", "none")


@dataclass(frozen=True)
class HdriFacts:
    """Measured facts about one equirectangular HDRI (linear Rec.709 radiance)."""

    illuminance_h: float                       # E_h: upper-hemisphere radiance x sin(elevation), integrated
    mean_radiance: float                       # luminance averaged over the sphere (solid-angle weighted)
    ground_radiance: tuple[float, float, float]  # mean radiance 8-45 degrees below the horizon
    indoor: bool

    @property
    def exposure_scale(self) -> float:
        """Background strength for a drawn strength of 1: like auto-exposure, the light on people reaches
        ``TARGET_ILLUMINANCE`` unless the background would exceed ``TARGET_MEAN_RADIANCE`` first."""
        return min(TARGET_ILLUMINANCE / max(self.illuminance_h, 1e-6),
                   TARGET_MEAN_RADIANCE / max(self.mean_radiance, 1e-6))

    @property
    def ground_albedo(self) -> tuple[float, float, float]:
        a = np.clip(math.pi * np.asarray(self.ground_radiance) / max(self.illuminance_h, 1e-6), 0.02, 0.9)
        return tuple(float(x) for x in a)


#: Measured with ``measure_hdri`` on the bpy 5.0.1 wheel's files (1024 x 512, DWAB-compressed EXR);
#: ``tests/test_environment_hdri.py`` re-measures them.
BUNDLED_HDRIS: dict[str, HdriFacts] = {
    "city": HdriFacts(6.836, 0.936, (0.2241, 0.2024, 0.1488), False),
    "courtyard": HdriFacts(2.124, 0.765, (0.7457, 0.4353, 0.2452), False),
    "forest": HdriFacts(4.736, 0.774, (0.1737, 0.1396, 0.0934), False),
    "interior": HdriFacts(5.633, 0.973, (0.4389, 0.4397, 0.5029), True),
    "night": HdriFacts(0.499, 0.165, (0.0146, 0.0098, 0.0074), False),
    "studio": HdriFacts(1.517, 0.771, (0.0263, 0.0335, 0.0335), True),
    "sunrise": HdriFacts(1.662, 0.649, (0.1115, 0.0855, 0.0202), False),
    "sunset": HdriFacts(2.185, 0.494, (0.1770, 0.1608, 0.1694), False),
}


def bundled_hdri_dir() -> Path:
    """The folder of the bpy wheel's studio-light worlds; AssetError when bpy is not installed or lacks it."""
    spec = importlib.util.find_spec("bpy")
    if spec is None or not spec.submodule_search_locations:
        raise AssetError("environment.hdri: the bundled HDRIs ship with the bpy wheel, which is not installed; "
                         "install it with `pip install synth[render]` or give environment.hdri.folder")
    for root in spec.submodule_search_locations:
        found = sorted(Path(root).glob("*/datafiles/studiolights/world"))
        if found:
            return found[-1]
    raise AssetError(f"environment.hdri: no datafiles/studiolights/world folder inside the bpy package at "
                     f"{list(spec.submodule_search_locations)}; reinstall bpy==5.0.1 or give environment.hdri.folder")


def bundled_hdri_path(name: str) -> Path:
    if name not in BUNDLED_HDRIS:
        raise RecipeError(f"environment.hdri.names: unknown bundled HDRI {name!r}; expected any of "
                          f"{sorted(BUNDLED_HDRIS)} (or give environment.hdri.folder for your own)")
    path = bundled_hdri_dir() / f"{name}.exr"
    if not path.is_file():
        raise AssetError(f"environment.hdri: bundled HDRI {path} is missing; reinstall bpy==5.0.1")
    return path


def list_hdri_folder(folder: str | os.PathLike) -> list[Path]:
    """The .exr/.hdr files directly in ``folder``, sorted by name; RecipeError when there are none."""
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise RecipeError(f"environment.hdri.folder: {str(root)!r} is not a folder; give a folder of "
                          f"equirectangular {'/'.join(HDRI_SUFFIXES)} files")
    files = sorted(p.resolve() for p in root.iterdir() if p.suffix.lower() in HDRI_SUFFIXES and p.is_file())
    if not files:
        raise RecipeError(f"environment.hdri.folder: {str(root)!r} holds no {'/'.join(HDRI_SUFFIXES)} files; "
                          "put equirectangular HDR images there")
    return files


def load_hdri_pixels(path: str | os.PathLike) -> np.ndarray:
    """(H, W, 3) float32 linear RGB of an equirectangular .exr/.hdr (OpenCV's reader)."""
    os.environ.setdefault("OPENCV_IO_ENABLE_OPENEXR", "1")
    try:
        import cv2
    except ImportError as exc:
        raise AssetError(f"environment.hdri.folder: measuring {path} needs OpenCV ({exc}); install "
                         "opencv-contrib-python (synth[train]) or set environment.hdri.normalize: false") from exc
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None or img.ndim != 3 or img.shape[2] < 3:
        raise AssetError(f"environment.hdri: could not read {path} as an RGB HDR image; expected an "
                         "equirectangular .exr or .hdr")
    return np.ascontiguousarray(img[..., 2::-1], dtype=np.float32)


def measure_hdri(pixels: np.ndarray, indoor: bool = False) -> HdriFacts:
    """Facts of an equirectangular image (H, W, 3) linear RGB: row 0 is the zenith, the middle row the horizon."""
    img = np.asarray(pixels, dtype=np.float64)
    H, W, _ = img.shape
    elevation = math.pi / 2 - (np.arange(H) + 0.5) / H * math.pi
    solid_angle = (math.pi / H) * (2 * math.pi / W) * np.cos(elevation)      # per pixel of each row
    lum = img @ np.array([0.2126, 0.7152, 0.0722])
    up = elevation > 0
    e_h = float((lum[up] * (np.sin(elevation) * solid_angle)[up, None]).sum())
    mean_l = float((lum * solid_angle[:, None]).sum() / (4 * math.pi))
    band = (elevation < -math.radians(8)) & (elevation > -math.radians(45))
    ground = (img[band] * solid_angle[band, None, None]).sum((0, 1)) / (solid_angle[band].sum() * W)
    return HdriFacts(e_h, mean_l, tuple(float(round(g, 4)) for g in ground), indoor)


def hdri_facts(path: Path, name: str | None, normalize: bool) -> HdriFacts:
    """Bundled facts by name, else measured from the file (or unit exposure when ``normalize`` is off)."""
    if name is not None and name in BUNDLED_HDRIS:
        return BUNDLED_HDRIS[name]
    if not normalize:
        return HdriFacts(TARGET_ILLUMINANCE, TARGET_MEAN_RADIANCE, (0.1, 0.1, 0.1), False)
    return measure_hdri(load_hdri_pixels(path))


def list_hdri_asset(asset_id: str) -> list[Path]:
    """The files of the ``assets_manifest/`` entry ``asset_id`` (kind ``hdri``) found on this machine, sorted.

    RecipeError for an unknown id or another kind; AssetError when a required file is missing or none is found
    (the message names the entry's env var / folder and its how-to).
    """
    from synth.assets.manifest import load_manifest

    entries = load_manifest()
    if asset_id not in entries:
        raise RecipeError(f"environment.hdri.asset: no assets_manifest entry {asset_id!r}; expected one of "
                          f"{sorted(k for k, e in entries.items() if e.kind == 'hdri')} (kind hdri)")
    entry = entries[asset_id]
    if entry.kind != "hdri":
        raise RecipeError(f"environment.hdri.asset: entry {asset_id!r} is of kind {entry.kind!r}; expected kind hdri")
    found, missing = [], []
    for f in entry.files:
        path = entry.find_file(f.name)
        if path is not None:
            found.append(path.resolve())
        elif f.required:
            missing.append(f.name)
    where = f"${entry.env_var}" if entry.env_var else (entry.default_dir or "no folder")
    if missing or not found:
        raise AssetError(f"environment.hdri.asset {asset_id!r}: files {missing or [f.name for f in entry.files]} not "
                         f"found in {where}; {entry.how_to_get or 'put the files there'}")
    return sorted(found)
