"""Draw the contact figures of docs/contact.md (docs/img/contact_*.png) from the constructed test poses.

    .venv/bin/python scripts/contact_figures.py [--dest docs/img]

Flat-shaded orthographic drawings (matplotlib, painter's algorithm): the seated body on a box and the floor
coloured by the object each vertex touches, the 24-part segmentation, a hand on the own face (self-contact) and
two people palm to palm.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))


def draw(ax, meshes, view_dir, up=(0, 0, 1), title=""):
    """meshes: list of (vertices (V,3), faces (F,3), face colours (F,3) in [0,1])."""
    from matplotlib.collections import PolyCollection

    d = np.asarray(view_dir, float)
    d /= np.linalg.norm(d)
    right = np.cross(d, up)
    right /= np.linalg.norm(right)
    upv = np.cross(right, d)
    light = -d + 0.5 * upv
    light /= np.linalg.norm(light)
    polys, cols, depth = [], [], []
    for v, f, c in meshes:
        tri = v[f]
        n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
        n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)
        front = (n @ d) < 0
        shade = 0.35 + 0.65 * np.clip(n @ light, 0, 1)
        uv = np.stack([tri @ right, tri @ upv], axis=-1)
        polys.append(uv[front])
        cols.append(np.clip(c[front] * shade[front, None], 0, 1))
        depth.append((tri @ d).mean(1)[front])
    polys, cols, depth = np.concatenate(polys), np.concatenate(cols), np.concatenate(depth)
    order = np.argsort(-depth)
    ax.add_collection(PolyCollection(polys[order], facecolors=cols[order], edgecolors=cols[order], linewidths=0.3))
    allp = polys.reshape(-1, 2)
    ax.set_xlim(allp[:, 0].min() - 0.05, allp[:, 0].max() + 0.05)
    ax.set_ylim(allp[:, 1].min() - 0.05, allp[:, 1].max() + 0.05)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(title, fontsize=9)


def face_colors(faces, vertex_rgb):
    return np.asarray(vertex_rgb)[faces].mean(1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dest", default=str(ROOT / "docs" / "img"))
    args = ap.parse_args()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from contact_poses_util import X, Y, Z, box_mesh, pose_rotvec, posed_vertices, seated_on_box

    from synth.bodies.parts import SEGMENT_INDEX, SEGMENT_NAMES, vertex_segment_labels
    from synth.bodies.registry import get_body_model
    from synth.groundtruth.contact import (compute_person_contact, compute_scene_contact, compute_self_contact,
                                           geodesic_bound_for)
    from synth.motion.skeleton import BodySkeleton

    body = get_body_model("anny")
    skel = BodySkeleton.from_body(body)
    seg = vertex_segment_labels(body)
    F = np.asarray(body.faces)
    skin = np.array([0.78, 0.74, 0.70])
    palette = plt.get_cmap("tab20")(np.arange(20))[:, :3]
    part_rgb = np.array([palette[i % 20] if i < 20 else plt.get_cmap("Set1")(i - 20)[:3] for i in range(len(SEGMENT_NAMES))])

    # seated on a box, feet on the floor
    v, (seat_v, seat_f) = seated_on_box(body, skel, seg)
    floor_v, floor_f = box_mesh([-0.5, -0.8, -0.02], [0.5, 0.5, 0.0])
    obj, _ = compute_scene_contact(v, [(floor_v, floor_f, 0, "floor"), (seat_v, seat_f, 1, "box")])
    obj_rgb = {0: np.array([0.15, 0.45, 0.85]), 1: np.array([0.95, 0.45, 0.1])}
    vrgb = np.tile(skin, (len(v), 1))
    for k, c in obj_rgb.items():
        vrgb[obj == k] = c
    fig, axes = plt.subplots(1, 3, figsize=(12, 5))
    scene_meshes = [(floor_v, floor_f, np.tile([0.55, 0.6, 0.7], (12, 1))), (seat_v, seat_f, np.tile([0.7, 0.6, 0.45], (12, 1)))]
    draw(axes[0], [(v, F, face_colors(F, vrgb))] + scene_meshes, [1, -0.6, -0.35],
         title="contact_scene: floor (blue), box (orange)")
    vv = v.copy()
    draw(axes[1], [(vv, F, face_colors(F, vrgb))], [0.25, 0.3, 1.0], up=(0, -1, 0),
         title="seen from below (seat and floor hidden)")
    draw(axes[2], [(v, F, part_rgb[seg][F].mean(1))], [0.8, -1, -0.2], title="24-part segmentation")
    fig.tight_layout()
    out1 = Path(args.dest) / "contact_scene_parts.png"
    fig.savefig(out1, dpi=90)
    plt.close(fig)

    # self-contact: hand on face; person-person: palm to palm
    geo = geodesic_bound_for(body)
    rv = pose_rotvec(skel, [("upperarm01.R", X, -np.radians(50)), ("upperarm01.R", Y, -np.radians(30)),
                            ("lowerarm01.R", X, -np.radians(125))])
    vf, _ = posed_vertices(body, rv)
    partner = compute_self_contact(vf, geo)
    rgb = np.tile(skin, (len(vf), 1))
    rgb[partner >= 0] = [0.85, 0.1, 0.1]
    fig, axes = plt.subplots(1, 3, figsize=(14, 5.5))
    draw(axes[0], [(vf, F, face_colors(F, rgb))], [0.6, 1, -0.15], title="contact_self: hand on face (red)")
    hand = np.isin(seg, [SEGMENT_INDEX["right_hand"], SEGMENT_INDEX["right_fingers"]])
    rv = pose_rotvec(skel, [("upperarm01.R", X, -np.pi / 2), ("finger1-1.R", Z, -np.pi / 4)])
    a, _ = posed_vertices(body, rv)
    b, _ = posed_vertices(body, rv, y=-1.15, yaw=np.pi)
    from synth.core.mesh import TriangleIndex

    ia = TriangleIndex(a, F)
    apart, overlap = 0.0, -0.48
    for _ in range(30):
        mid = (apart + overlap) / 2
        apart, overlap = (mid, overlap) if ia.signed_distance(b[hand] + [mid, 0, 0])[0].min() > 0.005 else (apart, mid)
    b = b + [apart, 0, 0]
    ca, cb = compute_person_contact([a, b], [F, F])
    ra, rb = np.tile(skin, (len(a), 1)), np.tile([0.70, 0.74, 0.80], (len(b), 1))
    ra[ca == 1] = [0.85, 0.1, 0.1]
    rb[cb == 0] = [0.1, 0.6, 0.2]
    draw(axes[1], [(a, F, face_colors(F, ra)), (b, F, face_colors(F, rb))], [-1, -0.25, -0.3],
         title="contact_person: palm to palm (red on A, green on B)")
    hf = F[hand[F].all(1)]
    draw(axes[2], [(a, hf, face_colors(hf, ra)), (b, hf, face_colors(hf, rb))], [0, 0, -1], up=(0, -1, 0),
         title="the two right hands seen from above")
    fig.tight_layout()
    out2 = Path(args.dest) / "contact_self_person.png"
    fig.savefig(out2, dpi=90)
    plt.close(fig)
    print(out1, out2)


if __name__ == "__main__":
    main()
