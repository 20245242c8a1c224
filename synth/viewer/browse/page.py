"""The browser's single HTML page: labels embedded as JSON, plain JavaScript, no network access."""

from __future__ import annotations

import html
import json
from typing import Any

_TEMPLATE = r"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>synth browse: __TITLE__</title>
<style>
  :root { color-scheme: dark; --bg: #16181d; --panel: #20232a; --fg: #e6e6e6; --dim: #9aa0a6; --accent: #4fb3ff; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 14px/1.4 system-ui, sans-serif; background: var(--bg); color: var(--fg); }
  header { padding: 12px 16px; background: var(--panel); position: sticky; top: 0; z-index: 2;
           display: flex; flex-wrap: wrap; gap: 12px 20px; align-items: center; }
  header h1 { font-size: 16px; margin: 0 12px 0 0; }
  label.filter { display: flex; flex-direction: column; font-size: 12px; color: var(--dim); }
  select { background: var(--bg); color: var(--fg); border: 1px solid #444; padding: 3px 6px; min-width: 150px; }
  #count { font-weight: 600; color: var(--accent); }
  main { padding: 12px 16px; }
  #grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(192px, 1fr)); gap: 10px; }
  .thumb { background: var(--panel); border: 1px solid #333; border-radius: 4px; padding: 4px; cursor: pointer;
           color: inherit; text-align: left; font: inherit; }
  .thumb:hover, .thumb:focus { border-color: var(--accent); outline: none; }
  .thumb img { width: 100%; display: block; image-rendering: pixelated; }
  .thumb .cap { font-size: 11px; color: var(--dim); margin-top: 3px; white-space: nowrap; overflow: hidden;
                text-overflow: ellipsis; }
  .hidden { display: none !important; }
  #detail { position: fixed; inset: 0; background: rgba(0, 0, 0, .85); z-index: 5; overflow: auto; padding: 20px; }
  #detail .box { background: var(--panel); border-radius: 6px; padding: 16px; max-width: 1400px; margin: 0 auto; }
  #detail .imgs { display: flex; flex-wrap: wrap; gap: 12px; }
  #detail .imgs img { max-width: 100%; width: 512px; image-rendering: pixelated; border: 1px solid #333; }
  #detail .nav { display: flex; gap: 8px; align-items: center; margin-bottom: 10px; }
  #detail h2 { font-size: 15px; margin: 0 auto 0 0; }
  button.act { background: var(--bg); color: var(--fg); border: 1px solid #555; border-radius: 3px; padding: 4px 10px;
               cursor: pointer; }
  table { border-collapse: collapse; margin-top: 12px; font-size: 12px; }
  th, td { border: 1px solid #3a3d44; padding: 3px 7px; text-align: left; }
  th { background: #2a2e36; }
  #stats img { max-width: 100%; width: 480px; background: #fff; margin: 6px; }
  #stats pre { white-space: pre-wrap; background: var(--panel); padding: 10px; }
  .legend { font-size: 12px; color: var(--dim); }
</style>
</head>
<body>
<header>
  <h1>__TITLE__</h1>
  <label class="filter">age group<select id="filter-age" data-tag="age"></select></label>
  <label class="filter">camera model<select id="filter-camera" data-tag="camera"></select></label>
  <label class="filter">visibility<select id="filter-visibility" data-tag="visibility"></select></label>
  <label class="filter">motion<select id="filter-motion" data-tag="motion"></select></label>
  <div><span id="count">0</span> of <span id="shown-total">0</span> views shown
    <span class="legend" id="subset-note"></span></div>
</header>
<main>
  <p class="legend">Overlays: tinted instance masks, amodal box in the person's colour, visible-pixel box in white,
  filled dots = visible keypoints, yellow rings = occluded, cyan = mesh vertices touching the ground.
  Click a view for its labels; Esc closes, arrow keys step.</p>
  <div id="grid"></div>
  <section id="stats" class="hidden"><h2>Dataset statistics (synth stats)</h2><div id="stats-plots"></div>
    <pre id="stats-card" class="hidden"></pre></section>
</main>
<div id="detail" class="hidden" role="dialog" aria-modal="true">
  <div class="box">
    <div class="nav"><h2 id="detail-title"></h2>
      <button class="act" id="detail-prev">&larr; prev</button><button class="act" id="detail-next">next &rarr;</button>
      <button class="act" id="detail-close">close</button></div>
    <div class="imgs"><img id="detail-overlay" alt="overlay"><img id="detail-image" alt="image"></div>
    <table id="detail-camera"></table>
    <table id="detail-people"></table>
  </div>
</div>
<script id="synth-data" type="application/json">__DATA__</script>
<script>
"use strict";
const DATA = JSON.parse(document.getElementById("synth-data").textContent);
const FRAMES = DATA.frames;
const grid = document.getElementById("grid");
const selects = Array.from(document.querySelectorAll("select[data-tag]"));
let visible = FRAMES.map((f) => f.i);
let current = -1;

function el(tag, props, children) {
  const e = document.createElement(tag);
  Object.assign(e, props || {});
  (children || []).forEach((c) => e.appendChild(typeof c === "string" ? document.createTextNode(c) : c));
  return e;
}

function fillFilters() {
  for (const sel of selects) {
    const tag = sel.dataset.tag, counts = new Map();
    for (const f of FRAMES) for (const v of f.tags[tag]) counts.set(v, (counts.get(v) || 0) + 1);
    sel.appendChild(el("option", {value: "", textContent: "any"}));
    for (const v of Array.from(counts.keys()).sort())
      sel.appendChild(el("option", {value: v, textContent: v + " (" + counts.get(v) + ")"}));
    sel.addEventListener("change", applyFilters);
  }
}

function buildGrid() {
  const frag = document.createDocumentFragment();
  for (const f of FRAMES) {
    const seen = f.people.filter((p) => p.seen).length;
    const b = el("button", {className: "thumb", id: "thumb-" + f.i, title: f.scene_id + " frame " + f.frame + " " + f.view}, [
      el("img", {src: f.thumb, alt: f.scene_id + " f" + f.frame + " " + f.view, loading: "lazy"}),
      el("div", {className: "cap", textContent: f.scene_id + " f" + f.frame + " " + f.view + " · " +
        f.camera.model + " · " + seen + "/" + f.people.length + " seen"})]);
    b.dataset.index = f.i;
    b.addEventListener("click", () => openDetail(f.i));
    frag.appendChild(b);
  }
  grid.appendChild(frag);
}

function applyFilters() {
  const active = selects.filter((s) => s.value).map((s) => [s.dataset.tag, s.value]);
  visible = [];
  for (const f of FRAMES) {
    const ok = active.every(([tag, v]) => f.tags[tag].includes(v));
    document.getElementById("thumb-" + f.i).classList.toggle("hidden", !ok);
    if (ok) visible.push(f.i);
  }
  document.getElementById("count").textContent = String(visible.length);
}

function fmt(v) {
  if (v === null || v === undefined) return "–";
  if (Array.isArray(v)) return "[" + v.map(fmt).join(", ") + "]";
  return String(v);
}

function table(node, head, rows) {
  node.replaceChildren(el("tr", {}, head.map((h) => el("th", {textContent: h}))),
    ...rows.map((r) => el("tr", {}, r.map((c) => el("td", {textContent: fmt(c)})))));
}

function openDetail(i) {
  const f = FRAMES[i];
  current = i;
  document.getElementById("detail-title").textContent =
    f.scene_id + " · frame " + f.frame + " · view " + f.view + " (" + f.width + "×" + f.height + " px)";
  document.getElementById("detail-overlay").src = f.overlay;
  document.getElementById("detail-image").src = f.image;
  const c = f.camera;
  table(document.getElementById("detail-camera"), ["camera model", "fx", "fy", "cx", "cy", "lens coefficients",
    "centre (world, m)"], [[c.model, c.fx, c.fy, c.cx, c.cy, c.dist, c.center_world_m]]);
  table(document.getElementById("detail-people"), ["person", "body", "age (y)", "age group", "gender", "motion",
    "seen px", "kp visible / in image / all", "body visible", "box xyxy (px)", "distance (m)",
    "mesh visible", "ground-contact vertices"],
    f.people.map((p) => [p.index, p.body_model, p.age_years, p.age_group, p.gender, p.motion, p.mask_area_px,
      p.keypoints_visible + " / " + p.keypoints_in_image + " / " + p.keypoints_total, p.body_visible_fraction,
      p.bbox_xyxy, p.root_distance_m, p.vertex_visible_fraction, p.ground_contact_vertices]));
  document.getElementById("detail").classList.remove("hidden");
  if (location.hash !== "#frame-" + i) history.replaceState(null, "", "#frame-" + i);
}

function closeDetail() {
  document.getElementById("detail").classList.add("hidden");
  current = -1;
  history.replaceState(null, "", location.pathname + location.search);
}

function step(d) {
  if (current < 0 || !visible.length) return;
  const k = visible.indexOf(current);
  openDetail(visible[((k < 0 ? 0 : k + d) + visible.length) % visible.length]);
}

function showStats() {
  const s = DATA.stats;
  if (!s || (!s.plots.length && !s.card)) return;
  document.getElementById("stats").classList.remove("hidden");
  const box = document.getElementById("stats-plots");
  for (const p of s.plots) box.appendChild(el("figure", {}, [el("img", {src: p.file, alt: p.title}),
    el("figcaption", {textContent: p.title})]));
  if (s.card) {
    const pre = document.getElementById("stats-card");
    pre.textContent = s.card;
    pre.classList.remove("hidden");
  }
}

document.getElementById("detail-close").addEventListener("click", closeDetail);
document.getElementById("detail-prev").addEventListener("click", () => step(-1));
document.getElementById("detail-next").addEventListener("click", () => step(1));
document.getElementById("detail").addEventListener("click", (e) => { if (e.target.id === "detail") closeDetail(); });
document.addEventListener("keydown", (e) => {
  if (current < 0) return;
  if (e.key === "Escape") closeDetail();
  else if (e.key === "ArrowRight") step(1);
  else if (e.key === "ArrowLeft") step(-1);
});

fillFilters();
buildGrid();
applyFilters();
showStats();
document.getElementById("shown-total").textContent = String(FRAMES.length);
if (DATA.frames_total > FRAMES.length)
  document.getElementById("subset-note").textContent = "(the first " + FRAMES.length + " of the dataset's " +
    DATA.frames_total + " views; synth browse --limit shows more)";
const m = /^#frame-(\d+)$/.exec(location.hash);
if (m && FRAMES[+m[1]]) openDetail(+m[1]);
document.body.dataset.ready = "1";
</script>
</body>
</html>
"""


def render_page(data: dict[str, Any]) -> str:

    title = html.escape(f"{data.get('recipe_name') or 'dataset'} — {data['dataset']}")
    return _TEMPLATE.replace("__TITLE__", title).replace("__DATA__", embed_json(data))


def embed_json(data: dict[str, Any]) -> str:
    """JSON safe inside a ``<script>`` element."""
    return json.dumps(data, separators=(",", ":")).replace("</", "<\\/").replace("<!--", "<\\!--")
