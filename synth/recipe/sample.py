"""``sample_scene(recipe, scene_index)``: draw every random choice of one scene.

All randomness comes from ``SeedSequence([recipe.seed, scene_index])``, split
into independent child streams per concern (people, cameras, environment), so
adding a camera does not change the people drawn.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np

from synth.cameras.rigs import sample_rig_jitter
from synth.core.errors import RecipeError
from synth.core.rng import scene_seed_int, scene_seed_sequence
from synth.core.transforms import make_T, rot_z
from synth.environment.hdri import (
    BUNDLED_HDRIS,
    bundled_hdri_path,
    hdri_facts,
    list_hdri_asset,
    list_hdri_folder,
)
from synth.environment.lighting import color_temperature_to_rgb
from synth.environment.materials import sample_surface_material
from synth.environment.placement import sample_placements, sample_prop_placements
from synth.environment.props import (
    PROP_MATERIALS,
    build_prop_mesh,
    prop_footprint_half_extents,
    sample_prop_dimensions,
)
from synth.environment.rooms import point_inside_room, room_lights
from synth.environment.spec import (
    AreaLightSpec,
    EnvironmentSpec,
    GroundSpec,
    HdriSpec,
    OpeningSpec,
    PropSpec,
    RoomSpec,
    SunSpec,
)
from synth.recipe.distributions import sample_value
from synth.recipe.schema import CameraSettings, Recipe
from synth.recipe.spec import CameraSpec, PersonSpec, RenderSpec, SceneSpec

# Ground albedos (linear RGB) of common surfaces: concrete, asphalt, grass, sand, wood, tiles, carpet.
GROUND_PALETTE = np.array([
    [0.45, 0.45, 0.43], [0.18, 0.18, 0.19], [0.16, 0.30, 0.08], [0.55, 0.47, 0.33],
    [0.38, 0.24, 0.13], [0.60, 0.58, 0.55], [0.25, 0.12, 0.12],
])


def body_options(recipe: Recipe) -> dict[str, Any]:
    p = recipe.people
    if p.body_model == "anny":
        return {"topology": p.anny_topology, "keypoint_set": p.keypoint_set}
    return {"model_dir": str(p.smplx_model_dir) if p.smplx_model_dir else None, "keypoint_set": p.keypoint_set}


def _sample_int(dist: Any, rng: np.random.Generator) -> int:
    return int(round(float(sample_value(dist, rng))))


def sample_shape_kwargs(recipe: Recipe, rng: np.random.Generator) -> tuple[dict[str, Any], dict[str, float]]:
    """Keywords for ``BodyModel.sample_shape`` and phenotype overrides for one person."""
    s = recipe.people.shape
    is_child = bool(rng.random() < s.child_fraction)
    age = float(sample_value(s.child_age_years if is_child else s.age_years, rng))
    kwargs: dict[str, Any] = {"age_range": (age, age), "height_scale": s.height_scale}
    if s.gender is not None:
        kwargs["gender"] = float(sample_value(s.gender, rng))
    overrides = {name: float(sample_value(getattr(s, name), rng))
                 for name in ("weight", "muscle") if getattr(s, name) is not None}
    return kwargs, overrides


def _sample_shape(body, recipe: Recipe, rng: np.random.Generator) -> dict[str, np.ndarray]:
    if recipe.people.body_model == "smplx":
        return body.sample_shape(rng, betas_std=recipe.people.shape.betas_std)
    kwargs, overrides = sample_shape_kwargs(recipe, rng)
    shape = dict(body.sample_shape(rng, **kwargs))
    shape.update({k: np.asarray(v, dtype=np.float32) for k, v in overrides.items()})
    return shape


FOOTPRINT_POINTS = 160   # vertices per person used for overlap checks
FOOTPRINT_FRAMES = 24    # frames checked (evenly spread) per clip


#: model-frame footprint bodies of the last few people: a person's footprint is needed in the motion frame
#: (placement) and then in the world (room, props); the pose is the same, only the rigid transform differs
_FOOTPRINT_BODIES: dict[tuple, tuple[Any, Any]] = {}
_FOOTPRINT_BODIES_SIZE = 8


def _footprint_frames(n_frames: int) -> np.ndarray:
    """Indices of the (at most FOOTPRINT_FRAMES, evenly spread) frames a footprint covers."""
    return np.unique(np.linspace(0, n_frames - 1, min(n_frames, FOOTPRINT_FRAMES)).round().astype(int))


def _footprint_key(body, shape, pose: np.ndarray) -> tuple:
    return (id(body), tuple((k, np.asarray(v).tobytes()) for k, v in sorted(shape.items())), pose.shape,
            pose.dtype.str, pose.tobytes())


def _keep_footprint_body(key: tuple, body, native) -> None:
    while len(_FOOTPRINT_BODIES) >= _FOOTPRINT_BODIES_SIZE:
        _FOOTPRINT_BODIES.pop(next(iter(_FOOTPRINT_BODIES)))
    _FOOTPRINT_BODIES[key] = (body, native)


def _remember_footprint_body(body, shape, pose_rotvec: np.ndarray, vertices: np.ndarray) -> None:
    """Keep (F, V, 3) float32 model-frame vertices of ``pose_rotvec`` (F, J, 3) posed elsewhere (the motion's
    grounding forward) with the identity transform: the numbers :func:`_footprint_model_frame` would compute."""
    import torch

    pose = np.ascontiguousarray(pose_rotvec)
    # a copy: ``vertices`` is usually a slice of the whole grounding forward, which the cache must not keep alive
    _keep_footprint_body(_footprint_key(body, shape, pose), body, torch.from_numpy(np.array(vertices, order="C")))


def _footprint_model_frame(body, shape, pose_rotvec: np.ndarray):
    """(F, V, 3) float32 torch vertices of the posed frames in the body model's own frame (floor lift
    included): ``body.forward`` with identity ``T_world_from_root``, which is exact (1·x + 0·y + 0·z + 0)."""
    from synth.bodies.base import BodyParams

    pose = np.ascontiguousarray(pose_rotvec)
    key = _footprint_key(body, shape, pose)
    hit = _FOOTPRINT_BODIES.get(key)
    if hit is not None and hit[0] is body:
        return hit[1]
    import torch

    eye = np.broadcast_to(np.eye(4), (len(pose), 4, 4)).copy()
    native = torch.from_numpy(body.forward(BodyParams(model=body.name, shape=shape, pose_rotvec=pose,
                                                      T_world_from_root=eye)).vertices)
    _keep_footprint_body(key, body, native)
    return native


def _footprint(body, shape, pose_rotvec, T_local) -> np.ndarray:
    """(F, N, 2) ground-plane vertex positions of a person in their motion frame, F <= FOOTPRINT_FRAMES.

    The same numbers as ``body.forward`` with ``T_local`` at those frames (the body models move their
    model-frame vertices by the float32 rotation and translation of ``T_world_from_root`` in one einsum,
    repeated here), with the pose computed once per person for the motion-frame and the world footprint.
    """
    import torch

    frames = _footprint_frames(len(pose_rotvec))
    native = _footprint_model_frame(body, shape, np.asarray(pose_rotvec)[frames])
    Tw = np.asarray(T_local, dtype=np.float64)[frames]
    R = torch.from_numpy(Tw[:, :3, :3].astype(np.float32))
    t = torch.from_numpy(Tw[:, :3, 3].astype(np.float32))
    vertices = (torch.einsum("tij,tnj->tni", R, native) + t[:, None, :]).numpy()
    V = vertices.shape[1]
    idx = np.linspace(0, V - 1, min(V, FOOTPRINT_POINTS)).round().astype(int)
    return vertices[:, idx, :2].astype(np.float64)


def _sample_people(recipe: Recipe, rng: np.random.Generator) -> tuple[PersonSpec, ...]:
    from synth.bodies.expressions import sample_expression_sequence
    from synth.bodies.registry import get_body_model
    from synth.motion.hands import apply_hand_pose, sample_hand_pose
    from synth.motion.sample import draw_motion_clip

    p = recipe.people
    count = _sample_int(p.count, rng)
    options = body_options(recipe)
    body = get_body_model(p.body_model, **options)
    env = recipe.environment
    footprints_needed = count > 1 or env.room is not None or env.props is not None
    drawn = []
    for _ in range(count):
        shape = _sample_shape(body, recipe, rng)
        source = str(sample_value(p.motion.source, rng))
        speed = p.motion.run_speed_mps if source == "run" else p.motion.speed_mps
        motion_cfg = {
            "source": source,
            "speed_mps": float(sample_value(speed, rng)),
            "files": [str(f) for f in p.motion.files],
            "clips": list(p.motion.clips),
        }
        drawn_clip = draw_motion_clip(body, motion_cfg, recipe.frames_per_scene, recipe.fps, rng, shape=shape)
        motion_cfg["clip"] = {k: v for k, v in drawn_clip.meta.items() if isinstance(v, (int, float, str, bool))}
        hand_style = str(sample_value(p.hands, rng))
        hand_pose = sample_hand_pose(body, rng=rng, style=None if hand_style == "random" else hand_style)
        pose_rotvec = apply_hand_pose(np.asarray(drawn_clip.rotvec, dtype=np.float32), body,
                                      hand_pose).astype(np.float32)
        expression = str(sample_value(p.expression, rng))
        extra = sample_expression_sequence(body, recipe.frames_per_scene, recipe.fps, rng=rng,
                                           style=None if expression == "random" else expression)
        motion_cfg.update(hands=hand_style, expression=expression)
        # the clip is put on the ground (no draws left) by one forward that also poses the placement footprint
        footprint_pose = pose_rotvec[_footprint_frames(len(pose_rotvec))] if footprints_needed else None
        clip, footprint_body = drawn_clip.finish(also_pose=footprint_pose)
        if footprint_body is not None:
            _remember_footprint_body(body, shape, footprint_pose, footprint_body)
        T_local = np.asarray(clip.T_world_from_root, dtype=np.float64)
        drawn.append((shape, source, motion_cfg, pose_rotvec, T_local, extra))
    touch = _touching_pair(recipe, body, drawn, rng) if p.touch is not None and count > 1 else None
    # bodies in motion may not overlap: place them by their footprints over the whole clip. A touching pair is
    # placed as one unit (their footprints together), so min_separation_m holds between every other two people
    units = [[i] for i in range(count)]
    if touch is not None and touch["pose"] is not None:
        a, b = touch["people"]
        units = [[a, b]] + [[i] for i in range(count) if i not in (a, b)]
    footprints = [_footprint(body, d[0], d[3], d[4]) for d in drawn] if count > 1 else [np.zeros((1, 1, 2))]
    unit_footprints = [np.concatenate([footprints[i] for i in u], axis=1) for u in units]
    unit_placements = sample_placements(unit_footprints, p.placement.area_radius_m, p.placement.min_separation_m,
                                        rng=rng)
    placements = [None] * count
    for u, placed in zip(units, unit_placements):
        for i in u:
            placements[i] = placed
    people = []
    for (shape, source, motion_cfg, pose_rotvec, T_local, extra), (x, y, yaw) in zip(drawn, placements):
        T_place = make_T(rot_z(yaw), [x, y, 0.0])
        appearance_seed = int(rng.integers(0, 2**31 - 1))
        # a person's own heading in the pair frame (a handshake's toucher faces the other way)
        own_yaw = float(math.atan2(T_local[0, 1, 0], T_local[0, 0, 0])) if source == "touch" else 0.0
        people.append(PersonSpec(
            body_model=p.body_model, body_options=options, shape=shape,
            motion_source=source,
            motion_meta={k: v for k, v in motion_cfg.items() if k != "files"} | {"yaw_rad": yaw + own_yaw},
            pose_rotvec=pose_rotvec,
            T_world_from_root=np.einsum("ij,tjk->tik", T_place, T_local),
            outfit=_sample_outfit(shape, appearance_seed),
            extra=extra,
            garments=_sample_garments(recipe, appearance_seed),
        ))
    return tuple(people)


def _touching_pair(recipe: Recipe, body, drawn: list, rng: np.random.Generator) -> dict | None:
    """Maybe pose two of the drawn people touching (``people.touch``; ``synth.motion.pair_touch``), in place.

    Every draw is made here, the same number whatever happens (touch or not, success or not): the chance, the
    kind, the pair, the hand, the layout and the touched person's idle seed. The first of the pair touches the
    second; when that fails (out of reach, e.g. a child's hand on a tall adult's shoulder, or another body part
    touches first) the roles swap; when both fail the pair keeps the drawn motions and places, and both record
    ``touch: {"kind", "status": "failed", "reason"}`` in their motion_meta. Returns ``{"people": (toucher,
    touched), "pose": TouchPose or None}``, or None when no touch was drawn.
    """
    from synth.motion.interactions import fingers_of
    from synth.motion.pair_touch import PAIR_LAYOUT_M, pose_touch

    t = recipe.people.touch
    u = rng.random()
    kind = str(sample_value(t.kinds, rng))
    pair = [int(i) for i in rng.permutation(len(drawn))[:2]]
    side = "L" if rng.random() < 0.5 else "R"
    layout = PAIR_LAYOUT_M[kind]
    spacing = float(rng.uniform(*layout["spacing_m"]))
    offset = float(rng.uniform(*layout["offset_m"]))
    idle_seed = int(rng.integers(0, 2**31 - 1))
    if not u < t.probability:
        return None
    fidx = fingers_of(body)
    reasons = []
    for a, b in (pair, pair[::-1]):
        try:
            posed = pose_touch(body, (drawn[a][0], drawn[b][0]), (drawn[a][3][0, fidx], drawn[b][3][0, fidx]), kind,
                               side=side, spacing_m=spacing, offset_m=offset, idle_seed=idle_seed)
        except RecipeError as e:
            reasons.append(str(e))
            continue
        for k, (i, role, partner) in enumerate(((a, "toucher", b), (b, "touched", a))):
            shape, source, motion_cfg, pose_rotvec, _, extra = drawn[i]
            n = len(pose_rotvec)
            rotvec = np.repeat(posed.pose_rotvec[k][None], n, axis=0)
            rotvec[:, fidx] = pose_rotvec[:, fidx]                     # keep the drawn hand pose
            record = {"kind": kind, "status": "ok", "role": role, "partner": partner, "side": posed.side,
                      "spacing_m": posed.spacing_m, "offset_m": posed.offset_m, "gap_m": posed.gap_m,
                      "penetration_m": posed.penetration_m, "touching_part": posed.touching_part,
                      "touched_part": posed.touched_part, "contact_vertices": posed.contact_vertices}
            meta = {k2: v for k2, v in motion_cfg.items() if k2 not in ("clip", "speed_mps", "source")}
            drawn[i] = (shape, "touch", meta | {"source": "touch", "drawn_source": source, "touch": record},
                        rotvec.astype(np.float32), np.repeat(posed.T_world_from_root[k][None], n, axis=0), extra)
        return {"people": (a, b), "pose": posed}
    for i in pair:
        drawn[i][2]["touch"] = {"kind": kind, "status": "failed", "reason": " / ".join(reasons)}
    return {"people": tuple(pair), "pose": None}


def _sample_outfit(shape: dict[str, np.ndarray], appearance_seed: int):
    """The person's outfit (skin tone, garment colours, lengths), from its own stream ``appearance_seed``."""
    from synth.clothing.appearance import sample_outfit

    options = {"age_years": float(np.asarray(shape["age_years"]))} if "age_years" in shape else {}
    return sample_outfit(np.random.default_rng(appearance_seed), **options)


