"""Camera calibration targets, label-consistent image transforms and error metrics (pure numpy, no torch).

Conventions (the dataset's): OpenCV camera frame (x right, y down, z forward), world Z-up, metres;
``T_cam_from_world`` (4, 4). Angles are in degrees.

* ``vfov_deg = 2 atan(H / (2 fy))``: the vertical field of view of the undistorted pinhole model
  (Brown-Conrady coefficients do not change it; it is read from K's fy and the image height).
* ``pitch_deg``: elevation of the optical axis (camera +z) above the horizon, ``asin(z_w . up)``;
  **positive when the camera looks up**, negative looking down, in [-90, 90].
* ``roll_deg``: rotation of the camera about its optical axis relative to the horizon,
  ``atan2(-x_w . up, -y_w . up)`` with ``x_w, y_w`` the camera's x and y axes in the world; **positive when
  the image x axis (camera right) points below the horizon**, i.e. the camera is turned clockwise about its
  viewing direction as seen from behind it, so the horizon appears turned counter-clockwise in the image.
  In (-180, 180]; undefined when looking straight up or down (|pitch| = 90).

The network input is the whole image letterboxed (isotropic scale, centred, black bars) to an S x S square:
an isotropic scale leaves the field of view of the image content unchanged, while a plain anisotropic resize
of a non-square image would change the apparent fov along one axis. Augmentations and their label updates:
a mirror flip negates roll; turning the content counter-clockwise by ``a`` about the image centre adds ``a``
to roll (pitch and fov unchanged: the optical axis stays); a centred crop to a fraction ``c`` of the image
(the same fraction of width and height) gives ``vfov' = 2 atan(c tan(vfov / 2))``. Rotation and crop assume
the principal point at the image centre (true for synth's cameras).

Metrics: ``synth.estimators.camera_calib.metrics``.
"""

from __future__ import annotations

import numpy as np

from synth.estimators.engine.crops import CropBox, compute_crop_affine

WORLD_UP = np.array([0.0, 0.0, 1.0])


def vertical_fov_deg(fy_px: np.ndarray | float, height_px: np.ndarray | float) -> np.ndarray:
    """Vertical field of view (degrees) of focal length ``fy_px`` (px) over an image ``height_px`` rows tall."""
    return np.degrees(2.0 * np.arctan(0.5 * np.asarray(height_px, np.float64) / np.asarray(fy_px, np.float64)))


def focal_px_from_vfov(vfov_deg: np.ndarray | float, height_px: np.ndarray | float) -> np.ndarray:
    """Focal length (px) that gives ``vfov_deg`` over ``height_px`` rows (inverse of ``vertical_fov_deg``)."""
    return 0.5 * np.asarray(height_px, np.float64) / np.tan(0.5 * np.radians(np.asarray(vfov_deg, np.float64)))


