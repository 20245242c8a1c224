"""The one training loop of every bundled estimator: ``fit(model, dataset, ...)``.

Optimiser: AdamW (weight decay on weights, none on norms and biases). Schedule: linear warm-up over the
first ``warmup`` fraction, then cosine decay to 5 % of the learning rate, over the planned steps or, with a
time budget, over the budget's training time (validation not counted), whichever ends first. Stops after
``epochs`` epochs, ``max_steps`` optimiser steps or ``time_budget_s`` seconds of training, whichever comes
first. With ``validate`` the untrained initialisation is validated first (``history["val_initial"]``), then
the model after every epoch. After every epoch, each written atomically: ``RUN/model.pt`` (the task's
checkpoint with ``epoch``, ``steps`` and ``seed``), ``RUN/metrics/epoch_NNN.json`` (train loss, images/s, val
metrics) and ``RUN/history.json`` (the task's run description, all epochs and per-step losses); at the end
the run totals. The model and each batch's tensors go to ``schedule.device`` (a resolved ``engine.device``
name); the device is recorded in ``history.json`` (``device``) and the checkpoint (``device``). torch is
imported inside the functions, so importing this module stays cheap.
"""

from __future__ import annotations

import logging
import math
import os
import time
from dataclasses import dataclass
from typing import Any, Callable

from synth.estimators.engine.checkpoint import CheckpointFormat
from synth.estimators.engine.errors import EstimatorError
from synth.core.atomic import write_json_atomic

log = logging.getLogger(__name__)


def set_threads(threads: int | None) -> None:
    """torch CPU threads (when given) and single-threaded OpenCV (the loaders call it per item)."""
    import torch

    if threads:
        torch.set_num_threads(int(threads))
    try:
        import cv2

        cv2.setNumThreads(1)
    except ImportError as err:
        raise EstimatorError(f"OpenCV is needed for the crops ({err}); pip install 'synth[train]'") from None


def begin_run(threads: int | None, seed: int) -> None:
    """Threads (``set_threads``) and torch's seed, before the data is loaded and the model built."""
    import torch

    set_threads(threads)
    torch.manual_seed(seed)


def param_groups(model, weight_decay: float) -> list[dict]:
    """AdamW parameter groups: weight decay on weights, none on norms and biases (1-D parameters)."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        (no_decay if p.ndim <= 1 or name.endswith(".bias") else decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def lr_factor(progress: float, warmup: float) -> float:
    """Linear warm-up over the first ``warmup`` fraction, then cosine from 1 to 0.05."""
    if progress < warmup:
        return 0.001 + (1 - 0.001) * progress / max(warmup, 1e-9)
    t = min(1.0, (progress - warmup) / max(1.0 - warmup, 1e-9))
    return 0.05 + 0.95 * 0.5 * (1.0 + math.cos(math.pi * t))


@dataclass(frozen=True)
class Schedule:
    """How long and how fast to train (see the module docstring)."""

    epochs: int = 10
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 0.05
    warmup: float = 0.05
    seed: int = 0
    max_steps: int | None = None
    time_budget_s: float | None = None
    log_every: int = 20
    #: torch device of the run, already resolved ('cpu' or 'cuda'; ``engine.device.resolve_device``)
    device: str = "cpu"

    def hyper(self, **task_hyper: Any) -> dict[str, Any]:
        """The ``hyper`` block of ``history.json``: the schedule, the task's own settings, torch's threads."""
        import torch

        return {"epochs": self.epochs, "batch_size": self.batch_size, "lr": self.lr,
                "weight_decay": self.weight_decay, **task_hyper, "seed": self.seed, "max_steps": self.max_steps,
                "time_budget_s": self.time_budget_s, "threads": torch.get_num_threads(), "warmup": self.warmup,
                "device": self.device}


def run_description(config, train_data, val_data, **fields: Any) -> dict[str, Any]:
    """The head of ``history.json``: the model config, the training / validation dataset folders (``sources``
    of the loaded data) and the task's own ``fields`` (counts, ``hyper``, baselines, ...)."""
    return {"config": config.to_dict(), "train_data": train_data.sources,
            "val_data": val_data.sources if val_data else None, **fields}


def clear_epoch_files(out_dir: str) -> None:
    """A run folder is overwritten: drop the previous run's ``metrics/epoch_NNN.json`` files."""
    stale = os.path.join(out_dir, "metrics")
    if os.path.isdir(stale):
        for name in os.listdir(stale):
            if name.startswith("epoch_") and name.endswith(".json"):
                os.remove(os.path.join(stale, name))


def epoch_record(epoch: int, step: int, losses: list[float], n_img: int, ep_s: float) -> dict[str, Any]:
    """The per-epoch summary (``metrics/epoch_NNN.json``, before validation)."""
    import numpy as np

    return {"epoch": epoch, "steps": step, "train_loss": float(np.mean(losses)), "train_images": n_img,
            "train_seconds": round(ep_s, 2), "train_images_per_s": round(n_img / max(ep_s, 1e-9), 2)}


def collate(items: list[dict], tensor_keys: tuple[str, ...], array_keys: tuple[str, ...] = ()) -> dict[str, Any]:
    """A batch of dataset items: ``tensor_keys`` stacked into torch tensors, ``array_keys`` into numpy arrays,
    and ``index`` (the items' indices) as a numpy array."""
    import numpy as np
    import torch

    out: dict[str, Any] = {k: torch.from_numpy(np.stack([it[k] for it in items])) for k in tensor_keys}
    out.update({k: np.stack([it[k] for it in items]) for k in array_keys})
    out["index"] = np.array([it["index"] for it in items])
    return out


