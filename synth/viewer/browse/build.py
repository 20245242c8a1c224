"""``synth browse OUT``: a static HTML page to look through a dataset (no server, opens from disk).

Writes ``DEST/index.html`` (default ``OUT/browse``) with every frame's labels embedded as JSON,
``DEST/thumbs/*.jpg`` (overlay thumbnails), ``DEST/frames/*`` (full-size overlay and raw image) and a
copy of the ``synth stats`` plots and dataset card when ``OUT/report`` (``synth stats``' default; or ``stats_dir``) has them.

Per view of a frame the page can filter on: age group (of the people seen in the view), camera model,
visibility (share of a seen person's 17 body keypoints that are visible) and motion (each person's
motion source). A click opens the frame with its overlay, the raw image and a table of its labels.
"""

from __future__ import annotations

import logging
import math
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from synth.core.atomic import write_text_atomic
from synth.core.errors import DatasetError

log = logging.getLogger(__name__)

THUMB_WIDTH_PX = 192
DETAIL_MIN_WIDTH_PX = 512
#: age groups by age in years (upper bounds, exclusive)
AGE_GROUPS = (("child (0-12)", 13.0), ("teen (13-17)", 18.0), ("adult (18-64)", 65.0), ("senior (65+)", math.inf))
#: visibility groups by the share of the 17 body keypoints visible (lower bounds, inclusive)
VISIBILITY_GROUPS = (("mostly visible (>= 75%)", 0.75), ("partly occluded (25-75%)", 0.25),
                     ("mostly hidden (< 25%)", 0.0))


def age_group(age_years: float | None) -> str:
    if age_years is None or not np.isfinite(age_years):
        return "unknown"
    return next(name for name, upper in AGE_GROUPS if age_years < upper)


def visibility_group(visible_fraction: float) -> str:
    return next(name for name, lower in VISIBILITY_GROUPS if visible_fraction >= lower)


def _scalar(x: Any) -> float | None:
    try:
        return float(np.asarray(x).reshape(-1)[0])
    except (TypeError, ValueError, IndexError):
        return None


def _round(x: Any, nd: int = 3):
    a = np.asarray(x, dtype=np.float64)
    return [None if not np.isfinite(v) else round(float(v), nd) for v in a.reshape(-1)] if a.ndim else (
        None if not np.isfinite(a) else round(float(a), nd))


def frame_record(frame, index: int, files: dict[str, str]) -> dict[str, Any]:
    """The labels of one view the page shows and filters on (plain JSON types)."""
    L = frame.labels
    cam = frame.camera
    people = []
    n_body = min(17, L["keypoints_visible"].shape[1])
    for p, person in enumerate(frame.people):
        seen = int(L["mask_area_px"][p]) > 0
        vis_body = float(np.mean(L["keypoints_visible"][p][:n_body])) if n_body else 0.0
        age = _scalar(person["shape"].get("age_years"))
        cg = person.get("contact_ground")
        motion = person.get("motion") or {}
        people.append({
            "index": p, "body_model": person["body_model"], "seen": seen,
            "age_years": None if age is None else round(age, 1), "age_group": age_group(age),
            "gender": _round(_scalar(person["shape"]["gender"])) if "gender" in person["shape"] else None,
            "motion": str(motion.get("source", "unknown")),
            "mask_area_px": int(L["mask_area_px"][p]),
            "keypoints_visible": int(L["keypoints_visible"][p].sum()),
            "keypoints_in_image": int(L["keypoints_in_image"][p].sum()),
            "keypoints_total": int(L["keypoints_visible"].shape[1]),
            "body_visible_fraction": round(vis_body, 3), "visibility_group": visibility_group(vis_body),
            "bbox_xyxy": _round(L["bbox_xyxy"][p], 1),
            "root_distance_m": _round(L["root_distance_m"][p], 2) if "root_distance_m" in L else None,
            "vertex_visible_fraction": (_round(L["vertex_visible_fraction"][p], 3)
                                        if "vertex_visible_fraction" in L else None),
            "ground_contact_vertices": None if cg is None else int(np.asarray(cg).sum()),
        })
    seen = [q for q in people if q["seen"]]
    return {
        "i": index, "scene_id": frame.scene_id, "scene_index": frame.scene_index, "frame": frame.frame_index,
        "view": frame.view, "width": int(frame.rgb.shape[1]), "height": int(frame.rgb.shape[0]),
        "camera": {"model": cam.model_name, "fx": _round(cam.K[0, 0], 2), "fy": _round(cam.K[1, 1], 2),
                   "cx": _round(cam.K[0, 2], 2), "cy": _round(cam.K[1, 2], 2), "dist": _round(cam.dist, 5),
                   "center_world_m": _round(cam.center_world, 3)},
        "people": people, **files,
        "tags": {
            "age": sorted({q["age_group"] for q in seen}) or ["nobody seen"],
            "camera": [cam.model_name],
            "visibility": sorted({q["visibility_group"] for q in seen}) or ["nobody seen"],
            "motion": sorted({q["motion"] for q in seen}) or ["nobody seen"],
        },
    }


