"""Write the ``synth stats`` report: PNG plots and a Markdown dataset card (plus the numbers as JSON).

Plots use matplotlib when it is installed, else a small PIL bar-chart renderer (same panels, plainer look).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass

import numpy as np

from synth.stats.collect import DatasetStats


@dataclass
class Panel:
    """One bar chart: ``values[i]`` over ``labels[i]``."""

    title: str
    labels: list[str]
    values: list[float]
    xlabel: str = ""
    ylabel: str = "count"


def histogram_panel(title: str, data, bins, xlabel: str, fmt: str = "{:.0f}") -> Panel:
    """A histogram as a bar panel; ``bins`` are edges. NaNs are left out."""
    x = np.asarray([d for d in data if d is not None], dtype=np.float64)
    x = x[np.isfinite(x)]
    counts, edges = np.histogram(np.clip(x, bins[0], bins[-1]), bins=bins)
    labels = [fmt.format(edges[i]) + "-" + fmt.format(edges[i + 1]) for i in range(len(counts))]
    return Panel(f"{title} (n={len(x)})", labels, counts.tolist(), xlabel)


def counter_panel(title: str, counts: dict, xlabel: str = "", top: int = 20) -> Panel:
    items = sorted(counts.items(), key=lambda kv: -kv[1])[:top]
    return Panel(title, [str(k) for k, _ in items], [float(v) for _, v in items], xlabel)


def _draw_matplotlib(path: str, panels: list[Panel], cols: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = math.ceil(len(panels) / cols)
    widest = max(len(p.labels) for p in panels)
    fig, axes = plt.subplots(rows, cols, figsize=(max(4.5, 0.28 * widest) * cols, 3.4 * rows), squeeze=False)
    for ax in axes.ravel()[len(panels):]:
        ax.axis("off")
    for ax, p in zip(axes.ravel(), panels):
        ax.bar(range(len(p.values)), p.values, color="#4c72b0")
        ax.set_xticks(range(len(p.labels)))
        ax.set_xticklabels(p.labels, rotation=60 if len(p.labels) > 6 else 0, ha="right" if len(p.labels) > 6 else "center",
                           fontsize=7)
        ax.set_title(p.title, fontsize=9)
        ax.set_xlabel(p.xlabel, fontsize=8)
        ax.set_ylabel(p.ylabel, fontsize=8)
        ax.set_ylim(0, max(max(p.values, default=0), 1e-9) * 1.05 or 1)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _draw_pil(path: str, panels: list[Panel], cols: int) -> None:
    from PIL import Image, ImageDraw

    pw, ph = 460, 300
    rows = math.ceil(len(panels) / cols)
    img = Image.new("RGB", (pw * cols, ph * rows), "white")
    d = ImageDraw.Draw(img)
    for k, p in enumerate(panels):
        x0, y0 = (k % cols) * pw, (k // cols) * ph
        d.text((x0 + 10, y0 + 5), p.title, fill="black")
        left, bottom, top, right = x0 + 40, y0 + ph - 70, y0 + 25, x0 + pw - 10
        d.line([(left, top), (left, bottom), (right, bottom)], fill="black")
        vmax = max(max(p.values, default=0), 1e-9)
        d.text((x0 + 2, top), f"{vmax:.3g}", fill="black")
        n = max(len(p.values), 1)
        bw = (right - left) / n
        for i, (lab, v) in enumerate(zip(p.labels, p.values)):
            h = (bottom - top) * v / vmax
            d.rectangle([left + i * bw + 1, bottom - h, left + (i + 1) * bw - 1, bottom], fill=(76, 114, 176))
            d.text((left + i * bw + 1, bottom + 4 + 10 * (i % 4)), lab[:8], fill="black")
        d.text((x0 + pw // 2 - 30, y0 + ph - 14), p.xlabel, fill="black")
    img.save(path)


def draw_panels(path: str, panels: list[Panel], cols: int = 2) -> str:
    """Write ``panels`` to the PNG ``path`` (matplotlib if installed, else PIL)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        _draw_pil(path, panels, cols)
    else:
        _draw_matplotlib(path, panels, cols)
    return path


def _summary(x) -> str:
    a = np.asarray(x, dtype=np.float64)
    a = a[np.isfinite(a)]
    if len(a) == 0:
        return "n/a"
    return f"{np.median(a):.3g} (5-95 %: {np.percentile(a, 5):.3g} - {np.percentile(a, 95):.3g}, n={len(a)})"


