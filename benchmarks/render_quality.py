"""Quality per second of Cycles settings: PSNR / SSIM against a 1024 spp reference and seconds per frame.

    .venv/bin/python benchmarks/render_quality.py [--scenes 0 1] [--size 128] [--ref-samples 1024]
                                                  [--repeats 1] [--out benchmarks/results/render_quality.json]

The demo recipe's scenes (frame 0, first camera) are rendered by one ``BlenderRenderer`` with every
setting below; each image is compared with the same scene at ``--ref-samples`` spp (no adaptive sampling,
no denoiser). Settings:

- plain: 8/16/32/64/128 spp, exactly that many samples per pixel;
- adaptive: Cycles' adaptive sampling (``render.adaptive_threshold``, ``render.adaptive_min_samples``) at a
  64 or 128 spp cap: the threshold decides where a pixel stops;
- denoise: OpenImageDenoise (``render.denoise``) at 8/16/32 spp, with the denoiser's inputs
  (``denoising_input_passes``: RGB / RGB_ALBEDO / RGB_ALBEDO_NORMAL), prefilter (NONE / FAST / ACCURATE)
  and quality (HIGH / BALANCED / FAST). The recipe's ``render.denoise`` uses Blender's defaults
  (RGB_ALBEDO_NORMAL, ACCURATE, HIGH); the other modes are set on ``bpy.context.scene.cycles`` here
  to measure them.

For each denoised or adaptive setting the instance and depth passes are compared with the plain render at
the same sample count and seed: denoising must not move a label.

Seconds per frame is ``BlenderRenderer.render`` wall time (vertex update, Cycles incl. the denoiser,
pass files read back); the best of ``--repeats``. The machine is shared: the load average is recorded
with every measurement.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import numpy as np

from synth.core.machine import machine_info

ROOT = Path(__file__).resolve().parents[1]


def psnr_db(img: np.ndarray, ref: np.ndarray) -> float:
    """PSNR (dB) of two uint8 images (peak 255)."""
    mse = float(np.mean((img.astype(np.float64) - ref.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(255.0 ** 2 / mse)


def ssim(img: np.ndarray, ref: np.ndarray) -> float:
    """Mean SSIM (Wang et al. 2004: Gaussian window sigma 1.5, K1 0.01, K2 0.03) over the RGB channels."""
    from scipy.ndimage import gaussian_filter

    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    vals = []
    for ch in range(img.shape[2]):
        x = img[..., ch].astype(np.float64)
        y = ref[..., ch].astype(np.float64)
        g = lambda a: gaussian_filter(a, 1.5, truncate=3.5)
        mx, my = g(x), g(y)
        sxx, syy, sxy = g(x * x) - mx * mx, g(y * y) - my * my, g(x * y) - mx * my
        s = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))
        vals.append(float(s.mean()))
    return float(np.mean(vals))


def settings() -> list[dict]:
    out = []
    for spp in (8, 16, 32, 64, 128):
        out.append({"name": f"{spp}spp", "samples": spp})
    for cap in (64, 128):
        for thr, mins in ((0.01, 0), (0.05, 0), (0.1, 0), (0.05, 16)):
            out.append({"name": f"{cap}spp adaptive {thr} min {mins}", "samples": cap,
                        "adaptive_threshold": thr, "adaptive_min_samples": mins})
    for spp in (8, 16, 32):
        out.append({"name": f"{spp}spp OIDN (albedo+normal, accurate, high)", "samples": spp, "denoise": True})
    for spp in (8, 16):
        out.append({"name": f"{spp}spp OIDN albedo+normal, prefilter fast", "samples": spp, "denoise": True,
                    "prefilter": "FAST"})
        out.append({"name": f"{spp}spp OIDN albedo+normal, prefilter none", "samples": spp, "denoise": True,
                    "prefilter": "NONE"})
        out.append({"name": f"{spp}spp OIDN albedo only", "samples": spp, "denoise": True,
                    "input_passes": "RGB_ALBEDO"})
        out.append({"name": f"{spp}spp OIDN rgb only", "samples": spp, "denoise": True, "input_passes": "RGB"})
        out.append({"name": f"{spp}spp OIDN quality balanced", "samples": spp, "denoise": True,
                    "quality": "BALANCED"})
        out.append({"name": f"{spp}spp OIDN quality fast", "samples": spp, "denoise": True, "quality": "FAST"})
    out.append({"name": "32spp adaptive 0.05 + OIDN", "samples": 32, "adaptive_threshold": 0.05,
                "denoise": True})
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--recipe", default=str(ROOT / "scenes" / "demo.yaml"))
    ap.add_argument("--scenes", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--size", type=int, default=128, help="image width = height, px")
    ap.add_argument("--ref-samples", type=int, default=1024)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--threads", type=int, default=None, help="Cycles threads (default: all cores)")
    ap.add_argument("--device", default="cpu", choices=["auto", "cpu", "gpu"])
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "render_quality.json"))
    args = ap.parse_args()

    import bpy

    from synth.pipeline.posed_scene import build_posed_scene
    from synth.pipeline.worker import pin_math_threads
    from synth.recipe import load_recipe, parse_recipe, recipe_to_dict
    from synth.recipe.sample import sample_scene
    from synth.recipe.spec import RenderSpec
    from synth.render.blender.renderer import BlenderRenderer

    pin_math_threads()
    d = recipe_to_dict(load_recipe(args.recipe))
    d.update(scenes=max(args.scenes) + 1)
    d["image"] = {"width": args.size, "height": args.size}
    recipe = parse_recipe(d, f"{args.recipe} ({args.size} px, benchmarks/render_quality.py)")
    renderer = BlenderRenderer(threads=args.threads, device=args.device)
    cyc = bpy.context.scene.cycles
    defaults = {"prefilter": cyc.denoising_prefilter, "input_passes": cyc.denoising_input_passes,
                "quality": cyc.denoising_quality}
    rows = []
    t_start = time.perf_counter()
    try:
        for si in args.scenes:
            spec = sample_scene(recipe, si)
            posed = build_posed_scene(spec)
            cam = posed.camera_tracks[0].at(0)
            verts = posed.frame_vertices(0)
            meshes = posed.surface_meshes()
            seed = spec.seed % (2 ** 31)

            def render(s: dict, spec=spec, meshes=meshes, cam=cam, verts=verts, seed=seed):
                rs = RenderSpec(samples=s["samples"], denoise=s.get("denoise", False),
                                adaptive_threshold=s.get("adaptive_threshold", 0.0),
                                adaptive_min_samples=s.get("adaptive_min_samples", 0))
                renderer.setup_scene(spec.environment, meshes, rs)
                cyc.denoising_prefilter = s.get("prefilter", defaults["prefilter"])
                cyc.denoising_input_passes = s.get("input_passes", defaults["input_passes"])
                cyc.denoising_quality = s.get("quality", defaults["quality"])
                best, out = float("inf"), None
                for _ in range(args.repeats):
                    t0 = time.perf_counter()
                    out = renderer.render(cam, verts, seed=seed)
                    best = min(best, time.perf_counter() - t0)
                return out, best

            load0 = os.getloadavg()
            ref, ref_s = render({"samples": args.ref_samples})
            print(f"scene {si}: reference {args.ref_samples} spp in {ref_s:.1f} s (load {load0[0]:.1f})", flush=True)
            plain = {}
            for s in settings():
                load = os.getloadavg()[0]
                out, secs = render(s)
                if not s.get("denoise") and not s.get("adaptive_threshold"):
                    plain[s["samples"]] = out
                base = plain.get(s["samples"])
                labels_same = None
                if base is not None and (s.get("denoise") or s.get("adaptive_threshold")):
                    labels_same = {"instance": bool(np.array_equal(out.instance, base.instance)),
                                   "depth": bool(np.array_equal(out.depth_m, base.depth_m))}
                row = {"scene": si, **s, "seconds": round(secs, 4), "psnr_db": round(psnr_db(out.rgb, ref.rgb), 3),
                       "ssim": round(ssim(out.rgb, ref.rgb), 5), "labels_equal_plain_same_spp": labels_same,
                       "loadavg_1min": round(load, 2)}
                rows.append(row)
                print(json.dumps(row), flush=True)
            rows.append({"scene": si, "name": f"reference {args.ref_samples}spp", "samples": args.ref_samples,
                         "seconds": round(ref_s, 3), "loadavg_1min": round(load0[0], 2)})
        device_used = renderer.device_used
    finally:
        renderer.close()

    # per setting: median over scenes of PSNR, SSIM, seconds, and seconds relative to plain 64 spp
    summary = {}
    for s in settings():
        rs = [r for r in rows if r["name"] == s["name"]]
        r64 = {r["scene"]: r for r in rows if r["name"] == "64spp"}
        summary[s["name"]] = {
            "psnr_db": statistics.median(r["psnr_db"] for r in rs),
            "ssim": statistics.median(r["ssim"] for r in rs),
            "seconds": statistics.median(r["seconds"] for r in rs),
            "time_vs_64spp": statistics.median(r["seconds"] / r64[r["scene"]]["seconds"] for r in rs),
            "psnr_minus_64spp_db": statistics.median(r["psnr_db"] - r64[r["scene"]]["psnr_db"] for r in rs),
            "labels_unchanged": (all(r["labels_equal_plain_same_spp"]["instance"] and
                                     r["labels_equal_plain_same_spp"]["depth"] for r in rs)
                                 if rs[0]["labels_equal_plain_same_spp"] is not None else None),
        }
    winners = sorted((n for n, m in summary.items() if m["psnr_minus_64spp_db"] >= 0 and m["time_vs_64spp"] <= 1 / 3),
                     key=lambda n: summary[n]["seconds"])
    result = {
        "benchmark": "render_quality", "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "recipe": os.path.relpath(args.recipe, ROOT), "scenes": args.scenes, "image": [args.size, args.size],
        "reference_samples": args.ref_samples, "repeats": args.repeats, "device": device_used,
        "threads": args.threads or "all", "wall_s": round(time.perf_counter() - t_start, 1),
        "note": "shared machine: seconds are noisy (see loadavg_1min per row); PSNR/SSIM are not",
        "reach_64spp_quality_in_a_third_of_its_time": winners,
        "summary_median_over_scenes": summary, "rows": rows, "machine": machine_info(),
        "loadavg_end": os.getloadavg(),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))
    print(f"wrote {args.out}; settings at 64 spp quality in <= 1/3 of its time: {winners}")


if __name__ == "__main__":
    main()