def _make_loader(dataset, collate: Callable, schedule: Schedule):
    import torch

    return torch.utils.data.DataLoader(dataset, batch_size=schedule.batch_size, shuffle=True,
                                       drop_last=len(dataset) >= schedule.batch_size, collate_fn=collate,
                                       num_workers=0, generator=torch.Generator().manual_seed(schedule.seed))


def fit(model, dataset, collate: Callable[[list[dict]], dict], step_loss: Callable, checkpoint: CheckpointFormat,
        out_dir: str, schedule: Schedule, history: dict[str, Any], *,
        validate: Callable[[Any], dict[str, Any]] | None = None,
        describe_val: Callable[[dict[str, Any]], str] | None = None,
        describe_step: Callable[[list[float]], str] | None = None) -> dict[str, Any]:
    """Train ``model`` on ``dataset`` (a torch-style Dataset with ``set_epoch``) and write ``out_dir``.

    step_loss(model, batch) -> (loss tensor, extras): extras (floats) are appended to the step's record
    ``[step, loss, lr, *extras]`` and shown by ``describe_step`` in the log. validate(model) -> the
    epoch's ``val`` record (``describe_val`` formats it for the log). ``history`` is the task's run
    description (config, data, ``hyper``, baselines, ...); the loop adds ``val_initial``, ``epochs``,
    ``steps`` and the totals. Returns the finished history (EstimatorError when not one step ran).
    """
    import torch

    from synth.estimators.engine.device import device_record, to_device

    loader = _make_loader(dataset, collate, schedule)
    steps_per_epoch = len(loader)
    s = schedule
    planned = s.epochs * steps_per_epoch if s.max_steps is None else min(s.max_steps, s.epochs * steps_per_epoch)
    model.to(s.device)   # before the optimiser takes the parameters
    opt = torch.optim.AdamW(param_groups(model, s.weight_decay), lr=s.lr, betas=(0.9, 0.999))
    os.makedirs(out_dir, exist_ok=True)
    clear_epoch_files(out_dir)
    history = dict(history)
    device = device_record(s.device)
    history["device"] = device
    if validate is not None:
        t_v = time.perf_counter()
        history["val_initial"] = validate(model)
        history["val_initial_seconds"] = round(time.perf_counter() - t_v, 2)
    history["epochs"], history["steps"] = [], []
    log.info("training on %d items, %d steps/epoch, %s, %d threads", len(dataset), steps_per_epoch, s.device,
             torch.get_num_threads())
    step, train_seconds, images_seen, stop = 0, 0.0, 0, False
    t_train = time.perf_counter()
    for epoch in range(1, s.epochs + 1):
        dataset.set_epoch(epoch)
        model.train()
        t_ep = time.perf_counter()
        losses, n_img = [], 0
        for batch in loader:
            elapsed = train_seconds + (time.perf_counter() - t_ep)   # training time, validation excluded
            progress = step / max(planned, 1)
            if s.time_budget_s:
                progress = max(progress, elapsed / s.time_budget_s)
            if progress >= 1.0:
                stop = True
                break
            for g in opt.param_groups:
                g["lr"] = s.lr * lr_factor(progress, s.warmup)
            loss, extras = step_loss(model, to_device(batch, s.device))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            n_img += len(batch["index"])
            losses.append(float(loss.detach()))
            lr_now = opt.param_groups[0]["lr"]
            history["steps"].append([step, round(losses[-1], 6), round(lr_now, 8), *extras])
            if s.log_every and step % s.log_every == 0:
                log.info("epoch %d step %d loss %.5f%s lr %.2e", epoch, step, losses[-1],
                         describe_step(extras) if describe_step else "", lr_now)
        ep_s = time.perf_counter() - t_ep
        train_seconds += ep_s
        images_seen += n_img
        if not losses:
            break
        rec = epoch_record(epoch, step, losses, n_img, ep_s)
        if validate is not None:
            t_v = time.perf_counter()
            rec["val"] = validate(model)
            rec["val_seconds"] = round(time.perf_counter() - t_v, 2)
            log.info("epoch %d: loss %.5f, val %s", epoch, rec["train_loss"],
                     describe_val(rec["val"]) if describe_val else "done")
        else:
            log.info("epoch %d: loss %.5f", epoch, rec["train_loss"])
        history["epochs"].append(rec)
        checkpoint.save(os.path.join(out_dir, "model.pt"), model, {"epoch": epoch, "steps": step, "seed": s.seed,
                                                                       "device": device})
        write_json_atomic(os.path.join(out_dir, "metrics", f"epoch_{rec['epoch']:03d}.json"), rec)
        write_json_atomic(os.path.join(out_dir, "history.json"), history)
        if stop:
            break
    if not history["epochs"]:
        raise EstimatorError(f"training stopped before the first step (budget {s.time_budget_s} s, "
                             f"max_steps {s.max_steps}); give it more time or steps")
    history["total_steps"] = step
    history["train_seconds"] = round(train_seconds, 2)
    history["train_images_per_s"] = round(images_seen / max(train_seconds, 1e-9), 2)
    history["wall_seconds"] = round(time.perf_counter() - t_train, 2)
    write_json_atomic(os.path.join(out_dir, "history.json"), history)
    return history
