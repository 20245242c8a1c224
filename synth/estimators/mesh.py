"""3D body mesh estimation from a person crop (HMR / BEDLAM-CLIFF style), trained on synth data.

    run = train_mesh("out/train", "runs/mesh", val="out/val", epochs=30)
    result = evaluate_mesh("runs/mesh/model.pt", "out/val")

What it predicts: the **Anny** body-model parameters of the person in a ground-truth-box crop (the six
phenotypes, the 52 facial actions, every bone's local rotation in the continuous 6D representation of Zhou et
al. 2019, and the global orientation of the body's native frame in the **camera frame**, also 6D), and from
them, through Anny's differentiable torch forward (``anny.Anny`` inside ``synth.bodies`` ``AnnyBody``, with
warp's LBS kernel and its backward), the full mesh (all V vertices of the dataset's topology) and the 17 COCO
body keypoints (``AnnyBody``'s vertex regressor), both **root-relative** in the camera frame (pelvis = the
midpoint of the left / right hip keypoints). The root translation is not estimated.

Model: MobileNetV2 (ImageNet init, ``synth.estimators.model``) on an S x S crop (default 128; the box padded
by 1.2, square), global-average-pooled (1280) and concatenated with CLIFF's box information (the crop's
centre offset from the principal point and its size, both over the focal length: a person off the optical
axis is seen obliquely, which a crop alone cannot tell). Head: HMR's iterative error feedback, 3 iterations of
an MLP (features + current parameters -> 512 -> 512 -> update, added x 0.1) starting from the training means
(mean phenotypes / facial actions; the chordal mean of each bone's rotation and of the global orientation);
the last layer starts at zero, so the untrained model predicts the mean body, and the 0.1 keeps Adam's first
steps from throwing the 688 outputs far off it (without it the loss doubled in the first steps). Phenotypes
and facial actions are sigmoids (kept in [0, 1]).

Loss: mean Euclidean error (m) of the root-relative vertices and keypoints (weights 1 and 1), plus parameter
losses: mean squared rotation-matrix error of the bones (0.1) and of the global orientation (0.5), phenotype
MSE (0.1), facial-action MSE (0.01).

Speed (2 shared CPU cores, one torch thread, B = 32): Anny's forward + backward on the 13,718-vertex topology
costs ~0.1-0.3 s per step, next to ~1-1.5 s for MobileNetV2 at 128 px, so the parametric route
is affordable and no non-parametric fallback is needed. ``posed_points`` calls the ``anny.Anny`` module and the
COCO vertex regressor held by synth's ``AnnyBody`` directly (``AnnyBody.forward`` is numpy in, numpy out, under
``torch.inference_mode``, so not differentiable).

Training as ``keypoints2d`` / ``camera`` (AdamW without decay on norms and biases, warm-up + cosine, epochs /
steps / time budget, per-epoch atomic ``model.pt``, ``metrics/epoch_NNN.json``, ``history.json``);
augmentation: crop scale / shift and colour jitter (targets unchanged; no flips, see
``synth.estimators.mesh_data``). The checkpoint stores the body model, topology and vertex / joint counts;
data of another body model or topology is refused with an EstimatorError.

Evaluation (``synth.estimators.mesh_metrics``): MPJPE and PA-MPJPE over the 17 COCO body keypoints (not 3DPW's
14 LSP joints that BEDLAM reports), PVE and PA-PVE over all vertices of the mesh, in mm, mean and median, plus
the phenotype mean absolute error. Baseline: the training set's mean root-relative camera-frame keypoints and
vertices (stored in the checkpoint), predicted for everyone.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from synth.estimators.common import (EstimatorError, epoch_record, finish_history, lr_factor, param_groups,
                                     read_checkpoint, save_epoch, set_threads, write_checkpoint, write_json_atomic)
from synth.estimators.mesh_data import (ANNY_PHENOTYPES, NO_MESH_AUGMENTATION, NUM_BODY_KEYPOINTS,
                                        NUM_FACIAL_ACTIONS, BodySpec, MeshAugmentation, MeshCropDataset,
                                        MeshSamples, load_mesh_samples)
from synth.estimators.mesh_metrics import mesh_errors
from synth.estimators.model import MobileNetV2, load_imagenet_state_dict

log = logging.getLogger(__name__)

CHECKPOINT_FORMAT = "synth-body-mesh"
CHECKPOINT_VERSION = 1
#: Other bundled checkpoints -> the command that evaluates them.


@dataclass
class MeshConfig:
    """What a checkpoint needs to rebuild and use the model."""

    body_model: str = "anny"
    topology: str = "default"
    num_vertices: int = 13718
    num_joints: int = 104
    input_size: int = 128
    padding: float = 1.2
    hidden_dims: int = 512
    iterations: int = 3
    #: each iteration adds ``update_scale`` x the MLP's output: small first steps for Adam from the mean body
    update_scale: float = 0.1
    mean_rgb: tuple[float, float, float] = (0.485, 0.456, 0.406)
    std_rgb: tuple[float, float, float] = (0.229, 0.224, 0.225)
    pretrained: str = "imagenet"
    #: loss weights: vertices, keypoints (m), bone rotations, global rotation, phenotypes, facial actions
    loss_weights: tuple[float, float, float, float, float, float] = (1.0, 1.0, 0.1, 0.5, 0.1, 0.01)

    @property
    def body(self) -> BodySpec:
        return BodySpec(self.body_model, self.topology, int(self.num_vertices), int(self.num_joints))

    @property
    def num_params(self) -> int:
        """6D global orientation + 6D per bone + phenotypes + facial actions."""
        return 6 + 6 * self.num_joints + len(ANNY_PHENOTYPES) + NUM_FACIAL_ACTIONS

    def to_dict(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict) -> "MeshConfig":
        return cls(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in d.items()})


# ---------------------------------------------------------------- rotations


def rot6d_to_rotmat(x: torch.Tensor) -> torch.Tensor:
    """(..., 6) -> (..., 3, 3): Gram-Schmidt of the two columns (a1 = x[..., 0:3], a2 = x[..., 3:6])."""
    a1, a2 = x[..., 0:3], x[..., 3:6]
    b1 = F.normalize(a1, dim=-1)
    b2 = F.normalize(a2 - (b1 * a2).sum(-1, keepdim=True) * b1, dim=-1)
    b3 = torch.cross(b1, b2, dim=-1)
    return torch.stack([b1, b2, b3], dim=-1)


def rotmat_to_rot6d(R: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) -> (..., 6): the first two columns."""
    return torch.cat([R[..., :, 0], R[..., :, 1]], dim=-1)


