"""Pinhole camera with optional Brown-Conrady distortion (OpenCV's model).

Projection of a camera-frame point (X, Y, Z), Z > 0::

    x = X/Z, y = Y/Z, r^2 = x^2 + y^2
    radial = 1 + k1 r^2 + k2 r^4 + k3 r^6
    x' = x radial + 2 p1 x y + p2 (r^2 + 2 x^2)
    y' = y radial + p1 (r^2 + 2 y^2) + 2 p2 x y
    u = fx x' + cx,  v = fy y' + cy

``dist`` = (k1, k2, p1, p2, k3), as in ``cv2.projectPoints``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from synth.cameras.base import CameraModel, register_camera_model


@register_camera_model
@dataclass(frozen=True)
class PinholeCamera(CameraModel):
    model_name = "pinhole"

    def __post_init__(self) -> None:
        super().__post_init__()
        d = np.zeros(5)
        d[: min(5, self.dist.size)] = self.dist[:5]
        object.__setattr__(self, "dist", d)

    @property
    def has_distortion(self) -> bool:
        return bool(np.any(self.dist != 0.0))

    def distort_normalized(self, xy: np.ndarray) -> np.ndarray:
        k1, k2, p1, p2, k3 = self.dist
        x, y = xy[..., 0], xy[..., 1]
        r2 = x * x + y * y
        radial = 1.0 + r2 * (k1 + r2 * (k2 + r2 * k3))
        xd = x * radial + 2.0 * p1 * x * y + p2 * (r2 + 2.0 * x * x)
        yd = y * radial + p1 * (r2 + 2.0 * y * y) + 2.0 * p2 * x * y
        return np.stack([xd, yd], -1)

    def undistort_normalized(self, xyd: np.ndarray, iterations: int = 50) -> np.ndarray:
        """Invert ``distort_normalized`` by fixed-point iteration (as cv2.undistortPoints)."""
        if not self.has_distortion:
            return xyd.copy()
        k1, k2, p1, p2, k3 = self.dist
        xy = xyd.copy()
        for _ in range(iterations):
            x, y = xy[..., 0], xy[..., 1]
            r2 = x * x + y * y
            radial = 1.0 + r2 * (k1 + r2 * (k2 + r2 * k3))
            dx = 2.0 * p1 * x * y + p2 * (r2 + 2.0 * x * x)
            dy = p1 * (r2 + 2.0 * y * y) + 2.0 * p2 * x * y
            xy = np.stack([(xyd[..., 0] - dx) / radial, (xyd[..., 1] - dy) / radial], -1)
        return xy

    def valid_cam(self, X_cam: np.ndarray) -> np.ndarray:
        return np.asarray(X_cam)[..., 2] > 1e-9

    def project_cam(self, X_cam: np.ndarray) -> np.ndarray:
        X = np.asarray(X_cam, dtype=np.float64).reshape(-1, 3)
        ok = self.valid_cam(X)
        z = np.where(ok, X[:, 2], 1.0)
        xy = X[:, :2] / z[:, None]
        if self.has_distortion:
            xy = self.distort_normalized(xy)
        uv = xy @ self.K[:2, :2].T + self.K[:2, 2]
        uv[~ok] = np.nan
        return uv

    def unproject(self, uv: np.ndarray) -> np.ndarray:
        uv = np.asarray(uv, dtype=np.float64).reshape(-1, 2)
        Kinv = np.linalg.inv(self.K)
        xyd = uv @ Kinv[:2, :2].T + Kinv[:2, 2]
        xy = self.undistort_normalized(xyd)
        rays = np.concatenate([xy, np.ones((xy.shape[0], 1))], axis=1)
        return rays / np.linalg.norm(rays, axis=1, keepdims=True)
