"""3D body mesh estimation from a person crop (HMR / BEDLAM-CLIFF style), trained on synth data.

    run = train_mesh("out/train", "runs/mesh", val="out/val", epochs=30)
    result = evaluate_mesh("runs/mesh/model.pt", "out/val")

What it predicts: the **Anny** body-model parameters of the person in a ground-truth-box crop (the six
phenotypes, the 52 facial actions, every bone's local rotation in the continuous 6D representation of Zhou et
al. 2019, and the global orientation of the body's native frame in the **camera frame**, also 6D), and from
them, through Anny's differentiable torch forward (``anny.Anny`` inside ``synth.bodies`` ``AnnyBody``, with
warp's LBS kernel and its backward), the full mesh (all V vertices of the dataset's topology) and the 17 COCO
body keypoints (``AnnyBody``'s vertex regressor), both **root-relative** in the camera frame (pelvis = the
midpoint of the left / right hip keypoints), and the **root translation** (the pelvis in the camera frame),
CLIFF-style: a weak-perspective camera (scale, offsets) of the crop, turned into a camera-frame translation with
the box and the focal length (``model.cam_to_translation``).

Model: MobileNetV2 (ImageNet init, ``synth.estimators.engine.backbone``) on an S x S crop (default 128; the box padded
by 1.2, square), global-average-pooled (1280) and concatenated with CLIFF's box information (the crop's
centre offset from the principal point and its size, both over the focal length: a person off the optical
axis is seen obliquely, which a crop alone cannot tell). Head: HMR's iterative error feedback, 3 iterations of
an MLP (features + current parameters -> 512 -> 512 -> update, added x 0.1) starting from the training means
(mean phenotypes / facial actions; the chordal mean of each bone's rotation and of the global orientation);
the last layer starts at zero, so the untrained model predicts the mean body, and the 0.1 keeps Adam's first
steps from throwing the 688 outputs far off it (without it the loss doubled in the first steps). Phenotypes
and facial actions are sigmoids (kept in [0, 1]).

Loss: mean Euclidean error (m) of the root-relative vertices and keypoints (weights 1 and 1), plus parameter
losses: mean squared rotation-matrix error of the bones (0.1; not for mirrored samples) and of the global
orientation (0.5), phenotype MSE (0.1), facial-action MSE (0.01); and for the root translation, the 2D
keypoint error of the perspective projection of the predicted keypoints placed at the predicted translation,
in the crop's coordinates (half-widths; 1.0), and the translation's Euclidean error (m; 0.1).

Speed (2 shared CPU cores, one torch thread, B = 32): Anny's forward + backward on the 13,718-vertex topology
costs ~0.1-0.3 s per step, next to ~1-1.5 s for MobileNetV2 at 128 px, so the parametric route
is affordable and no non-parametric fallback is needed. ``posed_points`` calls the ``anny.Anny`` module and the
COCO vertex regressor held by synth's ``AnnyBody`` directly (``AnnyBody.forward`` is numpy in, numpy out, under
``torch.inference_mode``, so not differentiable).

Training: ``synth.estimators.engine.fit`` (AdamW without decay on norms and biases, warm-up + cosine, epochs /
steps / time budget, per-epoch atomic ``model.pt``, ``metrics/epoch_NNN.json``, ``history.json``);
augmentation: crop scale / shift and colour jitter (targets unchanged) and mirror flips with mirrored targets
(``synth.estimators.mesh.data.mirrored_targets``). The checkpoint stores the body model, topology and vertex / joint counts;
data of another body model or topology is refused with an EstimatorError.

Evaluation (``synth.estimators.mesh.metrics``): MPJPE and PA-MPJPE over the 17 COCO body keypoints (not 3DPW's
14 LSP joints that BEDLAM reports), PVE and PA-PVE over all vertices of the mesh, in mm, mean and median, plus
the phenotype mean absolute error; with the root translation, MPJPE without pelvis alignment
(``MPJPE_cam_mm``) and the root position / depth error. Beside the model: its untrained initialisation (the mean parameters, the
same for everyone) and the constant baseline ``baseline_errors`` (the training mean pose and shape in the body's
own frame, put in each person's camera frame by its true orientation, aligned as the prediction is).
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import asdict
from functools import partial
from typing import Any

import numpy as np
import torch

from synth.core.transforms import rotvec_to_matrix
from synth.estimators.engine.backbone import rebuild_initial
from synth.estimators.engine.checkpoint import CheckpointFormat
from synth.estimators.engine.device import device_record, resolve_device, to_device
from synth.estimators.engine.fit import Schedule, begin_run, collate, fit, run_description, set_threads
from synth.core.atomic import write_json_atomic
from synth.estimators.engine.records import round_floats
from synth.estimators.mesh.data import (ANNY_PHENOTYPES, NO_MESH_AUGMENTATION, NUM_BODY_KEYPOINTS, MeshAugmentation,
                                        MeshCropDataset, MeshSamples, MirrorMaps, bbox_features, check_body_spec,
                                        coco17_flip_index, facial_flip_index, load_mesh_samples)
from synth.estimators.mesh.metrics import camera_frame_errors, mesh_errors
from synth.estimators.mesh.model import (NUM_CAM, MeshConfig, MeshNet, _autograd_safe_roma, cam_to_translation,
                                         get_body, initial_parameters, mesh_loss, posed_points)

log = logging.getLogger(__name__)

#: version 3: + the root translation (weak-perspective camera outputs); version 2: the baseline buffers hold
#: the mean pose in the body's own frame (version 1: camera frame)
CHECKPOINT = CheckpointFormat("synth-body-mesh", 3, "body mesh")
_collate = partial(collate, tensor_keys=("image", "bbox"), array_keys=("flipped",))


def save_checkpoint(path: str, model: MeshNet, extra: dict | None = None) -> None:
    """Write ``{format, version, config, state_dict, ...extra}`` atomically."""
    CHECKPOINT.save(path, model, extra)


def load_checkpoint(path: str, device: str = "cpu") -> tuple[MeshNet, dict]:
    """The model of a ``model.pt`` written by ``train_mesh`` (eval mode, on the resolved ``device``) and the
    checkpoint's metadata."""
    return CHECKPOINT.load(path, lambda ck: MeshNet(MeshConfig.from_dict(ck["config"])), device)