def _sample_garments(recipe: Recipe, appearance_seed: int):
    """The person's garments (``people.clothing``), from a stream of its own derived from ``appearance_seed``
    (so other draws do not change with the clothing settings)."""
    from synth.clothing.outfit import sample_garment_specs

    c = recipe.people.clothing
    if c.source == "none":
        return ()
    return sample_garment_specs(np.random.default_rng([appearance_seed, 11]), source=c.source,
                                probabilities=dict(c.probabilities), body_model_name=recipe.people.body_model)


def sample_render_spec(recipe: Recipe) -> RenderSpec:
    """The recipe's render settings as a ``RenderSpec`` (no draws today: every scene renders alike)."""
    r = recipe.render
    return RenderSpec(samples=r.samples, denoise=r.denoise, adaptive_threshold=r.adaptive_threshold,
                      adaptive_min_samples=r.adaptive_min_samples, threads=r.threads, device=r.device)


def _sample_camera(cfg: CameraSettings, recipe: Recipe, rng: np.random.Generator) -> CameraSpec:
    params: dict[str, Any] = {}
    if cfg.fov_deg is not None:
        params["fov_deg"] = float(sample_value(cfg.fov_deg, rng))
    elif cfg.focal_length_mm is not None:
        params["focal_length_mm"] = float(sample_value(cfg.focal_length_mm, rng))
    else:
        params["fov_deg"] = {"pinhole": 50.0, "fisheye_equidistant": 180.0,
                             "fisheye_equisolid": 180.0, "fisheye_kb": 180.0}[cfg.model]
    params.update(
        distance_m=float(sample_value(cfg.distance_m, rng)),
        azimuth_rad=math.radians(float(sample_value(cfg.azimuth_deg, rng))),
        elevation_rad=math.radians(float(sample_value(cfg.elevation_deg, rng))),
        look_at_height_m=float(sample_value(cfg.look_at_height_m, rng)),
        look_at_jitter_m=float(cfg.look_at_jitter_m),
        height_m=float(sample_value(cfg.height_m, rng)),
        bone=cfg.bone,
        orbit_speed_rad_s=math.radians(float(sample_value(cfg.orbit_speed_deg_s, rng))),
        dolly_speed_mps=float(sample_value(cfg.dolly_speed_mps, rng)),
        shake_m=cfg.shake_m,
        rig_seed=int(rng.integers(0, 2**31 - 1)),
        distortion=list(cfg.distortion),
    )
    jitter = sample_rig_jitter(cfg.rig, np.random.default_rng(params["rig_seed"]),
                               look_at_jitter_m=params["look_at_jitter_m"], shake_m=params["shake_m"])
    return CameraSpec(name=cfg.name, rig=cfg.rig, model=cfg.model, params=params, jitter=jitter)


