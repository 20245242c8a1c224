"""Train and evaluate the top-down 2D keypoint estimator (MobileNetV2 + SimCC) on synth datasets.

    run = train_keypoints2d("out/train", "runs/kp", val="out/val", epochs=10)
    metrics = evaluate_keypoints2d("runs/kp/model.pt", "out/val")

Training: AdamW (no weight decay on norms and biases), linear warm-up then
cosine decay to 5 % of the learning rate, over the planned steps or, with a
time budget, over the budget's wall time (whichever ends first). After every
epoch: ``RUN_DIR/model.pt`` (weights + config + epoch), ``RUN_DIR/metrics/
epoch_NNN.json`` (train loss, images/s, val metrics when ``val`` is given) and
``RUN_DIR/history.json`` (all epochs and per-step losses), each written
atomically.

Evaluation: ground-truth boxes (top-down, as COCO's "GT box" protocol), crops
as in training without augmentation, plus a flip test (the mirrored crop's
prediction mapped back, left/right swapped, averaged with the plain one);
predictions map back to the image through the inverse crop affine. Metrics:
``synth.estimators.metrics.evaluate_keypoints``.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

import numpy as np
import torch

from synth.estimators.common import (epoch_record, finish_history, read_checkpoint, save_epoch, write_checkpoint,
                                     write_json_atomic)
from synth.estimators.common import lr_factor as _lr_factor
from synth.estimators.common import param_groups as _param_groups
from synth.estimators.common import set_threads as _set_threads
from synth.estimators.crops import apply_affine, invert_affine
from synth.estimators.data import (PersonInstances, TopDownKeypointDataset, load_person_instances,
                                   select_keypoints)
from synth.estimators.metrics import evaluate_keypoints
from synth.estimators.model import (Keypoints2DConfig, SimCCPoseNet, build_model, decode_simcc, default_sigma_bins,
                                    kl_discrete_loss, make_simcc_targets)

log = logging.getLogger(__name__)

CHECKPOINT_FORMAT = "synth-keypoints2d"
CHECKPOINT_VERSION = 1


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
    write_checkpoint(path, CHECKPOINT_FORMAT, CHECKPOINT_VERSION, model.config.to_dict(), model.state_dict(), extra)


def load_checkpoint(path: str) -> tuple[SimCCPoseNet, dict]:
    """The model of a ``model.pt`` written by training (eval mode) and the checkpoint's metadata."""
    ck = read_checkpoint(path, CHECKPOINT_FORMAT, CHECKPOINT_VERSION, "2D keypoint")
    config = Keypoints2DConfig.from_dict(ck["config"])
    model = SimCCPoseNet(config)
    model.load_state_dict(ck["state_dict"], strict=True)
    model.eval()
    meta = {k: v for k, v in ck.items() if k != "state_dict"}
    return model, meta


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
    from synth.estimators.crops import warp_crop

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
            kc, c = kc.numpy().astype(np.float64), c.numpy().astype(np.float64)
            p_img = np.stack([apply_affine(invert_affine(M), kc[j]) for j, M in enumerate(Ms)])
            if flip:   # entry k of the mirrored crop's output is keypoint flip_index[k] of the person
                p_img, c = p_img[:, flip_index], c[:, flip_index]
            acc_p = acc_p + p_img
            acc_c = acc_c + c
        pred[idx] = acc_p / len(passes)
        conf[idx] = acc_c / len(passes)
    return pred, conf, conf.mean(axis=1)


def evaluate_model(model: SimCCPoseNet, data: PersonInstances, *, batch_size: int = 64,
                   flip_test: bool = True) -> dict[str, Any]:
    """Metrics of ``model`` on loaded instances (see ``metrics.evaluate_keypoints``), plus timing."""
    t0 = time.perf_counter()
    pred, conf, scores = predict_instances(model, data, batch_size=batch_size, flip_test=flip_test)
    seconds = time.perf_counter() - t0
    gt = np.stack([i.keypoints for i in data.instances]).astype(np.float64)
    flags = np.stack([i.flags for i in data.instances])
    area = np.array([i.area_px for i in data.instances])
    boxes = np.stack([i.bbox_xyxy for i in data.instances])
    out: dict[str, Any] = evaluate_keypoints(pred, scores, gt, flags, area, boxes)
    if pred.shape[1] > 17:
        from synth.estimators.metrics import compute_epe

        out["EPE_all_keypoints_px"] = compute_epe(pred, gt, flags)
    out["views"] = data.views
    out["flip_test"] = flip_test
    out["predict_images_per_s"] = round(len(pred) * (2 if flip_test else 1) / max(seconds, 1e-9), 2)
    return out


