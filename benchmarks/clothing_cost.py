"""The extra cost of clothing per frame: garment building and binding evaluation, and Cycles render time.

    .venv/bin/python benchmarks/clothing_cost.py [--scenes 3] [--out benchmarks/results/clothing_cost.json]

The demo recipe is run twice with the same seed, once bare (``people.clothing.source: none``) and once
dressed (``procedural``; ``mixed`` too when a MakeHuman mirror or cache is there). Per scene it times
``build_posed_scene`` (bodies; dressed: + building each garment once and evaluating every binding with
push-out at every frame) and, per frame, the Cycles render of the scene's meshes at the recipe's size and
samples. It also times the binding alone: one procedural outfit re-evaluated on one posed body.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from synth.core.machine import machine_info

ROOT = Path(__file__).resolve().parents[1]


def _recipe(path: str, source: str, scenes: int):
    import yaml

    from synth.recipe.load import parse_recipe

    d = yaml.safe_load(Path(path).read_text())
    d["scenes"] = scenes
    d.setdefault("people", {})["clothing"] = {"source": source}
    return parse_recipe(d, f"{path} (clothing: {source})")


def _run(recipe, renderer) -> dict:
    from synth.pipeline.posed_scene import build_posed_scene
    from synth.recipe.sample import sample_scene

    posed_s, render_s, frames, meshes, garment_vertices = [], [], 0, 0, 0
    for i in range(recipe.scenes):
        spec = sample_scene(recipe, i)
        t0 = time.perf_counter()
        scene = build_posed_scene(spec)
        posed_s.append(time.perf_counter() - t0)
        ms = scene.surface_meshes()
        meshes += len(ms)
        garment_vertices += sum(m.n_vertices for m in ms if "_garment" in m.name)
        t0 = time.perf_counter()
        renderer.setup_scene(spec.environment, ms, spec.render)
        for t in range(spec.frames):
            for track in scene.camera_tracks:
                renderer.render(track.at(t), scene.frame_vertices(t), seed=t)
                frames += 1
        render_s.append(time.perf_counter() - t0)
    n_frames = sum(sample_scene(recipe, i).frames for i in range(recipe.scenes))
    return {"scenes": recipe.scenes, "views_rendered": frames, "meshes": meshes,
            "garment_vertices_per_scene": garment_vertices / recipe.scenes,
            "posed_scene_s_per_frame": sum(posed_s) / n_frames,
            "render_s_per_view": sum(render_s) / max(frames, 1)}


def _binding_only() -> dict:
    from synth.bodies.base import BodyParams
    from synth.bodies.registry import get_body_model
    from synth.clothing.garment import pose_garments
    from synth.clothing.procedural import compute_rest_body, make_procedural_garment, sample_garment_params
    from synth.motion.sample import sample_motion

    body = get_body_model("anny")
    rng = np.random.default_rng(0)
    shape = body.mean_shape()
    t0 = time.perf_counter()
    rest = compute_rest_body(body, shape)
    garments = [make_procedural_garment(rest, sample_garment_params(k, rng)) for k in ("tshirt", "trousers", "shoes")]
    build = time.perf_counter() - t0
    rot, T = sample_motion(body, "walk", 8, 10.0, rng=rng, shape=shape)
    v = body.forward(BodyParams("anny", shape, rot, T)).vertices
    t0 = time.perf_counter()
    for t in range(len(v)):
        pose_garments(garments, v[t], body.faces)
    per_frame = (time.perf_counter() - t0) / len(v)
    return {"outfit": "tshirt + trousers + shoes", "garment_vertices": int(sum(g.n_vertices for g in garments)),
            "build_once_s": build, "evaluate_and_push_out_s_per_frame": per_frame}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--recipe", default=str(ROOT / "scenes" / "demo.yaml"))
    ap.add_argument("--scenes", type=int, default=3)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "clothing_cost.json"))
    args = ap.parse_args()

    from synth.render.blender.renderer import BlenderRenderer

    renderer = BlenderRenderer()
    try:
        result = {"recipe": Path(args.recipe).name, "machine": machine_info(), "binding": _binding_only()}
        for source in ("none", "procedural"):
            result[source] = _run(_recipe(args.recipe, source, args.scenes), renderer)
        bare, dressed = result["none"], result["procedural"]
        result["extra_s_per_frame"] = {
            "posed_scene": dressed["posed_scene_s_per_frame"] - bare["posed_scene_s_per_frame"],
            "render_per_view": dressed["render_s_per_view"] - bare["render_s_per_view"]}
    finally:
        renderer.close()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
