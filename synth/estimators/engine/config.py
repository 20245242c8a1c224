"""The base of every task's model config: a dataclass that a checkpoint stores as a plain dict."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, ClassVar

from synth.estimators.engine.errors import EstimatorError


class ConfigRecord:
    """Mixin for a task's config dataclass: ``to_dict`` (tuples become lists, so ``torch.load(weights_only=True)``
    and JSON read it) and ``from_dict`` (lists become tuples again, except the fields in ``LIST_FIELDS``)."""

    LIST_FIELDS: ClassVar[tuple[str, ...]] = ()

    def to_dict(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]):
        return cls(**{k: (tuple(v) if isinstance(v, list) and k not in cls.LIST_FIELDS else v) for k, v in d.items()})


def check_input_size(input_hw: tuple[int, int]) -> None:
    """EstimatorError unless both sides of the (height, width) input are positive multiples of 32 (the backbone's
    stride)."""
    h, w = (int(v) for v in input_hw)
    if h <= 0 or w <= 0 or h % 32 or w % 32:
        raise EstimatorError(f"input size {h}x{w}: both sides must be positive multiples of 32 (MobileNetV2's "
                             "stride), e.g. 128x96, 160x160 or 256x192 (--input)")
