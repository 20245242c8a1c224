"""Appearance: skin tones and garment colour regions painted on the body mesh (no cloth geometry)."""

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
