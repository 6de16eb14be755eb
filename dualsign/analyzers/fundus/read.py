"""Fundus photographs in: JPEG, PNG, TIFF (Pillow) and DICOM Ophthalmic Photography / VL Photographic Image.

Everything becomes one 8-bit RGB array plus the laterality the file states (DICOM), if any.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dualsign.analyzers.base import AnalyzerError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff")
DICOM_SUFFIXES = (".dcm", ".dicom")
# SOP classes whose pixels are a colour photograph of the eye or of anything else visible-light.
OPHTHALMIC_8BIT = "1.2.840.10008.5.1.4.1.1.77.1.5.1"
VL_PHOTOGRAPHIC = "1.2.840.10008.5.1.4.1.1.77.1.4"
PHOTO_SOP_CLASSES = {OPHTHALMIC_8BIT, VL_PHOTOGRAPHIC}
MIN_SIDE_PX = 256  # below this a fundus photo cannot show microaneurysms or small haemorrhages
DECODE_SIDE_PX = 1280  # large JPEGs are decoded at a DCT scale down to no less than this: the model needs 640


@dataclass(frozen=True)
class FundusImage:
    rgb: np.ndarray  # H x W x 3 uint8
    path: str
    source_format: str  # "jpeg", "png", "tiff", "dicom"
    laterality: str | None  # "R" / "L" when the file says so
    pixel_scale: float = 1.0  # original pixels per pixel of `rgb` (large JPEGs are decoded at reduced scale)

    @property
    def original_size(self) -> tuple[int, int]:
        """(width, height) of the photo as stored."""
        h, w = self.rgb.shape[:2]
        return round(w * self.pixel_scale), round(h * self.pixel_scale)


def _sniff(path: Path) -> str | None:
    try:
        with path.open("rb") as fh:
            head = fh.read(132)
    except OSError:
        return None
    if head[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if head[128:132] == b"DICM":
        return "dicom"
    return None


def _candidates(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.is_file() and _sniff(p) is not None)
    return [path]


def sniff_format(path: Path) -> str | None:
    """The image format of a file, or of the first readable file in a folder."""
    for p in _candidates(Path(path)):
        fmt = _sniff(p)
        if fmt is not None:
            return fmt
    return None


def is_photo_dicom(path: Path) -> bool:
    """True for a DICOM whose SOP class is ophthalmic or visible-light photography."""
    try:
        import pydicom

        ds = pydicom.dcmread(str(path), stop_before_pixels=True, specific_tags=["SOPClassUID", "Modality"])
    except Exception:
        return False
    return str(getattr(ds, "SOPClassUID", "")) in PHOTO_SOP_CLASSES or str(getattr(ds, "Modality", "")) == "OP"


def _laterality(ds: object) -> str | None:
    for tag in ("ImageLaterality", "Laterality"):
        value = str(getattr(ds, tag, "") or "").strip().upper()
        if value in ("R", "L"):
            return value
    return None


def _read_dicom(path: Path) -> FundusImage:
    import pydicom
    from pydicom.pixels import convert_color_space

    try:
        ds = pydicom.dcmread(str(path))
        pixels = ds.pixel_array
    except Exception as exc:
        raise AnalyzerError(f"{path.name}: DICOM file cannot be read ({exc})") from exc
    sop = str(getattr(ds, "SOPClassUID", ""))
    if sop not in PHOTO_SOP_CLASSES and str(getattr(ds, "Modality", "")) != "OP":
        raise AnalyzerError(
            f"{path.name}: DICOM is not an ophthalmic or visible-light photograph (SOP class {sop or 'missing'})"
        )
    if int(getattr(ds, "NumberOfFrames", 1) or 1) > 1:
        pixels = pixels[0]  # a multi-frame photo: the first frame is the one read
    if int(getattr(ds, "BitsAllocated", 8)) != 8:
        raise AnalyzerError(f"{path.name}: only 8-bit ophthalmic photographs are read")
    photometric = str(getattr(ds, "PhotometricInterpretation", "RGB"))
    if pixels.ndim == 2:
        rgb = np.repeat(pixels[..., None], 3, axis=2)
    else:
        if photometric.startswith("YBR"):
            pixels = convert_color_space(pixels, photometric, "RGB")
        rgb = pixels
    return FundusImage(np.ascontiguousarray(rgb, dtype=np.uint8), str(path), "dicom", _laterality(ds))


def _read_pillow(path: Path, fmt: str) -> FundusImage:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            full_width, full_height = im.size
            if fmt == "jpeg" and max(im.size) > 2 * DECODE_SIDE_PX:
                # A 12-megapixel photo decodes 4-8x faster at 1/2-1/8 scale, straight from the DCT coefficients.
                factor = DECODE_SIDE_PX / max(im.size)
                im.draft("RGB", (round(full_width * factor), round(full_height * factor)))
            im.load()
            rgb = np.asarray(im.convert("RGB"), dtype=np.uint8)
    except (OSError, UnidentifiedImageError, ValueError) as exc:
        raise AnalyzerError(f"{path.name}: image file is corrupt or truncated ({exc})") from exc
    if min(full_width, full_height) < MIN_SIDE_PX:
        raise AnalyzerError(
            f"{path.name}: image too small ({full_width}x{full_height} px); a fundus photograph needs at least "
            f"{MIN_SIDE_PX} px a side"
        )
    return FundusImage(rgb, str(path), fmt, None, full_width / rgb.shape[1])


def read_fundus(path: Path) -> FundusImage:
    """Read one photograph (a folder: its first image file). Raises AnalyzerError naming the problem."""
    path = Path(path)
    if not path.exists():
        raise AnalyzerError(f"{path}: no such file or folder")
    files = _candidates(path)
    if not files:
        raise AnalyzerError(f"{path}: folder holds no JPEG, PNG, TIFF or DICOM image")
    target = files[0]
    fmt = _sniff(target)
    if fmt is None:
        raise AnalyzerError(f"{target.name}: not a JPEG, PNG, TIFF or DICOM image")
    image = _read_dicom(target) if fmt == "dicom" else _read_pillow(target, fmt)
    w, h = image.original_size
    if min(h, w) < MIN_SIDE_PX:
        raise AnalyzerError(
            f"{target.name}: image too small ({w}x{h} px); a fundus photograph needs at least {MIN_SIDE_PX} px a side"
        )
    return image
