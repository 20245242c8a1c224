"""Dense body-scene contact from a person crop, in the spirit of DECO (Tripathi et al. 2023) / BSTRO (Huang et
al. 2022): for every vertex of the body model's mesh, does it touch the ground (and, as a second output when
the training labels have any, another person)?

    run = train_contact("out/train", "runs/contact", val="out/val", epochs=20)
    result = evaluate_contact_model("runs/contact/model.pt", "out/val")

Data: ``contact_data`` (the keypoint estimator's people and crops; labels ``contact_ground`` and
``contact_person >= 0`` of the frame). Outputs: channel ``ground`` always; channel ``person`` only when some
training person touches another (with the default placement people keep apart, so usually not; the checkpoint
lists its ``channels``). The vertex count V, body model and topology are those of the training data and are
stored in the checkpoint; evaluating on another topology is an EstimatorError.

Model: MobileNetV2 (ImageNet init, ``synth.estimators.model``) on the H x W crop (default 128 x 96) to stride-32
features; head: the global average pool (1280) concatenated with a small position-keeping branch (1x1 conv to
32 channels + BN + ReLU, flattened: 32 x 4 x 3 at 128 x 96 — where the feet and the ground are in the crop
matters), then Linear -> 512 -> ReLU -> Dropout 0.1 -> Linear -> C x V logits. The last bias starts at the
logit of the training set's mean contact rate (the RetinaNet prior), its weight at zero.

Loss: BCE over all vertices plus a soft Dice term per person and channel, 1 - (2 sum(p g) + 1) / (sum(p) +
sum(g) + 1). Contact vertices are few (on the benchmark data 7 % of the 13,718 vertices on average, the
soles), so plain BCE is dominated by the easy negatives and its 0.5 threshold under-predicts contact; Dice
is a per-person overlap (the F1 that is reported, made differentiable) and insensitive to the imbalance,
while BCE keeps the probabilities calibrated and gives every vertex a gradient. A positive weight in the BCE
would also counter the imbalance but moves the 0.5 operating point. (BSTRO trains its vertex classifier with
BCE; DECO adds 2D segmentation losses that need part / scene masks, not used here.)

Mirror flips: the flipped crop shows the person's mirror image, whose vertex v is the original's ``mirror[v]``
(``contact_geometry.mirror_correspondence`` on the rest mesh; stored in the checkpoint). If the rest mesh
has no exact correspondence, training does not flip and evaluation has no flip test.

Training: as ``keypoints2d`` / ``camera`` (AdamW without decay on norms and biases, warm-up + cosine, epochs /
steps / time budget, per-epoch atomic ``model.pt``, ``metrics/epoch_NNN.json``, ``history.json``).
Evaluation: probabilities of the plain and (with the flip test) the mirrored crop, mapped back through
``mirror``, averaged, thresholded at 0.5; ``contact_metrics.evaluate_contact`` per channel with geodesic
errors on the rest mesh stored in the checkpoint; and the same metrics of the constant baseline that predicts,
for every person, the vertices in contact in at least half of the training people (the per-vertex majority
label: for standing and walking people, the foot soles).
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
from synth.estimators.contact_data import ContactCropDataset, ContactSamples, load_contact_samples
from synth.estimators.contact_geometry import (GeodesicMesh, RestMesh, dataset_body, load_rest_mesh,
                                               mirror_correspondence)
from synth.estimators.contact_metrics import evaluate_contact
from synth.estimators.data import Augmentation
from synth.estimators.model import MobileNetV2, load_imagenet_state_dict

log = logging.getLogger(__name__)

CHECKPOINT_FORMAT = "synth-contact"
CHECKPOINT_VERSION = 1
#: Checkpoint formats of the other bundled estimators -> the command that evaluates them.
#: Probability threshold of a predicted contact vertex.
THRESHOLD = 0.5


@dataclass
class ContactConfig:
    """What a checkpoint needs to rebuild and use the model."""

    input_hw: tuple[int, int] = (128, 96)
    num_vertices: int = 13718
    channels: tuple[str, ...] = ("ground",)
    body_model: str = "anny"
    topology: str = "default"
    hidden_dims: int = 512
    spatial_channels: int = 32
    #: training-set mean contact rate per channel (initial output bias)
    prior: tuple[float, ...] = (0.02,)
    dice_weight: float = 1.0
    flip: bool = True
    mean_rgb: tuple[float, float, float] = (0.485, 0.456, 0.406)
    std_rgb: tuple[float, float, float] = (0.229, 0.224, 0.225)
    pretrained: str = "imagenet"

    def to_dict(self) -> dict:
        d = asdict(self)
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in d.items()}

    @classmethod
    def from_dict(cls, d: dict) -> "ContactConfig":
        return cls(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in d.items()})


class ContactNet(nn.Module):
    """MobileNetV2 + pooled-and-spatial head. forward(x (B, 3, H, W)) -> (B, C, V) contact logits.

    Buffers (saved in the state dict): ``mirror`` (V,) int64 (identity when flips are off),
    ``rest_vertices_m`` (V, 3) float32, ``faces`` (F, 3) int64, ``train_frequency`` (C, V) float32.
    """

    def __init__(self, config: ContactConfig, num_faces: int):
        super().__init__()
        h, w = (int(v) for v in config.input_hw)
        if h <= 0 or w <= 0 or h % 32 or w % 32:
            raise EstimatorError(f"--input {h}x{w}: both sides must be positive multiples of 32 (MobileNetV2's "
                                 "stride), e.g. 128x96 or 160x128")
        self.config = config
        c_out, v = len(config.channels), int(config.num_vertices)
        self.backbone = MobileNetV2()
        del self.backbone.classifier
        c = MobileNetV2.out_channels
        self.spatial = nn.Sequential(nn.Conv2d(c, config.spatial_channels, 1, bias=False),
                                     nn.BatchNorm2d(config.spatial_channels), nn.ReLU(inplace=True))
        self.head = nn.Sequential(nn.Linear(c + config.spatial_channels * (h // 32) * (w // 32), config.hidden_dims),
                                  nn.ReLU(inplace=True), nn.Dropout(0.1), nn.Linear(config.hidden_dims, c_out * v))
        nn.init.zeros_(self.head[-1].weight)
        prior = np.clip(np.asarray(config.prior, np.float64), 1e-4, 0.5)
        with torch.no_grad():
            self.head[-1].bias.copy_(torch.from_numpy(np.repeat(np.log(prior / (1 - prior)), v)).float())
        self.register_buffer("mean", torch.tensor(config.mean_rgb).view(1, 3, 1, 1) * 255.0, persistent=False)
        self.register_buffer("std", torch.tensor(config.std_rgb).view(1, 3, 1, 1) * 255.0, persistent=False)
        self.register_buffer("mirror", torch.arange(v, dtype=torch.int64))
        self.register_buffer("rest_vertices_m", torch.zeros(v, 3))
        self.register_buffer("faces", torch.zeros(num_faces, 3, dtype=torch.int64))
        self.register_buffer("train_frequency", torch.zeros(c_out, v))

    def load_imagenet(self, path: str | None = None) -> None:
        """Initialise the backbone from torchvision's ImageNet checkpoint (strict: every tensor must match)."""
        full = MobileNetV2()
        full.load_state_dict(load_imagenet_state_dict(path), strict=True)
        self.backbone.features.load_state_dict(full.features.state_dict(), strict=True)

    def normalize(self, images_uint8: torch.Tensor) -> torch.Tensor:
        """(B, H, W, 3) uint8 RGB -> (B, 3, H, W) float32, ImageNet-normalised."""
        return (images_uint8.permute(0, 3, 1, 2).float() - self.mean) / self.std

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.backbone.forward_features(x)                        # (B, 1280, H/32, W/32)
        pooled = F.adaptive_avg_pool2d(f, 1).flatten(1)
        out = self.head(torch.cat([pooled, self.spatial(f).flatten(1)], dim=1))
        return out.view(len(x), len(self.config.channels), self.config.num_vertices)

    def rest_mesh(self) -> RestMesh:
        """The rest mesh stored with the model."""
        c = self.config
        return RestMesh(self.rest_vertices_m.numpy().astype(np.float64), self.faces.numpy(), c.body_model,
                        c.topology)


