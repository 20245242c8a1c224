"""Skin tones and garment colour regions painted on the Anny mesh (615-vertex test topology)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from synth.bodies.parts import PART_INDEX
from synth.bodies.registry import get_body_model
from synth.clothing.appearance import (
    AppearanceError,
    compute_body_regions,
    compute_garment_masks,
    compute_vertex_colors,
    sample_appearance,
    sample_outfit,
)
from synth.clothing.palettes import FITZPATRICK_SKIN_LINEAR, linear_to_srgb, skin_albedo, srgb_to_linear
from synth.clothing.types import PersonAppearance


@pytest.fixture(scope="module")
def body():
    return get_body_model("anny", topology="notoes_collapse5pc")


@pytest.fixture(scope="module")
def regions(body):
    return compute_body_regions(body, body.mean_shape())


def _lum(rgb):
    return float(np.asarray(rgb) @ [0.2126, 0.7152, 0.0722])


def test_colours_in_range(body):
    rng = np.random.default_rng(0)
    for _ in range(5):
        shape = body.sample_shape(rng)
        app = sample_appearance(body, shape, rng)
        assert isinstance(app, PersonAppearance)
        assert app.vertex_colors.shape == (body.num_vertices, 3) and app.vertex_colors.dtype == np.float32
        assert np.all(app.vertex_colors >= 0) and np.all(app.vertex_colors <= 1)
        assert 0.0 < app.roughness < 1.0
        assert len(np.unique(app.vertex_colors.round(2), axis=0)) > 3  # skin + several garments


def test_reproducible_with_seed(body):
    shape = body.mean_shape()
    a = sample_appearance(body, shape, np.random.default_rng(42))
    b = sample_appearance(body, shape, np.random.default_rng(42))
    c = sample_appearance(body, shape, np.random.default_rng(43))
    assert np.array_equal(a.vertex_colors, b.vertex_colors) and a.roughness == b.roughness
    assert not np.array_equal(a.vertex_colors, c.vertex_colors)


def test_sleeve_length_changes_coverage(regions):
    base = sample_outfit(np.random.default_rng(1), sleeve="short")
    fore = np.isin(regions.parts, [PART_INDEX["left_forearm"], PART_INDEX["right_forearm"]])
    upper = np.isin(regions.parts, [PART_INDEX["left_upper_arm"], PART_INDEX["right_upper_arm"]])
    counts = []
    for length in (-0.2, 0.5, 1.5, 2.0):
        top = compute_garment_masks(regions, dataclasses.replace(base, sleeve_length=length))["top"]
        counts.append(int(top[fore | upper].sum()))
        if length < 0:
            assert top[upper].mean() < 0.2           # sleeveless: bare upper arms
        if length == 0.5:
            assert 0.2 < top[upper].mean() < 0.9 and top[fore].mean() < 0.1
        if length == 2.0:
            assert top[upper].mean() > 0.95 and top[fore].mean() > 0.8
    assert counts == sorted(counts) and counts[0] < counts[1] < counts[2] < counts[3]
    # torso covered whatever the sleeves
    torso = regions.parts == PART_INDEX["torso"]
    assert compute_garment_masks(regions, base)["top"][torso].mean() > 0.8


def test_leg_length_changes_coverage(regions):
    base = sample_outfit(np.random.default_rng(2), legs="shorts")
    shin = np.isin(regions.parts, [PART_INDEX["left_shin"], PART_INDEX["right_shin"]])
    thigh = np.isin(regions.parts, [PART_INDEX["left_thigh"], PART_INDEX["right_thigh"]])
    counts = []
    for length in (0.5, 1.0, 1.5, 2.0):
        bottoms = compute_garment_masks(regions, dataclasses.replace(base, leg_length=length))["bottoms"]
        counts.append(int(bottoms[shin | thigh].sum()))
        if length == 0.5:
            assert bottoms[shin].mean() < 0.05 and 0.2 < bottoms[thigh].mean() < 0.95
        if length == 2.0:
            assert bottoms[shin].mean() > 0.9 and bottoms[thigh].mean() > 0.95
    assert counts[0] < counts[1] < counts[2] < counts[3]
    assert compute_garment_masks(regions, base)["bottoms"][regions.parts == PART_INDEX["pelvis"]].mean() > 0.5


def test_painting_follows_masks(regions):
    outfit = sample_outfit(np.random.default_rng(3), sleeve="long", legs="trousers", p_barefoot=0.0)
    outfit = dataclasses.replace(outfit, texture_amplitude=0.0, neckline_depth_m=0.0,
                                 top_rgb=np.array([0.8, 0.1, 0.1]), bottom_rgb=np.array([0.1, 0.1, 0.7]),
                                 shoe_rgb=np.array([0.05, 0.05, 0.05]))
    col = compute_vertex_colors(regions, outfit)
    m = compute_garment_masks(regions, outfit)
    assert np.allclose(col[m["top"] & ~m["hair"]], [0.8, 0.1, 0.1], atol=1e-6)
    assert np.allclose(col[m["shoes"]], 0.05, atol=1e-6)
    feet = np.isin(regions.parts, [PART_INDEX["left_foot"], PART_INDEX["right_foot"]])
    assert m["shoes"][feet].all()
    skin = ~(m["top"] | m["bottoms"] | m["shoes"] | m["hair"] | m["iris"] | m["pupil"] | m["sclera"])
    assert skin.sum() > 20 and np.allclose(col[skin], outfit.skin_rgb.astype(np.float32), atol=1e-6)
    assert skin[regions.parts == PART_INDEX["left_hand"]].mean() > 0.8  # hands stay bare
    barefoot = dataclasses.replace(outfit, shoe_rgb=None)
    assert not compute_garment_masks(regions, barefoot)["shoes"].any()


def test_skin_tones_span_fitzpatrick():
    lums = [_lum(skin_albedo(t)) for t in (1, 2, 3, 4, 5, 6)]
    assert lums == sorted(lums, reverse=True) and lums[0] > 8 * lums[-1]
    assert np.allclose(skin_albedo(1.0), FITZPATRICK_SKIN_LINEAR[0]) and np.allclose(skin_albedo(6.0), FITZPATRICK_SKIN_LINEAR[5])
    rng = np.random.default_rng(4)
    tones = np.array([sample_outfit(rng).skin_rgb for _ in range(200)])
    assert np.all(tones[:, 0] >= tones[:, 1]) and np.all(tones[:, 1] >= tones[:, 2])  # skin is red > green > blue
    L = tones @ [0.2126, 0.7152, 0.0722]
    assert L.min() < 0.08 and L.max() > 0.5
    dark = sample_outfit(np.random.default_rng(5), fitzpatrick_range=(5.5, 6.0))
    assert _lum(dark.skin_rgb) < 0.12
    with pytest.raises(AppearanceError):
        sample_outfit(rng, fitzpatrick_range=(0.0, 3.0))
    with pytest.raises(AppearanceError):
        sample_outfit(rng, sleeve="cape")
    x = np.linspace(0, 1, 11)
    assert np.allclose(linear_to_srgb(srgb_to_linear(x)), x, atol=1e-9)
