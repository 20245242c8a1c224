"""Train and evaluate the top-down 2D keypoint estimator (MobileNetV2 + SimCC) on synth datasets.

    run = train_keypoints2d("out/train", "runs/kp", val="out/val", epochs=10)
    metrics = evaluate_keypoints2d("runs/kp/model.pt", "out/val")

Training: ``synth.estimators.engine.fit`` (AdamW, warm-up + cosine, epochs /
steps / time budget, per-epoch ``RUN_DIR/model.pt``, ``metrics/epoch_NNN.json``
and ``history.json``) on ``TopDownKeypointDataset`` crops with the SimCC KL loss.

Evaluation: ground-truth boxes (top-down, as COCO's "GT box" protocol), crops
as in training without augmentation, plus a flip test (the mirrored crop's
prediction mapped back, left/right swapped, averaged with the plain one);
predictions map back to the image through the inverse crop affine. Metrics:
``synth.estimators.keypoints2d.metrics.evaluate_keypoints``, of the model, of its untrained initialisation
(rebuilt from the checkpoint's seed) and of the constant baseline (the training mean pose drawn in each
person's crop, ``baseline_metrics``).
"""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np
import torch

from synth.estimators.engine.backbone import rebuild_initial
from synth.estimators.engine.checkpoint import CheckpointFormat
from synth.estimators.engine.crops import apply_affine, invert_affine, warp_crop
from synth.estimators.engine.errors import EstimatorError
from synth.estimators.engine.device import device_record, resolve_device
from synth.estimators.engine.fit import Schedule, begin_run, fit, run_description, set_threads
from synth.core.atomic import write_json_atomic
from synth.estimators.keypoints2d.coco import limb_accuracy, load_coco_instances
from synth.estimators.engine.crops import Augmentation
from synth.estimators.keypoints2d.data import (KEYPOINT_AUGMENTATION, PersonInstances, TopDownKeypointDataset, load_person_instances,
                                               select_keypoints)
from synth.estimators.keypoints2d.metrics import compute_epe, evaluate_keypoints
from synth.estimators.keypoints2d.model import (Keypoints2DConfig, SimCCPoseNet, build_model, decode_simcc,
                                                default_sigma_bins, kl_discrete_loss, make_simcc_targets)

CHECKPOINT = CheckpointFormat("synth-keypoints2d", 1, "2D keypoint")


def _collate(items: list[dict]) -> dict[str, Any]:
    return {
        "image": torch.from_numpy(np.stack([it["image"] for it in items])),
        "keypoints": torch.from_numpy(np.stack([it["keypoints"] for it in items])),
        "weights": torch.from_numpy(np.stack([it["weights"] for it in items])),
        "affine": np.stack([it["affine"] for it in items]),
        "index": np.array([it["index"] for it in items]),
    }


def save_checkpoint(path: str, model: SimCCPoseNet, extra: dict | None = None) -> None:
    """Write ``{format, version, config, state_dict, ...extra}`` atomically."""
    CHECKPOINT.save(path, model, extra)


def load_checkpoint(path: str, device: str = "cpu") -> tuple[SimCCPoseNet, dict]:
    """The model of a ``model.pt`` written by training (eval mode, on the resolved ``device``) and the checkpoint's
    metadata."""
    return CHECKPOINT.load(path, lambda ck: SimCCPoseNet(Keypoints2DConfig.from_dict(ck["config"])), device)