# ---------------------------------------------------------------- prediction and evaluation


def batch_targets(ds: MeshCropDataset, index: np.ndarray, flipped: np.ndarray | None = None
                  ) -> dict[str, torch.Tensor]:
    """float32 tensors of the targets of people ``index`` of ``ds`` (bone rotations as matrices), mirrored where
    ``flipped`` (``MeshCropDataset.item_targets``); ``pose_weight`` (B,) is 0 for a mirrored person (its bone
    rotations are not known) and 1 otherwise."""
    flipped = np.zeros(len(index), bool) if flipped is None else np.asarray(flipped, bool)
    items = [ds.item_targets(int(i), bool(f)) for i, f in zip(index, flipped)]
    rot = [rotvec_to_matrix(t["pose_rotvec"]) if "pose_rotvec" in t else
           np.broadcast_to(np.eye(3), (ds.data.pose_rotvec.shape[1], 3, 3)) for t in items]

    def stack(key: str) -> torch.Tensor:
        return torch.from_numpy(np.stack([np.asarray(t[key], np.float32) for t in items]))

    return {"vertices_rr": stack("vertices_rr"), "keypoints_rr": stack("keypoints_rr"),
            "rotmats": torch.from_numpy(np.stack(rot).astype(np.float32)), "global_rotmat": stack("global_rotmat"),
            "phenotypes": stack("phenotypes"), "facial_actions": stack("facial_actions"),
            "pelvis_cam": stack("pelvis_cam"), "pose_weight": torch.from_numpy((~flipped).astype(np.float32))}


def plain_bbox_features(data: MeshSamples, config: MeshConfig) -> np.ndarray:
    """(N, 3) float32 CLIFF box features of every person's plain (evaluation) crop."""
    ds = MeshCropDataset(data, config.input_size, train=False, padding=config.padding)
    return np.stack([bbox_features(ds.boxes[i], inst.K) for i, inst in enumerate(data.instances)])


