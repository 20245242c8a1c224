"""Person crops with 3D body targets for the mesh estimator (datasets read through ``synth.io`` only).

``load_mesh_samples(OUT)`` reads every frame once with ``synth.io.open_dataset`` and keeps, per labelled
person in a pinhole view, the same people as ``synth.estimators.keypoints2d.data.load_person_instances`` (a finite,
non-empty amodal box, >= ``min_keypoints`` COCO keypoints in the image, >= ``min_area_px`` visible pixels),
with camera-frame, **root-relative** targets (pelvis = midpoint of the left / right hip keypoints):

* ``keypoints_rr`` (N, 17, 3) float32 m: ``labels/keypoints_3d_cam`` of the 17 COCO body keypoints minus the
  pelvis;
* ``vertices_rr`` (N, V, 3) float32 m: ``vertices_world`` mapped by the view's ``T_cam_from_world``, minus
  the same pelvis;
* body-model parameters: ``pose_rotvec`` (N, J, 3) rad (Anny local-bone rotations), ``phenotypes`` (N, 6) in
  [0, 1] (``ANNY_PHENOTYPES`` order), ``facial_actions`` (N, 52) or zeros, and ``global_rotmat`` (N, 3, 3):
  the rotation of the body model's native frame into the camera frame, ``R_cam_from_world @
  R_world_from_root``. With these, Anny's native forward, made pelvis-relative and rotated by
  ``global_rotmat``, reproduces ``vertices_rr`` (checked in the tests);
* ``pelvis_cam`` (N, 3) float32 m: the pelvis in the camera frame (the root translation the model estimates).

Fisheye views are skipped and counted (a crop of a fisheye image is not a pinhole view). Only Anny datasets
are supported; the body model and its topology (the ``body_options`` the shards store per person, and the
vertex count) are recorded so a checkpoint can refuse data of another topology or body model.
``MeshCropDataset`` makes the square crops; training adds a random box scale / shift and colour jitter,
which leave the camera-frame targets unchanged, and mirror flips with their label update (``mirrored_targets``):
a crop mirrored left-right is the crop, at the mirrored box centre ``2 u0 - cx``, of the world reflected in the
camera's y-z plane (x -> -x), so the CLIFF box feature's x offset changes sign, every camera-frame point has its
x negated, and the labels change sides: keypoint k takes the reflected keypoint ``flip_index[k]``, vertex v the
reflected vertex ``mirror[v]`` (the rest mesh's left/right correspondence,
``synth.estimators.contact.geometry.mirror_correspondence``), the body's orientation becomes ``M R M`` (M =
diag(-1, 1, 1): Anny's rest body is symmetric about its native x = 0 plane), left/right facial actions swap.
Bone rotations have no such closed form (Anny's bone frames are not mirror images of each other), so a
flipped sample carries no pose-parameter target; its vertices and keypoints supervise the pose. No rotation
augmentation (it would turn the camera-frame targets about the crop centre's ray, not the optical axis).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from synth.estimators.engine.crops import (CropBox, PersonCropDataset, compute_crop_affine, sample_color_jitter,
                                           warp_crop)
from synth.estimators.engine.datasets import NUM_BODY_KEYPOINTS, PersonRef, PersonScan
from synth.estimators.engine.errors import EstimatorError

log = logging.getLogger(__name__)

#: Anny's phenotype order (``synth.bodies.anny_model.PHENOTYPE_NAMES``).
ANNY_PHENOTYPES = ("gender", "age", "muscle", "weight", "height", "proportions")
NUM_FACIAL_ACTIONS = 52


@dataclass(frozen=True)
class BodySpec:
    """The body model a dataset (or checkpoint) is about: name, topology, vertex and joint counts."""

    body_model: str
    topology: str
    num_vertices: int
    num_joints: int

    def describe(self) -> str:
        return f"{self.body_model} topology {self.topology!r} ({self.num_vertices} vertices, {self.num_joints} joints)"


def check_body_spec(found: BodySpec, expected: BodySpec, where: str) -> None:
    """EstimatorError unless the dataset's body model equals the one the model was trained on."""
    if found == expected:
        return
    if found.body_model != expected.body_model:
        fix = (f"evaluate on a dataset generated with people.body_model: {expected.body_model}, or train a model "
               f"on this one (the bundled mesh estimator supports Anny only)")
    else:
        fix = (f"evaluate on a dataset generated with people.anny_topology: {expected.topology}, or train on "
               f"{found.topology!r} data")
    raise EstimatorError(f"{where}: the dataset's people use {found.describe()}, the model predicts "
                         f"{expected.describe()}; {fix}")