@torch.no_grad()
def predict_instances(model: SimCCPoseNet, data: PersonInstances, *, batch_size: int = 64,
                      flip_test: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Keypoints of every instance from its ground-truth box.

    Returns pred (N, K, 2) float64 px image pixel-centre coordinates, keypoint confidences (N, K) in [0, 1],
    and person scores (N,) (mean keypoint confidence).
    """
    cfg = model.config
    model.eval()
    flip_index = np.asarray(cfg.flip_index, np.int64)
    ds = TopDownKeypointDataset(data, cfg.input_hw, flip_index, train=False, padding=cfg.padding)

    n, k = len(ds), cfg.num_keypoints
    pred = np.zeros((n, k, 2))
    conf = np.zeros((n, k))
    for start in range(0, n, batch_size):
        idx = list(range(start, min(n, start + batch_size)))
        passes = [False, True] if flip_test else [False]
        acc_p, acc_c = 0.0, 0.0
        for flip in passes:
            Ms = [ds.crop_affine(i, flip=flip) for i in idx]
            crops = np.stack([warp_crop(data.images[data.instances[i].image_index], M, cfg.input_hw)
                              for i, M in zip(idx, Ms)])
            lx, ly = model(model.normalize(torch.from_numpy(crops)))
            kc, c = decode_simcc(lx, ly, cfg.split_ratio)
            kc, c = kc.cpu().numpy().astype(np.float64), c.cpu().numpy().astype(np.float64)
            p_img = np.stack([apply_affine(invert_affine(M), kc[j]) for j, M in enumerate(Ms)])
            if flip:   # entry k of the mirrored crop's output is keypoint flip_index[k] of the person
                p_img, c = p_img[:, flip_index], c[:, flip_index]
            acc_p = acc_p + p_img
            acc_c = acc_c + c
        pred[idx] = acc_p / len(passes)
        conf[idx] = acc_c / len(passes)
    return pred, conf, conf.mean(axis=1)


def _metrics(pred: np.ndarray, scores: np.ndarray, data: PersonInstances) -> dict[str, Any]:
    gt = np.stack([i.keypoints for i in data.instances]).astype(np.float64)
    flags = np.stack([i.flags for i in data.instances])
    area = np.array([i.area_px for i in data.instances])
    boxes = np.stack([i.bbox_xyxy for i in data.instances])
    out: dict[str, Any] = evaluate_keypoints(pred, scores, gt, flags, area, boxes)
    out["limb_accuracy"] = limb_accuracy(pred, gt, flags, boxes[:, 3] - boxes[:, 1])
    if pred.shape[1] > 17:
        out["EPE_all_keypoints_px"] = compute_epe(pred, gt, flags)
    out["views"] = data.views
    return out


def evaluate_model(model: SimCCPoseNet, data: PersonInstances, *, batch_size: int = 64,
                   flip_test: bool = True) -> dict[str, Any]:
    """Metrics of ``model`` on loaded instances (see ``metrics.evaluate_keypoints``), plus timing."""
    t0 = time.perf_counter()
    pred, _, scores = predict_instances(model, data, batch_size=batch_size, flip_test=flip_test)
    seconds = time.perf_counter() - t0
    out = _metrics(pred, scores, data)
    out["flip_test"] = flip_test
    out["predict_images_per_s"] = round(len(pred) * (2 if flip_test else 1) / max(seconds, 1e-9), 2)
    return out


def mean_crop_keypoints(data: PersonInstances, config: Keypoints2DConfig) -> np.ndarray:
    """(K, 2) float64 crop px: the mean of every labelled keypoint in its person's plain crop (a keypoint
    never labelled sits at the crop centre)."""
    ds = TopDownKeypointDataset(data, config.input_hw, np.asarray(config.flip_index), padding=config.padding)
    kp = np.stack([apply_affine(ds.crop_affine(i), inst.keypoints) for i, inst in enumerate(data.instances)])
    labelled = np.stack([inst.flags > 0 for inst in data.instances])[..., None]
    n = labelled.sum(axis=0)
    mean = np.where(labelled, np.nan_to_num(kp), 0.0).sum(axis=0) / np.maximum(n, 1)
    centre = [(config.input_hw[1] - 1) / 2.0, (config.input_hw[0] - 1) / 2.0]
    return np.where(n > 0, mean, centre)


def baseline_metrics(config: Keypoints2DConfig, data: PersonInstances) -> dict[str, Any] | None:
    """Metrics of the constant baseline: the training mean pose (``config.baseline_keypoints_crop_px``) drawn in
    each person's plain crop, the same crop the model sees, mapped back to the image (score 1 for everyone).
    None for a checkpoint that does not store it."""
    if not len(config.baseline_keypoints_crop_px):
        return None
    mean = np.asarray(config.baseline_keypoints_crop_px, np.float64)
    ds = TopDownKeypointDataset(data, config.input_hw, np.asarray(config.flip_index), padding=config.padding)
    pred = np.stack([apply_affine(invert_affine(ds.crop_affine(i)), mean) for i in range(len(ds))])
    return _metrics(pred, np.ones(len(pred)), data)


def train_keypoints2d(data: str | list[str], out_dir: str, *, val: str | list[str] | None = None, epochs: int = 10,
                      batch_size: int = 32, input_hw: tuple[int, int] = (128, 96), lr: float = 1e-3,
                      weight_decay: float = 0.05, num_keypoints: int = 17, pretrained: bool = True,
                      occluded_weight: float = 1.0, threads: int | None = None, seed: int = 0,
                      max_steps: int | None = None, time_budget_s: float | None = None, warmup: float = 0.05,
                      flip_test: bool = True, min_area_px: float = 64.0, output_stride: int = 32,
                      log_every: int = 20, device: str = "auto", frozen_blocks: int = 4,
                      visible_box_prob: float = 0.5, degrade: bool = True) -> dict[str, Any]:
    """Train on ``data`` (one or more dataset folders), write ``out_dir``; returns the run summary.

    Stops after ``epochs`` epochs, or ``max_steps`` optimiser steps, or ``time_budget_s`` seconds of
    training (validation not counted), whichever comes first; the learning-rate schedule follows whichever
    limit is nearest.

    ``frozen_blocks``: the first MobileNetV2 blocks kept at ImageNet (weights and batch-norm statistics);
    ``visible_box_prob``: the share of training crops cut around the tight box of the visible mask instead of
    the amodal box (real annotation boxes are tight); ``degrade``: blur, noise, JPEG and grayscale augmentation
    (``KEYPOINT_AUGMENTATION``).
    """
    dev = resolve_device(device)   # before the data is read: a missing GPU fails at once
    if not 0 <= int(frozen_blocks) <= 18:
        raise EstimatorError(f"--frozen-blocks: expected 0..18 (MobileNetV2 has 19 feature blocks), got {frozen_blocks}")
    if not 0.0 <= float(visible_box_prob) <= 1.0:
        raise EstimatorError(f"--visible-box-prob: expected a probability in [0, 1], got {visible_box_prob}")
    begin_run(threads, seed)
    names, flip_index = select_keypoints(num_keypoints)
    t_load = time.perf_counter()
    train_data = load_person_instances(data, names, min_keypoints=3, min_area_px=min_area_px)
    val_data = load_person_instances(val, names, min_area_px=min_area_px) if val else None
    load_s = time.perf_counter() - t_load
    config = Keypoints2DConfig(keypoint_names=names, input_hw=tuple(input_hw), sigma_bins=default_sigma_bins(input_hw),
                               pretrained="imagenet" if pretrained else "none", flip_index=flip_index.tolist(),
                               output_stride=output_stride, frozen_blocks=int(frozen_blocks))
    config.baseline_keypoints_crop_px = tuple(map(tuple, mean_crop_keypoints(train_data, config).round(3).tolist()))
    model = build_model(config, pretrained=pretrained)
    ds = TopDownKeypointDataset(train_data, config.input_hw, flip_index, train=True, padding=config.padding,
                                occluded_weight=occluded_weight, seed=seed, visible_box_prob=visible_box_prob,
                                augmentation=KEYPOINT_AUGMENTATION if degrade else Augmentation())
    schedule = Schedule(epochs=epochs, batch_size=batch_size, lr=lr, weight_decay=weight_decay, warmup=warmup,
                        seed=seed, max_steps=max_steps, time_budget_s=time_budget_s, log_every=log_every,
                        device=dev)
    history = run_description(
        config, train_data, val_data,
        train_people=len(train_data), train_views=train_data.views,
        val_people=len(val_data) if val_data else 0, val_views=val_data.views if val_data else 0,
        hyper=schedule.hyper(occluded_weight=occluded_weight, frozen_blocks=int(frozen_blocks),
                             visible_box_prob=float(visible_box_prob), degrade=bool(degrade)),
        val_baseline=baseline_metrics(config, val_data) if val_data else None, load_s=round(load_s, 2))

    def step_loss(net: SimCCPoseNet, batch: dict[str, Any]) -> tuple[torch.Tensor, list[float]]:
        tx, ty = make_simcc_targets(batch["keypoints"], config.input_hw, config.split_ratio, config.sigma_bins)
        lx, ly = net(net.normalize(batch["image"]))
        return kl_discrete_loss(lx, ly, tx, ty, batch["weights"]), []

    return fit(model, ds, _collate, step_loss, CHECKPOINT, out_dir, schedule, history,
               validate=(lambda net: evaluate_model(net, val_data, flip_test=flip_test)) if val_data else None,
               describe_val=lambda v: (f"AP {v['AP']:.4f} AP50 {v['AP50']:.4f} PCK@0.2 {v['PCK@0.2']:.4f} "
                                       f"EPE {v['EPE_px']:.2f} px"))


def evaluate_keypoints2d(model_path: str, data: str | list[str], *, out: str | None = None, batch_size: int = 64,
                         flip_test: bool = True, threads: int | None = None,
                         min_area_px: float = 64.0, device: str = "auto") -> dict[str, Any]:
    """Evaluate a checkpoint on dataset folder(s); write the metrics JSON to ``out`` when given."""
    set_threads(threads)
    dev = resolve_device(device)
    model, meta = load_checkpoint(model_path, dev)
    data_i = load_person_instances(data, model.config.keypoint_names, min_area_px=min_area_px)
    metrics = evaluate_model(model, data_i, batch_size=batch_size, flip_test=flip_test)
    init = rebuild_initial(lambda: SimCCPoseNet(model.config), model, meta.get("seed"))
    result = {"model": os.path.abspath(model_path), "epoch": meta.get("epoch"), "data": data_i.sources,
              "keypoints": model.config.num_keypoints, "input_hw": list(model.config.input_hw),
              "min_area_px": min_area_px, "metrics": metrics,
              "initial": evaluate_model(init, data_i, batch_size=batch_size, flip_test=flip_test) if init else None,
              "baseline": baseline_metrics(model.config, data_i), **device_record(dev)}
    if out:
        write_json_atomic(out, result)
    return result


def concat_instances(parts: list[PersonInstances]) -> PersonInstances:
    """One ``PersonInstances`` holding the people (and images) of several, in order."""
    import dataclasses

    images, instances, sources, views, seen = [], [], [], 0, 0
    for part in parts:
        off = len(images)
        images += part.images
        instances += [dataclasses.replace(i, image_index=i.image_index + off) for i in part.instances]
        sources += part.sources
        views += part.views
        seen += part.people_seen
    return PersonInstances(images, instances, list(parts[0].keypoint_names), sources, views, seen)


def evaluate_on_instances(model: SimCCPoseNet, meta: dict, data: PersonInstances, *, batch_size: int = 64,
                          flip_test: bool = True) -> dict[str, Any]:
    """``metrics`` (the model), ``initial`` (its untrained initialisation, rebuilt from the checkpoint's seed) and
    ``baseline`` (the training mean pose in each crop) on loaded people, each with ``limb_accuracy``."""
    init = rebuild_initial(lambda: SimCCPoseNet(model.config), model, meta.get("seed"))
    return {"metrics": evaluate_model(model, data, batch_size=batch_size, flip_test=flip_test),
            "initial": evaluate_model(init, data, batch_size=batch_size, flip_test=flip_test) if init else None,
            "baseline": baseline_metrics(model.config, data)}


def evaluate_keypoints2d_coco(model_path: str, coco: str | list[str], *, images: str | list[str] | None = None,
                              out: str | None = None, batch_size: int = 64, flip_test: bool = True,
                              threads: int | None = None, device: str = "auto") -> dict[str, Any]:
    """Evaluate a checkpoint on COCO person-keypoints set(s) (real photos or ``synth export`` output), only on
    the keypoints each set labels: per set and pooled, the model, its untrained initialisation and the constant
    mean-pose baseline, each with COCO OKS AP (ground-truth boxes) and ``limb_accuracy`` (joints within
    0.1 x box height, per joint group, with counts). ``images``: one folder per ``coco`` file (default: the
    ``images`` folder beside each file). Writes the JSON to ``out`` when given."""
    set_threads(threads)
    coco = [coco] if isinstance(coco, (str, os.PathLike)) else list(coco)
    images = [None] * len(coco) if images is None else ([images] if isinstance(images, str) else list(images))
    if len(images) != len(coco):
        raise EstimatorError(f"--images: give one image folder per --coco file ({len(coco)}), got {len(images)}")
    dev = resolve_device(device)
    model, meta = load_checkpoint(model_path, dev)
    names = model.config.keypoint_names
    sets = [load_coco_instances(c, d, keypoint_names=names) for c, d in zip(coco, images)]
    result: dict[str, Any] = {"model": os.path.abspath(model_path), "epoch": meta.get("epoch"),
                              "keypoints": model.config.num_keypoints, "input_hw": list(model.config.input_hw),
                              "protocol": "COCO ground-truth boxes, flip test" if flip_test else
                                          "COCO ground-truth boxes, no flip test",
                              **device_record(dev), "sets": {}}
    for path, data in zip(coco, sets):
        name = os.path.basename(os.path.dirname(os.path.abspath(path))) or path
        result["sets"][name] = {"annotations": os.path.abspath(path), "images": data.views, "people": len(data)}
        result["sets"][name] |= evaluate_on_instances(model, meta, data, batch_size=batch_size, flip_test=flip_test)
    pooled = concat_instances(sets)
    result["pooled"] = {"images": pooled.views, "people": len(pooled)}
    result["pooled"] |= evaluate_on_instances(model, meta, pooled, batch_size=batch_size, flip_test=flip_test)
    if out:
        write_json_atomic(out, result)
    return result
