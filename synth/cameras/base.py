"""The camera interface shared by the renderer and the ground truth.

One camera object drives both the Blender camera (``synth/render/blender``)
and the label projection (``project``). Conventions (OpenCV):

* camera frame: x right, y down, z forward, metres;
* pixel (u, v) = (column, row) with integer coordinates at pixel *centres*:
  the top-left pixel's centre is (0, 0);
* ``T_cam_from_world`` (4, 4) float64 maps world points (Z-up, metres) to
  the camera frame.

Models (registered by ``model_name`` for ``from_record``): ``pinhole``
(Brown-Conrady), ``fisheye_equidistant``, ``fisheye_equisolid``, ``fisheye_kb``
(OpenCV fisheye); see ``synth/cameras/pinhole.py`` and ``fisheye.py`` for the
formulas and the meaning of ``dist`` (fisheyes store their field stop
``max_fov_rad`` as the last element of ``dist``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import numpy as np

from synth.core.errors import CameraError
from synth.core.transforms import apply_T, invert_T

CAMERA_MODELS: dict[str, type["CameraModel"]] = {}


def register_camera_model(cls: type["CameraModel"]) -> type["CameraModel"]:
    CAMERA_MODELS[cls.model_name] = cls
    return cls


@dataclass(frozen=True)
class CameraModel(ABC):
    """A calibrated camera: intrinsics ``K``, lens coefficients ``dist`` and a pose.

    Attributes
    ----------
    K : (3, 3) float64, pixels
    dist : (D,) float64, the model's lens coefficients (meaning per subclass)
    T_cam_from_world : (4, 4) float64, metres
    width, height : image size in pixels
    """

    model_name: ClassVar[str] = "abstract"

    K: np.ndarray
    T_cam_from_world: np.ndarray
    width: int
    height: int
    dist: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def __post_init__(self) -> None:
        object.__setattr__(self, "K", np.asarray(self.K, dtype=np.float64).reshape(3, 3))
        object.__setattr__(self, "T_cam_from_world", np.asarray(self.T_cam_from_world, dtype=np.float64).reshape(4, 4))
        object.__setattr__(self, "dist", np.asarray(self.dist, dtype=np.float64).reshape(-1))
        if int(self.width) <= 0 or int(self.height) <= 0:
            raise CameraError(f"{self.model_name}: image size must be positive, got {self.width}x{self.height}")

    # -- geometry in the camera frame (implemented by each model) ---------
    @abstractmethod
    def project_cam(self, X_cam: np.ndarray) -> np.ndarray:
        """(N, 3) metres, camera frame -> (N, 2) float64 pixels. Invalid points give NaN."""

    @abstractmethod
    def unproject(self, uv: np.ndarray) -> np.ndarray:
        """(N, 2) pixels -> (N, 3) unit ray directions in the camera frame.

        NaN rows for pixels no ray maps to (outside a fisheye's image circle / field stop,
        beyond the fold of a strong distortion polynomial).
        """

    @abstractmethod
    def valid_cam(self, X_cam: np.ndarray) -> np.ndarray:
        """(N, 3) camera-frame points -> (N,) bool: the lens can image the point at all."""

    # -- world-frame helpers ----------------------------------------------
    @property
    def T_world_from_cam(self) -> np.ndarray:
        return invert_T(self.T_cam_from_world)

    @property
    def center_world(self) -> np.ndarray:
        """(3,) camera centre in world coordinates, metres."""
        return self.T_world_from_cam[:3, 3]

    def world_to_cam(self, X_world: np.ndarray) -> np.ndarray:
        return apply_T(self.T_cam_from_world, X_world)

    def project(self, X_world: np.ndarray) -> np.ndarray:
        """(N, 3) metres, world frame -> (N, 2) float64 pixels (NaN where not imageable)."""
        X = np.asarray(X_world, dtype=np.float64)
        shape = X.shape[:-1]
        uv = self.project_cam(self.world_to_cam(X.reshape(-1, 3)))
        return uv.reshape(*shape, 2)

    def in_image(self, uv: np.ndarray) -> np.ndarray:
        """(..., 2) pixels -> (...,) bool: inside the image (pixel-centre convention)."""
        u, v = uv[..., 0], uv[..., 1]
        ok = np.isfinite(u) & np.isfinite(v)
        return ok & (u >= -0.5) & (u < self.width - 0.5) & (v >= -0.5) & (v < self.height - 0.5)

    def with_pose(self, T_cam_from_world: np.ndarray) -> "CameraModel":
        return replace(self, T_cam_from_world=np.asarray(T_cam_from_world, dtype=np.float64))

    # -- storage -----------------------------------------------------------
    def to_record(self) -> dict[str, Any]:
        """Plain dict for labels: model name, K, dist, T_cam_from_world, image size."""
        return {
            "model": self.model_name,
            "K": self.K.copy(),
            "dist": self.dist.copy(),
            "T_cam_from_world": self.T_cam_from_world.copy(),
            "width": int(self.width),
            "height": int(self.height),
        }

    @staticmethod
    def from_record(rec: dict[str, Any]) -> "CameraModel":
        name = str(rec["model"])
        if name not in CAMERA_MODELS:
            raise CameraError(f"camera model {name!r} is unknown; expected one of {sorted(CAMERA_MODELS)}")
        cls = CAMERA_MODELS[name]
        return cls(K=rec["K"], T_cam_from_world=rec["T_cam_from_world"], width=int(rec["width"]),
                   height=int(rec["height"]), dist=rec.get("dist", np.zeros(0)))


def intrinsics_matrix(fx: float, fy: float, cx: float, cy: float) -> np.ndarray:
    return np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]])