def chordal_mean_rotation(R: np.ndarray) -> np.ndarray:
    """(3, 3) rotation nearest (Frobenius) to the mean of (N, 3, 3) rotations (their chordal L2 mean)."""
    U, _, Vt = np.linalg.svd(np.asarray(R, np.float64).mean(axis=0))
    D = np.diag([1.0, 1.0, np.sign(np.linalg.det(U @ Vt))])
    return U @ D @ Vt


def rotvec_to_rotmat(rv: np.ndarray) -> np.ndarray:
    """(..., 3) axis-angle (rad) -> (..., 3, 3) float64 (Rodrigues)."""
    rv = np.asarray(rv, np.float64)
    theta = np.linalg.norm(rv, axis=-1, keepdims=True)
    k = rv / np.maximum(theta, 1e-12)
    Kx = np.zeros((*rv.shape[:-1], 3, 3))
    Kx[..., 0, 1], Kx[..., 0, 2], Kx[..., 1, 2] = -k[..., 2], k[..., 1], -k[..., 0]
    Kx = Kx - np.swapaxes(Kx, -1, -2)
    th = theta[..., None]
    return np.eye(3) + np.sin(th) * Kx + (1 - np.cos(th)) * (Kx @ Kx)


# ---------------------------------------------------------------- the body model layer


def _autograd_safe_roma() -> None:
    """roma caches a constant matrix on first use; when that was inside ``torch.inference_mode`` (AnnyBody's
    numpy forward), autograd refuses it ("Inference tensors cannot be saved for backward"). Rebuild it."""
    import roma.mappings as rm

    cache = getattr(rm, "_cached_horn_map", None)
    if cache is not None and hasattr(cache, "cache_clear"):
        cache.cache_clear()
        with torch.inference_mode(False):
            rm._horn_map(torch.device("cpu"))


