"""The key image for the worklist and the report: the photo with the AI's lesion boxes, disc and fovea."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

MAX_SIDE = 768
COLOURS = {
    "microaneurysm": (255, 255, 0),
    "haemorrhage": (0, 160, 255),
    "hard_exudate": (0, 255, 0),
    "soft_exudate": (255, 0, 255),
}


def overlay_png(rgb: np.ndarray, raw: dict[str, Any]) -> bytes:
    im = Image.fromarray(rgb)
    shrink = min(1.0, MAX_SIDE / max(im.size))
    if shrink < 1.0:
        im = im.resize((round(im.width * shrink), round(im.height * shrink)), Image.Resampling.BILINEAR)
    scale = im.width / raw["image_size"][0]  # findings are in original pixels; rgb may be a reduced decode
    draw = ImageDraw.Draw(im)
    for les in raw.get("lesions", []):
        x0, y0, x1, y1 = (v * scale for v in les["box"])
        draw.rectangle((x0 - 1, y0 - 1, x1 + 1, y1 + 1), outline=COLOURS.get(les["type"], (255, 255, 255)))
    disc = raw.get("optic_disc")
    if disc:
        (x, y), r = (v * scale for v in disc["centre_xy"]), disc["diameter_px"] * scale / 2
        draw.ellipse((x - r, y - r, x + r, y + r), outline=(255, 255, 255), width=2)
    fovea = raw.get("fovea")
    if fovea:
        x, y = (v * scale for v in fovea["centre_xy"])
        draw.line((x - 8, y, x + 8, y), fill=(255, 255, 255), width=2)
        draw.line((x, y - 8, x, y + 8), fill=(255, 255, 255), width=2)
        if disc:
            r = disc["diameter_px"] * scale  # the one-disc-diameter macular zone (DME rule)
            draw.ellipse((x - r, y - r, x + r, y + r), outline=(255, 255, 255))
    buf = io.BytesIO()
    im.save(buf, format="PNG", optimize=False)
    return buf.getvalue()