def mirror_maps(config: MeshConfig) -> tuple[MirrorMaps | None, dict[str, Any]]:
    """The left/right correspondences of the config's Anny topology (``MirrorMaps``) and a record of how they
    were found; None (and the reason) when the rest mesh has no exact mirror correspondence."""
    from synth.estimators.contact.geometry import load_rest_mesh, mirror_correspondence

    body = get_body(config)
    rest = load_rest_mesh(config.body_model, {"topology": config.topology}, config.topology)
    verts, info = mirror_correspondence(rest.vertices_m)
    if verts is None:
        return None, info
    return MirrorMaps(np.asarray(verts, np.int64), coco17_flip_index(),
                      facial_flip_index(list(body.facial_action_names))), info


@torch.no_grad()
def predict_samples(model: MeshNet, data: MeshSamples, *, batch_size: int = 32) -> dict[str, np.ndarray]:
    """Root-relative camera-frame ``vertices`` (N, V, 3) and ``keypoints`` (N, 17, 3) float32 m, and
    ``phenotypes`` (N, 6), and the root ``translation`` (N, 3) float32 m, of every person from its box."""
    model.eval()
    body = get_body(model.config)
    ds = MeshCropDataset(data, model.config.input_size, train=False, padding=model.config.padding)
    n = len(ds)
    out = {"vertices": np.zeros((n, model.config.num_vertices, 3), np.float32),
           "keypoints": np.zeros((n, NUM_BODY_KEYPOINTS, 3), np.float32),
           "phenotypes": np.zeros((n, len(ANNY_PHENOTYPES)), np.float32),
           "translation": np.zeros((n, 3), np.float32)}
    for start in range(0, n, batch_size):
        b = _collate([ds[i] for i in range(start, min(n, start + batch_size))])
        p = model(model.normalize(b["image"]), b["bbox"].to(model.mean.device))
        v, k = posed_points(body, p["rotmats"], p["phenotypes"], p["facial_actions"], p["global_rotmat"])
        sl = slice(start, start + len(b["index"]))
        out["vertices"][sl], out["keypoints"][sl] = v.cpu().numpy(), k.cpu().numpy()
        out["phenotypes"][sl] = p["phenotypes"].cpu().numpy()
        out["translation"][sl] = p["translation"].cpu().numpy()
    return out


def _phenotype_errors(pred: np.ndarray, gt: np.ndarray) -> dict[str, float]:
    err = np.abs(np.asarray(pred, np.float64) - gt).mean(axis=0)
    return {f"phenotype_{n}_mae": float(e) for n, e in zip(ANNY_PHENOTYPES, err)}


def own_frame(points_rr: np.ndarray, global_rotmat: np.ndarray) -> np.ndarray:
    """(N, M, 3) pelvis-relative camera-frame points -> the body's own frame (rotated back by each person's
    (N, 3, 3) ``global_rotmat``, camera-from-native)."""
    return np.einsum("nji,nmj->nmi", np.asarray(global_rotmat, np.float64), np.asarray(points_rr, np.float64))


def baseline_errors(model: MeshNet, data: MeshSamples) -> dict[str, Any]:
    """``mesh_errors`` of the constant baseline: the training people's mean pose and shape in the body's own
    frame (``baseline_keypoints`` / ``baseline_vertices``), turned into each person's camera frame by its true
    ``global_rotmat`` and aligned as the prediction is (pelvis at the origin; Procrustes for the PA numbers).
    Its MPJPE / PVE get the true orientation, which the model must estimate; its PA numbers do not depend
    on it."""
    R = np.asarray(data.global_rotmat, np.float64)
    kp = np.einsum("nij,mj->nmi", R, model.baseline_keypoints.cpu().numpy().astype(np.float64))
    v = np.einsum("nij,mj->nmi", R, model.baseline_vertices.cpu().numpy().astype(np.float64))
    out: dict[str, Any] = mesh_errors(kp, data.keypoints_rr, v, data.vertices_rr)
    if getattr(data, "pelvis_cam", None) is not None:   # the training-mean crop camera through each person's box
        cam = model.init_params[-NUM_CAM:].detach().cpu().expand(len(data), NUM_CAM)
        root = cam_to_translation(cam, torch.from_numpy(plain_bbox_features(data, model.config))).numpy()
        out.update(camera_frame_errors(kp, root, data.keypoints_rr, data.pelvis_cam))
    return out