def train_keypoints2d(data: str | list[str], out_dir: str, *, val: str | list[str] | None = None, epochs: int = 10,
                      batch_size: int = 32, input_hw: tuple[int, int] = (128, 96), lr: float = 1e-3,
                      weight_decay: float = 0.05, num_keypoints: int = 17, pretrained: bool = True,
                      occluded_weight: float = 1.0, threads: int | None = None, seed: int = 0,
                      max_steps: int | None = None, time_budget_s: float | None = None, warmup: float = 0.05,
                      flip_test: bool = True, min_area_px: float = 64.0, output_stride: int = 32,
                      log_every: int = 20) -> dict[str, Any]:
    """Train on ``data`` (one or more dataset folders), write ``out_dir``; returns the run summary.

    Stops after ``epochs`` epochs, or ``max_steps`` optimiser steps, or ``time_budget_s`` seconds of
    training (validation not counted), whichever comes first; the learning-rate schedule follows whichever
    limit is nearest.
    """
    _set_threads(threads)
    torch.manual_seed(seed)
    names, flip_index = select_keypoints(num_keypoints)
    t_load = time.perf_counter()
    train_data = load_person_instances(data, names, min_keypoints=3, min_area_px=min_area_px)
    val_data = load_person_instances(val, names, min_area_px=min_area_px) if val else None
    load_s = time.perf_counter() - t_load
    config = Keypoints2DConfig(keypoint_names=names, input_hw=tuple(input_hw), sigma_bins=default_sigma_bins(input_hw),
                               pretrained="imagenet" if pretrained else "none", flip_index=flip_index.tolist(),
                               output_stride=output_stride)
    model = build_model(config, pretrained=pretrained)
    ds = TopDownKeypointDataset(train_data, config.input_hw, flip_index, train=True, padding=config.padding,
                                occluded_weight=occluded_weight, seed=seed)
    loader = torch.utils.data.DataLoader(ds, batch_size=batch_size, shuffle=True, drop_last=len(ds) >= batch_size,
                                         collate_fn=_collate, num_workers=0,
                                         generator=torch.Generator().manual_seed(seed))
    steps_per_epoch = len(loader)
    planned = epochs * steps_per_epoch if max_steps is None else min(max_steps, epochs * steps_per_epoch)
    opt = torch.optim.AdamW(_param_groups(model, weight_decay), lr=lr, betas=(0.9, 0.999))
    os.makedirs(out_dir, exist_ok=True)
    stale = os.path.join(out_dir, "metrics")
    if os.path.isdir(stale):   # a run folder is overwritten: drop the previous run's per-epoch files
        for name in os.listdir(stale):
            if name.startswith("epoch_") and name.endswith(".json"):
                os.remove(os.path.join(stale, name))
    history: dict[str, Any] = {
        "config": config.to_dict(), "train_data": train_data.sources,
        "val_data": val_data.sources if val_data else None,
        "train_people": len(train_data), "train_views": train_data.views,
        "val_people": len(val_data) if val_data else 0, "val_views": val_data.views if val_data else 0,
        "hyper": {"epochs": epochs, "batch_size": batch_size, "lr": lr, "weight_decay": weight_decay,
                  "occluded_weight": occluded_weight, "seed": seed, "max_steps": max_steps,
                  "time_budget_s": time_budget_s, "threads": torch.get_num_threads(), "warmup": warmup},
        "load_s": round(load_s, 2), "epochs": [], "steps": [],
    }
    log.info("training on %d people (%d views), %d steps/epoch, %d threads", len(train_data), train_data.views,
             steps_per_epoch, torch.get_num_threads())
    step = 0
    t_train = time.perf_counter()
    train_seconds = 0.0
    images_seen = 0
    stop = False
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
                g["lr"] = lr * _lr_factor(progress, warmup)
            tx, ty = make_simcc_targets(batch["keypoints"], config.input_hw, config.split_ratio, config.sigma_bins)
            lx, ly = model(model.normalize(batch["image"]))
            loss = kl_discrete_loss(lx, ly, tx, ty, batch["weights"])
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
            rec["val"] = evaluate_model(model, val_data, flip_test=flip_test)
            rec["val_seconds"] = round(time.perf_counter() - t_v, 2)
            log.info("epoch %d: loss %.5f, val AP %.4f AP50 %.4f PCK@0.2 %.4f EPE %.2f px", epoch,
                     rec["train_loss"], rec["val"]["AP"], rec["val"]["AP50"], rec["val"]["PCK@0.2"],
                     rec["val"]["EPE_px"])
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


def evaluate_keypoints2d(model_path: str, data: str | list[str], *, out: str | None = None, batch_size: int = 64,
                         flip_test: bool = True, threads: int | None = None,
                         min_area_px: float = 64.0) -> dict[str, Any]:
    """Evaluate a checkpoint on dataset folder(s); write the metrics JSON to ``out`` when given."""
    _set_threads(threads)
    model, meta = load_checkpoint(model_path)
    data_i = load_person_instances(data, model.config.keypoint_names, min_area_px=min_area_px)
    metrics = evaluate_model(model, data_i, batch_size=batch_size, flip_test=flip_test)
    result = {"model": os.path.abspath(model_path), "epoch": meta.get("epoch"), "data": data_i.sources,
              "keypoints": model.config.num_keypoints, "input_hw": list(model.config.input_hw),
              "min_area_px": min_area_px, "metrics": metrics}
    if out:
        write_json_atomic(out, result)
    return result
