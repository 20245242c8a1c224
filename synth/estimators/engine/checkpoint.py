"""The checkpoint format of every bundled estimator: ``RUN/model.pt`` holds ``{format, version, config,
state_dict, ...extra}`` written with ``torch.save`` (atomically) and read with ``weights_only=True``.
``format`` names the task (``CHECKPOINT_TASKS``), so a checkpoint handed to the wrong command says which one
reads it; ``version`` is the task's layout version. torch is imported only when a checkpoint is read or written.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable

from synth.core.atomic import atomic_write
from synth.estimators.engine.errors import EstimatorError

#: Checkpoint format -> the estimator task that wrote it (``synth train TASK`` / ``synth evaluate TASK``).
CHECKPOINT_TASKS = {"synth-keypoints2d": "keypoints2d", "synth-camera-calib": "camera", "synth-contact": "contact",
                    "synth-body-mesh": "mesh"}


def write_checkpoint(path: str, fmt: str, version: int, config: dict, state_dict: dict,
                     extra: dict | None = None) -> None:
    """Write ``{format, version, config, state_dict, ...extra}`` with ``torch.save`` atomically (temp + rename)."""
    import torch

    record = {"format": fmt, "version": version, "config": config, "state_dict": state_dict, **(extra or {})}
    atomic_write(path, lambda tmp: torch.save(record, tmp))


def read_checkpoint(path: str, fmt: str, version: int, what: str) -> dict:
    """The checkpoint dict of a ``model.pt`` of format ``fmt`` (``what`` names it in errors, e.g. 'camera
    calibration'); EstimatorError for a missing, unreadable, other-task or other-version file, with the fix."""
    import torch

    task = CHECKPOINT_TASKS[fmt]
    if not os.path.isfile(path):
        raise EstimatorError(f"{path}: no such checkpoint; train one with "
                             f"'synth train {task} --data OUT --out RUN_DIR' and pass RUN_DIR/model.pt")
    try:
        ck = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:   # torch raises several types for a damaged or foreign file
        raise EstimatorError(f"{path}: cannot read the checkpoint ({type(err).__name__}: {err}); "
                             f"expected a model.pt written by 'synth train {task}'") from None
    found = ck.get("format") if isinstance(ck, dict) else type(ck).__name__
    if found != fmt:
        hint = (f"evaluate it with 'synth evaluate {CHECKPOINT_TASKS[found]}'" if found in CHECKPOINT_TASKS
                else f"pass a model.pt written by 'synth train {task}'")
        raise EstimatorError(f"{path}: not a synth {what} checkpoint (format {found!r}, expected {fmt!r}); {hint}")
    if ck.get("version") != version:
        raise EstimatorError(f"{path}: checkpoint version {ck.get('version')}, this synth reads "
                             f"{version}; retrain with this version ('synth train {task}')")
    return ck


@dataclass(frozen=True)
class CheckpointFormat:
    """One task's checkpoint: its ``format`` string, layout ``version`` and a name for errors (``what``).

    The model must have a ``config`` with ``to_dict()``; ``load`` rebuilds it with ``build(checkpoint_dict)``
    (config and ``extra_of``'s entries are there).
    """

    name: str
    version: int
    what: str
    #: extra top-level entries the model needs to be rebuilt (e.g. a buffer's size), from the model
    extra_of: Callable[[Any], dict] | None = None

    def save(self, path: str, model: Any, extra: dict | None = None) -> None:
        """Write ``{format, version, config, state_dict, ...extra_of(model), ...extra}`` atomically (the weights
        as CPU tensors, wherever the model is)."""
        extra = {**(self.extra_of(model) if self.extra_of else {}), **(extra or {})}
        state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
        write_checkpoint(path, self.name, self.version, model.config.to_dict(), state, extra)

    def read(self, path: str) -> dict:
        """The checkpoint dict (EstimatorError for a missing, foreign or other-version file)."""
        return read_checkpoint(path, self.name, self.version, self.what)

    def load(self, path: str, build: Callable[[dict], Any], device: str = "cpu") -> tuple[Any, dict]:
        """(model in eval mode with the stored weights on ``device`` (a resolved torch device name), the
        checkpoint's metadata without the weights). The weights are read onto the CPU first, so a checkpoint
        written on a GPU loads anywhere."""
        ck = self.read(path)
        model = build(ck)
        model.load_state_dict(ck["state_dict"], strict=True)
        model.to(device)
        model.eval()
        return model, {k: v for k, v in ck.items() if k != "state_dict"}
