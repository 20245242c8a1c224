"""``SceneSpec``: one scene with every random choice already drawn (plain, frozen data).

Cheap to send to a worker; the same recipe, seed and scene index always give
the same spec, whichever worker draws it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from synth.cameras.rigs import RigJitter
from synth.clothing.appearance import Outfit
from synth.clothing.outfit import GarmentSpec
from synth.environment.spec import EnvironmentSpec


@dataclass(frozen=True)
class RenderSpec:
    """How a scene is rendered (Cycles), drawn from the recipe's ``render`` section.

    samples : samples per pixel (the maximum when adaptive sampling is on).
    denoise : run OpenImageDenoise on the RGB (label passes are never denoised).
    adaptive_threshold : Cycles' adaptive sampling noise threshold; 0 = off (exactly ``samples`` per pixel).
    adaptive_min_samples : samples before adaptive sampling may stop a pixel (0 = Cycles' automatic choice).
    threads : CPU render threads, None = all cores.
    device : ``"auto"``, ``"cpu"`` or ``"gpu"``.
    """

    samples: int = 16
    denoise: bool = False
    adaptive_threshold: float = 0.0
    adaptive_min_samples: int = 0
    threads: int | None = None
    device: str = "auto"


@dataclass(frozen=True)
class PersonSpec:
    """One person: body model, shape, motion, placement and appearance seed.

    pose_rotvec : (T, J, 3) float32 radians, local joint rotations per frame
    T_world_from_root : (T, 4, 4) float64, root placement per frame (already includes the
        person's position and heading on the ground)
    """

    body_model: str
    body_options: dict[str, Any]
    shape: dict[str, np.ndarray]
    motion_source: str
    motion_meta: dict[str, Any]
    pose_rotvec: np.ndarray
    T_world_from_root: np.ndarray
    outfit: Outfit                # drawn skin tone, garment colours and lengths (synth.clothing.appearance)
    extra: dict[str, np.ndarray] = field(default_factory=dict)  # e.g. facial_actions (T, 52), expression (T, n)
    garments: tuple[GarmentSpec, ...] = ()  # drawn garments, hair, eyebrows (synth.clothing.outfit); () = painted look


@dataclass(frozen=True)
class CameraSpec:
    """One view: its name, rig, lens model, rig parameters and the rig's random draws (all drawn values).

    params : plain numbers and lists (stored with the view in the shards).
    jitter : the rig's draws (look-at offset, shake waves, overhead yaw/offset, mount error), made in
        ``sample_scene`` from the camera's own stream ``params['rig_seed']``.
    """

    name: str
    rig: str
    model: str
    params: dict[str, Any]
    jitter: RigJitter = field(default_factory=RigJitter)


@dataclass(frozen=True)
class SceneSpec:
    scene_index: int
    scene_id: str
    seed: int            # 32-bit integer derived from SeedSequence([job_seed, scene_index])
    frames: int
    fps: float
    width: int
    height: int
    people: tuple[PersonSpec, ...]
    cameras: tuple[CameraSpec, ...]
    environment: EnvironmentSpec
    render: RenderSpec = RenderSpec()
    meta: dict[str, Any] = field(default_factory=dict)
