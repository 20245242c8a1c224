"""Recipe schema v1: what a user writes in YAML (distributions, not values).

Validated with pydantic v2; every model forbids unknown keys. See
``docs/recipes.md`` for a field-by-field description and ``scenes/demo.yaml``
for an example.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from synth.recipe.distributions import Choice, Normal, NumberDist, Uniform, dist_bounds

SCHEMA_VERSION = 1

#: the most scenes one job may plan (its shard plan and manifest stay a few tens of MB); split bigger
#: datasets into several jobs with different seeds
MAX_SCENES = 1_000_000
MAX_SEED = 2**63 - 1


class _Strict(BaseModel):
    # strict: no coercion (``scenes: true`` is not 1, ``width: "64"`` is not 64); finite numbers only
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


#: a path written as a YAML string (strict mode would want a Path object)
PathStr = Annotated[Path, Field(strict=False)]


def _check_dist_within(name: str, dist, low: float | None = None, high: float | None = None) -> None:
    lo, hi = dist_bounds(dist)
    if low is not None and lo < low:
        raise ValueError(f"{name} can reach {lo}, below the minimum {low}")
    if high is not None and hi > high:
        raise ValueError(f"{name} can reach {hi}, above the maximum {high}")


def _within(*fields: str, low: float | None = None, high: float | None = None):
    """A field validator: the distribution of each field stays within [low, high]."""

    def check(cls, v, info):
        if v is not None:
            _check_dist_within(info.field_name, v, low, high)
        return v

    return field_validator(*fields)(classmethod(check))


class ImageSpec(_Strict):
    width: int = Field(gt=0, le=8192, description="pixels")
    height: int = Field(gt=0, le=8192, description="pixels")


class RenderSettings(_Strict):
    samples: int = Field(16, gt=0, le=4096, description="Cycles samples per pixel (the maximum with adaptive sampling)")
    denoise: bool = Field(False, description="OpenImageDenoise on the RGB; masks and depth are never denoised")
    adaptive_threshold: float = Field(0.0, ge=0.0, le=1.0,
                                      description="Cycles adaptive sampling noise threshold; 0 = off")
    adaptive_min_samples: int = Field(0, ge=0, le=4096,
                                      description="samples before adaptive sampling may stop (0 = Cycles' choice)")
    threads: int | None = Field(None, gt=0, description="CPU threads for Cycles (default: all cores)")
    device: Literal["auto", "cpu", "gpu"] = Field("auto", description="auto: a GPU when Cycles finds one, else the CPU")


class ShapeSettings(_Strict):
    """Body shape distribution.

    Anny: the age is drawn from ``age_years`` (or ``child_age_years`` for a child); the
    other phenotypes come from Anny's age- and sex-calibrated distributions (WHO height
    curves) unless ``weight`` / ``muscle`` are given. SMPL-X uses ``betas_std``.
    """

    age_years: NumberDist = Uniform(uniform=(18.0, 70.0))
    child_fraction: float = Field(0.0, ge=0.0, le=1.0,
                                  description="probability that a person is a child (age drawn from child_age_years)")
    child_age_years: NumberDist = Uniform(uniform=(2.0, 12.0))
    gender: NumberDist | None = Field(None, description="Anny phenotype 0 female .. 1 male; default 50:50 male/female")
    height_scale: float = Field(1.0, ge=0.0, le=3.0, description="spread of heights around the age/sex mean")
    weight: NumberDist | None = Field(None, description="Anny phenotype in [0, 1]; default age/sex-calibrated")
    muscle: NumberDist | None = Field(None, description="Anny phenotype in [0, 1]; default age/sex-calibrated")
    betas_std: float = Field(1.0, ge=0.0, description="SMPL-X betas ~ N(0, betas_std)")

    _ages = _within("age_years", "child_age_years", low=0.0, high=110.0)
    _unit = _within("gender", "weight", "muscle", low=0.0, high=1.0)


MOTION_SOURCES = ("static", "pose", "walk", "run", "idle", "wave", "squat", "reach", "jump", "turn", "bvh", "pybullet", "amass")


class MotionSettings(_Strict):
    """Which motion each person performs, and its parameters."""

    source: Union[Literal[MOTION_SOURCES], Choice] = "static"  # type: ignore[valid-type]
    speed_mps: NumberDist = Uniform(uniform=(0.8, 1.6))
    run_speed_mps: NumberDist = Uniform(uniform=(2.5, 4.0))
    files: list[PathStr] = Field(default_factory=list, description="BVH / AMASS .npz files for the bvh/amass sources")
    clips: list[str] = Field(default_factory=list, description="pybullet clip names (e.g. humanoid3d_walk)")

    _speeds = _within("speed_mps", "run_speed_mps", low=0.0, high=15.0)

    @field_validator("source")
    @classmethod
    def _known_sources(cls, v):
        if isinstance(v, Choice):
            bad = [c for c in v.choice if c not in MOTION_SOURCES]
            if bad:
                raise ValueError(f"unknown motion source(s) {bad}; expected any of {list(MOTION_SOURCES)}")
        return v

    @model_validator(mode="after")
    def _files_for_file_sources(self) -> "MotionSettings":
        sources = self.source.choice if isinstance(self.source, Choice) else [self.source]
        needs = [s for s in sources if s in ("bvh", "amass")]
        if needs and not self.files:
            raise ValueError(f"files: motion source {needs[0]!r} needs files (BVH for 'bvh', AMASS .npz for 'amass'); "
                             "list them under people.motion.files")
        return self

    @field_validator("files")
    @classmethod
    def _files_exist(cls, v: list[Path]) -> list[Path]:
        for p in v:
            path = Path(p).expanduser()
            if not path.is_file():
                raise ValueError(f"file {str(p)!r} does not exist; give an existing BVH/.npz path (relative to the "
                                 "working directory) or remove it")
            _check_motion_file_kind(path)
        return v


MIN_SEPARATION_M = 0.1  # people.placement.min_separation_m below this can yield touching / overlapping bodies


def _check_motion_file_kind(path: Path) -> None:
    """A cheap look at the first bytes: a .bvh starts with HIERARCHY, an .npz is a zip archive."""
    try:
        with open(path, "rb") as f:
            head = f.read(512)
    except OSError as err:
        raise ValueError(f"file {str(path)!r} cannot be read ({err.strerror}); check its permissions") from None
    suffix = path.suffix.lower()
    if suffix == ".bvh":
        if not head.lstrip(b"\xef\xbb\xbf \t\r\n").upper().startswith(b"HIERARCHY"):
            raise ValueError(f"file {str(path)!r} is not a BVH motion file (it does not start with HIERARCHY); "
                             "give a BVH file exported by a mocap tool")
    elif suffix == ".npz":
        if not head.startswith(b"PK"):
            raise ValueError(f"file {str(path)!r} is not an .npz archive; give an AMASS .npz file")
    else:
        raise ValueError(f"file {str(path)!r}: expected a .bvh or .npz file, got suffix {path.suffix!r}")


class PlacementSettings(_Strict):
    area_radius_m: float = Field(1.5, gt=0.0, description="people stand within this radius of the origin")
    min_separation_m: float = Field(0.15, description="minimum ground-plane gap between two people's bodies "
                                    f"at every frame (m); at least {MIN_SEPARATION_M}: placement checks a sample of "
                                    "each body's vertices, and closer than that the bodies between the samples can "
                                    "touch or overlap")

    @field_validator("min_separation_m")
    @classmethod
    def _separation_keeps_bodies_apart(cls, v: float) -> float:
        if v < MIN_SEPARATION_M:
            raise ValueError(f"{v} m lets bodies touch or interpenetrate (placement checks a sample of each body's "
                             f"vertices); expected at least {MIN_SEPARATION_M} m, set {MIN_SEPARATION_M} or more")
        return v


HAND_STYLES = ("random", "relaxed", "fist", "open", "point")
EXPRESSIONS = ("random", "neutral", "smile", "grin", "surprise", "sad", "angry", "disgust", "fear", "talk",
               "eyes_closed")


def _choices_within(allowed: tuple[str, ...]):
    def check(cls, v, info):
        values = v.choice if isinstance(v, Choice) else [v]
        bad = [c for c in values if c not in allowed]
        if bad:
            raise ValueError(f"unknown value(s) {bad}; expected any of {list(allowed)}")
        return v

    return check


CLOTHING_SOURCES = ("procedural", "makehuman", "mixed", "none")
CLOTHING_PROBABILITIES = ("dress", "tshirt", "longsleeve", "tank", "trousers", "shorts", "skirt", "socks", "shoes",
                          "hair", "eyebrows", "hat")


class ClothingSettings(_Strict):
    """Garments as geometry (synth.clothing): where they come from and how often each is worn."""

    source: Literal[CLOTHING_SOURCES] = Field(  # type: ignore[valid-type]
        "none", description="procedural (built from the body, no downloads), makehuman (CC0 assets, Anny only, "
                            "fetched on first use), mixed (either per person), none (colours painted on the skin)")
    probabilities: dict[str, float] = Field(
        default_factory=dict, description="overrides of synth.clothing.outfit.DEFAULT_PROBABILITIES: dress, shoes, "
                                          "socks, hair, eyebrows, hat are probabilities; tshirt/longsleeve/tank and "
                                          "trousers/shorts/skirt are relative weights")

    @field_validator("probabilities")
    @classmethod
    def _known_probabilities(cls, v: dict[str, float]) -> dict[str, float]:
        for k, p in v.items():
            if k not in CLOTHING_PROBABILITIES:
                raise ValueError(f"unknown garment {k!r}; expected some of {list(CLOTHING_PROBABILITIES)}")
            if not 0.0 <= float(p) <= 1.0:
                raise ValueError(f"{k}: expected a probability in [0, 1], got {p!r}")
        return v


TOUCH_KINDS = ("hand_on_shoulder", "handshake", "hold_hands")


class TouchSettings(_Strict):
    """Two of the scene's people touch each other (synth.motion.pair_touch); see docs/recipes.md, docs/contact.md."""

    probability: float = Field(0.5, ge=0.0, le=1.0, description="chance that a scene with two or more people has "
                               "a touching pair (a static pose held for the whole clip)")
    kinds: Union[str, Choice] = Field(Choice(choice=list(TOUCH_KINDS)),
                                      description=f"the touch, drawn per pair: any of {list(TOUCH_KINDS)}")

    _kinds = field_validator("kinds")(classmethod(_choices_within(TOUCH_KINDS)))