def _sample_environment(recipe: Recipe, rng: np.random.Generator, hdri: HdriSpec | None = None,
                        room: RoomSpec | None = None) -> EnvironmentSpec:
    env = recipe.environment
    g = env.ground
    ground = None
    if g.enabled and room is None:
        brightness = float(sample_value(g.brightness, rng))
        base = GROUND_PALETTE[int(rng.integers(len(GROUND_PALETTE)))]
        base = np.clip(base / base.max() * brightness * rng.uniform(0.85, 1.15, 3), 0.0, 1.0)
        secondary = np.clip(base * rng.uniform(0.4, 0.8), 0.0, 1.0)
        ground = GroundSpec(
            size_m=g.size_m, base_color=tuple(base.tolist()), secondary_color=tuple(secondary.tolist()),
            pattern=str(sample_value(g.pattern, rng)),
            pattern_scale_m=float(sample_value(g.pattern_scale_m, rng)),
            roughness=float(sample_value(g.roughness, rng)),
        )
    lt = env.lighting
    kind = str(sample_value(lt.kind, rng))
    tint = color_temperature_to_rgb(float(sample_value(lt.color_temperature_k, rng)))
    sky_strength = float(sample_value(lt.sky_strength, rng))
    sky_color = tuple((0.6 * np.array([0.55, 0.7, 1.0]) + 0.4 * tint).tolist())
    sun = None
    areas: list[AreaLightSpec] = []
    if kind == "sun_sky":
        sun = SunSpec(
            strength=float(sample_value(lt.sun_strength, rng)), color=tuple(tint.tolist()),
            azimuth_rad=float(rng.uniform(-math.pi, math.pi)),
            elevation_rad=math.radians(float(sample_value(lt.sun_elevation_deg, rng))),
        )
    elif kind == "area":
        sky_strength *= 0.3
        for _ in range(max(1, _sample_int(lt.area_count, rng))):
            az = rng.uniform(-math.pi, math.pi)
            r = rng.uniform(2.5, 4.5)
            pos = (r * math.cos(az), r * math.sin(az), float(rng.uniform(3.0, 4.5)))
            areas.append(AreaLightSpec(position=pos, target=(0.0, 0.0, 1.0), size_m=float(rng.uniform(1.0, 2.0)),
                                       power_w=float(sample_value(lt.area_power_w, rng)),
                                       color=tuple(tint.tolist())))
    else:
        raise RecipeError(f"environment.lighting.kind: expected 'sun_sky' or 'area', got {kind!r}")
    if hdri is not None:
        # the photo is the sky and the light (its sun included); the ground catches shadows or matches the photo
        sun, areas = None, []
        ground = _hdri_ground(hdri, ground, g.size_m, room)
    if room is not None:
        lt_room = env.room
        tint_room = color_temperature_to_rgb(float(rng.uniform(3000.0, 5500.0)))
        areas = list(areas) + list(room_lights(
            room, float(sample_value(lt_room.ceiling_light_w, rng)), float(sample_value(lt_room.window_light_w, rng)),
            tuple(tint_room.tolist()), tuple(color_temperature_to_rgb(6500.0).tolist())))
    return EnvironmentSpec(ground=ground, sky_color=sky_color, sky_strength=sky_strength, sun=sun,
                           area_lights=tuple(areas), hdri=hdri, room=room)


