"""Fisheye cameras: equidistant, equisolid and Kannala-Brandt (OpenCV ``cv2.fisheye``).

All three are central, radially symmetric lenses. For a camera-frame point
(X, Y, Z) (OpenCV: x right, y down, z forward)::

    rho   = sqrt(X^2 + Y^2)
    theta = atan2(rho, Z)             angle off the optical axis, in [0, pi]
    r     = g(theta)                  the lens' radial map (normalised, focal length 1)
    x' = r X / rho,  y' = r Y / rho   (x' = y' = 0 on the axis)
    [u, v, 1]^T = K [x', y', 1]^T

with, per model,

* ``fisheye_equidistant``: g(theta) = theta;
* ``fisheye_equisolid``:   g(theta) = 2 sin(theta / 2);
* ``fisheye_kb``:          g(theta) = theta (1 + k1 theta^2 + k2 theta^4 + k3 theta^6 + k4 theta^8)
  (OpenCV's fisheye model; equidistant is KB with k = 0).

Because theta comes from ``atan2`` the models are defined beyond 90 degrees
off-axis (points behind the image plane, Z <= 0), up to the lens' field stop.

Maximum field of view. A real fisheye images only a cone of half-angle
``max_fov_rad / 2``. It is stored as the LAST element of ``dist`` so that it
survives ``to_record`` / ``from_record`` and any writer that stores the
standard record fields:

* ``fisheye_equidistant``: ``dist = (max_fov_rad,)``
* ``fisheye_equisolid``:   ``dist = (max_fov_rad,)``
* ``fisheye_kb``:          ``dist = (k1, k2, k3, k4, max_fov_rad)``

Passing only the lens coefficients (``()`` or ``(k1..k4)``) selects the
default field of view: 180 degrees (for KB capped by the polynomial's
monotonic range). ``valid_cam`` is ``theta <= max_fov_rad / 2``; ``project_cam``
gives NaN elsewhere and ``unproject`` gives NaN rays for pixels outside the
lens' image circle (theta > max_fov_rad / 2).

Unprojection inverts g in closed form (equidistant, equisolid) or by a
safeguarded Newton iteration (KB, on the monotonic range of the polynomial).
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from synth.cameras.base import CameraModel, intrinsics_matrix, register_camera_model
from synth.cameras.pinhole import _first_positive_root, _fit_side, _safeguarded_newton
from synth.core.errors import CameraError
from synth.core.tolerance import TOL


@dataclass(frozen=True)
class FisheyeCamera(CameraModel):
    """Common code of the radially symmetric fisheye models (see the module docstring)."""

    model_name = "fisheye_abstract"
    n_coeffs: ClassVar[int] = 0
    default_max_fov_rad: ClassVar[float] = np.pi

    def __post_init__(self) -> None:
        super().__post_init__()
        n = self.n_coeffs
        d = self.dist
        if not np.all(np.isfinite(d)):
            raise CameraError(f"{self.model_name}: dist must be finite, got {d.tolist()}")
        if d.size == n:
            coeffs = d.copy()
            object.__setattr__(self, "dist", np.append(coeffs, np.nan))  # temporary, for theta_limit
            max_fov = min(self.default_max_fov_rad, 2.0 * self.theta_limit)
            d = np.append(coeffs, max_fov)
        elif d.size != n + 1:
            raise CameraError(
                f"{self.model_name}: dist must hold {n} lens coefficients plus max_fov_rad "
                f"({n + 1} values) or just the {n} coefficients, got {d.size}: {d.tolist()}")
        object.__setattr__(self, "dist", d)
        max_fov = float(d[n])
        if not (0.0 < max_fov <= 2.0 * self.theta_limit + TOL.zero):
            raise CameraError(
                f"{self.model_name}: max_fov_rad = {max_fov:.6g} ({np.degrees(max_fov):.2f} deg) must be in "
                f"(0, {2.0 * self.theta_limit:.6g}] (the lens map is monotonic up to theta = "
                f"{np.degrees(self.theta_limit):.2f} deg); lower the field of view (last element of dist)")

    # -- lens map (normalised, focal length 1) ------------------------------
    @property
    def coeffs(self) -> np.ndarray:
        """(n_coeffs,) lens polynomial coefficients (empty for equidistant / equisolid)."""
        return self.dist[: self.n_coeffs]

    @property
    def max_fov_rad(self) -> float:
        """Full field of view of the lens (radians): points with theta <= max_fov_rad / 2 are imaged."""
        return float(self.dist[self.n_coeffs])

    @property
    def theta_limit(self) -> float:
        """Largest theta (radians, <= pi) on which g is increasing."""
        return float(np.pi)

    @abstractmethod
    def radial(self, theta: np.ndarray) -> np.ndarray:
        """g(theta): (N,) radians -> (N,) normalised image radius."""

    @abstractmethod
    def radial_derivative(self, theta: np.ndarray) -> np.ndarray:
        """g'(theta): (N,) radians -> (N,)."""

    @abstractmethod
    def radial_inverse(self, r: np.ndarray) -> np.ndarray:
        """g^-1(r): (N,) normalised radius -> (N,) theta radians, NaN beyond g(theta_limit)."""

    # -- CameraModel -----------------------------------------------------------
    def _theta(self, X: np.ndarray) -> np.ndarray:
        rho = np.hypot(X[..., 0], X[..., 1])
        return np.arctan2(rho, X[..., 2])

    def valid_cam(self, X_cam: np.ndarray) -> np.ndarray:
        """(..., 3) camera-frame points -> (...,) bool: theta <= max_fov_rad / 2 (and X != 0)."""
        X = np.asarray(X_cam, dtype=np.float64)
        nonzero = np.any(X != 0.0, axis=-1) & np.all(np.isfinite(X), axis=-1)
        return nonzero & (self._theta(X) <= 0.5 * self.max_fov_rad * (1.0 + TOL.zero))

    def project_cam(self, X_cam: np.ndarray) -> np.ndarray:
        """(N, 3) metres, camera frame -> (N, 2) float64 pixels; NaN where not ``valid_cam``."""
        X = np.asarray(X_cam, dtype=np.float64).reshape(-1, 3)
        ok = self.valid_cam(X)
        rho = np.hypot(X[:, 0], X[:, 1])
        theta = np.arctan2(rho, X[:, 2])
        r = self.radial(theta)
        safe = np.where(rho > 0, rho, 1.0)
        xy = np.where((rho > 0)[:, None], X[:, :2] * (r / safe)[:, None], 0.0)
        uv = xy @ self.K[:2, :2].T + self.K[:2, 2]
        uv[~ok] = np.nan
        return uv

    def unproject(self, uv: np.ndarray) -> np.ndarray:
        """(N, 2) pixels -> (N, 3) unit rays, camera frame; NaN outside the lens' image circle."""
        uv = np.asarray(uv, dtype=np.float64).reshape(-1, 2)
        Kinv = np.linalg.inv(self.K)
        xy = uv @ Kinv[:2, :2].T + Kinv[:2, 2]
        r = np.hypot(xy[:, 0], xy[:, 1])
        theta = self.radial_inverse(r)
        safe = np.where(r > 0, r, 1.0)
        s = np.sin(theta)
        rays = np.empty((uv.shape[0], 3))
        rays[:, 0] = np.where(r > 0, s * xy[:, 0] / safe, 0.0)
        rays[:, 1] = np.where(r > 0, s * xy[:, 1] / safe, 0.0)
        rays[:, 2] = np.cos(theta)
        rays[~(theta <= 0.5 * self.max_fov_rad * (1.0 + TOL.zero))] = np.nan
        return rays

    # -- constructors ------------------------------------------------------------
    @classmethod
    def from_fov(cls, width: int, height: int, fov_rad: float, k=None, *, dist=None, fit: str = "min",
                 max_fov_rad: float | None = None, T_cam_from_world: np.ndarray | None = None,
                 principal_point: tuple[float, float] | None = None) -> "FisheyeCamera":
        """Square-pixel fisheye whose field of view ``fov_rad`` spans the image ``fit`` side.

        k / dist : the lens coefficients (KB: k1..k4, default 0; equidistant / equisolid: none).
            ``dist`` is an alias of ``k`` (the name ``CameraModel`` uses).
        fit : "min" (default: the image circle touches the shorter side - a circular fisheye),
            "width", "height" or "diagonal" (full-frame fisheye); the fov spans that extent
            edge to edge (``side`` pixels, from pixel edge -0.5 to side - 0.5).
        max_fov_rad : the lens' field stop (default ``fov_rad``).
        principal_point : (cx, cy) pixels; default the image centre ((W-1)/2, (H-1)/2).
        """
        if k is not None and dist is not None:
            raise CameraError(f"{cls.model_name}.from_fov: give the lens coefficients as k or dist, not both")
        coeffs = np.asarray(k if k is not None else (dist if dist is not None else []), dtype=np.float64).reshape(-1)
        if coeffs.size == 0:
            coeffs = np.zeros(cls.n_coeffs)
        if coeffs.size != cls.n_coeffs:
            raise CameraError(f"{cls.model_name}.from_fov: expected {cls.n_coeffs} lens coefficients, got "
                              f"{coeffs.size}: {coeffs.tolist()}")
        if not (0.0 < fov_rad <= 2.0 * np.pi):
            raise CameraError(f"{cls.model_name}.from_fov: fov_rad must be in (0, 2 pi], got {fov_rad}")
        max_fov = fov_rad if max_fov_rad is None else float(max_fov_rad)
        probe = cls(K=np.eye(3), T_cam_from_world=np.eye(4), width=int(width), height=int(height),
                    dist=np.append(coeffs, max_fov))
        side = _fit_side(width, height, fit)
        f = 0.5 * side / float(probe.radial(np.array([0.5 * fov_rad]))[0])
        cx, cy = principal_point if principal_point is not None else ((width - 1) / 2.0, (height - 1) / 2.0)
        return cls(K=intrinsics_matrix(f, f, cx, cy),
                   T_cam_from_world=np.eye(4) if T_cam_from_world is None else T_cam_from_world,
                   width=int(width), height=int(height), dist=probe.dist)