def report_numbers(s: DatasetStats) -> dict:
    """The report's numbers as plain JSON-able values."""
    kp = {}
    if s.keypoint_visible is not None and s.keypoint_total:
        kp = {n: {"visible": round(float(v) / s.keypoint_total, 4), "in_image": round(float(i) / s.keypoint_total, 4)}
              for n, v, i in zip(s.keypoint_names, s.keypoint_visible, s.keypoint_in_image)}
    contact = {name: {"person_frames_with_contact": int(s.contact_any_frames.get(name, 0)),
                      "per_part_fraction": ({p: round(float(c) / max(s.person_frames, 1), 4)
                                             for p, c in zip(s.part_names, s.contact_part_frames[name])}
                                            if name in s.contact_part_frames else None)}
               for name in sorted(s.contact_any_frames)}
    return {
        "source": s.source, "shards": s.shards, "scenes": s.scenes, "people": s.people, "views": s.views,
        "person_frames": s.person_frames,
        "sex": dict(sorted({k: s.person["sex"].count(k) for k in set(s.person["sex"])}.items())),
        "body_models": {k: s.person["body_model"].count(k) for k in set(s.person["body_model"])},
        "age_years": _summary(s.person["age_years"]), "stature_m": _summary(s.person["stature_m"]),
        "bmi": _summary(s.person["bmi"]), "bbox_height_px": _summary(s.person_view["bbox_height_px"]),
        "occlusion": _summary(s.person_view["occlusion"]), "camera_distance_m": _summary(s.view["distance_m"]),
        "camera_pitch_deg": _summary(s.view["pitch_deg"]), "camera_fov_deg": _summary(s.view["fov_deg"]),
        "camera_models": {k: s.view["camera_model"].count(k) for k in set(s.view["camera_model"])},
        "motions": dict(s.motions), "clips": dict(s.clips), "keypoints": kp, "contact": contact,
        "contact_objects_person_frames": dict(s.contact_object_frames),
        "notes": list(s.notes),
    }


def write_report(s: DatasetStats, dest: str) -> list[str]:
    """Write plots, ``dataset_card.md`` and ``stats.json`` into ``dest``; returns the written paths."""
    os.makedirs(dest, exist_ok=True)
    num = report_numbers(s)
    written = []
    people = [
        histogram_panel("age", s.person["age_years"], [0, 5, 10, 15, 20, 30, 40, 50, 60, 70, 80, 100], "years"),
        histogram_panel("stature", s.person["stature_m"], np.arange(0.4, 2.21, 0.1), "m", "{:.1f}"),
        histogram_panel("BMI", s.person["bmi"], [10, 14, 16, 18.5, 21, 25, 30, 35, 40, 60], "kg/m^2", "{:.3g}"),
        counter_panel("sex", num["sex"]),
    ]
    written.append(draw_panels(os.path.join(dest, "people.png"), people))
    cams = [
        histogram_panel("camera distance to people", s.view["distance_m"], [0, 1, 2, 3, 4, 5, 6, 8, 10, 15, 30], "m"),
        histogram_panel("camera pitch", s.view["pitch_deg"], np.arange(-90, 91, 15), "degrees (negative: down)"),
        histogram_panel("horizontal field of view", s.view["fov_deg"], [0, 20, 30, 40, 50, 60, 70, 80, 100, 130, 180],
                        "degrees"),
        counter_panel("camera model", num["camera_models"]),
        histogram_panel("person height in image (amodal box)", s.person_view["bbox_height_px"],
                        [0, 16, 32, 64, 96, 128, 192, 256, 384, 512, 1024, 4096], "px"),
        histogram_panel("occlusion (1 - visible vertex fraction)", s.person_view["occlusion"],
                        np.linspace(0, 1, 11), "fraction", "{:.1f}"),
    ]
    written.append(draw_panels(os.path.join(dest, "cameras.png"), cams))
    if num["keypoints"]:
        kp = [Panel("keypoint visible (in image, not occluded)", list(num["keypoints"]),
                    [v["visible"] for v in num["keypoints"].values()], ylabel="fraction"),
              Panel("keypoint in image", list(num["keypoints"]),
                    [v["in_image"] for v in num["keypoints"].values()], ylabel="fraction")]
        written.append(draw_panels(os.path.join(dest, "keypoints.png"), kp, cols=1))
    contact_panels = [Panel(f"{name}: fraction of person-frames touching, per body part", list(s.part_names),
                            [float(c) / max(s.person_frames, 1) for c in s.contact_part_frames[name]], ylabel="fraction")
                      for name in sorted(s.contact_part_frames)]
    if s.contact_object_frames:
        contact_panels.append(counter_panel("contact_scene: person-frames touching each scene object",
                                            dict(s.contact_object_frames)))
    if contact_panels:
        written.append(draw_panels(os.path.join(dest, "contact.png"), contact_panels, cols=1))
    motion_panels = [counter_panel("motion source (people)", dict(s.motions))]
    if s.clips:
        motion_panels.append(counter_panel("motion clip (people)", dict(s.clips)))
    written.append(draw_panels(os.path.join(dest, "motions.png"), motion_panels))
    with open(os.path.join(dest, "stats.json"), "w") as f:
        json.dump(num, f, indent=1)
    written.append(os.path.join(dest, "stats.json"))
    written.append(_write_card(s, num, dest, [os.path.basename(p) for p in written if p.endswith(".png")]))
    return written


