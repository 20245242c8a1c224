"""Draw a person's garments (plain data for the scene spec) and build them on a body.

``sample_garment_specs`` makes every random choice (which garments, their
lengths, fit, hair volume, which MakeHuman asset) and returns ``GarmentSpec``
records; ``build_garments`` turns them into bound ``Garment`` meshes for one
body shape, deterministically (the pipeline calls it after ``sample_scene``).

Sources: ``procedural`` (default, no downloads), ``makehuman`` (Anny only;
fetches CC0 assets on first use), ``mixed`` (either, per person), ``none``
(no garments: today's painted look).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from synth.clothing.garment import Garment
from synth.clothing.hair import HairParams, make_eyebrows, make_hair_shell, sample_hair_params
from synth.clothing.procedural import (
    GARMENT_KINDS,
    GarmentParams,
    RestBody,
    compute_rest_body,
    make_procedural_garment,
    sample_garment_params,
)
from synth.core.errors import SynthError

SOURCES = ("procedural", "makehuman", "mixed", "none")

#: default probabilities of the procedural outfit choices
DEFAULT_PROBABILITIES: dict[str, float] = {
    "dress": 0.12,                      # instead of top + bottom
    "tshirt": 0.5, "longsleeve": 0.35, "tank": 0.15,           # top, relative weights
    "trousers": 0.6, "shorts": 0.25, "skirt": 0.15,            # bottom, relative weights
    "socks": 0.6, "shoes": 0.93, "hair": 0.9, "eyebrows": 1.0,
    "hat": 0.08,                        # makehuman only (fedora)
}
MAKEHUMAN_OUTFITS = tuple(f"makehuman_{n}" for n in (
    "male_casualsuit01", "male_casualsuit02", "male_casualsuit03", "male_casualsuit04", "male_casualsuit05",
    "male_casualsuit06", "male_elegantsuit01", "male_worksuit01", "female_casualsuit01", "female_casualsuit02",
    "female_elegantsuit01", "female_sportsuit01"))
MAKEHUMAN_SHOES = tuple(f"makehuman_shoes0{i}" for i in range(1, 7))
MAKEHUMAN_HAIR = tuple(f"makehuman_{n}" for n in ("afro01", "bob01", "bob02", "braid01", "long01", "ponytail01",
                                                   "short01", "short02", "short03", "short04"))
MAKEHUMAN_EYEBROWS = tuple(f"makehuman_eyebrow{i:03d}" for i in range(1, 13))


class OutfitError(SynthError):
    """Outfit options the sampler cannot honour."""


@dataclass(frozen=True)
class GarmentSpec:
    """One drawn garment: ``source`` 'procedural' (``kind`` in GARMENT_KINDS, 'hair_short', 'eyebrows') or
    'makehuman' (``kind`` = asset id); ``params`` the drawn parameters (JSON-able)."""

    source: str
    kind: str
    params: dict[str, Any] = field(default_factory=dict)
    look: dict[str, Any] = field(default_factory=dict)   # drawn fabric pattern (synth.clothing.looks)

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "kind": self.kind, "params": dict(self.params), "look": dict(self.look)}


def _pick(rng: np.random.Generator, names: list[str], p: dict[str, float]) -> str:
    w = np.array([max(float(p.get(n, 0.0)), 0.0) for n in names])
    if w.sum() <= 0:
        raise OutfitError(f"outfit probabilities: all of {names} are 0; give at least one a positive weight")
    return names[int(rng.choice(len(names), p=w / w.sum()))]


def sample_garment_specs(rng: np.random.Generator, *, source: str = "procedural",
                         probabilities: dict[str, float] | None = None, body_model_name: str = "anny"
                         ) -> tuple[GarmentSpec, ...]:
    """Draw one person's garments. ``probabilities`` override ``DEFAULT_PROBABILITIES`` entries.

    MakeHuman assets fit Anny only: with another body model 'mixed' draws procedural garments and
    'makehuman' raises.
    """
    if source not in SOURCES:
        raise OutfitError(f"clothing source {source!r}: expected one of {list(SOURCES)}")
    p = dict(DEFAULT_PROBABILITIES)
    for k, v in (probabilities or {}).items():
        if k not in p:
            raise OutfitError(f"clothing probabilities: unknown entry {k!r}; expected some of {sorted(p)}")
        if not 0.0 <= float(v) <= 1.0:
            raise OutfitError(f"clothing probabilities.{k}: expected a probability in [0, 1], got {v!r}")
        p[k] = float(v)
    if source == "none":
        return ()
    from synth.clothing.looks import sample_look

    specs = _sample_specs(rng, source, p, body_model_name)
    return tuple(GarmentSpec(s.source, s.kind, s.params, sample_look(s, rng)) for s in specs)


def _sample_specs(rng: np.random.Generator, source: str, p: dict[str, float], body_model_name: str
                  ) -> tuple[GarmentSpec, ...]:
    if source == "mixed":
        source = "makehuman" if (body_model_name == "anny" and rng.random() < 0.5) else "procedural"
    if source == "makehuman":
        if body_model_name != "anny":
            raise OutfitError(f"clothing source 'makehuman': MakeHuman assets fit Anny only, not {body_model_name!r}; "
                              "use source 'procedural' or 'mixed'")
        out = [GarmentSpec("makehuman", str(rng.choice(MAKEHUMAN_OUTFITS)))]
        if rng.random() < p["shoes"]:
            out.append(GarmentSpec("makehuman", str(rng.choice(MAKEHUMAN_SHOES))))
        if rng.random() < p["hair"]:
            out.append(GarmentSpec("makehuman", str(rng.choice(MAKEHUMAN_HAIR))))
        if rng.random() < p["eyebrows"]:
            out.append(GarmentSpec("makehuman", str(rng.choice(MAKEHUMAN_EYEBROWS))))
        if rng.random() < p["hat"]:
            out.append(GarmentSpec("makehuman", "makehuman_fedora01"))
        return tuple(out)
    kinds: list[str] = []
    if rng.random() < p["dress"]:
        kinds.append("dress")
    else:
        kinds.append(_pick(rng, ["tshirt", "longsleeve", "tank"], p))
        kinds.append(_pick(rng, ["trousers", "shorts", "skirt"], p))
    if rng.random() < p["socks"]:
        kinds.append("socks")
    if rng.random() < p["shoes"]:
        kinds.append("shoes")
    fit = float(rng.uniform(0.0, 1.0))
    out = [GarmentSpec("procedural", k, sample_garment_params(k, rng, fit=fit).to_dict()) for k in kinds]
    if rng.random() < p["hair"]:
        out.append(GarmentSpec("procedural", "hair_short", sample_hair_params(rng).to_dict()))
    if rng.random() < p["eyebrows"]:
        out.append(GarmentSpec("procedural", "eyebrows", {"thickness_scale": float(rng.uniform(0.7, 1.3))}))
    return tuple(out)


def build_garments(body_model: Any, shape: dict[str, np.ndarray], specs: tuple[GarmentSpec, ...] | list[GarmentSpec],
                   rest: RestBody | None = None, **fetch_kwargs: Any) -> list[Garment]:
    """Bound garments of ``specs`` for ``body_model`` with ``shape`` (deterministic; no randomness).

    rest : ``compute_rest_body(body_model, shape)`` when the caller has it (else computed if a procedural
    garment needs it)."""
    if not specs:
        return []
    out: list[Garment] = []
    for i, s in enumerate(specs):
        if s.source == "makehuman":
            from synth.clothing.makehuman import load_makehuman_garment

            out.append(load_makehuman_garment(body_model, s.kind, **fetch_kwargs))
            continue
        if s.source != "procedural":
            raise OutfitError(f"garments[{i}].source: expected 'procedural' or 'makehuman', got {s.source!r}")
        if rest is None:
            rest = compute_rest_body(body_model, shape)
        if s.kind in GARMENT_KINDS:
            out.append(make_procedural_garment(rest, GarmentParams(**s.params)))
        elif s.kind == "hair_short":
            out.append(make_hair_shell(rest, HairParams(**s.params)))
        elif s.kind == "eyebrows":
            out.append(make_eyebrows(rest, thickness_scale=float(s.params.get("thickness_scale", 1.0))))
        else:
            raise OutfitError(f"garments[{i}].kind: unknown procedural garment {s.kind!r}; expected one of "
                              f"{list(GARMENT_KINDS) + ['hair_short', 'eyebrows']}")
    return out