def _hdri_ground(hdri: HdriSpec, drawn: GroundSpec | None, size_m: float, room: RoomSpec | None) -> GroundSpec | None:
    """The ground under a photographed world: a shadow catcher, or an opaque ground of the photo's colour."""
    if room is not None or hdri.ground == "none":
        return None
    if hdri.ground == "shadow_catcher":
        return GroundSpec(size_m=size_m, base_color=(0.5, 0.5, 0.5), secondary_color=(0.5, 0.5, 0.5),
                          pattern="plain", pattern_scale_m=1.0, roughness=1.0, shadow_catcher=True)
    albedo = np.asarray(hdri.ground_albedo, dtype=np.float64)
    return GroundSpec(size_m=size_m, base_color=tuple(albedo.tolist()),
                      secondary_color=tuple((albedo * 0.7).tolist()), pattern="noise", pattern_scale_m=0.8,
                      roughness=0.9)


def _sample_hdri(recipe: Recipe, rng: np.random.Generator) -> HdriSpec | None:
    h = recipe.environment.hdri
    if h is None or not rng.random() < h.probability:
        return None
    if h.folder is not None or h.asset is not None:
        files = list_hdri_folder(h.folder) if h.folder is not None else list_hdri_asset(h.asset)
        path = files[int(rng.integers(len(files)))]
        name = path.stem
        facts = hdri_facts(path, None, h.normalize)
    else:
        name = h.names[int(rng.integers(len(h.names)))]
        path = bundled_hdri_path(name)
        facts = BUNDLED_HDRIS[name]
    scale = facts.exposure_scale if h.normalize else 1.0
    height = None if h.camera_height_m is None else float(sample_value(h.camera_height_m, rng))
    return HdriSpec(name=name, path=str(path), rotation_rad=math.radians(float(sample_value(h.rotation_deg, rng))),
                    strength=float(sample_value(h.strength, rng)) * scale, ground=str(sample_value(h.ground, rng)),
                    capture_height_m=height,
                    ground_albedo=facts.ground_albedo)


