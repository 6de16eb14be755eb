"""The canonical view: the fundus edge is found, and crop/exposure changes barely change what the model sees."""

from __future__ import annotations

import numpy as np
from fundus_samples import NO_DR, REFERABLE, load_rgb
from scipy import ndimage

from dualsign.analyzers.fundus.normalise import CANVAS, fit_ellipse, normalise


def test_ellipse_fit_recovers_a_squashed_field_cropped_flat() -> None:
    # Synthetic mask: an ellipse (a squashed fundus) with its top and bottom cut off by the frame.
    h, w = 400, 600
    cx, cy, rx, ry = 300.0, 210.0, 280.0, 230.0
    yy, xx = np.mgrid[0:h, 0:w]
    mask = ((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2 <= 1.0
    mask[:30] = False
    el = fit_ellipse(mask)
    assert abs(el.cx - cx) < 2 and abs(el.cy - cy) < 2
    assert abs(el.rx - rx) < 3 and abs(el.ry - ry) < 3


def test_canvas_centre_maps_back_to_the_field_centre() -> None:
    can = normalise(load_rgb(NO_DR))
    x, y = can.to_original((CANVAS - 1) / 2, (CANVAS - 1) / 2)
    assert abs(float(x) - can.ellipse.cx) < 1 and abs(float(y) - can.ellipse.cy) < 1


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


def test_extra_black_border_does_not_change_the_model_input() -> None:
    rgb = load_rgb(REFERABLE)
    base = normalise(rgb)
    padded = normalise(np.pad(rgb, ((80, 80), (40, 40), (0, 0))))
    assert np.array_equal(base.field, padded.field)
    assert _corr(base.contrast, padded.contrast) > 0.97


def test_exposure_change_does_not_change_the_model_input() -> None:
    rgb = load_rgb(REFERABLE).astype(float)
    base = normalise(rgb.astype(np.uint8))
    darker = normalise(np.clip(rgb * 0.6, 0, 255).astype(np.uint8))
    gamma = normalise((255 * (rgb / 255) ** 1.3).astype(np.uint8))
    assert _corr(base.contrast, darker.contrast) > 0.95
    assert _corr(base.contrast, gamma.contrast) > 0.95
    # Mean brightness differs a lot in the photos and not in the model input.
    assert abs(base.contrast.mean() - darker.contrast.mean()) < 0.02


def test_a_contrastier_camera_does_not_make_a_contrastier_model_input() -> None:
    """Fine detail 1.6x stronger (a sharper camera, harsher processing): the model input keeps its magnitude, not
    just its pattern, so lesion-like spots do not cross the marking threshold on contrast alone."""
    rgb = load_rgb(NO_DR).astype(float)
    smooth = ndimage.gaussian_filter(rgb, (6.0, 6.0, 0))
    harsher = np.clip(smooth + 1.6 * (rgb - smooth), 0, 255).astype(np.uint8)
    base, sharp = normalise(rgb.astype(np.uint8)), normalise(harsher)
    field = base.field
    ratio = np.abs(sharp.contrast[:, field]).mean(axis=1) / np.abs(base.contrast[:, field]).mean(axis=1)
    assert np.all(np.abs(ratio - 1.0) < 0.15), ratio  # without the texture-spread step the ratio is about 1.6
    assert _corr(base.contrast, sharp.contrast) > 0.9


def test_border_outside_the_fixed_field_is_blank() -> None:
    can = normalise(load_rgb(REFERABLE))
    assert not np.any(can.contrast[:, ~can.field])
    # The top rows (where some photos carry a bright edge line) are outside the field.
    assert not np.any(can.field[:40])