def _resize_width(img: np.ndarray, width: int) -> np.ndarray:
    from PIL import Image

    h, w = img.shape[:2]
    if w == width:
        return img
    height = max(1, round(h * width / w))
    return np.asarray(Image.fromarray(img).resize((width, height), Image.LANCZOS if width < w else Image.NEAREST))


def _collect_stats(stats_dir: Path, dest: Path) -> dict[str, Any]:
    """Copy the ``synth stats`` plots (PNG) and dataset card (Markdown) into ``dest/stats``."""
    out: dict[str, Any] = {"plots": [], "card": None}
    if not stats_dir.is_dir():
        return out
    pngs = sorted(stats_dir.rglob("*.png"))
    cards = sorted(stats_dir.glob("*.md"))
    if pngs or cards:
        (dest / "stats").mkdir(parents=True, exist_ok=True)
    for png in pngs:
        rel = png.relative_to(stats_dir)
        target = dest / "stats" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(png, target)
        out["plots"].append({"file": f"stats/{rel.as_posix()}", "title": png.stem.replace("_", " ")})
    if cards:
        out["card"] = cards[0].read_text(encoding="utf-8", errors="replace")
    return out


def write_browser(out: str, dest: str | None = None, limit: int | None = 2000, stats_dir: str | None = None,
                  progress: bool = False) -> str:
    """Write the browser for the dataset in ``out``; returns the path of ``index.html``."""
    import imageio.v3 as iio

    from synth.viewer.browse.page import render_page
    from synth.io.reader import open_dataset
    from synth.viewer.overlay import draw_overlay

    if limit is not None and limit <= 0:
        raise DatasetError(f"browse --limit: expected a positive number of frames, got {limit}")
    ds = open_dataset(out)
    total = len(ds)
    dest_dir = Path(dest) if dest else Path(out) / "browse"
    (dest_dir / "thumbs").mkdir(parents=True, exist_ok=True)
    (dest_dir / "frames").mkdir(parents=True, exist_ok=True)
    frames: list[dict[str, Any]] = []
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=min(total, limit or total), desc="browse", unit="view")
    for frame in ds:
        if limit is not None and len(frames) >= limit:
            break
        stem = f"{frame.scene_id}_f{frame.frame_index:04d}_{frame.view}"
        W = frame.rgb.shape[1]
        overlay = draw_overlay(frame, scale=max(1, math.ceil(DETAIL_MIN_WIDTH_PX / W)))
        files = {"thumb": f"thumbs/{stem}.jpg", "overlay": f"frames/{stem}_overlay.png",
                 "image": f"frames/{stem}.png"}
        iio.imwrite(dest_dir / files["thumb"], _resize_width(overlay, THUMB_WIDTH_PX), quality=88)
        iio.imwrite(dest_dir / files["overlay"], overlay)
        iio.imwrite(dest_dir / files["image"], frame.rgb)
        frames.append(frame_record(frame, len(frames), files))
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    if not frames:
        raise DatasetError(f"{out}: the dataset has no frames to show")
    stats = _collect_stats(Path(stats_dir) if stats_dir else Path(out) / "report", dest_dir)  # synth stats default
    data = {"dataset": str(out), "recipe_name": ds.manifest.recipe.get("name", ""),
            "frames_total": total, "frames": frames, "stats": stats,
            "scenes": ds.manifest.scenes, "complete": bool(ds.manifest.complete)}
    html = render_page(data)
    path = dest_dir / "index.html"
    write_text_atomic(path, html)
    log.info("browse: %d of %d views -> %s", len(frames), total, path)
    return str(path)