def get_body(config: MeshConfig):
    """The process-wide ``AnnyBody`` of the config's topology, checked against the stored vertex count."""
    from synth.bodies.registry import get_body_model
    from synth.core.errors import SynthError

    if config.body_model != "anny":
        raise EstimatorError(f"mesh estimator: body model {config.body_model!r} is not supported; expected 'anny'")
    try:
        body = get_body_model("anny", topology=config.topology)
    except SynthError as err:
        raise EstimatorError(f"mesh estimator: cannot build Anny topology {config.topology!r} ({err})") from None
    if body.num_vertices != config.num_vertices or len(body.joint_names) != config.num_joints:
        raise EstimatorError(f"mesh estimator: Anny topology {config.topology!r} has {body.num_vertices} vertices "
                             f"and {len(body.joint_names)} joints here, the model expects {config.num_vertices} "
                             f"and {config.num_joints}; use the anny version the model was trained with")
    return body


def posed_points(body, rotmats: torch.Tensor, phenotypes: torch.Tensor, facial_actions: torch.Tensor,
                 global_rotmat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Differentiable Anny forward -> root-relative camera-frame (B, V, 3) vertices and (B, 17, 3) keypoints (m).

    rotmats : (B, J, 3, 3) local-bone rotations.  phenotypes : (B, 6) in [0, 1].  facial_actions : (B, 52).
    global_rotmat : (B, 3, 3) camera-from-native rotation. The pelvis (hips' midpoint) is the origin.
    """
    verts, kps = body.forward_torch(rotmats, phenotypes, facial_actions)
    kps = kps[:, :NUM_BODY_KEYPOINTS]
    pelvis = 0.5 * (kps[:, 11] + kps[:, 12])
    verts = torch.einsum("bij,bvj->bvi", global_rotmat, verts - pelvis[:, None])
    kps = torch.einsum("bij,bkj->bki", global_rotmat, kps - pelvis[:, None])
    return verts, kps


# ---------------------------------------------------------------- the network


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, np.float64), 1e-3, 1 - 1e-3)
    return np.log(p / (1 - p))


def initial_parameters(data: MeshSamples) -> np.ndarray:
    """(D,) float32 starting parameters from training targets: 6D chordal-mean global orientation and bone
    rotations, logits of the mean phenotypes and facial actions (layout of ``MeshNet.split``)."""
    g = chordal_mean_rotation(data.global_rotmat)
    R = rotvec_to_rotmat(data.pose_rotvec)                               # (N, J, 3, 3)
    bones = np.stack([chordal_mean_rotation(R[:, j]) for j in range(R.shape[1])])
    six = rotmat_to_rot6d(torch.from_numpy(np.concatenate([g[None], bones]))).numpy().reshape(-1)
    return np.concatenate([six, _logit(data.phenotypes.mean(0)), _logit(data.facial_actions.mean(0))]).astype(
        np.float32)


class MeshNet(nn.Module):
    """MobileNetV2 + CLIFF box features + HMR iterative regressor -> Anny parameters.

    forward(x (B, 3, S, S), bbox (B, 3)) -> dict of global_rotmat (B, 3, 3), rotmats (B, J, 3, 3),
    phenotypes (B, 6), facial_actions (B, 52). Buffers: ``init_params`` (D,), the baseline's mean
    root-relative ``baseline_keypoints`` (17, 3) and ``baseline_vertices`` (V, 3) in metres.
    """

    def __init__(self, config: MeshConfig):
        super().__init__()
        s = int(config.input_size)
        if s <= 0 or s % 32:
            raise EstimatorError(f"input size {s}: expected a positive multiple of 32 (MobileNetV2's stride), "
                                 "e.g. 128, 160 or 224")
        self.config = config
        self.backbone = MobileNetV2()
        del self.backbone.classifier
        c, d, h = MobileNetV2.out_channels, config.num_params, config.hidden_dims
        self.regressor = nn.Sequential(nn.Linear(c + 3 + d, h), nn.ReLU(inplace=True), nn.Dropout(0.1),
                                       nn.Linear(h, h), nn.ReLU(inplace=True), nn.Dropout(0.1), nn.Linear(h, d))
        nn.init.zeros_(self.regressor[-1].weight)   # start at the training means
        nn.init.zeros_(self.regressor[-1].bias)
        self.register_buffer("init_params", torch.zeros(d))
        self.register_buffer("baseline_keypoints", torch.zeros(NUM_BODY_KEYPOINTS, 3))
        self.register_buffer("baseline_vertices", torch.zeros(config.num_vertices, 3))
        self.register_buffer("mean", torch.tensor(config.mean_rgb).view(1, 3, 1, 1) * 255.0, persistent=False)
        self.register_buffer("std", torch.tensor(config.std_rgb).view(1, 3, 1, 1) * 255.0, persistent=False)

    def load_imagenet(self, path: str | None = None) -> None:
        """Initialise the backbone from torchvision's ImageNet checkpoint (strict: every tensor must match)."""
        full = MobileNetV2()
        full.load_state_dict(load_imagenet_state_dict(path), strict=True)
        self.backbone.features.load_state_dict(full.features.state_dict(), strict=True)

    def normalize(self, images_uint8: torch.Tensor) -> torch.Tensor:
        """(B, S, S, 3) uint8 RGB -> (B, 3, S, S) float32, ImageNet-normalised."""
        return (images_uint8.permute(0, 3, 1, 2).float() - self.mean) / self.std

    def split(self, params: torch.Tensor) -> dict[str, torch.Tensor]:
        """(B, D) raw parameters -> the named, decoded parameters (see the class docstring)."""
        J, B = self.config.num_joints, params.shape[0]
        n6 = 6 * (J + 1)
        six = params[:, :n6].reshape(B, J + 1, 6)
        R = rot6d_to_rotmat(six)
        n_ph = len(ANNY_PHENOTYPES)
        return {"global_rotmat": R[:, 0], "rotmats": R[:, 1:],
                "phenotypes": torch.sigmoid(params[:, n6:n6 + n_ph]),
                "facial_actions": torch.sigmoid(params[:, n6 + n_ph:])}

    def forward(self, x: torch.Tensor, bbox: torch.Tensor) -> dict[str, torch.Tensor]:
        f = F.adaptive_avg_pool2d(self.backbone.forward_features(x), 1).flatten(1)   # (B, 1280)
        params = self.init_params.expand(x.shape[0], -1)
        for _ in range(self.config.iterations):
            params = params + self.config.update_scale * self.regressor(torch.cat([f, bbox, params], dim=1))
        return self.split(params)


def mesh_loss(pred: dict[str, torch.Tensor], verts: torch.Tensor, kps: torch.Tensor, batch: dict[str, torch.Tensor],
              weights: tuple[float, ...]) -> tuple[torch.Tensor, dict[str, float]]:
    """Weighted sum of the loss terms (module docstring) and each term's value (floats, for the history)."""
    w_v, w_k, w_pose, w_glob, w_shape, w_face = weights
    terms = {
        "vertices_m": (verts - batch["vertices_rr"]).norm(dim=-1).mean(),
        "keypoints_m": (kps - batch["keypoints_rr"]).norm(dim=-1).mean(),
        "pose": (pred["rotmats"] - batch["rotmats"]).square().mean(),
        "global": (pred["global_rotmat"] - batch["global_rotmat"]).square().mean(),
        "phenotypes": (pred["phenotypes"] - batch["phenotypes"]).square().mean(),
        "facial": (pred["facial_actions"] - batch["facial_actions"]).square().mean(),
    }
    total = (w_v * terms["vertices_m"] + w_k * terms["keypoints_m"] + w_pose * terms["pose"]
             + w_glob * terms["global"] + w_shape * terms["phenotypes"] + w_face * terms["facial"])
    return total, {k: float(v.detach()) for k, v in terms.items()}


# ---------------------------------------------------------------- checkpoints


def save_checkpoint(path: str, model: MeshNet, extra: dict | None = None) -> None:
    """Write ``{format, version, config, state_dict, ...extra}`` atomically."""
    write_checkpoint(path, CHECKPOINT_FORMAT, CHECKPOINT_VERSION, model.config.to_dict(), model.state_dict(), extra)


def load_checkpoint(path: str) -> tuple[MeshNet, dict]:
    """The model of a ``model.pt`` written by ``train_mesh`` (eval mode) and the checkpoint's metadata."""
    ck = read_checkpoint(path, CHECKPOINT_FORMAT, CHECKPOINT_VERSION, "body mesh")
    model = MeshNet(MeshConfig.from_dict(ck["config"]))
    model.load_state_dict(ck["state_dict"], strict=True)
    model.eval()
    return model, {k: v for k, v in ck.items() if k != "state_dict"}


# ---------------------------------------------------------------- prediction and evaluation


def _collate(items: list[dict]) -> dict[str, Any]:
    return {"image": torch.from_numpy(np.stack([it["image"] for it in items])),
            "bbox": torch.from_numpy(np.stack([it["bbox"] for it in items])),
            "index": np.array([it["index"] for it in items])}


def batch_targets(data: MeshSamples, index: np.ndarray) -> dict[str, torch.Tensor]:
    """float32 tensors of the targets of people ``index`` (bone rotations as matrices)."""
    return {"vertices_rr": torch.from_numpy(data.vertices_rr[index]),
            "keypoints_rr": torch.from_numpy(data.keypoints_rr[index]),
            "rotmats": torch.from_numpy(rotvec_to_rotmat(data.pose_rotvec[index]).astype(np.float32)),
            "global_rotmat": torch.from_numpy(data.global_rotmat[index].astype(np.float32)),
            "phenotypes": torch.from_numpy(data.phenotypes[index]),
            "facial_actions": torch.from_numpy(data.facial_actions[index])}


@torch.no_grad()
def predict_samples(model: MeshNet, data: MeshSamples, *, batch_size: int = 32) -> dict[str, np.ndarray]:
    """Root-relative camera-frame ``vertices`` (N, V, 3) and ``keypoints`` (N, 17, 3) float32 m, and
    ``phenotypes`` (N, 6), of every person from its ground-truth box."""
    model.eval()
    body = get_body(model.config)
    ds = MeshCropDataset(data, model.config.input_size, train=False, padding=model.config.padding)
    n = len(ds)
    out = {"vertices": np.zeros((n, model.config.num_vertices, 3), np.float32),
           "keypoints": np.zeros((n, NUM_BODY_KEYPOINTS, 3), np.float32),
           "phenotypes": np.zeros((n, len(ANNY_PHENOTYPES)), np.float32)}
    for start in range(0, n, batch_size):
        b = _collate([ds[i] for i in range(start, min(n, start + batch_size))])
        p = model(model.normalize(b["image"]), b["bbox"])
        v, k = posed_points(body, p["rotmats"], p["phenotypes"], p["facial_actions"], p["global_rotmat"])
        sl = slice(start, start + len(b["index"]))
        out["vertices"][sl], out["keypoints"][sl] = v.numpy(), k.numpy()
        out["phenotypes"][sl] = p["phenotypes"].numpy()
    return out


def _phenotype_errors(pred: np.ndarray, gt: np.ndarray) -> dict[str, float]:
    err = np.abs(np.asarray(pred, np.float64) - gt).mean(axis=0)
    return {f"phenotype_{n}_mae": float(e) for n, e in zip(ANNY_PHENOTYPES, err)}


def baseline_errors(model: MeshNet, data: MeshSamples) -> dict[str, Any]:
    """``mesh_errors`` of the training-mean root-relative keypoints and vertices predicted for everyone."""
    n = len(data)
    kp = np.broadcast_to(model.baseline_keypoints.numpy(), (n, NUM_BODY_KEYPOINTS, 3))
    v = np.broadcast_to(model.baseline_vertices.numpy(), (n, model.config.num_vertices, 3))
    return mesh_errors(kp, data.keypoints_rr, v, data.vertices_rr)


def evaluate_model(model: MeshNet, data: MeshSamples, *, batch_size: int = 32) -> dict[str, Any]:
    """``mesh_errors`` (mm) of ``model`` on loaded people, phenotype errors and prediction speed."""
    from synth.estimators.mesh_data import check_body_spec

    check_body_spec(data.body, model.config.body, ", ".join(data.sources))
    t0 = time.perf_counter()
    pred = predict_samples(model, data, batch_size=batch_size)
    seconds = time.perf_counter() - t0
    out: dict[str, Any] = mesh_errors(pred["keypoints"], data.keypoints_rr, pred["vertices"], data.vertices_rr)
    out.update(_phenotype_errors(pred["phenotypes"], data.phenotypes))
    out["predict_people_per_s"] = round(len(data) / max(seconds, 1e-9), 2)
    return out


# ---------------------------------------------------------------- training


def _clear_epoch_files(out_dir: str) -> None:
    stale = os.path.join(out_dir, "metrics")
    if os.path.isdir(stale):   # a run folder is overwritten: drop the previous run's per-epoch files
        for name in os.listdir(stale):
            if name.startswith("epoch_") and name.endswith(".json"):
                os.remove(os.path.join(stale, name))


def _round(d: dict[str, Any], digits: int = 3) -> dict[str, Any]:
    return {k: (round(v, digits) if isinstance(v, float) else v) for k, v in d.items()}


def build_model(train_data: MeshSamples, *, input_size: int, pretrained: bool) -> MeshNet:
    """A MeshNet for the training data's body (starting parameters and baseline from its targets)."""
    b = train_data.body
    config = MeshConfig(body_model=b.body_model, topology=b.topology, num_vertices=b.num_vertices,
                        num_joints=b.num_joints, input_size=int(input_size),
                        pretrained="imagenet" if pretrained else "none")
    get_body(config)   # fail early when the topology cannot be built
    model = MeshNet(config)
    model.init_params.copy_(torch.from_numpy(initial_parameters(train_data)))
    model.baseline_keypoints.copy_(torch.from_numpy(train_data.keypoints_rr.mean(0)))
    model.baseline_vertices.copy_(torch.from_numpy(train_data.vertices_rr.mean(0)))
    if pretrained:
        model.load_imagenet()
    return model


def train_mesh(data: str | list[str], out_dir: str, *, val: str | list[str] | None = None, epochs: int = 30,
               batch_size: int = 32, input_size: int = 128, lr: float = 1e-3, weight_decay: float = 0.05,
               pretrained: bool = True, augment: bool = True, threads: int | None = None, seed: int = 0,
               max_steps: int | None = None, time_budget_s: float | None = None, warmup: float = 0.05,
               log_every: int = 20) -> dict[str, Any]:
    """Train on ``data`` (one or more dataset folders), write ``out_dir``; returns the run summary.

    Stops after ``epochs`` epochs, ``max_steps`` optimiser steps or ``time_budget_s`` seconds of training
    (validation not counted), whichever comes first; the learning-rate schedule follows the nearest limit.
    """
    set_threads(threads)
    torch.manual_seed(seed)
    t_load = time.perf_counter()
    train_data = load_mesh_samples(data, min_keypoints=3)
    val_data = load_mesh_samples(val, expected_body=train_data.body) if val else None
    load_s = time.perf_counter() - t_load
    model = build_model(train_data, input_size=input_size, pretrained=pretrained)
    config = model.config
    body = get_body(config)
    _autograd_safe_roma()
    aug = MeshAugmentation() if augment else NO_MESH_AUGMENTATION
    ds = MeshCropDataset(train_data, config.input_size, train=True, padding=config.padding, augmentation=aug,
                         seed=seed)
    loader = torch.utils.data.DataLoader(ds, batch_size=batch_size, shuffle=True, drop_last=len(ds) >= batch_size,
                                         collate_fn=_collate, num_workers=0,
                                         generator=torch.Generator().manual_seed(seed))
    steps_per_epoch = len(loader)
    planned = epochs * steps_per_epoch if max_steps is None else min(max_steps, epochs * steps_per_epoch)
    opt = torch.optim.AdamW(param_groups(model, weight_decay), lr=lr, betas=(0.9, 0.999))
    os.makedirs(out_dir, exist_ok=True)
    _clear_epoch_files(out_dir)
    history: dict[str, Any] = {
        "config": config.to_dict(), "train_data": train_data.sources,
        "val_data": val_data.sources if val_data else None,
        "train_people": len(train_data), "train_views": train_data.views,
        "train_views_skipped": train_data.skipped_views,
        "val_people": len(val_data) if val_data else 0, "val_views": val_data.views if val_data else 0,
        "hyper": {"epochs": epochs, "batch_size": batch_size, "lr": lr, "weight_decay": weight_decay,
                  "augment": augment, "augmentation": asdict(aug), "seed": seed, "max_steps": max_steps,
                  "time_budget_s": time_budget_s, "threads": torch.get_num_threads(), "warmup": warmup},
        "val_baseline": _round(baseline_errors(model, val_data)) if val_data else None,
        "load_s": round(load_s, 2), "epochs": [], "steps": [],
    }
    log.info("training on %d people (%d views), %s, %d steps/epoch, %d threads", len(train_data),
             train_data.views, train_data.body.describe(), steps_per_epoch, torch.get_num_threads())
    step, train_seconds, images_seen, stop = 0, 0.0, 0, False
    t_train = time.perf_counter()
    for epoch in range(1, epochs + 1):
        ds.set_epoch(epoch)
        model.train()
        t_ep = time.perf_counter()
        losses, n_img = [], 0
        for batch in loader:
            elapsed = train_seconds + (time.perf_counter() - t_ep)   # training time, validation excluded
            progress = step / max(planned, 1)
            if time_budget_s:
                progress = max(progress, elapsed / time_budget_s)
            if progress >= 1.0:
                stop = True
                break
            for g in opt.param_groups:
                g["lr"] = lr * lr_factor(progress, warmup)
            pred = model(model.normalize(batch["image"]), batch["bbox"])
            verts, kps = posed_points(body, pred["rotmats"], pred["phenotypes"], pred["facial_actions"],
                                      pred["global_rotmat"])
            loss, terms = mesh_loss(pred, verts, kps, batch_targets(train_data, batch["index"]),
                                    config.loss_weights)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            n_img += len(batch["index"])
            losses.append(float(loss.detach()))
            history["steps"].append([step, round(losses[-1], 6), round(opt.param_groups[0]["lr"], 8),
                                     round(1000 * terms["vertices_m"], 2), round(1000 * terms["keypoints_m"], 2)])
            if log_every and step % log_every == 0:
                log.info("epoch %d step %d loss %.5f (vertices %.1f mm, keypoints %.1f mm) lr %.2e", epoch, step,
                         losses[-1], 1000 * terms["vertices_m"], 1000 * terms["keypoints_m"],
                         opt.param_groups[0]["lr"])
        ep_s = time.perf_counter() - t_ep
        train_seconds += ep_s
        images_seen += n_img
        if not losses:
            break
        rec = epoch_record(epoch, step, losses, n_img, ep_s)
        if val_data is not None:
            t_v = time.perf_counter()
            rec["val"] = evaluate_model(model, val_data)
            rec["val_seconds"] = round(time.perf_counter() - t_v, 2)
            v = rec["val"]
            log.info("epoch %d: loss %.5f, val MPJPE %.1f PA-MPJPE %.1f PVE %.1f mm", epoch, rec["train_loss"],
                     v["MPJPE_mm"], v["PA_MPJPE_mm"], v["PVE_mm"])
        else:
            log.info("epoch %d: loss %.5f", epoch, rec["train_loss"])
        history["epochs"].append(rec)
        save_checkpoint(os.path.join(out_dir, "model.pt"), model, {"epoch": epoch, "steps": step})
        save_epoch(out_dir, rec, history)
        if stop:
            break
    return finish_history(history, out_dir, step=step, train_seconds=train_seconds, images_seen=images_seen,
                          wall_seconds=time.perf_counter() - t_train, time_budget_s=time_budget_s,
                          max_steps=max_steps)


def evaluate_mesh(model_path: str, data: str | list[str], *, out: str | None = None, batch_size: int = 32,
                  threads: int | None = None) -> dict[str, Any]:
    """Evaluate a checkpoint on dataset folder(s): model and training-mean baseline errors; write ``out`` (JSON)."""
    set_threads(threads)
    model, meta = load_checkpoint(model_path)
    samples = load_mesh_samples(data, expected_body=model.config.body)
    metrics = evaluate_model(model, samples, batch_size=batch_size)
    result = {"model": os.path.abspath(model_path), "epoch": meta.get("epoch"), "steps": meta.get("steps"),
              "data": samples.sources, "body": asdict(samples.body), "input_size": model.config.input_size,
              "people": len(samples), "views": samples.views, "views_skipped": samples.skipped_views,
              "joint_set": "COCO-17 body keypoints; pelvis = midpoint of the hips",
              "metrics": metrics, "baseline": baseline_errors(model, samples)}
    if out:
        write_json_atomic(out, result)
    return result