def evaluate_model(model: MeshNet, data: MeshSamples, *, batch_size: int = 32) -> dict[str, Any]:
    """``mesh_errors`` (mm) of ``model`` on loaded people, phenotype errors and prediction speed."""
    check_body_spec(data.body, model.config.body, ", ".join(data.sources))
    t0 = time.perf_counter()
    pred = predict_samples(model, data, batch_size=batch_size)
    seconds = time.perf_counter() - t0
    out: dict[str, Any] = mesh_errors(pred["keypoints"], data.keypoints_rr, pred["vertices"], data.vertices_rr)
    if getattr(data, "pelvis_cam", None) is not None:
        out.update(camera_frame_errors(pred["keypoints"], pred["translation"], data.keypoints_rr, data.pelvis_cam))
    out.update(_phenotype_errors(pred["phenotypes"], data.phenotypes))
    out["predict_people_per_s"] = round(len(data) / max(seconds, 1e-9), 2)
    return out


def build_model(train_data: MeshSamples, *, input_size: int, pretrained: bool) -> MeshNet:
    """A MeshNet for the training data's body (starting parameters and baseline from its targets)."""
    b = train_data.body
    config = MeshConfig(body_model=b.body_model, topology=b.topology, num_vertices=b.num_vertices,
                        num_joints=b.num_joints, input_size=int(input_size),
                        pretrained="imagenet" if pretrained else "none")
    get_body(config)   # fail early when the topology cannot be built
    model = MeshNet(config)
    model.init_params.copy_(torch.from_numpy(initial_parameters(train_data, plain_bbox_features(train_data, config))))
    own_kp = own_frame(train_data.keypoints_rr, train_data.global_rotmat).mean(0)
    own_v = own_frame(train_data.vertices_rr, train_data.global_rotmat).mean(0)
    model.baseline_keypoints.copy_(torch.from_numpy(own_kp.astype(np.float32)))
    model.baseline_vertices.copy_(torch.from_numpy(own_v.astype(np.float32)))
    if pretrained:
        model.load_imagenet()
    return model


def initial_model(model: MeshNet, meta: dict) -> MeshNet:
    """The untrained initialisation of a trained ``model``: its last layer starts at zero, so it predicts the
    training means (``init_params``) for everyone, whatever the backbone's weights."""
    init = rebuild_initial(lambda: MeshNet(model.config), model, meta.get("seed", 0))
    assert init is not None
    return init