class PeopleSettings(_Strict):
    count: NumberDist = 1
    body_model: Literal["anny", "smplx"] = "anny"
    anny_topology: Literal["default", "notoes_collapse5pc"] = "default"
    keypoint_set: Literal["body", "wholebody"] = Field(
        "wholebody", description="body: COCO-17 + 6 feet; wholebody: COCO-WholeBody 133 (adds face and hands)")
    hands: Union[str, Choice] = Field("random", description=f"finger pose style: one of {list(HAND_STYLES)}")
    expression: Union[str, Choice] = Field("random", description=f"facial expression: one of {list(EXPRESSIONS)} "
                                           "(SMPL-X: random or neutral)")
    smplx_model_dir: PathStr | None = Field(None, description="folder holding SMPLX_NEUTRAL.npz (default: $SYNTH_SMPLX_DIR)")
    shape: ShapeSettings = ShapeSettings()
    motion: MotionSettings = MotionSettings()
    placement: PlacementSettings = PlacementSettings()
    clothing: ClothingSettings = ClothingSettings()
    touch: TouchSettings | None = Field(None, description="a pair of people touching (hand on shoulder, handshake, "
                                        "holding hands); exempt from placement.min_separation_m between themselves")

    _count = _within("count", low=1, high=10)
    _hands = field_validator("hands")(classmethod(_choices_within(HAND_STYLES)))
    _expression = field_validator("expression")(classmethod(_choices_within(EXPRESSIONS)))

    @field_validator("smplx_model_dir")
    @classmethod
    def _dir_exists(cls, v: Path | None) -> Path | None:
        if v is not None and not Path(v).expanduser().is_dir():
            raise ValueError(f"folder {str(v)!r} does not exist; put SMPLX_NEUTRAL.npz in a folder and give its path")
        return v

    @model_validator(mode="after")
    def _smplx_children(self) -> "PeopleSettings":
        if self.body_model == "smplx" and self.shape.child_fraction > 0:
            raise ValueError(
                f"shape.child_fraction: {self.shape.child_fraction} asks for children, but body_model 'smplx' "
                "draws adult shapes only (SMPL-X's kid template is not supported yet); set child_fraction: 0, or "
                "use body_model: anny for children")
        return self

    @model_validator(mode="after")
    def _placement_possible(self) -> "PeopleSettings":
        # each person covers at least a 0.2 m wide disc plus the clearance: if even the discs' total area
        # exceeds the placement disc's, no draw can ever succeed
        n = dist_bounds(self.count)[1]
        pl = self.placement
        d = 0.2 + pl.min_separation_m
        if n > 1 and n * (d / 2) ** 2 > (pl.area_radius_m + d / 2) ** 2:
            raise ValueError(
                f"placement: {n:g} people {pl.min_separation_m} m apart cannot fit within "
                f"area_radius_m {pl.area_radius_m}; increase placement.area_radius_m or lower "
                "placement.min_separation_m or count")
        return self