def contact_loss(logits: torch.Tensor, labels: torch.Tensor, dice_weight: float = 1.0) -> torch.Tensor:
    """BCE (mean over people, channels, vertices) + ``dice_weight`` x soft Dice loss (mean over people and
    channels) of (B, C, V) logits against (B, C, V) 0/1 labels."""
    bce = F.binary_cross_entropy_with_logits(logits, labels)
    p = torch.sigmoid(logits)
    dice = 1.0 - (2.0 * (p * labels).sum(-1) + 1.0) / (p.sum(-1) + labels.sum(-1) + 1.0)
    return bce + dice_weight * dice.mean()


def save_checkpoint(path: str, model: ContactNet, extra: dict | None = None) -> None:
    """Write ``{format, version, config, num_faces, state_dict, ...extra}`` atomically."""
    write_checkpoint(path, CHECKPOINT_FORMAT, CHECKPOINT_VERSION, model.config.to_dict(), model.state_dict(),
                     {"num_faces": int(model.faces.shape[0]), **(extra or {})})


def load_checkpoint(path: str) -> tuple[ContactNet, dict]:
    """The model of a ``model.pt`` written by ``train_contact`` (eval mode) and the checkpoint's metadata."""
    ck = read_checkpoint(path, CHECKPOINT_FORMAT, CHECKPOINT_VERSION, "contact")
    model = ContactNet(ContactConfig.from_dict(ck["config"]), int(ck["num_faces"]))
    model.load_state_dict(ck["state_dict"], strict=True)
    model.eval()
    return model, {k: v for k, v in ck.items() if k != "state_dict"}