def camera_pitch_roll_deg(R_cam_from_world: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pitch and roll (degrees, conventions in the module docstring) of camera rotation(s).

    R_cam_from_world : (..., 3, 3) float, rotation part of ``T_cam_from_world`` (a mirrored frame, det -1,
        is accepted: its roll is the mirror image's).
    Returns (pitch_deg (...,), roll_deg (...,)) float64.
    """
    R = np.asarray(R_cam_from_world, np.float64)
    up_cam = R @ WORLD_UP                         # world up in camera coordinates: (x_w.up, y_w.up, z_w.up)
    pitch = np.degrees(np.arcsin(np.clip(up_cam[..., 2], -1.0, 1.0)))
    roll = np.degrees(np.arctan2(-up_cam[..., 0], -up_cam[..., 1]))
    return pitch, roll


def rotation_from_pitch_roll(pitch_deg: float, roll_deg: float, yaw_deg: float = 0.0) -> np.ndarray:
    """(3, 3) ``R_cam_from_world`` of a camera with the given pitch and roll, heading ``yaw_deg`` about world +Z
    (0: looking along world +Y). The inverse of ``camera_pitch_roll_deg`` for |pitch| < 90."""
    p, r, y = np.radians([pitch_deg, roll_deg, yaw_deg])
    z = np.array([0.0, np.cos(p), np.sin(p)])                  # optical axis
    x0 = np.array([1.0, 0.0, 0.0])                             # level right vector
    y0 = np.cross(z, x0)                                       # level down vector (right-handed: x0 x y0 = z)
    x = np.cos(r) * x0 + np.sin(r) * y0                        # positive roll tips camera right downwards
    yv = -np.sin(r) * x0 + np.cos(r) * y0
    Rz = np.array([[np.cos(y), -np.sin(y), 0.0], [np.sin(y), np.cos(y), 0.0], [0.0, 0.0, 1.0]])
    R_world_from_cam = Rz @ np.stack([x, yv, z], axis=1)
    return R_world_from_cam.T


def calib_targets_from_camera(K: np.ndarray, T_cam_from_world: np.ndarray, height_px: int) -> np.ndarray:
    """(3,) float64 (vfov_deg, pitch_deg, roll_deg) of one pinhole camera: K (3, 3) px, T (4, 4), image rows."""
    pitch, roll = camera_pitch_roll_deg(np.asarray(T_cam_from_world, np.float64)[:3, :3])
    return np.array([float(vertical_fov_deg(np.asarray(K)[1, 1], height_px)), float(pitch), float(roll)])


def max_inscribed_fraction(width: int, height: int, rotation_rad: float) -> float:
    """Largest c such that a centred (c W) x (c H) rectangle turned by ``rotation_rad`` fits in the W x H image
    (no empty corners after rotating the content)."""
    c, s = abs(np.cos(rotation_rad)), abs(np.sin(rotation_rad))
    return float(min(width / (width * c + height * s), height / (width * s + height * c)))


def letterbox_affine(width: int, height: int, input_size: int, *, crop_fraction: float = 1.0,
                     rotation_rad: float = 0.0, flip: bool = False) -> np.ndarray:
    """(2, 3) float64 affine from image pixel centres to the S x S network input (``crops`` conventions).

    The centred region of ``crop_fraction`` of the image (all of it by default) is scaled isotropically so its
    longer side fills S (letterbox), turned counter-clockwise by ``rotation_rad`` about the centre, then mirrored
    left-right when ``flip``. ``letterbox_content_mask`` gives the input pixels that hold image content.
    """
    side = float(max(width, height)) * float(crop_fraction)
    box = CropBox(center=np.array([(width - 1) / 2.0, (height - 1) / 2.0]), size=np.array([side, side]))
    return compute_crop_affine(box, (input_size, input_size), rotation_rad=rotation_rad, flip=flip)


def letterbox_content_mask(width: int, height: int, input_size: int) -> np.ndarray | None:
    """(S, S) bool: input pixels inside the centred W:H content rectangle; None for square images (all content)."""
    if width == height:
        return None
    s = input_size / float(max(width, height))
    cw, ch = width * s, height * s
    u = np.arange(input_size) + 0.5 - input_size / 2.0          # pixel centre offsets from the input centre
    return (np.abs(u)[None, :] <= cw / 2.0) & (np.abs(u)[:, None] <= ch / 2.0)


def augmented_targets(targets_deg: np.ndarray, *, crop_fraction: float = 1.0, rotation_deg: float = 0.0,
                      flip: bool = False) -> np.ndarray:
    """Labels of an image transformed by ``letterbox_affine(crop_fraction, rotation, flip)``.

    targets_deg : (3,) (vfov_deg, pitch_deg, roll_deg). Returns (3,) float64: fov narrowed by the crop, roll
    plus the counter-clockwise content rotation (wrapped to (-180, 180]), negated by the flip; pitch unchanged.
    """
    vfov, pitch, roll = (float(v) for v in np.asarray(targets_deg, np.float64).reshape(3))
    vfov = float(np.degrees(2.0 * np.arctan(crop_fraction * np.tan(np.radians(vfov) / 2.0))))
    roll = roll + rotation_deg
    roll = -((180.0 - roll) % 360.0 - 180.0)                    # wrap to (-180, 180]
    if flip:
        roll = -roll
    return np.array([vfov, pitch, roll])
