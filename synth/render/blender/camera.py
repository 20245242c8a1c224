"""Map a ``CameraModel`` onto Blender's camera so the render matches ``project()``.

Blender (Cycles) has three camera types that we use natively. Their pixel
geometry, in OpenCV pixel coordinates (integer = pixel centre; Blender's pixel
centres sit at +0.5), measured with emissive markers (tests/test_blender_markers.py)::

    PERSP, sensor_fit HORIZONTAL, S = resolution_x:
        f_px = lens / sensor_width * S
        cx = W/2 - 0.5 - shift_x * S,   cy = H/2 - 0.5 + shift_y * S
    PANO FISHEYE_EQUIDISTANT (r = f theta):
        fx = W / fisheye_fov,  fy = H / fisheye_fov     (the fov spans EACH side:
                                                          elliptical on a non-square image)
        cx = W/2 - 0.5 - shift_x * W,  cy = H/2 - 0.5 + shift_y * H
        nothing beyond theta = fisheye_fov / 2 (the inscribed circle/ellipse)
    PANO FISHEYE_EQUISOLID (r = 2 f sin(theta/2)), sensor_fit HORIZONTAL:
        f_px = fisheye_lens / sensor_width * W  (square pixels)
        cx = W/2 - 0.5 - shift_x * W,  cy = H/2 - 0.5 + shift_y * H
        nothing beyond theta = fisheye_fov / 2

Blender's Z pass is planar depth (camera z) for PERSP and the distance along the
ray (range) for PANO cameras; background is 1e10. ``finish`` returns range.

Mapping. A model is rendered natively when one of these types reproduces it
exactly at the output size (pinhole without distortion and fx = fy;
equisolid with fx = fy; equidistant with fx / W = fy / H whose imaged field fits
Blender's circle). Otherwise the plan renders a native *source* camera with the
same centre and orientation (a perspective camera, or a square equidistant
fisheye when the field is too wide for perspective) that covers every output
pixel's ray, at a focal length that samples the output at least
``oversample`` source pixels per output pixel, and ``finish`` resamples it into
the model's geometry: rgb bilinear, instance and depth nearest. Output pixels
whose ray the lens does not image (outside a fisheye's field stop) are black,
instance 0, depth inf. An equidistant fisheye that is only wider than Blender's
circle (e.g. fx = fy on a non-square image) is rendered as a larger square
equidistant image with the same focal length and cropped by an integer offset
(no resampling).

The camera's world pose: Blender ``matrix_world = T_world_from_cam @ T_BLENDERCAM_FROM_CVCAM``
(Blender cameras look down their local -Z with +Y up).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from synth.cameras.base import CameraModel, intrinsics_matrix
from synth.cameras.fisheye import FisheyeEquidistantCamera, FisheyeEquisolidCamera
from synth.cameras.pinhole import PinholeCamera
from synth.core.errors import CameraError, RenderError
from synth.core.tolerance import TOL
from synth.core.transforms import T_BLENDERCAM_FROM_CVCAM

SENSOR_WIDTH_MM = 36.0
CLIP_START_M = 0.005
CLIP_END_M = 1000.0
BACKGROUND_Z = 1e9  # Blender writes 1e10 where a ray hits nothing
_MARGIN_PX = 3  # source pixels beyond the last output pixel's footprint
_PERSP_MAX_THETA = math.radians(75.0)  # wider fields go to the equidistant source

_PERSP_LENS_RANGE_MM = (1.0, 1e6)       # Blender's hard limits of Camera.lens
_FISHEYE_LENS_RANGE_MM = (0.01, 100.0)  # ... of Camera.fisheye_lens
_FISHEYE_FOV_RANGE = (0.1745, 31.4159)  # ... of Camera.fisheye_fov (radians)

KIND_PERSP = "PERSP"
KIND_EQUIDISTANT = "FISHEYE_EQUIDISTANT"
KIND_EQUISOLID = "FISHEYE_EQUISOLID"


@dataclass(frozen=True)
class _Resample:
    """Precomputed gather from the source render into the output image (valid output pixels only)."""

    flat_idx: np.ndarray      # (M,) int64, indices of valid output pixels in the flattened (H*W) image
    idx4: np.ndarray          # (M, 4) int64, flattened source indices of the bilinear neighbours
    w4: np.ndarray            # (M, 4) float32, bilinear weights
    nearest: np.ndarray       # (M,) int64, flattened source index of the nearest source pixel
    exact: bool               # every output pixel falls on a source pixel centre (pure crop)


@dataclass(frozen=True)
class _Geometry:
    """Everything about a plan that depends only on the intrinsics (cached across frames)."""

    kind: str
    source_K: np.ndarray
    source_dist: np.ndarray
    render_width: int
    render_height: int
    resample: _Resample | None
    valid: np.ndarray | None           # (H, W) bool output pixels the lens images; None = all
    range_factor: np.ndarray | None    # (h, w) float32 range / Z for PERSP sources, None for PANO


@dataclass
class BlenderCameraPlan:
    """What to set on Blender's camera and how to turn its raw passes into the model's image.

    Use: ``plan = plan_blender_camera(camera)``; ``plan.apply(scene, cam_obj)`` sets the render
    resolution (``plan.render_width`` x ``plan.render_height``, which can differ from the camera's
    size when the plan resamples), camera type, intrinsics and pose; after rendering,
    ``plan.finish(rgb, instance, z_pass)`` with Blender's raw passes at that resolution (row 0 =
    image top) returns ``(rgb (H, W, 3) uint8, instance (H, W) uint16, depth (H, W) float32 range m)``
    in the camera model's geometry.
    """

    camera: CameraModel
    _geo: _Geometry = field(repr=False)

    # -- what the renderer needs to know ---------------------------------------
    @property
    def kind(self) -> str:
        """Blender camera rendered: 'PERSP', 'FISHEYE_EQUIDISTANT' or 'FISHEYE_EQUISOLID'."""
        return self._geo.kind

    @property
    def render_width(self) -> int:
        return self._geo.render_width

    @property
    def render_height(self) -> int:
        return self._geo.render_height

    @property
    def resampled(self) -> bool:
        """True when the render is not the output image itself (resampled or cropped in ``finish``)."""
        return self._geo.resample is not None

    @property
    def valid_mask(self) -> np.ndarray:
        """(H, W) bool: output pixels whose ray the lens images."""
        if self._geo.valid is None:
            return np.ones((self.camera.height, self.camera.width), dtype=bool)
        return self._geo.valid.copy()

    @property
    def source(self) -> CameraModel:
        """The camera Blender renders, as a synth model (render resolution, same pose)."""
        g = self._geo
        cls = {KIND_PERSP: PinholeCamera, KIND_EQUIDISTANT: FisheyeEquidistantCamera,
               KIND_EQUISOLID: FisheyeEquisolidCamera}[g.kind]
        return cls(K=g.source_K, T_cam_from_world=self.camera.T_cam_from_world, width=g.render_width,
                   height=g.render_height, dist=g.source_dist)

    # -- Blender ------------------------------------------------------------------
    def apply(self, scene, cam_obj) -> None:
        """Set resolution, camera type/intrinsics and pose on ``scene`` / ``cam_obj`` (bpy objects)."""
        import mathutils  # bpy's math module; only available inside Blender

        g = self._geo
        W, H = g.render_width, g.render_height
        fx, cx, cy = float(g.source_K[0, 0]), float(g.source_K[0, 2]), float(g.source_K[1, 2])
        if g.kind != KIND_PERSP and scene.render.engine != "CYCLES":
            raise RenderError(f"camera model {self.camera.model_name!r} renders through Blender's panoramic "
                              f"{g.kind} camera, which only Cycles supports; got render engine "
                              f"{scene.render.engine!r}; set scene.render.engine = 'CYCLES'")
        scene.render.resolution_x = W
        scene.render.resolution_y = H
        scene.render.resolution_percentage = 100
        scene.render.pixel_aspect_x = 1.0
        scene.render.pixel_aspect_y = 1.0
        scene.render.use_border = False
        data = cam_obj.data
        data.sensor_fit = "HORIZONTAL"
        data.clip_start = CLIP_START_M
        data.clip_end = CLIP_END_M
        if g.kind == KIND_PERSP:
            sensor_mm, lens_mm = _sensor_and_lens(fx / W, _PERSP_LENS_RANGE_MM)
            data.type = "PERSP"
            data.lens_unit = "MILLIMETERS"
            data.sensor_width = sensor_mm
            data.sensor_height = sensor_mm * H / W
            data.lens = lens_mm
            data.shift_x = (W / 2.0 - 0.5 - cx) / W
            data.shift_y = (cy - H / 2.0 + 0.5) / W
        else:
            data.type = "PANO"
            data.panorama_type = g.kind
            data.shift_x = (W / 2.0 - 0.5 - cx) / W
            data.shift_y = (cy - H / 2.0 + 0.5) / H
            if g.kind == KIND_EQUIDISTANT:
                data.sensor_width = SENSOR_WIDTH_MM
                data.sensor_height = SENSOR_WIDTH_MM * H / W
                data.fisheye_fov = W / fx
            else:
                sensor_mm, lens_mm = _sensor_and_lens(fx / W, _FISHEYE_LENS_RANGE_MM)
                data.sensor_width = sensor_mm
                data.sensor_height = sensor_mm * H / W
                data.fisheye_lens = lens_mm
                data.fisheye_fov = float(g.source_dist[0])
        T_world_from_blcam = self.camera.T_world_from_cam @ T_BLENDERCAM_FROM_CVCAM
        cam_obj.matrix_world = mathutils.Matrix(T_world_from_blcam.tolist())

    def finish(self, rgb: np.ndarray, instance: np.ndarray, z_pass: np.ndarray):
        """Raw passes at the render resolution (row 0 = top) -> the model's (rgb, instance, depth range m).

        rgb : (h, w, 3) uint8; instance : (h, w) integer; z_pass : (h, w) float32 Blender Z.
        Returns rgb (H, W, 3) uint8, instance (H, W) uint16, depth (H, W) float32 (metres along the
        pixel's ray from the camera centre, inf where nothing is hit or the lens images nothing).
        """
        g = self._geo
        h, w = g.render_height, g.render_width
        for name, arr, shape in (("rgb", rgb, (h, w, 3)), ("instance", instance, (h, w)), ("z_pass", z_pass, (h, w))):
            if tuple(np.shape(arr)) != shape:
                raise RenderError(f"BlenderCameraPlan.finish: {name} has shape {np.shape(arr)}, expected {shape} "
                                  f"(the render resolution this plan's apply() set)")
        z = np.asarray(z_pass, dtype=np.float32)
        hit = np.isfinite(z) & (z > 0.0) & (z < BACKGROUND_Z)
        if g.range_factor is not None:
            rng_src = np.where(hit, z * g.range_factor, np.inf).astype(np.float32)
        else:
            rng_src = np.where(hit, z, np.inf).astype(np.float32)
        rgb = np.asarray(rgb)
        inst = np.asarray(instance).astype(np.uint16, copy=False)
        H, W = self.camera.height, self.camera.width
        rs = g.resample
        if rs is None:
            if g.valid is None:
                return rgb.astype(np.uint8, copy=False), inst, rng_src
            out_rgb = np.where(g.valid[..., None], rgb, 0).astype(np.uint8)
            out_inst = np.where(g.valid, inst, 0).astype(np.uint16)
            out_depth = np.where(g.valid, rng_src, np.inf).astype(np.float32)
            return out_rgb, out_inst, out_depth
        src_rgb = rgb.reshape(-1, 3)
        out_rgb = np.zeros((H * W, 3), dtype=np.uint8)
        if rs.exact:
            out_rgb[rs.flat_idx] = src_rgb[rs.nearest]
        else:
            acc = np.zeros((rs.flat_idx.size, 3), dtype=np.float32)
            for k in range(4):
                acc += src_rgb[rs.idx4[:, k]].astype(np.float32) * rs.w4[:, k, None]
            out_rgb[rs.flat_idx] = np.clip(np.rint(acc), 0, 255).astype(np.uint8)
        out_inst = np.zeros(H * W, dtype=np.uint16)
        out_inst[rs.flat_idx] = inst.reshape(-1)[rs.nearest]
        out_depth = np.full(H * W, np.inf, dtype=np.float32)
        out_depth[rs.flat_idx] = rng_src.reshape(-1)[rs.nearest]
        return out_rgb.reshape(H, W, 3), out_inst.reshape(H, W), out_depth.reshape(H, W)


    def finish_label(self, label: np.ndarray) -> np.ndarray:
        """A per-pixel integer label pass at the render resolution -> (H, W) uint16 of the model, taken exactly
        like the instance image (nearest source pixel; 0 where the lens images nothing)."""
        g = self._geo
        lab = np.asarray(label).astype(np.uint16, copy=False)
        if lab.shape != (g.render_height, g.render_width):
            raise RenderError(f"BlenderCameraPlan.finish_label: label has shape {lab.shape}, expected "
                              f"{(g.render_height, g.render_width)}")
        rs = g.resample
        if rs is None:
            return lab if g.valid is None else np.where(g.valid, lab, 0).astype(np.uint16)
        H, W = self.camera.height, self.camera.width
        out = np.zeros(H * W, dtype=np.uint16)
        out[rs.flat_idx] = lab.reshape(-1)[rs.nearest]
        return out.reshape(H, W)


# ---------------------------------------------------------------------------------------------
# planning


_CACHE: dict[tuple, _Geometry] = {}
_CACHE_MAX = 32


def plan_blender_camera(camera: CameraModel, *, oversample: float = 1.0,
                        max_render_scale: float = 3.0) -> BlenderCameraPlan:
    """Plan how Blender renders ``camera`` (native when exact, else render a native source and resample).

    oversample : minimum source pixels per output pixel (in every direction) when resampling.
    max_render_scale : cap on the source render's side relative to the output's longer side
        (beyond it the source is rendered at the cap, i.e. locally coarser than ``oversample``).
    The intrinsics-only part of the plan is cached, so planning every frame of a moving camera is cheap.
    """
    if oversample <= 0 or max_render_scale <= 0:
        raise CameraError(f"plan_blender_camera: oversample and max_render_scale must be > 0, "
                          f"got {oversample}, {max_render_scale}")
    key = (camera.model_name, camera.K.tobytes(), camera.dist.tobytes(), int(camera.width), int(camera.height),
           float(oversample), float(max_render_scale))
    geo = _CACHE.get(key)
    if geo is None:
        geo = _plan_geometry(camera, oversample, max_render_scale)
        if len(_CACHE) >= _CACHE_MAX:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = geo
    return BlenderCameraPlan(camera, geo)


def _sensor_and_lens(f_over_w: float, lens_range: tuple[float, float]) -> tuple[float, float]:
    """(sensor_width_mm, lens_mm) with lens / sensor = f_px / W, inside Blender's property limits."""
    sensor = SENSOR_WIDTH_MM
    lens = sensor * f_over_w
    if lens < lens_range[0]:
        lens = 2.0 * lens_range[0]
        sensor = lens / f_over_w
    elif lens > lens_range[1]:
        lens = 0.5 * lens_range[1]
        sensor = lens / f_over_w
    if sensor < 1.0:
        raise CameraError(f"focal length {f_over_w:.6g} x image width cannot be represented by Blender's camera "
                          f"(sensor {sensor:.4g} mm < 1 mm); the field of view is implausibly narrow")
    return float(sensor), float(lens)


def _pixel_grid(W: int, H: int) -> np.ndarray:
    vv, uu = np.mgrid[0:H, 0:W]
    return np.stack([uu.ravel(), vv.ravel()], -1).astype(np.float64)


def _persp_range_factor(K: np.ndarray, W: int, H: int) -> np.ndarray:
    """(H, W) float32 |ray| / ray_z for an undistorted pinhole: range = Z * factor."""
    uv = _pixel_grid(W, H)
    Kinv = np.linalg.inv(K)
    xy = uv @ Kinv[:2, :2].T + Kinv[:2, 2]
    return np.sqrt(1.0 + (xy ** 2).sum(1)).reshape(H, W).astype(np.float32)


def _plan_geometry(cam: CameraModel, oversample: float, max_scale: float) -> _Geometry:
    K = cam.K
    W, H = int(cam.width), int(cam.height)
    fx, fy, skew = K[0, 0], K[1, 1], K[0, 1]
    square_px = abs(fx - fy) <= TOL.degenerate * abs(fx) and abs(skew) <= TOL.zero * abs(fx)

    # 1) exact native renders at the output size
    if isinstance(cam, PinholeCamera) and not cam.has_distortion and square_px:
        return _Geometry(KIND_PERSP, K.copy(), np.zeros(5), W, H, None, None, _persp_range_factor(K, W, H))
    if isinstance(cam, FisheyeEquisolidCamera) and square_px and cam.max_fov_rad >= _FISHEYE_FOV_RANGE[0]:
        valid = _valid_pixels(cam)
        return _Geometry(KIND_EQUISOLID, K.copy(), cam.dist.copy(), W, H, None,
                         None if valid.all() else valid, None)
    if isinstance(cam, FisheyeEquidistantCamera) and abs(skew) <= TOL.zero * abs(fx):
        valid = _valid_pixels(cam)
        if abs(fx * H - fy * W) <= TOL.degenerate * abs(fx * H):
            fov_b = W / fx  # Blender images theta <= fov_b / 2 inside its inscribed ellipse
            rays = cam.unproject(_pixel_grid(W, H)[valid.ravel()])
            theta_needed = float(np.arccos(np.clip(rays[:, 2], -1, 1)).max(initial=0.0))
            if theta_needed <= 0.5 * fov_b * (1.0 + TOL.degenerate) and _FISHEYE_FOV_RANGE[0] <= fov_b <= _FISHEYE_FOV_RANGE[1]:
                return _Geometry(KIND_EQUIDISTANT, K.copy(), np.array([fov_b]), W, H, None,
                                 None if valid.all() else valid, None)
        if square_px:
            return _crop_equidistant(cam, valid)

    # 2) render a native source camera and resample
    return _resampled(cam, oversample, max_scale)


def _valid_pixels(cam: CameraModel) -> np.ndarray:
    rays = cam.unproject(_pixel_grid(cam.width, cam.height))
    return np.all(np.isfinite(rays), axis=1).reshape(cam.height, cam.width)


def _crop_equidistant(cam: FisheyeEquidistantCamera, valid: np.ndarray) -> _Geometry:
    """Render a larger square equidistant image with the same f; the output is an integer-offset crop."""
    W, H = cam.width, cam.height
    f, cx, cy = cam.K[0, 0], cam.K[0, 2], cam.K[1, 2]
    rays = cam.unproject(_pixel_grid(W, H)[valid.ravel()])
    if rays.size == 0:
        raise CameraError(f"{cam.model_name}: no pixel of the {W}x{H} image is inside the lens' field of view "
                          f"(max_fov_rad={cam.max_fov_rad}); check K and dist")
    theta_needed = float(np.arccos(np.clip(rays[:, 2], -1, 1)).max())
    # Blender's circle radius S / 2 (pixels) must exceed f * theta_needed plus a margin
    S = int(2 * math.ceil(max(f * theta_needed + _MARGIN_PX, 0.5 * f * _FISHEYE_FOV_RANGE[0] + 1)))
    ox = int(round((S - 1) / 2.0 - cx))  # source pixel = output pixel + (ox, oy)
    oy = int(round((S - 1) / 2.0 - cy))
    src_K = intrinsics_matrix(f, f, cx + ox, cy + oy)
    src_cam = FisheyeEquidistantCamera(K=src_K, T_cam_from_world=np.eye(4), width=S, height=S, dist=[S / f])
    rs = _build_resample(cam, valid, src_cam, exact_offset=(ox, oy))
    return _Geometry(KIND_EQUIDISTANT, src_K, np.array([S / f]), S, S, rs, None if valid.all() else valid, None)


def _resampled(cam: CameraModel, oversample: float, max_scale: float) -> _Geometry:
    W, H = cam.width, cam.height
    uv = _pixel_grid(W, H)
    rays = cam.unproject(uv)
    valid = np.all(np.isfinite(rays), axis=1)
    if not valid.any():
        raise CameraError(f"{cam.model_name}: no pixel of the {W}x{H} image has a ray (K={cam.K.tolist()}, "
                          f"dist={cam.dist.tolist()}); check the intrinsics")
    theta = np.arccos(np.clip(rays[:, 2], -1.0, 1.0))
    theta_max = float(np.nanmax(np.where(valid, theta, np.nan)))
    rays_img = rays.reshape(H, W, 3)
    valid_img = valid.reshape(H, W)

    candidates = []
    if theta_max < _PERSP_MAX_THETA:
        s = rays_img[..., :2] / rays_img[..., 2:3]  # unit-focal pinhole coordinates
        candidates.append(_source_candidate(KIND_PERSP, s, valid_img, oversample, max_scale, max(W, H)))
    th = theta.reshape(H, W)
    rho = np.hypot(rays_img[..., 0], rays_img[..., 1])
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = np.where(rho > 0, th / np.where(rho > 0, rho, 1.0), 1.0)
    s = rays_img[..., :2] * scale[..., None]  # unit-focal equidistant coordinates
    candidates.append(_source_candidate(KIND_EQUIDISTANT, s, valid_img, oversample, max_scale, max(W, H)))
    kind, src_cam = min(candidates, key=lambda c: c[1].width * c[1].height)
    rs = _build_resample(cam, valid_img, src_cam, exact_offset=None, rays_all=rays)
    range_factor = (_persp_range_factor(src_cam.K, src_cam.width, src_cam.height) if kind == KIND_PERSP else None)
    src_dist = np.zeros(5) if kind == KIND_PERSP else np.array([src_cam.width / src_cam.K[0, 0]])
    return _Geometry(kind, src_cam.K.copy(), src_dist, src_cam.width, src_cam.height, rs,
                     None if valid_img.all() else valid_img, range_factor)


def _source_candidate(kind: str, s: np.ndarray, valid: np.ndarray, oversample: float, max_scale: float,
                      out_side: int):
    """Size a native source for unit-focal source coordinates ``s`` (H, W, 2) of the output pixels."""
    s = np.where(valid[..., None], s, np.nan)
    # Jacobian d s / d(u, v) by central differences between neighbouring output pixels
    with np.errstate(invalid="ignore"):
        ds_du = np.gradient(s, axis=1) if s.shape[1] > 1 else np.full_like(s, np.nan)
        ds_dv = np.gradient(s, axis=0) if s.shape[0] > 1 else np.full_like(s, np.nan)
    a, c = ds_du[..., 0], ds_du[..., 1]
    b, d = ds_dv[..., 0], ds_dv[..., 1]
    # smallest singular value of [[a, b], [c, d]]
    p = a * a + b * b + c * c + d * d
    q = np.abs(a * d - b * c)
    with np.errstate(invalid="ignore"):
        smin = np.sqrt(np.maximum(0.5 * (p - np.sqrt(np.maximum(p * p - 4 * q * q, 0.0))), 0.0))
    smin = smin[np.isfinite(smin) & (smin > 0)]
    if smin.size == 0:
        raise CameraError("plan_blender_camera: cannot estimate the lens' pixel scale (fewer than 2x2 valid pixels)")
    f = oversample / float(smin.min())
    sv = s[valid]
    if kind == KIND_PERSP:
        lo, hi = sv.min(axis=0), sv.max(axis=0)
        f = min(f, max_scale * out_side / max(float((hi - lo).max()), TOL.zero))
        w = int(math.ceil(f * (hi[0] - lo[0]))) + 1 + 2 * _MARGIN_PX
        h = int(math.ceil(f * (hi[1] - lo[1]))) + 1 + 2 * _MARGIN_PX
        K = intrinsics_matrix(f, f, _MARGIN_PX - f * lo[0], _MARGIN_PX - f * lo[1])
        return kind, PinholeCamera(K=K, T_cam_from_world=np.eye(4), width=w, height=h)
    r_max = float(np.hypot(sv[:, 0], sv[:, 1]).max())
    f = min(f, max_scale * out_side / max(2.0 * r_max, TOL.zero))
    S = int(2 * math.ceil(max(f * r_max + _MARGIN_PX, 0.5 * f * _FISHEYE_FOV_RANGE[0] + 1)))
    K = intrinsics_matrix(f, f, (S - 1) / 2.0, (S - 1) / 2.0)
    return kind, FisheyeEquidistantCamera(K=K, T_cam_from_world=np.eye(4), width=S, height=S, dist=[S / f])


def _build_resample(cam: CameraModel, valid: np.ndarray, src: CameraModel,
                    exact_offset: tuple[int, int] | None, rays_all: np.ndarray | None = None) -> _Resample:
    """Gather indices/weights; ``rays_all`` (H*W, 3) are the output pixels' rays if already known."""
    W, H = cam.width, cam.height
    flat_idx = np.nonzero(valid.ravel())[0]
    uv = _pixel_grid(W, H)[flat_idx]
    Ws, Hs = src.width, src.height
    if exact_offset is not None:
        sp = uv + np.asarray(exact_offset, dtype=np.float64)
    else:
        rays = cam.unproject(uv) if rays_all is None else rays_all[flat_idx]
        sp = src.project_cam(rays)
    if not np.all(np.isfinite(sp)):
        raise CameraError(f"plan_blender_camera: the {src.model_name} source render does not cover every pixel "
                          f"of {cam.model_name} (internal planning error)")
    # snap coordinates that are integers up to rounding (pure crops stay exact)
    near_int = np.abs(sp - np.rint(sp)) < TOL.rounding
    sp = np.where(near_int, np.rint(sp), sp)
    sp[:, 0] = np.clip(sp[:, 0], 0.0, Ws - 1.0)
    sp[:, 1] = np.clip(sp[:, 1], 0.0, Hs - 1.0)
    x0 = np.clip(np.floor(sp[:, 0]).astype(np.int64), 0, max(Ws - 2, 0))
    y0 = np.clip(np.floor(sp[:, 1]).astype(np.int64), 0, max(Hs - 2, 0))
    tx = sp[:, 0] - x0
    ty = sp[:, 1] - y0
    x1 = np.minimum(x0 + 1, Ws - 1)
    y1 = np.minimum(y0 + 1, Hs - 1)
    idx4 = np.stack([y0 * Ws + x0, y0 * Ws + x1, y1 * Ws + x0, y1 * Ws + x1], -1)
    w4 = np.stack([(1 - tx) * (1 - ty), tx * (1 - ty), (1 - tx) * ty, tx * ty], -1).astype(np.float32)
    nearest = np.rint(sp[:, 1]).astype(np.int64) * Ws + np.rint(sp[:, 0]).astype(np.int64)
    exact = bool(np.all(near_int))
    return _Resample(flat_idx=flat_idx, idx4=idx4, w4=w4, nearest=nearest, exact=exact)