@dataclass
class MeshInstance(PersonRef):
    """One labelled person in one pinhole view (``PersonRef``). K : (3, 3) float64 intrinsics of the view."""

    K: np.ndarray


@dataclass
class MeshSamples:
    """Decoded images, people and their 3D targets (see the module docstring for shapes and units)."""

    images: list[np.ndarray]
    instances: list[MeshInstance]
    keypoints_rr: np.ndarray
    vertices_rr: np.ndarray
    pose_rotvec: np.ndarray
    phenotypes: np.ndarray
    facial_actions: np.ndarray
    global_rotmat: np.ndarray
    body: BodySpec
    sources: list[str]
    views: int
    people_seen: int
    skipped_views: dict[str, int] = field(default_factory=dict)
    #: (N, 3) float32 m camera-frame pelvis (None where the data has no root position, e.g. real photos)
    pelvis_cam: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.instances)


def person_topology(person: dict) -> str:
    """The Anny topology of a stored person (``Frame.people[p]["body_options"]``, as the shard records it)."""
    options = person.get("body_options") or {}
    return str(options.get("topology") or "default")


def person_targets(person: dict, T_cam_from_world: np.ndarray, keypoints_3d_cam: np.ndarray,
                   frame_index: int) -> dict:
    """Root-relative camera-frame targets and parameters of one person (``Frame.people[p]``) in one view.

    keypoints_3d_cam : (K >= 17, 3) m, the view's ``labels/keypoints_3d_cam[p]``.  frame_index : the frame
    (``extra/facial_actions`` is stored per scene, (T, 52)).
    Returns keypoints_rr (17, 3), vertices_rr (V, 3) float32 m; pose_rotvec (J, 3), phenotypes (6,),
    facial_actions (52,) float32; global_rotmat (3, 3) float64; pelvis_cam (3,) float32 m.
    """
    T = np.asarray(T_cam_from_world, np.float64)
    kp = np.asarray(keypoints_3d_cam, np.float64)[:NUM_BODY_KEYPOINTS]
    pelvis = 0.5 * (kp[11] + kp[12])
    verts = np.asarray(person["vertices_world"], np.float64) @ T[:3, :3].T + T[:3, 3]
    shape = person["shape"]
    fa = person.get("extra", {}).get("facial_actions")
    if fa is None:
        fa = np.zeros(NUM_FACIAL_ACTIONS, np.float32)
    fa = np.asarray(fa, np.float32)
    if fa.ndim == 2:   # stored per scene: (T, 52)
        fa = fa[frame_index]
    return {"keypoints_rr": (kp - pelvis).astype(np.float32), "vertices_rr": (verts - pelvis).astype(np.float32),
            "pose_rotvec": np.asarray(person["pose_rotvec"], np.float32),
            "phenotypes": np.array([float(np.asarray(shape.get(n, 0.5))) for n in ANNY_PHENOTYPES], np.float32),
            "facial_actions": fa,
            "global_rotmat": T[:3, :3] @ np.asarray(person["T_world_from_root"], np.float64)[:3, :3],
            "pelvis_cam": pelvis.astype(np.float32)}


def _dataset_body(path: str, frame) -> BodySpec:
    models = {p["body_model"] for p in frame.people}
    if models != {"anny"}:
        raise EstimatorError(f"{path}: its people use body model(s) {sorted(models)}; the bundled mesh estimator "
                             "predicts Anny bodies. Fix: generate with people.body_model: anny (the default)")
    p0 = frame.people[0]
    return BodySpec("anny", person_topology(p0), int(np.shape(p0["vertices_world"])[0]),
                    int(np.shape(p0["pose_rotvec"])[0]))


