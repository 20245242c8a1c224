"""Test tiers: every test carries the markers of the heavy things it needs.

- ``blender``: renders with bpy (Cycles, tiny images)
- ``ray``: starts a real local Ray head
- ``torch``: needs torch (the Anny body model builds and poses with it; the estimators train with it)
- ``slow``: longer end-to-end runs (full-size demo scenes, several renders per test)

The README's test command runs everything. Contributors' fast lane (no Blender, no Ray, a few seconds to a
minute once the Anny model is cached):

    .venv/bin/python -m pytest -m "not blender and not ray and not slow"

Markers are applied here per test module (``MODULE_MARKERS``), on top of any a module sets itself. A module
missing from the table gets markers from a scan of its source (``_scan_markers``), so a new test file is never
silently left in the fast lane; add it to the table when you add it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

MODULE_MARKERS: dict[str, tuple[str, ...]] = {
    "test_appearance.py": ("torch",),
    "test_architecture.py": (),
    "test_blender_markers.py": ("blender",),
    "test_browse.py": ("blender", "torch"),
    "test_export_coco.py": ("blender", "torch"),
    "test_export_npz.py": ("blender", "torch"),
    "test_export_yolo.py": ("blender", "torch"),
    "test_io_torch.py": ("blender", "torch"),
    "test_blender_renderer.py": ("blender",),
    "test_bodies_anny.py": ("torch",),
    "test_bodies_smplx.py": ("torch",),
    "test_camera_rigs.py": (),
    "test_cli_device.py": ("blender", "torch"),
    "test_cameras.py": (),
    "test_clothing_binding.py": ("torch",),
    "test_clothing_makehuman.py": ("torch",),
    "test_clothing_procedural.py": ("torch",),
    "test_clothing_render.py": ("blender", "torch"),
    "test_clothing_scene.py": ("torch",),
    "test_clothing_segmentation.py": ("blender", "torch"),
    "test_contact.py": ("torch",),
    "test_contact_parts.py": ("torch",),
    "test_contact_scene.py": ("torch",),
    "test_contact_self.py": ("torch",),
    "test_pair_touch.py": ("torch",),
    "test_core.py": (),
    "test_demo_label_pin.py": ("blender", "torch", "slow"),
    "test_distributed_local.py": ("ray", "blender", "torch", "slow"),
    "test_distributed_policy.py": ("ray", "torch"),
    "test_distributed_ray.py": ("ray", "blender", "torch", "slow"),
    "test_environment_hdri.py": ("torch",),
    "test_environment_props.py": (),
    "test_environment_render.py": ("blender", "torch"),
    "test_environment_scene.py": ("torch",),
    "test_estimator_camera.py": ("blender", "torch", "slow"),
    "test_estimator_contact.py": ("blender", "torch", "slow"),
    "test_estimator_mesh.py": ("blender", "torch", "slow"),
    "test_estimators.py": ("blender", "torch", "slow"),
    "test_evaluate_coco.py": ("torch",),
    "test_groundtruth.py": (),
    "test_hardening_inputs.py": ("torch",),
    "test_hardening_interrupts.py": ("ray", "blender", "torch", "slow"),
    "test_hardening_output.py": ("torch",),
    "test_hardening_ray.py": ("ray",),
    "test_hardening_smplx.py": ("torch",),
    "test_hardening_visibility.py": (),
    "test_interactions.py": ("torch",),
    "test_io.py": ("torch",),
    "test_motion.py": ("torch",),
    "test_motion_pose.py": ("torch",),
    "test_keypoints2d_augment.py": ("torch",),
    "test_oracle_mediapipe.py": ("blender", "torch"),
    "test_pipeline.py": ("blender", "torch"),
    "test_pipelined_worker.py": ("blender", "torch"),
    "test_labels_equal_reference.py": ("blender", "torch", "slow"),
    "test_placement.py": ("torch",),
    "test_posed_scene.py": ("torch",),
    "test_predict_keypoints2d.py": ("blender", "torch", "slow"),
    "test_preview.py": ("torch",),
    "test_raycast.py": ("torch",),
    "test_recipe.py": ("torch",),
    "test_rig_markers.py": ("blender", "torch"),
    "test_stats.py": ("blender", "torch"),
    "test_visibility_render.py": ("blender", "torch"),
    "test_wholebody.py": ("torch",),
}

_SCANS = {
    "blender": re.compile(r"\bbpy\b|BlenderRenderer|SceneWorker|run_local|render_markers|\"generate\""),
    "ray": re.compile(r"\bimport ray\b|\bray\.|ray_cluster|--workers"),
    "torch": re.compile(r"\btorch\b|\banny\b|get_body_model|load_body|sample_scene|build_posed_scene|run_local"),
}


def _scan_markers(path: Path) -> tuple[str, ...]:
    text = path.read_text(encoding="utf-8", errors="replace")
    return tuple(name for name, rx in _SCANS.items() if rx.search(text))


def pytest_collection_modifyitems(config, items):
    cache: dict[Path, tuple[str, ...]] = {}
    for item in items:
        path = Path(str(item.fspath))
        if path not in cache:
            cache[path] = MODULE_MARKERS[path.name] if path.name in MODULE_MARKERS else _scan_markers(path)
        for name in cache[path]:
            item.add_marker(getattr(pytest.mark, name))


@pytest.fixture(scope="module")
def renderer():
    """One persistent Blender renderer (2 threads) per test module that asks for it (bpy imported only then);
    a module may define its own ``renderer`` fixture instead."""
    from synth.render.blender.renderer import BlenderRenderer

    r = BlenderRenderer(threads=2)
    yield r
    r.close()


@pytest.fixture(scope="module")
def smplx_dir(tmp_path_factory):
    """A folder with a synthetic full-size ``SMPLX_NEUTRAL.npz`` (real keys and shapes; the real file is licensed),
    one per test module."""
    from test_bodies_smplx import write_fake_smplx_npz

    d = tmp_path_factory.mktemp("smplx_models")
    write_fake_smplx_npz(d / "SMPLX_NEUTRAL.npz")
    return d