def _match_camera_heights(cameras: tuple[CameraSpec, ...], hdri: HdriSpec | None) -> tuple[CameraSpec, ...]:
    """Orbit cameras raised or lowered to the photo's capture height (its horizon then matches our ground).

    The camera keeps its drawn distance, azimuth and look-at point (height + drawn offset); its elevation is set so
    that its centre is at the capture height (at frame 0; a dolly moves it along the same line).
    """
    if hdri is None or hdri.capture_height_m is None:
        return cameras
    out = []
    for cam in cameras:
        if cam.rig == "orbit":
            p = dict(cam.params)
            offset = np.asarray(cam.jitter.look_at_offset_m, dtype=np.float64).reshape(-1)
            look_at_z = p["look_at_height_m"] + (float(offset[2]) if offset.size == 3 else 0.0)
            sin_el = (hdri.capture_height_m - look_at_z) / p["distance_m"]
            p["elevation_rad"] = float(math.asin(float(np.clip(sin_el, -0.95, 0.95))))
            p["elevation_from"] = "hdri_capture_height"
            cam = replace(cam, params=p)
        out.append(cam)
    return tuple(out)


def _world_footprints(people: tuple[PersonSpec, ...]) -> list[np.ndarray]:
    """Per person, (F, N, 2) world ground-plane positions of a vertex subset over the clip."""
    from synth.bodies.registry import get_body_model

    out = []
    for p in people:
        body = get_body_model(p.body_model, **p.body_options)
        out.append(_footprint(body, p.shape, p.pose_rotvec, p.T_world_from_root))
    return out


