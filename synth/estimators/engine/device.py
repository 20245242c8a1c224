"""Where an estimator runs: ``--device auto|cpu|cuda`` of ``synth train|evaluate|predict TASK``.

``auto`` is ``cuda`` when torch sees a CUDA GPU, else ``cpu``; ``cuda`` without one is an EstimatorError that
says so. The device a run used is recorded (``device_record``) in ``history.json``, the checkpoint and the
evaluation JSON. Checkpoints are always read onto the CPU first (``map_location="cpu"``), so a model trained
on a GPU loads on a machine without one. torch is imported inside the functions.
"""

from __future__ import annotations

from typing import Any

from synth.estimators.engine.errors import EstimatorError

#: The values ``--device`` takes.
DEVICE_CHOICES = ("auto", "cpu", "cuda")


def resolve_device(name: str | None) -> str:
    """'auto' | 'cpu' | 'cuda' (None = 'auto') -> the torch device string to use ('cpu' or 'cuda');
    EstimatorError for another name or for 'cuda' where torch sees no CUDA GPU."""
    import torch

    name = "auto" if name is None else str(name).lower()
    if name not in DEVICE_CHOICES:
        raise EstimatorError(f"--device {name!r}: expected one of {', '.join(DEVICE_CHOICES)}")
    has_cuda = bool(torch.cuda.is_available())
    if name == "cuda" and not has_cuda:
        built = torch.version.cuda
        why = (f"this torch {torch.__version__} is built without CUDA" if not built else
               f"this torch {torch.__version__} (CUDA {built}) finds no usable GPU")
        raise EstimatorError(f"--device cuda: {why}; expected a machine with an NVIDIA GPU and a CUDA build of "
                             "torch; use --device cpu (or auto, which takes the GPU when there is one)")
    return "cuda" if name == "cuda" or (name == "auto" and has_cuda) else "cpu"


def device_record(device: str) -> dict[str, Any]:
    """What a result records about the device: ``device`` ('cpu' / 'cuda'), ``device_name`` (the GPU's name,
    or 'cpu') and torch's CPU ``threads``."""
    import torch

    name = torch.cuda.get_device_name(torch.device(device)) if device.startswith("cuda") else "cpu"
    return {"device": device, "device_name": name, "threads": torch.get_num_threads()}


def to_device(batch: dict[str, Any], device: str) -> dict[str, Any]:
    """The batch with its torch tensors moved to ``device`` (numpy arrays and other values as they are)."""
    import torch

    return {k: (v.to(device, non_blocking=True) if isinstance(v, torch.Tensor) else v) for k, v in batch.items()}
