"""Every photo onto one canonical canvas, so that no model can see the camera, the crop or the exposure.

1. The fundus mask: the bright field inside the dark surround (largest component, holes filled).
2. An axis-aligned ellipse fitted to the curved side edges of that mask (photos are often cropped flat at top
   and bottom, and some have been resized without keeping the aspect ratio).
3. The ellipse is resampled to a circle of fixed radius on a CANVAS x CANVAS grid.
4. A fixed field mask (a circle inside a horizontal band narrower than any crop we have seen) blanks the border:
   every image then shows the same shape, whatever its crop or edge artefacts.
5. Colour becomes local contrast relative to the local background (a masked Gaussian blur): multiplicative
   exposure and slow illumination gradients cancel; lesions (bright yellow exudates, dark red haemorrhages) stay.
6. Each channel's fine-texture spread (robust, inside the field) is brought to a common level: sharper or
   harsher cameras and smoother ones give inputs of the same strength.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage

CANVAS = 320
FIELD_RADIUS = 0.97  # the fitted fundus edge lands at this fraction of the canvas half-width
FIELD_KEEP_R = 0.94  # of the fundus radius: the rim (vignetting, reflections) is blanked
FIELD_KEEP_BAND = 0.70  # |y| / fundus radius kept: below the flattest top/bottom crop in the development set
SURROUND_LEVEL = 20  # max(R, G, B) of the dark surround around the fundus, 8-bit
BACKGROUND_SIGMA = CANVAS / 40  # local background scale: wider than a haemorrhage, narrower than shading
CONTRAST_GAIN = 4.0
# per-channel spread of the contrast inside the field: dev-set medians, from training/texture_spread.py
TEXTURE_SPREAD = np.array([0.185, 0.16, 0.12])
WORK_SIDE = 640  # about twice the canvas: enough for bilinear resampling without aliasing


@dataclass(frozen=True)
class Ellipse:
    cx: float
    cy: float
    rx: float
    ry: float


@dataclass(frozen=True)
class Canonical:
    """The canonical view of one photo, with the map back to original pixels."""

    contrast: np.ndarray  # 3 x CANVAS x CANVAS float32: the model input, 0 outside the field
    rgb: np.ndarray  # CANVAS x CANVAS x 3 uint8: the resampled photo (QC, display)
    field: np.ndarray  # CANVAS x CANVAS bool: the fixed field mask (within the photo's own field)
    ellipse: Ellipse  # the fundus edge in working pixels
    fundus_mask: np.ndarray  # working-resolution bool mask
    work_scale: float  # original pixels per working pixel (large photos are reduced before anything else)
    fit_iou: float  # how well the ellipse explains the mask (1 = perfect): low for non-fundus pictures
    brightness_p99: float  # 99th percentile of max(R, G, B) over the working photo: ~0 for a black frame

    def to_original(self, u: np.ndarray | float, v: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
        """Canvas (column u, row v) -> original (x, y) pixel coordinates."""
        a, c, e, f = _affine(self.ellipse)
        k = self.work_scale
        return np.asarray(k * (a * np.asarray(u) + c)), np.asarray(k * (e * np.asarray(v) + f))

    @property
    def px_per_canvas(self) -> float:
        """Original pixels per canvas pixel (geometric mean of both axes): for areas and distances."""
        a, _, e, _ = _affine(self.ellipse)
        return float(self.work_scale * np.sqrt(a * e))


def fundus_mask(rgb: np.ndarray) -> np.ndarray:
    """The bright fundus field: largest connected bright region, holes filled."""
    brightest = np.maximum(np.maximum(rgb[..., 0], rgb[..., 1]), rgb[..., 2])  # rgb.max(axis=2), faster
    bright = ndimage.binary_opening(brightest > SURROUND_LEVEL, iterations=2)
    labels, n = ndimage.label(bright)
    if n == 0:
        return bright
    sizes = ndimage.sum_labels(bright, labels, index=np.arange(1, n + 1))
    largest = labels == (1 + int(np.argmax(sizes)))
    return np.asarray(ndimage.binary_fill_holes(largest), dtype=bool)


def fit_ellipse(mask: np.ndarray) -> Ellipse:
    """Axis-aligned ellipse through the left/right edge points of each row that do not touch the image border."""
    h, w = mask.shape
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return Ellipse(w / 2, h / 2, w / 2, h / 2)
    xs: list[float] = []
    ys: list[float] = []
    for r in rows[:: max(1, rows.size // 200)]:
        cols = np.flatnonzero(mask[r])
        for c in (cols[0], cols[-1]):
            if 1 < c < w - 2:
                xs.append(float(c))
                ys.append(float(r))
    x, y = np.array(xs), np.array(ys)
    if x.size >= 12:
        # x^2 + B y^2 + C x + D y + E = 0
        design = np.column_stack([y**2, x, y, np.ones_like(x)])
        sol, *_ = np.linalg.lstsq(design, -(x**2), rcond=None)
        b_, c_, d_, e_ = (float(v) for v in sol)
        if b_ > 0:
            cx, cy = -c_ / 2, -d_ / (2 * b_)
            rx2 = cx**2 + b_ * cy**2 - e_
            if rx2 > 0:
                rx = float(np.sqrt(rx2))
                ry = rx / float(np.sqrt(b_))
                if 0.5 < ry / rx < 2.0 and rx > 0.2 * w:
                    return Ellipse(cx, cy, rx, ry)
    # Too few curved edge points (the field fills the frame, or is not round): the bounding box, as a circle.
    cols = np.flatnonzero(mask.any(axis=0))
    cx, cy = (cols[0] + cols[-1]) / 2, (rows[0] + rows[-1]) / 2
    r = max(cols[-1] - cols[0], rows[-1] - rows[0]) / 2
    return Ellipse(float(cx), float(cy), float(r), float(r))


def _affine(el: Ellipse) -> tuple[float, float, float, float]:
    """Canvas -> original: x = a*u + c, y = e*v + f."""
    centre = (CANVAS - 1) / 2
    radius = CANVAS / 2 * FIELD_RADIUS
    a, e = el.rx / radius, el.ry / radius
    return a, el.cx - centre * a, e, el.cy - centre * e


def to_canvas(channel: np.ndarray, el: Ellipse, resample: Image.Resampling = Image.Resampling.BILINEAR) -> np.ndarray:
    """Resample one 2-D uint8 plane (image channel or mask) onto the canvas."""
    a, c, e, f = _affine(el)
    im = Image.fromarray(channel)
    out = im.transform((CANVAS, CANVAS), Image.Transform.AFFINE, (a, 0.0, c, 0.0, e, f), resample=resample)
    return np.asarray(out)


def _ellipse_iou(mask: np.ndarray, el: Ellipse) -> float:
    h, w = mask.shape
    step = max(1, min(h, w) // 256)
    yy, xx = np.mgrid[0:h:step, 0:w:step]
    inside = ((xx - el.cx) / el.rx) ** 2 + ((yy - el.cy) / el.ry) ** 2 <= 1.0
    m = mask[::step, ::step]
    union = np.count_nonzero(inside | m)
    return float(np.count_nonzero(inside & m) / union) if union else 0.0


def canonical_field() -> np.ndarray:
    centre = (CANVAS - 1) / 2
    radius = CANVAS / 2 * FIELD_RADIUS
    v, u = np.mgrid[0:CANVAS, 0:CANVAS]
    r = np.hypot(u - centre, v - centre) / radius
    return (r <= FIELD_KEEP_R) & (np.abs(v - centre) / radius <= FIELD_KEEP_BAND)


def local_contrast(rgb: np.ndarray, field: np.ndarray, level: np.ndarray | None = TEXTURE_SPREAD) -> np.ndarray:
    """(I - local background) / local brightness, per channel, inside the field; 3 x H x W float32.

    `level`: the texture spread each channel is brought to (None leaves it as the camera gave it)."""
    img = rgb.astype(np.float32)
    m = field.astype(np.float32)
    weight = ndimage.gaussian_filter(m, BACKGROUND_SIGMA) + 1e-3
    background = np.stack(
        [ndimage.gaussian_filter(img[..., k] * m, BACKGROUND_SIGMA) / weight for k in range(3)], axis=0
    )
    brightness = background.mean(axis=0) + 10.0
    out = CONTRAST_GAIN * (np.moveaxis(img, 2, 0) - background) / brightness
    # Cameras and settings differ in how much fine texture (and noise) the fundus shows: each channel's robust
    # spread inside the field (MAD; lesions are too few pixels to move it) is brought to a common level, so that a
    # contrastier photo does not grow more lesion-like spots, nor a smoother one hide them.
    if level is not None and np.count_nonzero(field) > 100:
        spread = texture_spread(out, field)
        gain = level / np.clip(spread, level / 2.0, level * 2.0)
        out = out * gain[:, None, None].astype(np.float32)
    return np.asarray(np.clip(out, -3.0, 3.0) * m, dtype=np.float32)


def texture_spread(contrast: np.ndarray, field: np.ndarray) -> np.ndarray:
    """Per channel, the robust spread (1.4826 x MAD) of the local contrast inside the field."""
    inside = contrast[:, field]
    out: np.ndarray = 1.4826 * np.median(np.abs(inside - np.median(inside, axis=1, keepdims=True)), axis=1)
    return out


def _working_copy(rgb: np.ndarray) -> tuple[np.ndarray, float]:
    """Photos larger than WORK_SIDE are box-reduced first: the canvas needs no more, and it keeps time flat."""
    h, w = rgb.shape[:2]
    scale = max(h, w) / WORK_SIDE
    if scale <= 1.0:
        return rgb, 1.0
    size = (max(1, round(w / scale)), max(1, round(h / scale)))
    small = np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.BOX))
    return small, w / size[0]


def normalise(rgb_original: np.ndarray, pixel_scale: float = 1.0) -> Canonical:
    """pixel_scale: original pixels per pixel of `rgb_original` (a photo decoded at reduced scale)."""
    rgb, scale = _working_copy(rgb_original)
    scale *= pixel_scale
    mask = fundus_mask(rgb)
    el = fit_ellipse(mask)
    canvas_rgb = np.stack([to_canvas(np.ascontiguousarray(rgb[..., k]), el) for k in range(3)], axis=2)
    inside_photo = to_canvas(mask.astype(np.uint8) * 255, el) > 127
    field = canonical_field() & inside_photo
    return Canonical(
        contrast=local_contrast(canvas_rgb, field),
        rgb=canvas_rgb,
        field=field,
        ellipse=el,
        fundus_mask=mask,
        work_scale=scale,
        fit_iou=_ellipse_iou(mask, el),
        brightness_p99=float(np.percentile(rgb[::4, ::4].max(axis=2), 99)),
    )