def load_mesh_samples(data: str | list[str], *, min_keypoints: int = 1, min_area_px: float = 64.0,
                      expected_body: BodySpec | None = None) -> MeshSamples:
    """Read dataset folder(s) written by ``synth generate``: the people worth a crop and their 3D targets.

    ``expected_body`` (a checkpoint's) makes data of another body model / topology an EstimatorError;
    several folders must share one body model and topology.
    """
    scan = PersonScan(data, min_keypoints=min_keypoints, min_area_px=min_area_px, pinhole_only=True)
    instances: list[MeshInstance] = []
    targets: dict[str, list[np.ndarray]] = {}
    body: BodySpec | None = expected_body
    checked_path = None
    for path, frame in scan.frames():
        if frame.people and checked_path != path:
            found = _dataset_body(path, frame)
            body = body or found
            check_body_spec(found, body, path)
            checked_path = path
        lab = frame.labels
        for p, _, ref in scan.kept_people(frame):
            t = person_targets(frame.people[p], frame.camera.T_cam_from_world, lab["keypoints_3d_cam"][p],
                               frame.frame_index)
            for k, v in t.items():
                targets.setdefault(k, []).append(v)
            instances.append(MeshInstance(**vars(ref), K=np.asarray(frame.camera.K, np.float64)))
    if not instances or body is None:
        raise scan.nobody_error()
    skipped = dict(scan.skipped_views)
    log.info("%s: %d people from %d pinhole views (%d people seen, skipped %s)", ", ".join(scan.paths),
             len(instances), scan.views, scan.people_seen, skipped or "none")
    st = {k: np.stack(v) for k, v in targets.items()}
    return MeshSamples(scan.images, instances, st["keypoints_rr"], st["vertices_rr"], st["pose_rotvec"],
                       st["phenotypes"], st["facial_actions"], st["global_rotmat"], body, scan.paths, scan.views,
                       scan.people_seen, skipped, st["pelvis_cam"])


def bbox_features(box: CropBox, K: np.ndarray) -> np.ndarray:
    """(3,) float32 CLIFF box information: crop centre offset from the principal point and crop size, both
    divided by the focal length, ``((cx - K[0,2]) / fx, (cy - K[1,2]) / fy, size / fy)`` (pixel-centre px)."""
    fx, fy, u0, v0 = float(K[0, 0]), float(K[1, 1]), float(K[0, 2]), float(K[1, 2])
    return np.array([(box.center[0] - u0) / fx, (box.center[1] - v0) / fy, box.size[1] / fy], np.float32)


@dataclass(frozen=True)
class MeshAugmentation:
    """Training-time crop jitter: box scale and shift, colour (targets unchanged), and mirror flips (targets
    mirrored, ``mirrored_targets``; only where the dataset has a vertex correspondence)."""

    scale_range: tuple[float, float] = (0.85, 1.15)
    shift_fraction: float = 0.06
    color_prob: float = 0.8
    flip_prob: float = 0.5


NO_MESH_AUGMENTATION = MeshAugmentation(scale_range=(1.0, 1.0), shift_fraction=0.0, color_prob=0.0, flip_prob=0.0)
#: x -> -x: the reflection in the camera's y-z plane (and in Anny's native symmetry plane).
MIRROR_X = np.diag([-1.0, 1.0, 1.0])


def coco17_flip_index() -> np.ndarray:
    """(17,) int64: each COCO body keypoint's left/right partner (the nose: itself)."""
    from synth.bodies.keypoints import KEYPOINT_NAMES, compute_flip_index

    return compute_flip_index(list(KEYPOINT_NAMES[:NUM_BODY_KEYPOINTS])).astype(np.int64)


def facial_flip_index(names: list[str]) -> np.ndarray:
    """(F,) int64: each facial action's left/right partner by name (``...Left`` <-> ``...Right``), else itself."""
    index = {n: i for i, n in enumerate(names)}

    def partner(n: str) -> str:
        if n.endswith("Left"):
            return n[:-4] + "Right"
        if n.endswith("Right"):
            return n[:-5] + "Left"
        return n

    return np.array([index.get(partner(n), i) for i, n in enumerate(names)], np.int64)


@dataclass(frozen=True)
class MirrorMaps:
    """The left/right correspondences a mirror flip needs: ``vertices`` (V,), ``keypoints`` (17,),
    ``facial_actions`` (52,) int64, each entry the index of its partner."""

    vertices: np.ndarray
    keypoints: np.ndarray
    facial_actions: np.ndarray