def check_topology(config: ContactConfig, data: ContactSamples, where: str) -> None:
    """EstimatorError unless ``data`` uses the model's body model and vertex count."""
    if data.body_model != config.body_model or data.num_vertices != config.num_vertices:
        raise EstimatorError(
            f"{where}: the model predicts {config.num_vertices} vertices of {config.body_model!r} (topology "
            f"{config.topology!r}) but {data.sources} hold {data.body_model!r} people with {data.num_vertices} "
            "vertices; evaluate on data generated with the training topology (people.anny_topology in the "
            "recipe) or train a model on this data")


@torch.no_grad()
def predict_probabilities(model: ContactNet, data: ContactSamples, *, batch_size: int = 64,
                          flip_test: bool = True) -> np.ndarray:
    """(N, C, V) float32 contact probabilities of every person; with ``flip_test`` (and a mirror
    correspondence) the mirrored crop's probabilities, mapped back to the original vertices, are averaged in."""
    model.eval()
    ds = ContactCropDataset(data, model.config.input_hw, model.config.channels)
    flips = [False, True] if (flip_test and model.config.flip) else [False]
    mirror = model.mirror
    out = np.zeros((len(data), len(model.config.channels), model.config.num_vertices), np.float32)
    for start in range(0, len(data), batch_size):
        idx = range(start, min(len(data), start + batch_size))
        acc = 0.0
        for flip in flips:
            x = torch.from_numpy(np.stack([ds.crop(i, flip=flip) for i in idx]))
            p = torch.sigmoid(model(model.normalize(x)))
            if flip:   # vertex v of the mirrored person is vertex mirror[v] of the original
                p = p[:, :, mirror]
            acc = acc + p
        out[start:start + len(idx)] = (acc / len(flips)).numpy()
    return out


def baseline_masks(model: ContactNet, n: int) -> np.ndarray:
    """(n, C, V) bool: the constant prediction, vertices in contact in >= half of the training people."""
    const = model.train_frequency.numpy() >= 0.5
    return np.broadcast_to(const, (n, *const.shape))