def _camera_ground_positions(cameras: tuple[CameraSpec, ...], center_xy: np.ndarray) -> list[np.ndarray]:
    """Approximate frame-0 ground positions of orbit / close-range cameras around the people's centre."""
    out = []
    for cam in cameras:
        p = cam.params
        if cam.rig in ("orbit", "close_range"):
            r = p["distance_m"] * math.cos(p["elevation_rad"])
            out.append(center_xy + _look_at_offset_xy(cam)
                       + r * np.array([math.cos(p["azimuth_rad"]), math.sin(p["azimuth_rad"])]))
    return out


def _look_at_offset_xy(cam: CameraSpec) -> np.ndarray:
    """(2,) the drawn horizontal look-at offset of a camera's rig (zeros when it has none)."""
    offset = np.asarray(cam.jitter.look_at_offset_m, dtype=np.float64).reshape(-1)
    return offset[:2] if offset.size == 3 else np.zeros(2)


def _sample_room(recipe: Recipe, rng: np.random.Generator, footprints: list[np.ndarray],
                 cameras: tuple[CameraSpec, ...]) -> RoomSpec | None:
    r = recipe.environment.room
    if r is None or not rng.random() < r.probability:
        return None
    pts = np.concatenate([f.reshape(-1, 2) for f in footprints]) if footprints else np.zeros((1, 2))
    center = 0.5 * (pts.min(0) + pts.max(0))
    # the room holds the people (0.5 m from the walls) and the cameras (0.3 m)
    reach = [np.abs(pts).max(0) + 0.5]
    for cam in cameras:
        p = cam.params
        if cam.rig in ("orbit", "close_range"):
            reach.append(np.abs(center + _look_at_offset_xy(cam)) + p["distance_m"] * math.cos(p["elevation_rad"])
                         + 0.3)
    need = 2.0 * np.max(reach, axis=0)
    width = max(float(sample_value(r.width_m, rng)), float(need[0]))
    depth = max(float(sample_value(r.depth_m, rng)), float(need[1]))
    height = float(sample_value(r.height_m, rng))
    for cam in cameras:
        if cam.rig == "orbit":
            p = cam.params
            cam_h = p["look_at_height_m"] + p["distance_m"] * math.sin(p["elevation_rad"])
            if cam_h > height - 0.2:
                height = cam_h + 0.3
    wall_t = float(rng.uniform(0.12, 0.25))
    openings = []
    n_doors = round(float(sample_value(r.doors, rng)))
    n_windows = round(float(sample_value(r.windows, rng)))
    for kind, n in (("door", n_doors), ("window", n_windows)):
        for _ in range(n):
            o = _sample_opening(kind, width, depth, height, openings, rng)
            if o is not None:
                openings.append(o)
    return RoomSpec(width_m=width, depth_m=depth, height_m=height, wall_thickness_m=wall_t,
                    openings=tuple(openings),
                    floor=sample_surface_material(str(sample_value(r.floor, rng)), rng),
                    walls=sample_surface_material(str(sample_value(r.walls, rng)), rng),
                    ceiling=sample_surface_material("plaster", rng))


def _sample_opening(kind: str, width: float, depth: float, height: float, existing: list[OpeningSpec],
                    rng: np.random.Generator) -> OpeningSpec | None:
    """A door or window on a random wall, 0.3 m from the corners and from other openings; None if none fits."""
    for _ in range(20):
        wall = int(rng.integers(4))
        length = width if wall in (0, 2) else depth
        if kind == "door":
            w, bottom, top = float(rng.uniform(0.8, 1.0)), 0.0, float(min(rng.uniform(2.0, 2.2), height - 0.2))
        else:
            w = float(rng.uniform(0.8, 1.8))
            bottom = float(rng.uniform(0.7, 1.0))
            top = float(min(bottom + rng.uniform(0.9, 1.5), height - 0.2))
        half_free = length / 2 - 0.3 - w / 2
        if half_free <= 0 or top - bottom < 0.5:
            continue
        c = float(rng.uniform(-half_free, half_free))
        if all(o.wall != wall or abs(o.center_m - c) >= (o.width_m + w) / 2 + 0.3 for o in existing):
            return OpeningSpec(kind=kind, wall=wall, center_m=c, width_m=w, bottom_m=bottom, top_m=top)
    return None


