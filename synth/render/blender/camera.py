"""Map a ``CameraModel`` onto Blender's camera so the render matches ``project()``.

Verified facts (shared/reference/render-and-ray.md): for a perspective camera
with ``sensor_fit='HORIZONTAL'`` and S = image width in pixels,
``f_px = lens / sensor_width * S``, ``cx = W/2 - shift_x*S - 0.5``,
``cy = H/2 + shift_y*S - 0.5`` (OpenCV's pixel (0, 0) centre is Blender's 0.5).
Blender's Z pass for a perspective camera is planar depth; labels use range.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from synth.cameras.base import CameraModel
from synth.cameras.pinhole import PinholeCamera
from synth.core.errors import CameraError
from synth.core.transforms import T_BLENDERCAM_FROM_CVCAM

SENSOR_WIDTH_MM = 36.0


@dataclass
class BlenderCameraPlan:
    """What to set on Blender's camera and how to turn its raw passes into the model's image."""

    camera: CameraModel

    def apply(self, scene, cam_obj) -> None:  # bpy objects, passed in by the renderer
        cam = self.camera
        if not isinstance(cam, PinholeCamera) or cam.has_distortion:
            raise CameraError(f"camera model {cam.model_name!r} with dist={cam.dist.tolist()} is not mapped to Blender yet")
        fx, fy, cx, cy = cam.K[0, 0], cam.K[1, 1], cam.K[0, 2], cam.K[1, 2]
        if abs(fx - fy) > 1e-6 * fx:
            raise CameraError(f"pinhole camera: fx={fx} and fy={fy} differ; Blender renders square pixels only")
        W, H = cam.width, cam.height
        scene.render.resolution_x = W
        scene.render.resolution_y = H
        scene.render.resolution_percentage = 100
        scene.render.pixel_aspect_x = 1.0
        scene.render.pixel_aspect_y = 1.0
        data = cam_obj.data
        data.type = "PERSP"
        data.sensor_fit = "HORIZONTAL"
        data.sensor_width = SENSOR_WIDTH_MM
        data.lens = fx * SENSOR_WIDTH_MM / W
        data.shift_x = (W / 2.0 - 0.5 - cx) / W
        data.shift_y = (cy - H / 2.0 + 0.5) / W
        data.clip_start = 0.01
        data.clip_end = 1000.0
        T_world_from_blcam = cam.T_world_from_cam @ T_BLENDERCAM_FROM_CVCAM
        cam_obj.matrix_world = [list(row) for row in T_world_from_blcam]

    def finish(self, rgb: np.ndarray, instance: np.ndarray, z_pass: np.ndarray):
        """Raw passes (already flipped to top-row-first) -> (rgb, instance, depth range in metres)."""
        cam = self.camera
        H, W = cam.height, cam.width
        vv, uu = np.mgrid[0:H, 0:W]
        rays = cam.unproject(np.stack([uu.ravel(), vv.ravel()], -1).astype(np.float64))
        scale = (1.0 / rays[:, 2]).reshape(H, W)  # range = z * |ray| / ray_z with |ray| = 1
        depth = np.where(z_pass > 1e9, np.inf, z_pass * scale).astype(np.float32)
        return rgb, instance, depth


def plan_blender_camera(camera: CameraModel) -> BlenderCameraPlan:
    return BlenderCameraPlan(camera)