def _metrics_per_channel(masks: np.ndarray, labels: np.ndarray, channels, mesh: GeodesicMesh) -> dict[str, Any]:
    return {c: evaluate_contact(masks[:, k], labels[:, k], mesh) for k, c in enumerate(channels)}


def evaluate_model(model: ContactNet, data: ContactSamples, *, batch_size: int = 64, flip_test: bool = True,
                   mesh: GeodesicMesh | None = None, baseline: bool = False) -> dict[str, Any]:
    """Per-channel ``evaluate_contact`` of the model (and of the constant baseline when ``baseline``)."""
    check_topology(model.config, data, "evaluate")
    if mesh is None:
        rm = model.rest_mesh()
        mesh = GeodesicMesh(rm.vertices_m, rm.faces)
    t0 = time.perf_counter()
    prob = predict_probabilities(model, data, batch_size=batch_size, flip_test=flip_test)
    seconds = time.perf_counter() - t0
    channels = model.config.channels
    labels = data.labels(channels)
    out: dict[str, Any] = {"model": _metrics_per_channel(prob >= THRESHOLD, labels, channels, mesh)}
    for k, c in enumerate(channels):
        pos = labels[:, k]
        out["model"][c]["bce"] = float(np.mean(-np.where(pos, np.log(np.clip(prob[:, k], 1e-7, 1)),
                                                         np.log(np.clip(1 - prob[:, k], 1e-7, 1)))))
    if baseline:
        out["baseline"] = _metrics_per_channel(baseline_masks(model, len(data)), labels, channels, mesh)
    out["flip_test"] = bool(flip_test and model.config.flip)
    out["predict_crops_per_s"] = round(len(data) * (2 if out["flip_test"] else 1) / max(seconds, 1e-9), 2)
    return out


def _collate(items: list[dict]) -> dict[str, Any]:
    return {"image": torch.from_numpy(np.stack([it["image"] for it in items])),
            "labels": torch.from_numpy(np.stack([it["labels"] for it in items])),
            "index": np.array([it["index"] for it in items])}


def _clear_epoch_files(out_dir: str) -> None:
    stale = os.path.join(out_dir, "metrics")
    if os.path.isdir(stale):   # a run folder is overwritten: drop the previous run's per-epoch files
        for name in os.listdir(stale):
            if name.startswith("epoch_") and name.endswith(".json"):
                os.remove(os.path.join(stale, name))


def _rest_mesh_of(samples: ContactSamples) -> RestMesh:
    """The rest mesh of the training data's body model; checks it has the data's topology."""
    first = samples.sources[0]
    name, options, topology = dataset_body(first)
    mesh = load_rest_mesh(name, options, topology)
    if mesh.num_vertices != samples.num_vertices or not np.array_equal(mesh.faces, samples.faces):
        raise EstimatorError(f"{first}: its recipe's body model {name!r} (topology {topology!r}) has "
                             f"{mesh.num_vertices} vertices, the stored people {samples.num_vertices}; the dataset "
                             "was made with another version of the body model: regenerate it")
    return mesh


def build_model(samples: ContactSamples, mesh: RestMesh, *, input_hw: tuple[int, int], channels: tuple[str, ...],
                mirror: np.ndarray | None, pretrained: bool, dice_weight: float = 1.0,
                hidden_dims: int = 512) -> ContactNet:
    """A ContactNet for ``samples``' topology with the mesh, mirror and training frequencies in its buffers."""
    labels = samples.labels(channels).astype(np.float32)
    freq = labels.mean(axis=0)                                               # (C, V)
    config = ContactConfig(input_hw=(int(input_hw[0]), int(input_hw[1])), num_vertices=samples.num_vertices,
                           channels=tuple(channels), body_model=mesh.body_model, topology=mesh.topology,
                           hidden_dims=int(hidden_dims), prior=tuple(float(v) for v in freq.mean(axis=1)),
                           dice_weight=float(dice_weight), flip=mirror is not None,
                           pretrained="imagenet" if pretrained else "none")
    model = ContactNet(config, len(mesh.faces))
    if pretrained:
        model.load_imagenet()
    with torch.no_grad():
        if mirror is not None:
            model.mirror.copy_(torch.from_numpy(np.asarray(mirror, np.int64)))
        model.rest_vertices_m.copy_(torch.from_numpy(mesh.vertices_m.astype(np.float32)))
        model.faces.copy_(torch.from_numpy(mesh.faces.astype(np.int64)))
        model.train_frequency.copy_(torch.from_numpy(freq))
    return model