def mirrored_targets(t: dict[str, np.ndarray], maps: MirrorMaps) -> dict[str, np.ndarray]:
    """The targets of the mirror image (x -> -x in the camera frame) of one person's targets ``t``
    (``person_targets``' keys; ``pose_rotvec`` is dropped: no closed form, see the module docstring)."""
    M = MIRROR_X
    out = dict(t)
    out["keypoints_rr"] = (np.asarray(t["keypoints_rr"], np.float64) @ M)[maps.keypoints].astype(np.float32)
    out["vertices_rr"] = (np.asarray(t["vertices_rr"], np.float64) @ M)[maps.vertices].astype(np.float32)
    out["global_rotmat"] = M @ np.asarray(t["global_rotmat"], np.float64) @ M
    if t.get("pelvis_cam") is not None:
        out["pelvis_cam"] = (np.asarray(t["pelvis_cam"], np.float64) @ M).astype(np.float32)
    out["facial_actions"] = np.asarray(t["facial_actions"])[maps.facial_actions]
    out.pop("pose_rotvec", None)
    return out


def sample_targets(data: MeshSamples, index: int) -> dict[str, np.ndarray]:
    """Person ``index``'s targets (``person_targets``' keys) from loaded samples."""
    t = {"keypoints_rr": data.keypoints_rr[index], "vertices_rr": data.vertices_rr[index],
         "pose_rotvec": data.pose_rotvec[index], "phenotypes": data.phenotypes[index],
         "facial_actions": data.facial_actions[index], "global_rotmat": data.global_rotmat[index]}
    if data.pelvis_cam is not None:
        t["pelvis_cam"] = data.pelvis_cam[index]
    return t


class MeshCropDataset(PersonCropDataset):
    """torch-style Dataset of square person crops. Item: ``image`` (S, S, 3) uint8, ``bbox`` (3,) float32
    (``bbox_features`` of the crop actually taken, x offset negated when flipped), ``flipped`` bool, ``index``.
    With ``train`` item i draws its jitter from ``np.random.default_rng([seed, epoch, i])`` (call
    ``set_epoch`` each epoch); ``mirror`` (``MirrorMaps``) enables flips (``item_targets`` mirrors the
    labels)."""

    def __init__(self, data: MeshSamples, input_size: int, *, train: bool = False, padding: float = 1.2,
                 augmentation: MeshAugmentation = MeshAugmentation(), seed: int = 0,
                 mirror: MirrorMaps | None = None):
        super().__init__([inst.bbox_xyxy for inst in data.instances], (int(input_size), int(input_size)),
                         train=train, padding=padding, augmentation=augmentation, seed=seed)
        self.data = data
        self.input_size = int(input_size)
        self.mirror = mirror

    def item_targets(self, index: int, flipped: bool) -> dict[str, np.ndarray]:
        """Person ``index``'s targets, mirrored (``mirrored_targets``) when ``flipped``."""
        t = sample_targets(self.data, index)
        return mirrored_targets(t, self.mirror) if flipped else t

    def crop_box(self, index: int, rng: np.random.Generator | None = None) -> CropBox:
        """The crop region of instance ``index``: the padded box, or a jittered one drawn from ``rng``."""
        box = self.boxes[index]
        if rng is None:
            return box
        size = box.size * rng.uniform(*self.aug.scale_range)
        center = box.center + rng.uniform(-self.aug.shift_fraction, self.aug.shift_fraction, 2) * box.size
        return CropBox(center=center, size=size)

    def __getitem__(self, index: int) -> dict:
        rng = self.item_rng(index)
        box = self.crop_box(index, rng)
        flip = bool(rng is not None and self.mirror is not None and rng.random() < self.aug.flip_prob)
        return self.item(index, box, flip, rng)

    def item(self, index: int, box: CropBox, flip: bool, rng: np.random.Generator | None = None) -> dict:
        """The item of person ``index`` cropped at ``box``, mirrored when ``flip`` (colour jitter from ``rng``)."""
        inst = self.data.instances[index]
        M = compute_crop_affine(box, self.input_hw, flip=flip)
        crop = warp_crop(self.data.images[inst.image_index], M, self.input_hw)
        if rng is not None and rng.random() < self.aug.color_prob:
            crop = sample_color_jitter(crop, rng=rng)
        feats = bbox_features(box, inst.K)
        if flip:   # the mirrored world's crop sits at 2 u0 - cx: the x offset changes sign
            feats[0] = -feats[0]
        return {"image": np.ascontiguousarray(crop), "bbox": feats, "flipped": flip, "index": index}