def _write_card(s: DatasetStats, num: dict, dest: str, images: list[str]) -> str:
    lines = [
        "# Dataset card", "",
        f"Source: `{s.source}` - {s.shards} shard(s), {s.scenes} scenes, {s.people} people, "
        f"{s.views} labelled views, {s.person_frames} person-frames.", "",
        "Generated by `synth stats` from the labels only.", "",
        "## People", "",
        "| quantity | median (5-95 %) |", "|---|---|",
        f"| age (years) | {num['age_years']} |",
        f"| stature (m) | {num['stature_m']} |",
        f"| BMI (kg/m^2; mass = mesh volume x 1010 kg/m^3) | {num['bmi']} |",
        "", "Sex: " + ", ".join(f"{k} {v}" for k, v in num["sex"].items())
        + ". Body models: " + ", ".join(f"{k} {v}" for k, v in num["body_models"].items()) + ".", "",
        "## Cameras and people in the image", "",
        "| quantity | median (5-95 %) |", "|---|---|",
        f"| camera distance to people (m) | {num['camera_distance_m']} |",
        f"| camera pitch (deg, negative looks down) | {num['camera_pitch_deg']} |",
        f"| horizontal field of view (deg) | {num['camera_fov_deg']} |",
        f"| person height in image, amodal box (px) | {num['bbox_height_px']} |",
        f"| occlusion (1 - visible vertex fraction) | {num['occlusion']} |",
        "", "Camera models: " + ", ".join(f"{k} {v}" for k, v in num["camera_models"].items()) + ".", "",
    ]
    if num["keypoints"]:
        lines += ["## Keypoint visibility", "", "| keypoint | visible | in image |", "|---|---|---|"]
        lines += [f"| {k} | {v['visible']:.2f} | {v['in_image']:.2f} |" for k, v in num["keypoints"].items()]
        lines.append("")
    if num["contact"]:
        lines += ["## Contact", "", "Fraction of person-frames with at least one vertex of the part in contact "
                  "(definitions: docs/contact.md).", ""]
        for name, c in num["contact"].items():
            lines.append(f"- `{name}`: {c['person_frames_with_contact']} of {s.person_frames} person-frames")
            if c["per_part_fraction"]:
                top = sorted(c["per_part_fraction"].items(), key=lambda kv: -kv[1])[:8]
                lines.append("  - " + ", ".join(f"{p} {f:.2f}" for p, f in top if f > 0) or "  - none")
        if num["contact_objects_person_frames"]:
            lines.append("- scene objects touched (person-frames): " + ", ".join(
                f"{k} {v}" for k, v in sorted(num["contact_objects_person_frames"].items(), key=lambda kv: -kv[1])))
        lines.append("")
    lines += ["## Motions", "", ", ".join(f"{k}: {v}" for k, v in s.motions.most_common()) + ".", ""]
    if s.notes:
        lines += ["## Notes", ""] + [f"- {n}" for n in s.notes] + [""]
    lines += ["## Plots", ""] + [f"![{os.path.splitext(i)[0]}]({i})" for i in images] + [""]
    path = os.path.join(dest, "dataset_card.md")
    with open(path, "w") as f:
        f.write("\n".join(lines))
    return path