def _round(d: Any, digits: int = 4) -> Any:
    if isinstance(d, dict):
        return {k: _round(v, digits) for k, v in d.items()}
    return round(d, digits) if isinstance(d, float) else d


def train_contact(data: str | list[str], out_dir: str, *, val: str | list[str] | None = None, epochs: int = 20,
                  batch_size: int = 32, input_hw: tuple[int, int] = (128, 96), lr: float = 1e-3,
                  weight_decay: float = 0.05, pretrained: bool = True, augment: bool = True,
                  person_channel: str = "auto", dice_weight: float = 1.0, threads: int | None = None, seed: int = 0,
                  max_steps: int | None = None, time_budget_s: float | None = None, warmup: float = 0.05,
                  flip_test: bool = True, log_every: int = 20) -> dict[str, Any]:
    """Train on ``data`` (one or more dataset folders), write ``out_dir``; returns the run summary.

    ``person_channel``: ``auto`` (a second output when some training person touches another), ``on`` or
    ``off``. Stops after ``epochs`` epochs, ``max_steps`` optimiser steps or ``time_budget_s`` seconds of
    training (validation not counted), whichever comes first; the learning-rate schedule follows the nearest
    limit.
    """
    if person_channel not in ("auto", "on", "off"):
        raise EstimatorError(f"--person-channel: expected auto, on or off, got {person_channel!r}")
    set_threads(threads)
    torch.manual_seed(seed)
    t_load = time.perf_counter()
    train_data = load_contact_samples(data)
    val_data = load_contact_samples(val) if val else None
    mesh = _rest_mesh_of(train_data)
    if val_data is not None and (val_data.body_model != train_data.body_model
                                 or val_data.num_vertices != train_data.num_vertices):
        raise EstimatorError(f"--val {val_data.sources}: {val_data.body_model!r} people with "
                             f"{val_data.num_vertices} vertices, the training data {train_data.body_model!r} with "
                             f"{train_data.num_vertices}; validate on data of the training topology")
    mirror, mirror_info = mirror_correspondence(mesh.vertices_m)
    if mirror is None:
        log.warning("no exact left/right vertex correspondence (%s): training without flips", mirror_info["reason"])
    load_s = time.perf_counter() - t_load
    has_person = bool(train_data.person.any())
    channels = ("ground", "person") if (person_channel == "on" or (person_channel == "auto" and has_person)) \
        else ("ground",)
    model = build_model(train_data, mesh, input_hw=input_hw, channels=channels, mirror=mirror,
                        pretrained=pretrained, dice_weight=dice_weight)
    config = model.config
    aug = Augmentation() if augment else Augmentation(scale_range=(1.0, 1.0), shift_prob=0.0, rotation_prob=0.0,
                                                      flip_prob=0.0, color_prob=0.0)
    ds = ContactCropDataset(train_data, config.input_hw, channels, mirror=mirror, train=True, augmentation=aug,
                            seed=seed)
    loader = torch.utils.data.DataLoader(ds, batch_size=batch_size, shuffle=True, drop_last=len(ds) >= batch_size,
                                         collate_fn=_collate, num_workers=0,
                                         generator=torch.Generator().manual_seed(seed))
    geo = GeodesicMesh(mesh.vertices_m, mesh.faces)
    steps_per_epoch = len(loader)
    planned = epochs * steps_per_epoch if max_steps is None else min(max_steps, epochs * steps_per_epoch)
    opt = torch.optim.AdamW(param_groups(model, weight_decay), lr=lr, betas=(0.9, 0.999))
    os.makedirs(out_dir, exist_ok=True)
    _clear_epoch_files(out_dir)
    labels = train_data.labels(channels)
    history: dict[str, Any] = {
        "config": config.to_dict(), "train_data": train_data.sources,
        "val_data": val_data.sources if val_data else None,
        "train_people": len(train_data), "train_views": train_data.views,
        "val_people": len(val_data) if val_data else 0,
        "train_people_with_contact": {c: int(labels[:, k].any(axis=1).sum()) for k, c in enumerate(channels)},
        "train_people_touching_another": int(train_data.person.any(axis=1).sum()),
        "train_contact_vertices_mean": {c: float(labels[:, k].sum(axis=1).mean()) for k, c in enumerate(channels)},
        "mirror": {"used": mirror is not None, **mirror_info},
        "hyper": {"epochs": epochs, "batch_size": batch_size, "lr": lr, "weight_decay": weight_decay,
                  "augment": augment, "augmentation": asdict(aug), "seed": seed, "max_steps": max_steps,
                  "time_budget_s": time_budget_s, "threads": torch.get_num_threads(), "warmup": warmup,
                  "dice_weight": dice_weight, "person_channel": person_channel},
        "val_baseline": (_round(evaluate_model(model, val_data, mesh=geo, baseline=True)["baseline"])
                         if val_data else None),
        "load_s": round(load_s, 2), "epochs": [], "steps": [],
    }
    log.info("training on %d people (V=%d, channels %s), %d steps/epoch, %d threads", len(train_data),
             config.num_vertices, list(channels), steps_per_epoch, torch.get_num_threads())
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
            loss = contact_loss(model(model.normalize(batch["image"])), batch["labels"], config.dice_weight)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            n_img += len(batch["index"])
            losses.append(float(loss.detach()))
            history["steps"].append([step, round(losses[-1], 6), round(opt.param_groups[0]["lr"], 8)])
            if log_every and step % log_every == 0:
                log.info("epoch %d step %d loss %.5f lr %.2e", epoch, step, losses[-1], opt.param_groups[0]["lr"])
        ep_s = time.perf_counter() - t_ep
        train_seconds += ep_s
        images_seen += n_img
        if not losses:
            break
        rec = epoch_record(epoch, step, losses, n_img, ep_s)
        if val_data is not None:
            t_v = time.perf_counter()
            rec["val"] = _round(evaluate_model(model, val_data, mesh=geo, flip_test=flip_test)["model"])
            rec["val_seconds"] = round(time.perf_counter() - t_v, 2)
            v = rec["val"]["ground"]
            log.info("epoch %d: loss %.5f, val ground F1 %.3f P %.3f R %.3f geodesic %.2f cm", epoch,
                     rec["train_loss"], v["f1"], v["precision"], v["recall"], v["geodesic_fp_cm"] or 0.0)
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


def evaluate_contact_model(model_path: str, data: str | list[str], *, out: str | None = None,
                           batch_size: int = 64, flip_test: bool = True,
                           threads: int | None = None) -> dict[str, Any]:
    """Evaluate a checkpoint on dataset folder(s): per-channel model and baseline metrics; write ``out`` (JSON)."""
    set_threads(threads)
    model, meta = load_checkpoint(model_path)
    samples = load_contact_samples(data)
    check_topology(model.config, samples, model_path)
    res = evaluate_model(model, samples, batch_size=batch_size, flip_test=flip_test, baseline=True)
    c = model.config
    result = {"model": os.path.abspath(model_path), "epoch": meta.get("epoch"), "steps": meta.get("steps"),
              "data": samples.sources, "people": len(samples), "views": samples.views,
              "body_model": c.body_model, "topology": c.topology, "num_vertices": c.num_vertices,
              "channels": list(c.channels), "threshold": THRESHOLD, "input_hw": list(c.input_hw),
              "flip_test": res["flip_test"], "predict_crops_per_s": res["predict_crops_per_s"],
              "people_touching_another": int(samples.person.any(axis=1).sum()),
              "metrics": res["model"], "baseline": res["baseline"]}
    if out:
        write_json_atomic(out, result)
    return result