CAMERA_MODELS = ("pinhole", "fisheye_equidistant", "fisheye_equisolid", "fisheye_kb")
CAMERA_RIGS = ("orbit", "close_range", "overhead", "head_mounted", "body_worn")


class CameraSettings(_Strict):
    """One camera (view) of every scene."""

    name: str = Field("cam0", pattern=r"^[A-Za-z0-9_\-]+$")
    rig: Literal[CAMERA_RIGS] = "orbit"  # type: ignore[valid-type]
    model: Literal[CAMERA_MODELS] = "pinhole"  # type: ignore[valid-type]
    fov_deg: NumberDist | None = Field(None, description="horizontal field of view (pinhole) / full fov (fisheye)")
    focal_length_mm: NumberDist | None = Field(None, description="35 mm-equivalent focal length (pinhole)")
    distortion: list[float] = Field(default_factory=list,
                                    description="pinhole: k1 k2 p1 p2 k3; fisheye_kb: k1 k2 k3 k4")
    distance_m: NumberDist = Uniform(uniform=(3.0, 5.0))
    azimuth_deg: NumberDist = Uniform(uniform=(-180.0, 180.0))
    elevation_deg: NumberDist = Uniform(uniform=(0.0, 20.0))
    look_at_height_m: NumberDist = 0.9
    look_at_jitter_m: float = Field(0.1, ge=0.0)
    height_m: NumberDist = Field(3.0, description="overhead rig: camera height above the ground")
    bone: Literal["head", "chest", "left_wrist", "right_wrist", "left_thigh", "right_thigh"] = "head"
    orbit_speed_deg_s: NumberDist = 0.0
    dolly_speed_mps: NumberDist = 0.0
    shake_m: float = Field(0.0, ge=0.0, le=1.0, description="hand-held shake amplitude")

    _fov = _within("fov_deg", low=1.0, high=360.0)
    _focal = _within("focal_length_mm", low=1.0)
    _dist = _within("distance_m", low=0.05)
    _elev = _within("elevation_deg", low=-89.9, high=89.9)

    @model_validator(mode="after")
    def _lens(self) -> "CameraSettings":
        if self.fov_deg is not None and self.focal_length_mm is not None:
            raise ValueError("give either fov_deg or focal_length_mm, not both")
        if self.fov_deg is not None and self.model == "pinhole":
            _check_dist_within("fov_deg (pinhole)", self.fov_deg, 1.0, 179.0)
        n = {"pinhole": 5, "fisheye_kb": 4}.get(self.model, 0)
        if len(self.distortion) > n:
            raise ValueError(f"model {self.model!r} takes at most {n} distortion coefficients, got {len(self.distortion)}")
        return self