@register_camera_model
@dataclass(frozen=True)
class FisheyeEquidistantCamera(FisheyeCamera):
    """Equidistant fisheye, r = f theta. ``dist = (max_fov_rad,)``."""

    model_name = "fisheye_equidistant"
    n_coeffs = 0

    def radial(self, theta: np.ndarray) -> np.ndarray:
        return np.asarray(theta, dtype=np.float64)

    def radial_derivative(self, theta: np.ndarray) -> np.ndarray:
        return np.ones_like(np.asarray(theta, dtype=np.float64))

    def radial_inverse(self, r: np.ndarray) -> np.ndarray:
        r = np.asarray(r, dtype=np.float64)
        return np.where(r <= np.pi, r, np.nan)


@register_camera_model
@dataclass(frozen=True)
class FisheyeEquisolidCamera(FisheyeCamera):
    """Equisolid-angle fisheye, r = 2 f sin(theta / 2). ``dist = (max_fov_rad,)``."""

    model_name = "fisheye_equisolid"
    n_coeffs = 0

    def radial(self, theta: np.ndarray) -> np.ndarray:
        return 2.0 * np.sin(0.5 * np.asarray(theta, dtype=np.float64))

    def radial_derivative(self, theta: np.ndarray) -> np.ndarray:
        return np.cos(0.5 * np.asarray(theta, dtype=np.float64))

    def radial_inverse(self, r: np.ndarray) -> np.ndarray:
        r = np.asarray(r, dtype=np.float64)
        with np.errstate(invalid="ignore"):
            return np.where(r <= 2.0, 2.0 * np.arcsin(np.minimum(r, 2.0) / 2.0), np.nan)


