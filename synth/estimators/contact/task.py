"""Dense body-scene contact from a person crop, in the spirit of DECO (Tripathi et al. 2023) / BSTRO (Huang et
al. 2022): for every vertex of the body model's mesh, does it touch the ground (and, as a second output when
the training labels have any, another person)?

    run = train_contact("out/train", "runs/contact", val="out/val", epochs=20)
    result = evaluate_contact_model("runs/contact/model.pt", "out/val")

Data: ``contact.data`` (the keypoint estimator's people and crops; labels ``contact_ground`` and
``contact_person >= 0`` of the frame). Outputs: channel ``ground`` always; channel ``person`` only when some
training person touches another (with the default placement people keep apart, so usually not; the checkpoint
lists its ``channels``). The vertex count V, body model and topology are those of the training data and are
stored in the checkpoint; evaluating on another topology is an EstimatorError.

Model: MobileNetV2 (ImageNet init, ``engine.backbone``) on the H x W crop (default 128 x 96) to stride-32
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
(``contact.geometry.mirror_correspondence`` on the rest mesh; stored in the checkpoint). If the rest mesh
has no exact correspondence, training does not flip and evaluation has no flip test.

Training: ``synth.estimators.engine.fit`` (AdamW without decay on norms and biases, warm-up + cosine, epochs /
steps / time budget, per-epoch atomic ``model.pt``, ``metrics/epoch_NNN.json``, ``history.json``).
Evaluation: probabilities of the plain and (with the flip test) the mirrored crop, mapped back through
``mirror``, averaged, thresholded at 0.5; ``contact.metrics.evaluate_contact`` per channel with geodesic
errors on the rest mesh stored in the checkpoint; and the same metrics of the constant baseline that predicts,
for every person, the vertices in contact in at least half of the training people (the per-vertex majority
label: for standing and walking people, the foot soles).
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

from synth.estimators.contact.data import ContactCropDataset, ContactSamples, load_contact_samples
from synth.estimators.contact.geometry import GeodesicMesh, RestMesh, load_rest_mesh, mirror_correspondence
from synth.estimators.contact.metrics import evaluate_contact
from synth.estimators.contact.model import ContactConfig, ContactNet, contact_loss
from synth.estimators.engine.backbone import rebuild_initial
from synth.estimators.engine.checkpoint import CheckpointFormat
from synth.estimators.engine.device import device_record, resolve_device
from synth.estimators.engine.crops import NO_AUGMENTATION, Augmentation
from synth.estimators.engine.errors import EstimatorError
from synth.estimators.engine.fit import Schedule, begin_run, collate, fit, run_description, set_threads
from synth.core.atomic import write_json_atomic
from synth.estimators.engine.records import round_floats

log = logging.getLogger(__name__)

CHECKPOINT = CheckpointFormat("synth-contact", 1, "contact", extra_of=lambda m: {"num_faces": int(m.faces.shape[0])})
#: Probability threshold of a predicted contact vertex.
THRESHOLD = 0.5


def save_checkpoint(path: str, model: ContactNet, extra: dict | None = None) -> None:
    """Write ``{format, version, config, num_faces, state_dict, ...extra}`` atomically."""
    CHECKPOINT.save(path, model, extra)


def load_checkpoint(path: str, device: str = "cpu") -> tuple[ContactNet, dict]:
    """The model of a ``model.pt`` written by ``train_contact`` (eval mode, on the resolved ``device``) and the
    checkpoint's metadata."""
    return CHECKPOINT.load(path, lambda ck: ContactNet(ContactConfig.from_dict(ck["config"]), int(ck["num_faces"])),
                           device)


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
        out[start:start + len(idx)] = (acc / len(flips)).cpu().numpy()
    return out


def baseline_masks(model: ContactNet, n: int) -> np.ndarray:
    """(n, C, V) bool: the constant prediction, vertices in contact in >= half of the training people."""
    const = model.train_frequency.cpu().numpy() >= 0.5
    return np.broadcast_to(const, (n, *const.shape))


def _metrics_per_channel(masks: np.ndarray, labels: np.ndarray, channels, mesh: GeodesicMesh) -> dict[str, Any]:
    return {c: evaluate_contact(masks[:, k], labels[:, k], mesh) for k, c in enumerate(channels)}


def baseline_metrics(model: ContactNet, data: ContactSamples, mesh: GeodesicMesh) -> dict[str, Any]:
    """Per-channel ``evaluate_contact`` of the constant baseline (``baseline_masks``) on ``data``."""
    channels = model.config.channels
    return _metrics_per_channel(baseline_masks(model, len(data)), data.labels(channels), channels, mesh)


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
        out["baseline"] = baseline_metrics(model, data, mesh)
    out["flip_test"] = bool(flip_test and model.config.flip)
    out["predict_crops_per_s"] = round(len(data) * (2 if out["flip_test"] else 1) / max(seconds, 1e-9), 2)
    return out


def _rest_mesh_of(samples: ContactSamples) -> RestMesh:
    """The rest mesh of the training data's body model (its options as the shards store them); checks it has
    the data's topology."""
    mesh = load_rest_mesh(samples.body_model, samples.body_options, samples.topology)
    if mesh.num_vertices != samples.num_vertices or not np.array_equal(mesh.faces, samples.faces):
        raise EstimatorError(f"{samples.sources[0]}: its body model {samples.body_model!r} (topology "
                             f"{samples.topology!r}) has {mesh.num_vertices} vertices, the stored people "
                             f"{samples.num_vertices}; the dataset was made with another version of the body model: "
                             "regenerate it")
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


