"""Render passes out of Blender 5.0: compositor File Output node -> temp files -> numpy.

Blender 5.0 keeps the render result's pixels out of Python's reach, so every
render writes, through the scene's compositor node group
(``scene.compositing_node_group``), three files into a private directory:

* ``rgb.png``: the Combined pass, 8-bit sRGB through the scene's view transform;
* ``index.exr``: the Object Index pass, 32-bit float (exact integers);
* ``segment.exr``: the Material Index pass (each material's ``pass_index`` = its mesh's ``segment_id``);
* ``depth.exr``: the Z pass, 32-bit float, planar depth along the camera axis
  for perspective cameras, ``1e10`` where a ray hits nothing.

They are read back with Blender's own image loader (no OpenEXR dependency)
and flipped so that row 0 is the image top. Object Index, Material Index and Z are written by
Cycles once per pixel from the first camera sample, shot through the pixel
centre (overwritten, not averaged), so they are exact values at pixel
centres, never blends of two objects.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
from dataclasses import dataclass

import bpy
import numpy as np

from synth.core.errors import RenderError

_FILE_NAMES = {"rgb": "rgb.png", "index": "index.exr", "segment": "segment.exr", "depth": "depth.exr"}


@dataclass
class RawPasses:
    """Passes as rendered, row 0 = image top.

    rgb : (H, W, 3) uint8, sRGB
    object_index : (H, W) uint16, each object's ``pass_index`` (0 = no object / background)
    material_index : (H, W) uint16, each material's ``pass_index`` (0 = none / background)
    z : (H, W) float32, metres, Blender's Z pass (planar for perspective cameras, 1e10 = background)
    """

    rgb: np.ndarray
    object_index: np.ndarray
    material_index: np.ndarray
    z: np.ndarray


def setup_pass_outputs(scene, directory: str):
    """Enable the Z and Object Index passes and build the compositor tree that writes the files.

    Returns the compositor node group (owned by the scene, removed with it).
    """
    view_layer = scene.view_layers[0]
    view_layer.use_pass_combined = True
    view_layer.use_pass_z = True
    view_layer.use_pass_object_index = True
    view_layer.use_pass_material_index = True
    scene.render.use_compositing = True
    scene.render.use_sequencer = False

    tree = bpy.data.node_groups.new("synth_passes", "CompositorNodeTree")
    scene.compositing_node_group = tree
    layers = tree.nodes.new("CompositorNodeRLayers")
    layers.scene = scene
    out = tree.nodes.new("CompositorNodeOutputFile")
    out.directory = directory
    out.file_name = ""
    # Node-wide format: single-channel 32-bit float EXR, uncompressed (temp files; speed over size).
    fmt = out.format
    fmt.media_type = "IMAGE"  # must precede file_format in 5.0
    fmt.file_format = "OPEN_EXR"
    fmt.color_mode = "BW"
    fmt.color_depth = "32"
    fmt.exr_codec = "NONE"

    rgb_item = out.file_output_items.new("RGBA", "rgb")
    rgb_item.override_node_format = True
    rgb_item.save_as_render = True  # apply the scene's view transform ('Standard') to the 8-bit image
    rfmt = rgb_item.format
    rfmt.media_type = "IMAGE"
    rfmt.file_format = "PNG"
    rfmt.color_mode = "RGB"
    rfmt.color_depth = "8"
    rfmt.compression = 0
    out.file_output_items.new("FLOAT", "index")
    out.file_output_items.new("FLOAT", "segment")
    out.file_output_items.new("FLOAT", "depth")

    tree.links.new(layers.outputs["Image"], out.inputs["rgb"])
    tree.links.new(layers.outputs["Object Index"], out.inputs["index"])
    tree.links.new(layers.outputs["Material Index"], out.inputs["segment"])
    tree.links.new(layers.outputs["Depth"], out.inputs["depth"])
    return tree


def pass_paths(directory: str) -> dict[str, str]:
    return {k: os.path.join(directory, v) for k, v in _FILE_NAMES.items()}


def remove_pass_files(directory: str) -> None:
    """Delete last render's files so a failed render can never be read as the current one."""
    for path in pass_paths(directory).values():
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)


def _load_rgba(path: str) -> np.ndarray:
    """(H, W, 4) float32, bottom row first, values as stored (no colour conversion)."""
    if not os.path.exists(path):
        raise RenderError(f"render pass file {path} was not written; expected the compositor File Output node "
                          "to write it. Check the Blender log above, free disk space in the temp directory, "
                          "or rebuild the renderer")
    img = bpy.data.images.load(path, check_existing=False)
    try:
        img.colorspace_settings.is_data = True
        w, h = img.size
        buf = np.empty(w * h * 4, dtype=np.float32)
        img.pixels.foreach_get(buf)
    finally:
        bpy.data.images.remove(img)
    return buf.reshape(h, w, 4)


def read_passes(directory: str) -> RawPasses:
    """Read the three files of the last render; rows flipped so row 0 is the image top."""
    paths = pass_paths(directory)
    rgb_f = _load_rgba(paths["rgb"])
    index_f = _load_rgba(paths["index"])[..., 0]
    segment_f = _load_rgba(paths["segment"])[..., 0]
    z = _load_rgba(paths["depth"])[..., 0]
    if not (rgb_f.shape[:2] == index_f.shape == segment_f.shape == z.shape):
        raise RenderError(f"render passes differ in size: rgb {rgb_f.shape[:2]}, index {index_f.shape}, "
                          f"depth {z.shape}; expected one resolution. This is a bug in synth.render.blender")
    # PNG bytes come back as byte / 255 exactly.
    rgb = np.rint(rgb_f[::-1, :, :3] * 255.0).astype(np.uint8)
    index_r = np.rint(index_f[::-1])
    if index_r.size and (index_r.min() < 0 or index_r.max() > np.iinfo(np.uint16).max):
        raise RenderError(f"object index pass outside uint16: [{index_r.min()}, {index_r.max()}]; "
                          "person pass_index must be 1..65535")
    segment_r = np.clip(np.rint(segment_f[::-1]), 0, np.iinfo(np.uint16).max)
    return RawPasses(rgb=np.ascontiguousarray(rgb), object_index=np.ascontiguousarray(index_r.astype(np.uint16)),
                     material_index=np.ascontiguousarray(segment_r.astype(np.uint16)),
                     z=np.ascontiguousarray(z[::-1], dtype=np.float32))


@contextlib.contextmanager
def capture_native_output(log_path: str, enabled: bool = True):
    """Send what Blender's C code prints (fd 1 and 2) to ``log_path`` while the block runs.

    The redirection is process-wide (file descriptors), so Python output of other threads during the
    block lands in the log too. It is skipped where the C library cannot be flushed (Windows).
    """
    fflush = _c_fflush()
    if not enabled or fflush is None:
        yield
        return
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    fflush(None)
    saved = [os.dup(1), os.dup(2)]
    try:
        with open(log_path, "wb") as log:  # last render only
            os.dup2(log.fileno(), 1)
            os.dup2(log.fileno(), 2)
        yield
    finally:
        fflush(None)
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])


def _c_fflush():
    try:
        return ctypes.CDLL(None).fflush
    except (OSError, AttributeError, TypeError):
        return None


def log_tail(log_path: str, n_chars: int = 2000) -> str:
    try:
        with open(log_path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - n_chars))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""