@register_camera_model
@dataclass(frozen=True)
class FisheyeKBCamera(FisheyeCamera):
    """Kannala-Brandt / OpenCV fisheye: theta_d = theta (1 + k1 th^2 + k2 th^4 + k3 th^6 + k4 th^8).

    ``dist = (k1, k2, k3, k4, max_fov_rad)``; ``dist[:4]`` is what ``cv2.fisheye`` calls D.
    """

    model_name = "fisheye_kb"
    n_coeffs = 4

    @property
    def theta_limit(self) -> float:
        k1, k2, k3, k4 = self.dist[:4]
        s = _first_positive_root(np.array([1.0, 3.0 * k1, 5.0 * k2, 7.0 * k3, 9.0 * k4]))
        return float(min(np.pi, np.sqrt(s)))

    def radial(self, theta: np.ndarray) -> np.ndarray:
        k1, k2, k3, k4 = self.dist[:4]
        t = np.asarray(theta, dtype=np.float64)
        t2 = t * t
        return t * (1.0 + t2 * (k1 + t2 * (k2 + t2 * (k3 + t2 * k4))))

    def radial_derivative(self, theta: np.ndarray) -> np.ndarray:
        k1, k2, k3, k4 = self.dist[:4]
        t2 = np.asarray(theta, dtype=np.float64) ** 2
        return 1.0 + t2 * (3.0 * k1 + t2 * (5.0 * k2 + t2 * (7.0 * k3 + t2 * 9.0 * k4)))

    def radial_inverse(self, r: np.ndarray) -> np.ndarray:
        r = np.asarray(r, dtype=np.float64)
        hi = self.theta_limit
        r_hi = float(self.radial(np.array([hi]))[0])
        beyond = ~(r <= r_hi)
        t = _safeguarded_newton(self.radial, self.radial_derivative, np.where(beyond, 0.0, r), hi)
        return np.where(beyond, np.nan, t)