def train_contact(data: str | list[str], out_dir: str, *, val: str | list[str] | None = None, epochs: int = 20,
                  batch_size: int = 32, input_hw: tuple[int, int] = (128, 96), lr: float = 1e-3,
                  weight_decay: float = 0.05, pretrained: bool = True, augment: bool = True,
                  person_channel: str = "auto", dice_weight: float = 1.0, threads: int | None = None, seed: int = 0,
                  max_steps: int | None = None, time_budget_s: float | None = None, warmup: float = 0.05,
                  flip_test: bool = True, log_every: int = 20, device: str = "auto") -> dict[str, Any]:
    """Train on ``data`` (one or more dataset folders), write ``out_dir``; returns the run summary.

    ``person_channel``: ``auto`` (a second output when some training person touches another), ``on`` or
    ``off``. Stops after ``epochs`` epochs, ``max_steps`` optimiser steps or ``time_budget_s`` seconds of
    training (validation not counted), whichever comes first; the learning-rate schedule follows the nearest
    limit.
    """
    if person_channel not in ("auto", "on", "off"):
        raise EstimatorError(f"--person-channel: expected auto, on or off, got {person_channel!r}")
    dev = resolve_device(device)   # before the data is read: a missing GPU fails at once
    begin_run(threads, seed)
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
    aug = Augmentation() if augment else NO_AUGMENTATION
    ds = ContactCropDataset(train_data, config.input_hw, channels, mirror=mirror, train=True, augmentation=aug,
                            seed=seed)
    geo = GeodesicMesh(mesh.vertices_m, mesh.faces)
    schedule = Schedule(epochs=epochs, batch_size=batch_size, lr=lr, weight_decay=weight_decay, warmup=warmup,
                        seed=seed, max_steps=max_steps, time_budget_s=time_budget_s, log_every=log_every,
                        device=dev)
    labels = train_data.labels(channels)
    history = run_description(
        config, train_data, val_data,
        train_people=len(train_data), train_views=train_data.views,
        val_people=len(val_data) if val_data else 0,
        train_people_with_contact={c: int(labels[:, k].any(axis=1).sum()) for k, c in enumerate(channels)},
        train_people_touching_another=int(train_data.person.any(axis=1).sum()),
        train_contact_vertices_mean={c: float(labels[:, k].sum(axis=1).mean()) for k, c in enumerate(channels)},
        mirror={"used": mirror is not None, **mirror_info},
        hyper=schedule.hyper(augment=augment, augmentation=asdict(aug), dice_weight=dice_weight,
                             person_channel=person_channel),
        val_baseline=round_floats(baseline_metrics(model, val_data, geo)) if val_data else None,
        load_s=round(load_s, 2))
    log.info("training on V=%d vertices, channels %s", config.num_vertices, list(channels))

    def step_loss(net: ContactNet, batch: dict[str, Any]) -> tuple[torch.Tensor, list[float]]:
        return contact_loss(net(net.normalize(batch["image"])), batch["labels"], config.dice_weight), []

    def describe_val(v: dict[str, Any]) -> str:
        g = v["ground"]
        return (f"ground F1 {g['f1']:.3f} P {g['precision']:.3f} R {g['recall']:.3f} "
                f"geodesic {g['geodesic_fp_cm'] or 0.0:.2f} cm")

    def validate(net: ContactNet) -> dict[str, Any]:
        return round_floats(evaluate_model(net, val_data, mesh=geo, flip_test=flip_test)["model"])

    return fit(model, ds, partial(collate, tensor_keys=("image", "labels")), step_loss, CHECKPOINT, out_dir, schedule,
               history, validate=validate if val_data else None, describe_val=describe_val)


def evaluate_contact_model(model_path: str, data: str | list[str], *, out: str | None = None,
                           batch_size: int = 64, flip_test: bool = True,
                           threads: int | None = None, device: str = "auto") -> dict[str, Any]:
    """Evaluate a checkpoint on dataset folder(s): per-channel model and baseline metrics; write ``out`` (JSON)."""
    set_threads(threads)
    dev = resolve_device(device)
    model, meta = load_checkpoint(model_path, dev)
    samples = load_contact_samples(data)
    check_topology(model.config, samples, model_path)
    res = evaluate_model(model, samples, batch_size=batch_size, flip_test=flip_test, baseline=True)
    init = rebuild_initial(lambda: ContactNet(model.config, len(model.faces)), model, meta.get("seed", 0))
    initial = evaluate_model(init, samples, batch_size=batch_size, flip_test=flip_test)["model"]
    c = model.config
    result = {"model": os.path.abspath(model_path), "epoch": meta.get("epoch"), "steps": meta.get("steps"),
              "data": samples.sources, "people": len(samples), "views": samples.views,
              "body_model": c.body_model, "topology": c.topology, "num_vertices": c.num_vertices,
              "channels": list(c.channels), "threshold": THRESHOLD, "input_hw": list(c.input_hw),
              "flip_test": res["flip_test"], "predict_crops_per_s": res["predict_crops_per_s"],
              "people_touching_another": int(samples.person.any(axis=1).sum()),
              "metrics": res["model"], "initial": initial, "baseline": res["baseline"], **device_record(dev)}
    if out:
        write_json_atomic(out, result)
    return result