class GroundSettings(_Strict):
    enabled: bool = True
    size_m: float = Field(40.0, gt=0.0, le=10000.0)
    pattern: Union[Literal["plain", "checker", "noise"], Choice] = Choice(choice=["plain", "checker", "noise"])
    pattern_scale_m: NumberDist = Uniform(uniform=(0.3, 1.5))
    roughness: NumberDist = Uniform(uniform=(0.4, 0.9))
    brightness: NumberDist = Uniform(uniform=(0.15, 0.6))

    _scale = _within("pattern_scale_m", low=0.001)
    _unit = _within("roughness", "brightness", low=0.0, high=1.0)


class LightingSettings(_Strict):
    kind: Union[Literal["sun_sky", "area"], Choice] = "sun_sky"
    sun_strength: NumberDist = Uniform(uniform=(2.0, 3.5))
    sun_elevation_deg: NumberDist = Uniform(uniform=(25.0, 75.0))
    sky_strength: NumberDist = Uniform(uniform=(0.3, 0.7))
    color_temperature_k: NumberDist = Uniform(uniform=(4500.0, 7500.0))
    area_count: NumberDist = 2
    area_power_w: NumberDist = Uniform(uniform=(40.0, 120.0))  # E = P / (pi d^2): ~1-3 W/m^2 each at 4 m

    _strengths = _within("sun_strength", "sky_strength", "area_power_w", low=0.0)
    _sun = _within("sun_elevation_deg", low=-90.0, high=90.0)
    _kelvin = _within("color_temperature_k", low=1000.0, high=40000.0)
    _areas = _within("area_count", low=0, high=16)