def _sample_props(recipe: Recipe, rng: np.random.Generator, footprints: list[np.ndarray],
                  cameras: tuple[CameraSpec, ...], room: RoomSpec | None) -> tuple[PropSpec, ...]:
    ps = recipe.environment.props
    if ps is None:
        return ()
    n = round(float(sample_value(ps.count, rng)))
    kinds = [str(sample_value(ps.kinds, rng)) for _ in range(n)]
    dims = [sample_prop_dimensions(k, rng) for k in kinds]
    extents = [prop_footprint_half_extents(k, d) for k, d in zip(kinds, dims)]
    heights = [float(build_prop_mesh(k, d)[0][:, 2].max()) for k, d in zip(kinds, dims)]
    pts = np.concatenate([f.reshape(-1, 2) for f in footprints]) if footprints else np.zeros((1, 2))
    center = 0.5 * (pts.min(0) + pts.max(0))
    inside = None
    if room is not None:
        inside = lambda corners: bool(point_inside_room(room, corners, 0.02).all())
    placements = sample_prop_placements(
        extents, heights, footprints, area_center_xy=center, area_radius_m=ps.area_radius_m,
        clearance_m=ps.clearance_m, rng=rng, inside=inside, cameras_xy=_camera_ground_positions(cameras, center))
    props = []
    for kind, d, placed in zip(kinds, dims, placements):
        if placed is None:  # no free place: left out (the scene records the props it has)
            continue
        material = sample_surface_material(PROP_MATERIALS[kind][int(rng.integers(len(PROP_MATERIALS[kind])))], rng)
        x, y, yaw = placed
        props.append(PropSpec(prop_id=len(props) + 1, kind=kind, dimensions=d, x_m=x, y_m=y, yaw_rad=yaw,
                              material=material))
    return tuple(props)


def _cameras_stay_in_room(cameras: tuple[CameraSpec, ...], room: RoomSpec, tracks: list[np.ndarray]) -> bool:
    """Orbit / close-range cameras around the people's centre (from these footprints) stay 0.3 m inside the room."""
    pts = np.concatenate([t[0].reshape(-1, 2) for t in tracks])
    center = 0.5 * (pts.min(0) + pts.max(0))
    for cam in cameras:
        p = cam.params
        if cam.rig in ("orbit", "close_range"):
            reach = np.abs(center + _look_at_offset_xy(cam)) + p["distance_m"] * math.cos(p["elevation_rad"]) + 0.3
            if reach[0] > room.width_m / 2 or reach[1] > room.depth_m / 2:
                return False
    return True


