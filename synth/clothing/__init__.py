"""How people look: skin tones and painted colour regions (``appearance``), and garments, hair and eyebrows
as real geometry bound to the body surface (``binding``, ``surface_cut``, ``procedural``, ``hair``,
``makehuman``, ``outfit``, ``looks``; see docs/clothing.md). The geometry modules are imported on use
(they need scipy), not here."""

from synth.clothing.appearance import (
    BodyRegions,
    Outfit,
    compute_body_regions,
    compute_garment_masks,
    compute_vertex_colors,
    sample_appearance,
    sample_outfit,
)

__all__ = [
    "BodyRegions", "Outfit", "compute_body_regions", "compute_garment_masks", "compute_vertex_colors",
    "sample_appearance", "sample_outfit",
]