def train_mesh(data: str | list[str], out_dir: str, *, val: str | list[str] | None = None, epochs: int = 30,
               batch_size: int = 32, input_size: int = 128, lr: float = 1e-3, weight_decay: float = 0.05,
               pretrained: bool = True, augment: bool = True, threads: int | None = None, seed: int = 0,
               max_steps: int | None = None, time_budget_s: float | None = None, warmup: float = 0.05,
               log_every: int = 20, device: str = "auto") -> dict[str, Any]:
    """Train on ``data`` (one or more dataset folders), write ``out_dir``; returns the run summary.

    Stops after ``epochs`` epochs, ``max_steps`` optimiser steps or ``time_budget_s`` seconds of training
    (validation not counted), whichever comes first; the learning-rate schedule follows the nearest limit.
    """
    dev = resolve_device(device)   # before the data is read: a missing GPU fails at once
    begin_run(threads, seed)
    t_load = time.perf_counter()
    train_data = load_mesh_samples(data, min_keypoints=3)
    val_data = load_mesh_samples(val, expected_body=train_data.body) if val else None
    load_s = time.perf_counter() - t_load
    model = build_model(train_data, input_size=input_size, pretrained=pretrained)
    config = model.config
    body = get_body(config)
    _autograd_safe_roma()
    aug = MeshAugmentation() if augment else NO_MESH_AUGMENTATION
    maps, mirror_info = mirror_maps(config) if aug.flip_prob > 0 else (None, {"reason": "no augmentation"})
    if maps is None and aug.flip_prob > 0:
        log.warning("no exact left/right vertex correspondence (%s): training without flips", mirror_info["reason"])
    ds = MeshCropDataset(train_data, config.input_size, train=True, padding=config.padding, augmentation=aug,
                         seed=seed, mirror=maps)
    schedule = Schedule(epochs=epochs, batch_size=batch_size, lr=lr, weight_decay=weight_decay, warmup=warmup,
                        seed=seed, max_steps=max_steps, time_budget_s=time_budget_s, log_every=log_every,
                        device=dev)
    history = run_description(
        config, train_data, val_data,
        train_people=len(train_data), train_views=train_data.views,
        train_views_skipped=train_data.skipped_views,
        val_people=len(val_data) if val_data else 0, val_views=val_data.views if val_data else 0,
        hyper=schedule.hyper(augment=augment, augmentation=asdict(aug)),
        mirror={"used": maps is not None, **{k: v for k, v in mirror_info.items() if k != "pairs"}},
        val_baseline=round_floats(baseline_errors(model, val_data), 3) if val_data else None,
        load_s=round(load_s, 2))
    log.info("training on %s", train_data.body.describe())

    def step_loss(net: MeshNet, batch: dict[str, Any]) -> tuple[torch.Tensor, list[float]]:
        pred = net(net.normalize(batch["image"]), batch["bbox"])
        verts, kps = posed_points(body, pred["rotmats"], pred["phenotypes"], pred["facial_actions"],
                                  pred["global_rotmat"])
        targets = to_device(batch_targets(ds, batch["index"], batch["flipped"]), verts.device)
        loss, terms = mesh_loss(pred, verts, kps, {**targets, "bbox": batch["bbox"]}, config.loss_weights)
        return loss, [round(1000 * terms["vertices_m"], 2), round(1000 * terms["keypoints_m"], 2),
                      round(1000 * terms["translation_m"], 1)]

    return fit(model, ds, _collate, step_loss, CHECKPOINT, out_dir, schedule, history,
               validate=(lambda net: evaluate_model(net, val_data)) if val_data else None,
               describe_val=lambda v: (f"MPJPE {v['MPJPE_mm']:.1f} PA-MPJPE {v['PA_MPJPE_mm']:.1f} "
                                       f"PVE {v['PVE_mm']:.1f} MPJPE_cam {v['MPJPE_cam_mm']:.1f} mm"),
               describe_step=lambda e: f" (vertices {e[0]:.1f} mm, keypoints {e[1]:.1f} mm, root {e[2]:.0f} mm)")


def evaluate_mesh(model_path: str, data: str | list[str], *, out: str | None = None, batch_size: int = 32,
                  threads: int | None = None, device: str = "auto") -> dict[str, Any]:
    """Evaluate a checkpoint on dataset folder(s): errors of the model, its untrained initialisation and the
    constant mean-pose baseline (``baseline_errors``); write ``out`` (JSON)."""
    set_threads(threads)
    dev = resolve_device(device)
    model, meta = load_checkpoint(model_path, dev)
    samples = load_mesh_samples(data, expected_body=model.config.body)
    metrics = evaluate_model(model, samples, batch_size=batch_size)
    result = {"model": os.path.abspath(model_path), "epoch": meta.get("epoch"), "steps": meta.get("steps"),
              "data": samples.sources, "body": asdict(samples.body), "input_size": model.config.input_size,
              "people": len(samples), "views": samples.views, "views_skipped": samples.skipped_views,
              "joint_set": "COCO-17 body keypoints; pelvis = midpoint of the hips",
              "metrics": metrics, "initial": evaluate_model(initial_model(model, meta), samples,
                                                            batch_size=batch_size),
              "baseline": baseline_errors(model, samples), **device_record(dev)}
    if out:
        write_json_atomic(out, result)
    return result