HDRI_NAMES = ("city", "courtyard", "forest", "interior", "night", "studio", "sunrise", "sunset")
PROP_KIND_NAMES = ("chair", "stool", "sofa", "bench", "table", "bed", "steps", "box", "wall", "railing")
FLOOR_MATERIALS = ("wood", "tiles", "carpet", "concrete")
WALL_MATERIALS = ("plaster", "paint", "concrete", "tiles", "wood")


class HdriSettings(_Strict):
    """A photographed world (equirectangular HDR photo) as background and light; see docs/places.md."""

    probability: float = Field(1.0, ge=0.0, le=1.0, description="chance that a scene gets a photographed world")
    names: list[str] = Field(default_factory=lambda: list(HDRI_NAMES),
                             description=f"bundled HDRIs to draw from (uniformly): any of {list(HDRI_NAMES)}")
    folder: PathStr | None = Field(None, description="a folder of your own .exr/.hdr files; drawn uniformly instead "
                                "of the bundled ones")
    asset: str | None = Field(None, description="id of an assets_manifest/ entry of kind hdri: its files, found in "
                              "the entry's env_var / default_dir folders, are drawn uniformly instead of the bundled ones")
    rotation_deg: NumberDist = Uniform(uniform=(-180.0, 180.0))
    strength: NumberDist = Field(Uniform(uniform=(0.7, 1.3)), description="exposure relative to the photo's "
                                 "normalised illuminance (1 = an auto-exposed photo)")
    normalize: bool = Field(True, description="scale each photo to the same illuminance (user files are measured "
                            "with OpenCV); false = use the file's radiance as is")
    ground: Union[str, Choice] = Field("shadow_catcher", description="shadow_catcher (the photo's ground shows, "
                                       "people's shadows added), matched (opaque ground of the photo's colour) or none")
    camera_height_m: NumberDist | None = Field(
        Uniform(uniform=(1.4, 1.8)), description="orbit cameras are raised/lowered to this height so that the "
        "photo's horizon matches (people stand on the photographed ground); null keeps the drawn elevation")

    _strength = _within("strength", low=0.0)
    _ground = field_validator("ground")(classmethod(_choices_within(("shadow_catcher", "matched", "none"))))

    @field_validator("names")
    @classmethod
    def _known_names(cls, v: list[str]) -> list[str]:
        bad = [n for n in v if n not in HDRI_NAMES]
        if bad or not v:
            raise ValueError(f"unknown bundled HDRI(s) {bad}; expected a non-empty list of {list(HDRI_NAMES)} "
                             "(use folder: for your own files)")
        return v

    @model_validator(mode="after")
    def _one_source(self) -> "HdriSettings":
        if self.folder is not None and self.asset is not None:
            raise ValueError("give either folder or asset (or neither, for the bundled photos), not both")
        return self

    @field_validator("folder")
    @classmethod
    def _folder_exists(cls, v: Path | None) -> Path | None:
        if v is not None and not Path(v).expanduser().is_dir():
            raise ValueError(f"folder {str(v)!r} does not exist; give a folder of .exr/.hdr files")
        return v


