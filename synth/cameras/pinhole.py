"""Pinhole camera with optional Brown-Conrady distortion (OpenCV's model).

Projection of a camera-frame point (X, Y, Z), Z > 0::

    x = X/Z, y = Y/Z, r^2 = x^2 + y^2
    radial = 1 + k1 r^2 + k2 r^4 + k3 r^6
    x' = x radial + 2 p1 x y + p2 (r^2 + 2 x^2)
    y' = y radial + p1 (r^2 + 2 y^2) + 2 p2 x y
    [u, v, 1]^T = K [x', y', 1]^T        (u = fx x' + s y' + cx, v = fy y' + cy)

``dist`` = (k1, k2, p1, p2, k3), as in ``cv2.projectPoints`` (fewer values are
zero-padded).

Validity. A strongly distorted lens model folds back on itself: the radial
map ``r -> r * radial(r)`` stops increasing at the first positive root of
``1 + 3 k1 r^2 + 5 k2 r^4 + 7 k3 r^6`` (``r_max``; ``inf`` when monotonic, e.g.
no distortion or k1, k2, k3 >= 0). With tangential terms the fold radius depends
on the azimuth phi: ``fold_radius(phi)`` is the first radius where the Jacobian
of the distortion map stops being positive (tabulated once per ``dist``).
Beyond it the polynomial no longer describes a lens (points far outside the
field of view would land back inside the image), so ``valid_cam`` is
``Z > 0 and r < fold_radius(phi)`` and ``project_cam`` gives NaN elsewhere.

Unprojection inverts the distortion by Newton's method (a safeguarded 1-D
Newton on the radial part for the start, then a 2-D Newton with the analytic
Jacobian and backtracking that stays inside the valid region); pixels that no
valid point maps to give NaN rays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from synth.cameras.base import CameraModel, intrinsics_matrix, register_camera_model
from synth.core.errors import CameraError
from synth.core.tolerance import TOL


def _first_positive_root(coeffs_low_to_high: np.ndarray) -> float:
    """Smallest positive real root of sum_i c_i s^i (c_0 = 1 != 0), or inf if none."""
    c = np.asarray(coeffs_low_to_high, dtype=np.float64)
    nz = np.nonzero(c)[0]
    if nz.size == 0 or nz[-1] == 0:
        return float("inf")
    c = c[: nz[-1] + 1]
    roots = np.roots(c[::-1])
    real = roots[np.abs(roots.imag) <= TOL.degenerate * np.maximum(1.0, np.abs(roots.real))].real
    pos = real[real > 0]
    return float(pos.min()) if pos.size else float("inf")


def _safeguarded_newton(f, df, target: np.ndarray, hi: float, iterations: int = 100) -> np.ndarray:
    """Solve f(t) = target for t in [0, hi] where f is increasing on [0, hi] and f(0) = 0.

    Newton steps that leave the current bracket are replaced by bisection, so
    the iteration always converges. ``target`` (N,) must lie in [0, f(hi)].
    """
    lo_b = np.zeros_like(target)
    hi_b = np.full_like(target, hi)
    t = np.clip(target, 0.0, hi)  # the identity is a good start for near-identity maps
    for _ in range(iterations):
        ft = f(t) - target
        lo_b = np.where(ft < 0, t, lo_b)
        hi_b = np.where(ft > 0, t, hi_b)
        d = df(t)
        with np.errstate(divide="ignore", invalid="ignore"):
            t_new = t - ft / d
        bad = ~np.isfinite(t_new) | (t_new <= lo_b) | (t_new >= hi_b)
        t_new = np.where(bad, 0.5 * (lo_b + hi_b), t_new)
        if np.all(np.abs(t_new - t) <= 1e-15 * np.maximum(1.0, np.abs(t))):
            t = t_new
            break
        t = t_new
    return t


@register_camera_model
@dataclass(frozen=True)
class PinholeCamera(CameraModel):
    """Pinhole camera, Brown-Conrady distortion; see the module docstring for the formulas."""

    model_name = "pinhole"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.dist.size > 5:
            raise CameraError(
                f"pinhole: dist must hold at most 5 values (k1, k2, p1, p2, k3), got {self.dist.size}: "
                f"{self.dist.tolist()}; rational or thin-prism OpenCV terms are not supported")
        if not np.all(np.isfinite(self.dist)):
            raise CameraError(f"pinhole: dist must be finite, got {self.dist.tolist()}")
        d = np.zeros(5)
        d[: self.dist.size] = self.dist
        object.__setattr__(self, "dist", d)
        k1, k2, _, _, k3 = d
        s_max = _first_positive_root(np.array([1.0, 3.0 * k1, 5.0 * k2, 7.0 * k3]))
        object.__setattr__(self, "_r_max", float(np.sqrt(s_max)))

    # -- constructors --------------------------------------------------------
    @classmethod
    def from_fov(cls, width: int, height: int, fov_rad: float, *, fit: str = "width",
                 T_cam_from_world: np.ndarray | None = None,
                 principal_point: tuple[float, float] | None = None,
                 dist: np.ndarray | None = None) -> "PinholeCamera":
        """Square-pixel pinhole whose field of view ``fov_rad`` spans the image ``fit`` side.

        fit : "width", "height" or "diagonal"; the fov spans that extent edge to edge
            (``side`` pixels, i.e. from pixel edge -0.5 to side - 0.5).
        principal_point : (cx, cy) pixels; default the image centre ((W-1)/2, (H-1)/2).
        dist : Brown-Conrady (k1, k2, p1, p2, k3) (the fov is that of the undistorted model).
        """
        if not (0.0 < fov_rad < np.pi):
            raise CameraError(f"pinhole.from_fov: fov_rad must be in (0, pi), got {fov_rad}")
        side = _fit_side(width, height, fit)
        f = 0.5 * side / np.tan(0.5 * fov_rad)
        cx, cy = principal_point if principal_point is not None else ((width - 1) / 2.0, (height - 1) / 2.0)
        return cls(K=intrinsics_matrix(f, f, cx, cy),
                   T_cam_from_world=np.eye(4) if T_cam_from_world is None else T_cam_from_world,
                   width=int(width), height=int(height),
                   dist=np.zeros(5) if dist is None else dist)

    # -- distortion ----------------------------------------------------------
    @property
    def has_distortion(self) -> bool:
        return bool(np.any(self.dist != 0.0))

    @property
    def r_max(self) -> float:
        """Largest normalised radius sqrt(x^2 + y^2) where the radial distortion is monotonic (may be inf)."""
        return self._r_max  # type: ignore[attr-defined]

    def _radial(self, r2: np.ndarray) -> np.ndarray:
        k1, k2, _, _, k3 = self.dist
        return 1.0 + r2 * (k1 + r2 * (k2 + r2 * k3))

    def distort_normalized(self, xy: np.ndarray) -> np.ndarray:
        """(..., 2) undistorted normalised coordinates (X/Z, Y/Z) -> (..., 2) distorted ones."""
        _, _, p1, p2, _ = self.dist
        x, y = xy[..., 0], xy[..., 1]
        r2 = x * x + y * y
        radial = self._radial(r2)
        xd = x * radial + 2.0 * p1 * x * y + p2 * (r2 + 2.0 * x * x)
        yd = y * radial + p1 * (r2 + 2.0 * y * y) + 2.0 * p2 * x * y
        return np.stack([xd, yd], -1)

    def _jacobian(self, x: np.ndarray, y: np.ndarray):
        """Entries (a, b, c, d) of d(x', y')/d(x, y) at undistorted (x, y), each (N,)."""
        k1, k2, p1, p2, k3 = self.dist
        r2 = x * x + y * y
        rad = self._radial(r2)
        drad = 2.0 * k1 + r2 * (4.0 * k2 + 6.0 * k3 * r2)  # d radial / dx = drad * x
        a = rad + x * x * drad + 2.0 * p1 * y + 6.0 * p2 * x
        b = x * y * drad + 2.0 * p1 * x + 2.0 * p2 * y
        d = rad + y * y * drad + 6.0 * p1 * y + 2.0 * p2 * x
        return a, b, b, d

    def fold_radius(self, phi: np.ndarray) -> np.ndarray:
        """(N,) azimuths (radians) -> (N,) largest undistorted radius r = |(X/Z, Y/Z)| up to which the
        distortion map is invertible along that azimuth (its Jacobian stays positive); may be inf."""
        phi = np.asarray(phi, dtype=np.float64)
        if self.dist[2] == 0.0 and self.dist[3] == 0.0:
            return np.full(phi.shape, self.r_max)
        table = _fold_table(tuple(float(v) for v in self.dist))
        n = table.size
        t = (np.mod(phi, 2.0 * np.pi) / (2.0 * np.pi)) * n
        i0 = np.floor(t).astype(np.int64) % n
        i1 = (i0 + 1) % n
        return np.minimum(table[i0], table[i1])  # conservative between table samples

    def undistort_normalized(self, xyd: np.ndarray, iterations: int = 40) -> np.ndarray:
        """Invert ``distort_normalized`` by Newton's method.

        xyd : (..., 2) distorted normalised coordinates. Returns (..., 2) undistorted
        coordinates; NaN where no point of the valid region (see ``valid_cam``) maps there.
        """
        xyd = np.asarray(xyd, dtype=np.float64)
        if not self.has_distortion:
            return xyd.copy()
        shape = xyd.shape
        q = xyd.reshape(-1, 2)
        k1, k2, p1, p2, k3 = self.dist
        rd = np.hypot(q[:, 0], q[:, 1])
        finite = np.isfinite(rd)
        rd_f = np.where(finite, rd, 0.0)
        r_hi = self.r_max
        if not np.isfinite(r_hi):  # monotonic everywhere: grow a bracket until f(hi) >= max rd
            r_hi = 1.0
            while r_hi * self._radial(r_hi * r_hi) < float(rd_f.max(initial=0.0)):
                r_hi *= 2.0
        rd_max = r_hi * self._radial(r_hi * r_hi)
        # 1-D radial inversion as the start (exact when there is no tangential distortion)
        r0 = _safeguarded_newton(lambda r: r * self._radial(r * r),
                                 lambda r: 1.0 + r * r * (3 * k1 + r * r * (5 * k2 + 7 * k3 * r * r)),
                                 np.minimum(rd_f, rd_max * (1.0 - TOL.zero)), r_hi)
        scale = np.where(rd_f > 0, r0 / np.where(rd_f > 0, rd_f, 1.0), 1.0)
        xy = np.where(finite[:, None], q, 0.0) * scale[:, None]
        qf = np.where(finite[:, None], q, 0.0)

        def residual(p: np.ndarray) -> np.ndarray:
            return self.distort_normalized(p) - qf

        def inside(p: np.ndarray) -> np.ndarray:
            r = np.hypot(p[:, 0], p[:, 1])
            return r < self.fold_radius(np.arctan2(p[:, 1], p[:, 0]))

        if p1 != 0.0 or p2 != 0.0:
            F = residual(xy)
            tol = 1e-15 * (1.0 + rd_f)
            active = np.nonzero(np.hypot(F[:, 0], F[:, 1]) > tol)[0]
            for _ in range(iterations):
                if active.size == 0:
                    break
                xa, Fa, qa = xy[active], F[active], qf[active]
                a, b, c, d = self._jacobian(xa[:, 0], xa[:, 1])
                det = a * d - b * c
                with np.errstate(invalid="ignore", divide="ignore"):
                    step = np.stack([(d * Fa[:, 0] - b * Fa[:, 1]) / det, (-c * Fa[:, 0] + a * Fa[:, 1]) / det], -1)
                step = np.where(np.isfinite(step), step, 0.0)
                fnorm = np.hypot(Fa[:, 0], Fa[:, 1])
                alpha = np.ones(active.size)
                todo = np.ones(active.size, dtype=bool)
                improved = np.zeros(active.size, dtype=bool)
                for _ in range(30):  # backtracking: stay in the valid region, do not increase |F|
                    if not np.any(todo):
                        break
                    ti = np.nonzero(todo)[0]
                    cand = xa[ti] - alpha[ti, None] * step[ti]
                    Fc = self.distort_normalized(cand) - qa[ti]
                    good = inside(cand) & (np.hypot(Fc[:, 0], Fc[:, 1]) <= fnorm[ti])
                    acc = ti[good]
                    xa[acc] = cand[good]
                    Fa[acc] = Fc[good]
                    todo[acc] = False
                    improved[acc] = True
                    alpha[ti[~good]] *= 0.5
                xy[active], F[active] = xa, Fa
                still = improved & (np.hypot(Fa[:, 0], Fa[:, 1]) > tol[active])
                active = active[still]
        F = residual(xy)
        ok = finite & inside(xy) & (np.hypot(F[:, 0], F[:, 1]) <= 1e-11 * (1.0 + rd_f))
        xy[~ok] = np.nan
        return xy.reshape(shape)

    # -- CameraModel ---------------------------------------------------------
    def valid_cam(self, X_cam: np.ndarray) -> np.ndarray:
        """(..., 3) camera-frame points -> (...,) bool: Z > 0 and inside the region where the
        distortion map is invertible (r < ``fold_radius(phi)``; everything when there is no distortion)."""
        X = np.asarray(X_cam, dtype=np.float64)
        z = X[..., 2]
        ok = (z > TOL.zero) & np.all(np.isfinite(X), axis=-1)
        if self.has_distortion:
            zs = np.where(ok, z, 1.0)
            x, y = X[..., 0] / zs, X[..., 1] / zs
            ok &= np.hypot(x, y) < self.fold_radius(np.arctan2(y, x))
        return ok

    def project_cam(self, X_cam: np.ndarray) -> np.ndarray:
        """(N, 3) metres, camera frame -> (N, 2) float64 pixels; NaN where not ``valid_cam``."""
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
        """(N, 2) pixels -> (N, 3) unit rays in the camera frame (NaN beyond the lens' image)."""
        uv = np.asarray(uv, dtype=np.float64).reshape(-1, 2)
        Kinv = np.linalg.inv(self.K)
        xyd = uv @ Kinv[:2, :2].T + Kinv[:2, 2]
        xy = self.undistort_normalized(xyd)
        rays = np.concatenate([xy, np.ones((xy.shape[0], 1))], axis=1)
        return rays / np.linalg.norm(rays, axis=1, keepdims=True)


_FOLD_TABLE_CACHE: dict[tuple[float, ...], np.ndarray] = {}


def _fold_table(dist: tuple[float, ...], n_phi: int = 1440, n_scan: int = 512) -> np.ndarray:
    """Fold radius of Brown-Conrady ``dist`` at ``n_phi`` azimuths: first r where det J <= 0 (inf if none).

    Scans the off-axis angle atan(r) in [0, pi/2) and refines the first sign change by bisection.
    Cached per ``dist`` (cameras are rebuilt per frame with the same lens).
    """
    if dist in _FOLD_TABLE_CACHE:
        return _FOLD_TABLE_CACHE[dist]
    cam = PinholeCamera(K=np.eye(3), T_cam_from_world=np.eye(4), width=1, height=1, dist=np.array(dist))
    phi = np.arange(n_phi) * (2.0 * np.pi / n_phi)
    c, s = np.cos(phi)[:, None], np.sin(phi)[:, None]
    ang = np.linspace(0.0, 0.5 * np.pi, n_scan + 1)[1:-1]
    r = np.tan(ang)[None, :]

    def det_at(rr, cc, ss):
        a, b, c_, d = cam._jacobian(rr * cc, rr * ss)
        return a * d - b * c_

    D = det_at(r, c, s)
    neg = D <= 0
    has = neg.any(axis=1)
    first = np.argmax(neg, axis=1)
    table = np.full(n_phi, np.inf)
    if np.any(has):
        rows = np.nonzero(has)[0]
        hi = ang[first[rows]]
        lo = np.where(first[rows] > 0, ang[np.maximum(first[rows] - 1, 0)], 0.0)
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            dm = det_at(np.tan(mid), c[rows, 0], s[rows, 0])
            lo = np.where(dm > 0, mid, lo)
            hi = np.where(dm > 0, hi, mid)
        table[rows] = np.tan(lo)
    if len(_FOLD_TABLE_CACHE) > 256:
        _FOLD_TABLE_CACHE.clear()
    _FOLD_TABLE_CACHE[dist] = table
    return table


def _fit_side(width: int, height: int, fit: str) -> float:
    if fit == "width":
        return float(width)
    if fit == "height":
        return float(height)
    if fit == "diagonal":
        return float(np.hypot(width, height))
    if fit == "min":
        return float(min(width, height))
    raise CameraError(f"fit must be 'width', 'height', 'diagonal' or 'min', got {fit!r}")
