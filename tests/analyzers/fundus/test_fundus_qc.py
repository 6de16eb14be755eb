"""Gradability QC. The non-fundus pictures here are synthetic (drawn with Pillow/numpy in the test): a chest
X-ray-like grey radiograph, a face-like portrait, a text document. The degraded photos are real samples, blurred,
darkened or over-exposed here."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from fundus_samples import (
    MACULAR_EXUDATES,
    NO_DR,
    REFERABLE,
    load_rgb,
    synthetic_chest_xray,
    synthetic_document,
    synthetic_face,
)
from PIL import Image, ImageFilter

from dualsign.analyzers.fundus.normalise import normalise
from dualsign.analyzers.fundus.qc import PhotoQuality, assess_photo


def _assess(rgb: np.ndarray) -> PhotoQuality:
    return assess_photo(normalise(rgb))


@pytest.mark.parametrize("path", [NO_DR, REFERABLE, MACULAR_EXUDATES])
def test_sample_photos_are_gradable(path: Path) -> None:
    q = _assess(load_rgb(path))
    assert q.is_fundus and q.gradable, q.reasons


def test_grey_scale_fundus_is_refused_as_grey_scale() -> None:
    grey = np.asarray(Image.open(NO_DR).convert("L").convert("RGB"))
    q = _assess(grey)
    assert not q.gradable and not q.is_fundus
    assert any("grey-scale" in r for r in q.reasons)


def test_chest_xray_is_not_a_fundus_photo() -> None:
    q = _assess(synthetic_chest_xray())
    assert not q.is_fundus and not q.gradable
    assert any("grey-scale" in r for r in q.reasons)


@pytest.mark.parametrize("picture", [synthetic_face, synthetic_document])
def test_colour_pictures_of_other_things_are_not_fundus_photos(picture: Callable[[], np.ndarray]) -> None:
    q = _assess(picture())
    assert not q.is_fundus and not q.gradable
    assert any("not a" in r and "fundus photograph" in r for r in q.reasons)


def test_blurred_photo_asks_for_a_retake_for_focus() -> None:
    blurred = np.asarray(Image.open(REFERABLE).convert("RGB").filter(ImageFilter.GaussianBlur(4)))
    q = _assess(blurred)
    assert q.is_fundus and not q.gradable
    assert any("focus" in r for r in q.reasons)


def test_dark_photo_is_under_exposed() -> None:
    dark = (load_rgb(NO_DR).astype(float) * 0.12).astype(np.uint8)
    q = _assess(dark)
    assert not q.gradable
    assert any("under-exposed" in r for r in q.reasons)


def test_washed_out_photo_is_over_exposed() -> None:
    bright = np.clip(load_rgb(NO_DR).astype(float) * 4.0, 0, 255).astype(np.uint8)
    q = _assess(bright)
    assert not q.gradable
    assert any("over-exposed" in r for r in q.reasons)