def _interacting_people(recipe: Recipe, people: tuple[PersonSpec, ...], footprints: list[np.ndarray],
                        props: tuple[PropSpec, ...], rng: np.random.Generator, cameras: tuple[CameraSpec, ...] = (),
                        room: RoomSpec | None = None) -> tuple[PersonSpec, ...]:
    """Some people sit on a free seat, or stand on a free box / steps, instead of where they were drawn.

    Per person: sit with ``environment.props.sit_probability`` (``interactions.pose_seated``: a static sitting
    pose), else stand with ``stand_probability`` when their feet stay planted (``pose_standing_on``: their clip
    lifted onto the top). The posed body must pass through no other prop and keep
    ``people.placement.min_separation_m`` from the others' footprints (and, in a room, keep the cameras that
    circle the people's centre inside it); otherwise the next free prop is tried, and a person with none keeps
    their drawn motion and place.
    """
    from synth.bodies.registry import get_body_model
    from synth.environment.placement import min_footprint_distance
    from synth.environment.props import prop_world_mesh
    from synth.motion.interactions import (
        LIE_KINDS,
        PLANTED_MOTIONS,
        SEAT_KINDS,
        STAND_KINDS,
        fingers_of,
        points_inside_prop,
        pose_lying,
        pose_seated,
        pose_standing_on,
    )
    from synth.recipe.interactions import prop_geometry

    ps = recipe.environment.props
    out = list(people)
    tracks = list(footprints)
    used: set[int] = set()
    sep = recipe.people.placement.min_separation_m
    meshes = {p.prop_id: prop_world_mesh(p) for p in props}
    for k, person in enumerate(people):
        u = rng.random()
        if person.motion_source == "touch":   # a touching pair keeps its pose
            continue
        if u < ps.sit_probability:
            kind, kinds = "sit", SEAT_KINDS
        elif u < ps.sit_probability + ps.stand_probability:
            if person.motion_source not in PLANTED_MOTIONS:
                continue
            kind, kinds = "stand", STAND_KINDS
        elif u < ps.sit_probability + ps.stand_probability + ps.lie_probability:
            kind, kinds = "lie", LIE_KINDS
        else:
            continue
        free = [p for p in props if p.kind in kinds and p.prop_id not in used]
        body = get_body_model(person.body_model, **person.body_options)
        for prop in [free[i] for i in rng.permutation(len(free))]:
            try:
                if kind == "sit":
                    posed = pose_seated(body, person.shape, prop_geometry(prop))
                elif kind == "lie":
                    rest = np.asarray(body.rest_pose(), dtype=np.float32).reshape(-1, 3)
                    rest[fingers_of(body)] = person.pose_rotvec[0, fingers_of(body)]
                    posed = pose_lying(body, person.shape, rest, prop_geometry(prop))
                else:
                    posed = pose_standing_on(body, person.shape, person.pose_rotvec, person.T_world_from_root,
                                             prop_geometry(prop))
            except RecipeError:
                continue
            V = np.asarray(posed.vertices, dtype=np.float64).reshape(-1, posed.vertices.shape[-2], 3)
            frames = V[np.unique(np.linspace(0, len(V) - 1, min(len(V), FOOTPRINT_FRAMES)).round().astype(int))]
            if any(points_inside_prop(frames.reshape(-1, 3), *meshes[o.prop_id]).any()
                   for o in props if o is not prop):
                continue
            idx = np.linspace(0, V.shape[1] - 1, min(V.shape[1], FOOTPRINT_POINTS)).round().astype(int)
            fp = frames[:, idx, :2]
            if any(min_footprint_distance(fp if len(fp) == len(t) else np.repeat(fp[:1], len(t), axis=0),
                                          t if len(fp) == len(t) or len(fp) == 1 else np.repeat(t[:1], len(fp), axis=0))
                   < sep for j, t in enumerate(tracks) if j != k):
                continue
            if room is not None and not _cameras_stay_in_room(cameras, room, tracks[:k] + [fp] + tracks[k + 1:]):
                continue
            T = person.pose_rotvec.shape[0]
            meta = {k2: v for k2, v in person.motion_meta.items()
                    if not (kind in ("sit", "lie") and k2 in ("clip", "speed_mps"))}
            record = {"kind": kind, "prop_id": prop.prop_id, "penetration_m": posed.penetration_m}
            if kind in ("sit", "lie"):  # a static pose for the whole clip
                rotvec = np.repeat(posed.pose_rotvec[None], T, axis=0)
                fingers = fingers_of(body)
                rotvec[:, fingers] = person.pose_rotvec[:, fingers]  # keep the drawn hand pose
                T_root = np.repeat(posed.T_world_from_root[None], T, axis=0)
                if kind == "sit":
                    record.update(seat_gap_m=posed.seat_gap_m, feet_height_m=posed.feet_height_m)
                else:
                    record.update(back_gap_m=posed.back_gap_m)
                out[k] = replace(person, motion_source=kind, pose_rotvec=rotvec.astype(np.float32),
                                 T_world_from_root=T_root,
                                 motion_meta=meta | {"source": kind, "interaction": record,
                                                     "drawn_source": person.motion_source, "yaw_rad": prop.yaw_rad})
            else:
                record.update(sole_gap_m=posed.sole_gap_m, surface_z_m=posed.surface_z_m)
                out[k] = replace(person, T_world_from_root=posed.T_world_from_root,
                                 motion_meta=meta | {"interaction": record, "yaw_rad": prop.yaw_rad})
            tracks[k] = fp
            used.add(prop.prop_id)
            break
    return tuple(out)


def sample_scene(recipe: Recipe, scene_index: int) -> SceneSpec:
    """Draw scene ``scene_index`` of the job defined by ``recipe`` (deterministic)."""
    if not 0 <= scene_index:
        raise RecipeError(f"scene index must be >= 0, got {scene_index}")
    ss = scene_seed_sequence(recipe.seed, scene_index)
    people_ss, camera_ss, env_ss = ss.spawn(3)
    people = _sample_people(recipe, np.random.default_rng(people_ss))
    cam_rng = np.random.default_rng(camera_ss)
    cameras = tuple(_sample_camera(c, recipe, cam_rng) for c in recipe.cameras)
    env = recipe.environment
    # photographed world, room and props draw from their own streams: recipes without them draw as before
    hdri_ss, room_ss, props_ss = env_ss.spawn(3)
    hdri = _sample_hdri(recipe, np.random.default_rng(hdri_ss))
    cameras = _match_camera_heights(cameras, hdri)
    footprints = _world_footprints(people) if (env.room is not None or env.props is not None) else []
    room = _sample_room(recipe, np.random.default_rng(room_ss), footprints, cameras)
    environment = _sample_environment(recipe, np.random.default_rng(env_ss), hdri=hdri, room=room)
    if env.props is not None:
        props_rng = np.random.default_rng(props_ss)
        environment = replace(environment, props=_sample_props(recipe, props_rng, footprints, cameras, room))
        if (env.props.sit_probability + env.props.stand_probability + env.props.lie_probability > 0
                and environment.props):
            people = _interacting_people(recipe, people, footprints, environment.props, props_rng, cameras, room)
    return SceneSpec(
        scene_index=scene_index, scene_id=f"{recipe.name}-{scene_index:07d}",
        seed=scene_seed_int(recipe.seed, scene_index), frames=recipe.frames_per_scene, fps=recipe.fps,
        width=recipe.image.width, height=recipe.image.height,
        people=people, cameras=cameras, environment=environment, render=sample_render_spec(recipe),
    )