class RoomSettings(_Strict):
    """A procedural interior around the people (replaces the ground); see docs/places.md."""

    probability: float = Field(1.0, ge=0.0, le=1.0, description="chance that a scene is indoors")
    width_m: NumberDist = Uniform(uniform=(5.0, 8.0))
    depth_m: NumberDist = Uniform(uniform=(5.0, 8.0))
    height_m: NumberDist = Uniform(uniform=(2.5, 3.2))
    floor: Union[str, Choice] = Choice(choice=list(FLOOR_MATERIALS))
    walls: Union[str, Choice] = Choice(choice=["plaster", "paint"], weights=[1, 2])
    doors: NumberDist = Uniform(uniform=(0, 2))
    windows: NumberDist = Uniform(uniform=(1, 3))
    ceiling_light_w: NumberDist = Uniform(uniform=(60.0, 200.0))
    window_light_w: NumberDist = Uniform(uniform=(20.0, 80.0))

    _sizes = _within("width_m", "depth_m", low=2.0, high=50.0)
    _height = _within("height_m", low=2.0, high=10.0)
    _counts = _within("doors", "windows", low=0, high=6)
    _power = _within("ceiling_light_w", "window_light_w", low=0.0)
    _floor = field_validator("floor")(classmethod(_choices_within(FLOOR_MATERIALS)))
    _walls = field_validator("walls")(classmethod(_choices_within(WALL_MATERIALS)))


class PropSettings(_Strict):
    """Furniture and other props standing around the people (never intersecting them); see docs/places.md."""

    count: NumberDist = Uniform(uniform=(1, 4))
    kinds: Union[str, Choice] = Choice(choice=list(PROP_KIND_NAMES))
    area_radius_m: float = Field(2.5, gt=0.0, description="prop centres within this radius of the people's centre")
    clearance_m: float = Field(0.1, ge=0.0, description="minimum floor gap between a prop and any person (over the "
                               "whole clip) or another prop")
    sit_probability: float = Field(0.0, ge=0.0, le=1.0, description="chance that a person sits on a free seat "
                                   "(chair, stool, bench, sofa, box, bed) instead of their drawn motion")
    stand_probability: float = Field(0.0, ge=0.0, le=1.0, description="chance that a person whose feet stay planted "
                                     "(static, idle, wave, reach, squat, turn) stands on a free box or steps")
    lie_probability: float = Field(0.0, ge=0.0, le=1.0, description="chance that a person lies on their back on a "
                                   "free bed (in the rest pose)")

    @model_validator(mode="after")
    def _probabilities(self) -> "PropSettings":
        total = self.sit_probability + self.stand_probability + self.lie_probability
        if total > 1.0 + 1e-9:
            raise ValueError(f"sit_probability + stand_probability + lie_probability = {total:g}; expected <= 1 "
                             "(they are exclusive choices per person)")
        return self

    _count = _within("count", low=0, high=30)
    _kinds = field_validator("kinds")(classmethod(_choices_within(PROP_KIND_NAMES)))


class EnvironmentSettings(_Strict):
    ground: GroundSettings = GroundSettings()
    lighting: LightingSettings = LightingSettings()
    hdri: HdriSettings | None = Field(None, description="a photographed world instead of the flat sky")
    room: RoomSettings | None = Field(None, description="an indoor room instead of the open ground")
    props: PropSettings | None = Field(None, description="furniture, steps, boxes, walls, railings")


class Recipe(_Strict):
    """A generation recipe (schema v1)."""

    schema_version: Literal[1]
    name: str = Field("recipe", pattern=r"^[A-Za-z0-9_\-]+$")
    seed: int = Field(0, ge=0, le=MAX_SEED)
    scenes: int = Field(gt=0, le=MAX_SCENES, description="number of scenes (split bigger datasets into several jobs)")
    frames_per_scene: int = Field(1, gt=0, le=10000)
    fps: float = Field(30.0, gt=0.0, le=1000.0)
    scenes_per_shard: int = Field(8, gt=0, le=10000)
    image: ImageSpec
    render: RenderSettings = RenderSettings()
    people: PeopleSettings = PeopleSettings()
    cameras: list[CameraSettings] = Field(default_factory=lambda: [CameraSettings()], min_length=1)
    environment: EnvironmentSettings = EnvironmentSettings()

    @model_validator(mode="after")
    def _unique_cameras(self) -> "Recipe":
        names = [c.name for c in self.cameras]
        if len(set(names)) != len(names):
            raise ValueError(f"camera names must be unique, got {names}")
        return self


__all__ = ["Recipe", "SCHEMA_VERSION", "Uniform", "Normal", "Choice", "HdriSettings", "RoomSettings", "PropSettings"]
