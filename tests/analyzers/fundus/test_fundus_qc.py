"""Gradability QC. The non-fundus pictures here are synthetic (drawn with Pillow/numpy in the test): a chest
X-ray-like grey radiograph, a face-like portrait, a text document. The degraded photos are real samples, blurred,
darkened or over-exposed here."""

from __future__ import annotations

import numpy as np
import pytest
from fundus_samples import MACULAR_EXUDATES, NO_DR, REFERABLE, load_rgb
from PIL import Image, ImageDraw, ImageFilter

from dualsign.analyzers.fundus.normalise import normalise
from dualsign.analyzers.fundus.qc import assess_photo


def _assess(rgb: np.ndarray):  # type: ignore[no-untyped-def]
    return assess_photo(normalise(rgb))


def synthetic_chest_xray(size: int = 512) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size] / size
    body = 170 - 60 * (((xx - 0.5) / 0.45) ** 2)
    lungs = np.exp(-(((xx - 0.3) / 0.12) ** 2 + ((yy - 0.45) / 0.25) ** 2)) + np.exp(
        -(((xx - 0.7) / 0.12) ** 2 + ((yy - 0.45) / 0.25) ** 2)
    )
    grey = np.clip(body - 110 * lungs + 8 * np.sin(yy * 60), 0, 255).astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=2)


def synthetic_face(size: int = 512) -> np.ndarray:
    im = Image.new("RGB", (size, size), (200, 215, 230))  # light studio background
    d = ImageDraw.Draw(im)
    d.ellipse((120, 60, 392, 440), fill=(224, 172, 140))  # skin
    d.ellipse((180, 190, 230, 220), fill=(60, 40, 30))
    d.ellipse((282, 190, 332, 220), fill=(60, 40, 30))
    d.arc((200, 300, 312, 370), 20, 160, fill=(150, 60, 60), width=6)
    d.rectangle((0, 440, size, size), fill=(40, 60, 120))  # clothes
    return np.asarray(im)


def synthetic_document(size: int = 512) -> np.ndarray:
    im = Image.new("RGB", (size, int(size * 1.3)), (250, 250, 245))
    d = ImageDraw.Draw(im)
    for row in range(40, im.height - 40, 22):
        d.text((40, row), "Patient report — fasting glucose 7.2 mmol/L, HbA1c 7.9 %", fill=(20, 20, 20))
    return np.asarray(im)


@pytest.mark.parametrize("path", [NO_DR, REFERABLE, MACULAR_EXUDATES])
def test_sample_photos_are_gradable(path) -> None:  # type: ignore[no-untyped-def]
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
def test_colour_pictures_of_other_things_are_not_fundus_photos(picture) -> None:  # type: ignore[no-untyped-def]
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
