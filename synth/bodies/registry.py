"""One body-model instance per (name, options) per process.

Building a body model costs a second (reloading cached data) to minutes (a
first build), so workers share instances: ``get_body_model("anny",
topology="default")`` returns the same object every time in a process.
Body models are read-only after construction, so sharing is safe.
"""

from __future__ import annotations

import contextlib

import inspect
import threading
from typing import Any

from synth.bodies.base import BodyModel
from synth.core.errors import BodyModelError

_MODELS: dict[tuple[str, tuple[tuple[str, Any], ...]], BodyModel] = {}
_LOCK = threading.Lock()

BODY_MODEL_NAMES = ("anny", "smplx")


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    return value


def _model_class(name: str) -> type:
    if name == "anny":
        from synth.bodies.anny_model import AnnyBody

        return AnnyBody
    if name == "smplx":
        from synth.bodies.smplx_model import SmplxBody

        return SmplxBody
    raise BodyModelError(f"get_body_model: unknown body model {name!r}; expected one of {list(BODY_MODEL_NAMES)}")


def get_body_model(name: str, **options: Any) -> BodyModel:
    """The process-wide instance of body model ``name`` built with ``options``.

    name : 'anny' (options: topology, rig) or 'smplx' (options: model_dir, gender,
        num_betas, num_expression). Options equal to the defaults are the same
        instance as omitted ones (``get_body_model("anny")`` is
        ``get_body_model("anny", topology="default")``).
    """
    cls = _model_class(name)
    try:
        bound = inspect.signature(cls).bind(**options)
    except TypeError as exc:
        raise BodyModelError(
            f"get_body_model({name!r}): bad options {options}: {exc}; accepted: {list(inspect.signature(cls).parameters)}"
        ) from None
    bound.apply_defaults()
    key = (name, _freeze(dict(bound.arguments)))
    with _LOCK:
        model = _MODELS.get(key)
        if model is None:
            with _single_threaded_math():
                model = cls(**bound.arguments)
            _MODELS[key] = model
        return model


@contextlib.contextmanager
def _single_threaded_math():
    """Build models with numpy's BLAS and torch on one thread, as the workers run (``pin_math_threads``).

    Multi-threaded reductions sum in a thread-count-dependent order, so a model built on 2 threads differs from
    one built on 1 in the last bits, and every label computed from it would too. Building on one thread makes the
    cached model the same whoever asks for it first; the caller's thread settings are restored afterwards.
    """
    import torch
    from threadpoolctl import threadpool_limits

    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        with threadpool_limits(limits=1):
            yield
    finally:
        torch.set_num_threads(threads)


def clear_body_model_cache() -> None:
    """Forget every cached instance (tests; freeing memory)."""
    with _LOCK:
        _MODELS.clear()
