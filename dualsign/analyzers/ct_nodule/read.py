"""Series assembly: DICOM files in any order (or a research volume) -> one axial CT volume in HU.

The volume is indexed [slice, row, column] on a regular grid; `index_to_lps` maps an index to DICOM patient
coordinates (LPS, mm). Every repair made on the way (skipped series, dropped duplicates, filled gaps, gantry tilt)
is written to `notes` so the report can say what was done to the exam.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dualsign.analyzers.base import AnalyzerError
from dualsign.analyzers.ct_nodule.grid import WORKERS

RESEARCH_SUFFIXES = (".mha", ".mhd", ".nii", ".nii.gz", ".nrrd")
AIR_HU = -1024
# Values below this are padding / outside the field of view (e.g. -2000 HU), read as air.
FOV_PAD_HU = -1100


@dataclass
class CTVolume:
    hu: np.ndarray  # int16 [z, y, x]
    spacing: tuple[float, float, float]  # (z, y, x) mm between voxel centres
    origin: np.ndarray  # LPS mm of voxel [0, 0, 0]
    axes: np.ndarray  # 3x3: columns are the LPS unit vectors of the x (column), y (row), z (slice) index axes
    slice_thickness_mm: float | None = None
    source: str = "dicom"
    notes: list[str] = field(default_factory=list)
    max_gap_mm: float = 0.0
    filled_slices: int = 0
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, int, int]:
        z, y, x = self.hu.shape
        return int(z), int(y), int(x)

    def index_to_lps(self, zyx: Sequence[float] | np.ndarray) -> np.ndarray:
        z, y, x = (float(v) for v in zyx)
        sz, sy, sx = self.spacing
        return self.origin + self.axes @ np.array([x * sx, y * sy, z * sz])

    def lps_to_index(self, lps: Sequence[float] | np.ndarray) -> np.ndarray:
        sz, sy, sx = self.spacing
        d = np.linalg.solve(self.axes, np.asarray(lps, float) - self.origin)
        return np.array([d[2] / sz, d[1] / sy, d[0] / sx])


# ------------------------------------------------------------------------------------------------ files
def expand_paths(paths: Iterable[Path]) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            out.extend(sorted(q for q in p.rglob("*") if q.is_file()))
        elif p.is_file():
            out.append(p)
        else:
            raise AnalyzerError(f"{p}: no such file or folder")
    return out


def is_research_volume(path: Path) -> bool:
    name = path.name.lower()
    return any(name.endswith(s) for s in RESEARCH_SUFFIXES)


def _is_dicom(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            head = fh.read(132)
    except OSError:
        return False
    return len(head) == 132 and head[128:132] == b"DICM" or path.suffix.lower() in (".dcm", ".dicom")


def read_ct(paths: Sequence[Path]) -> CTVolume:
    files = expand_paths(paths)
    if not files:
        raise AnalyzerError("no input files: a folder of CT DICOM files (one axial chest series) is needed")
    research = [f for f in files if is_research_volume(f)]
    if research and len(research) == len([f for f in files if not f.name.lower().endswith(".raw")]):
        return read_research_volume(research[0])
    return read_dicom_series(files)


# ------------------------------------------------------------------------------------------------ research
def read_research_volume(path: Path) -> CTVolume:
    try:
        import SimpleITK as sitk
    except ImportError as exc:  # pragma: no cover - SimpleITK is a runtime dependency
        raise AnalyzerError("SimpleITK is needed to read .mha/.mhd/.nii volumes") from exc
    try:
        img = sitk.ReadImage(str(path))
    except RuntimeError as exc:
        raise AnalyzerError(f"{path.name}: cannot read the volume ({str(exc).splitlines()[0][:200]})") from exc
    if img.GetDimension() != 3 or img.GetNumberOfComponentsPerPixel() != 1:
        raise AnalyzerError(f"{path.name}: a 3-D single-channel CT volume is needed")
    arr = sitk.GetArrayFromImage(img)  # [z, y, x]
    if arr.shape[0] < 2:
        raise AnalyzerError(f"{path.name}: a single slice; a chest CT series is needed")
    sx, sy, sz = (float(v) for v in img.GetSpacing())
    axes = np.array(img.GetDirection(), float).reshape(3, 3)
    hu = np.clip(np.asarray(arr, np.float32), -2048, 4095)
    hu[hu < FOV_PAD_HU] = AIR_HU
    return CTVolume(
        hu=hu.astype(np.int16),
        spacing=(sz, sy, sx),
        origin=np.array(img.GetOrigin(), float),
        axes=axes,
        slice_thickness_mm=sz,
        source=path.suffix.lower().lstrip(".") or "volume",
        notes=["research volume: values taken as HU, slice thickness taken as the slice spacing"],
        meta={"modality": "CT", "n_slices": int(arr.shape[0])},
    )


# ------------------------------------------------------------------------------------------------ DICOM
@dataclass
class _Slice:
    path: Path
    ds: Any
    position: np.ndarray
    row_dir: np.ndarray
    col_dir: np.ndarray


def _headers(files: Sequence[Path]) -> tuple[list[Any], list[str]]:
    import pydicom

    out: list[Any] = []
    skipped: list[str] = []
    for f in files:
        if not _is_dicom(f):
            continue
        try:
            # Large elements (pixel data) are read on first use: one pass over each file's header now.
            ds = pydicom.dcmread(str(f), defer_size=4096, force=True)
        except Exception:
            skipped.append(f.name)
            continue
        if "SOPClassUID" not in ds and "Modality" not in ds:
            skipped.append(f.name)
            continue
        ds.filename = str(f)
        out.append(ds)
    return out, skipped


def _series_key(ds: Any) -> str:
    return str(getattr(ds, "SeriesInstanceUID", "") or "unknown-series")


def _orientation(ds: Any) -> tuple[np.ndarray, np.ndarray] | None:
    iop = getattr(ds, "ImageOrientationPatient", None)
    if iop is None or len(iop) != 6:
        return None
    v = np.array([float(x) for x in iop])
    return v[:3], v[3:]


def _describe(ds: Any) -> str:
    desc = str(getattr(ds, "SeriesDescription", "") or "").strip()
    num = getattr(ds, "SeriesNumber", "")
    return f"series {num} {desc!r}".strip() if desc else f"series {num}".strip()


def choose_series(headers: Sequence[Any]) -> tuple[list[Any], list[str]]:
    """The axial CT series to read, and notes on every series left out and why."""
    groups: dict[str, list[Any]] = {}
    for ds in headers:
        groups.setdefault(_series_key(ds), []).append(ds)
    notes: list[str] = []
    candidates: list[tuple[int, float, str]] = []
    modalities: set[str] = set()
    for uid, items in groups.items():
        first = items[0]
        modality = str(getattr(first, "Modality", "") or "?")
        modalities.add(modality)
        image_type = [str(t).upper() for t in (getattr(first, "ImageType", []) or [])]
        if modality != "CT":
            notes.append(f"skipped {_describe(first)}: modality {modality}, not CT")
            continue
        if "LOCALIZER" in image_type or "SCOUT" in str(getattr(first, "SeriesDescription", "")).upper():
            notes.append(f"skipped {_describe(first)}: scout / localiser")
            continue
        ori = _orientation(first)
        if ori is None or "ImagePositionPatient" not in first:
            notes.append(f"skipped {_describe(first)}: no image position / orientation")
            continue
        normal = np.cross(ori[0], ori[1])
        if abs(normal[2]) < 0.8:
            notes.append(f"skipped {_describe(first)}: not axial (reformat or localiser)")
            continue
        if len(items) < 2:
            notes.append(f"skipped {_describe(first)}: a single slice")
            continue
        thick = float(getattr(first, "SliceThickness", 0) or 0) or 99.0
        candidates.append((len(items), -thick, uid))
    if not candidates:
        if modalities and "CT" not in modalities:
            raise AnalyzerError(
                f"no CT images in the input (modality {', '.join(sorted(modalities))}); a chest CT series is needed"
            )
        singles = [n for n in notes if "single slice" in n]
        if singles:
            raise AnalyzerError("only a single axial CT slice was received; a chest CT series (many slices) is needed")
        reason = "; ".join(notes) if notes else "no readable DICOM image"
        raise AnalyzerError(f"no axial CT series to analyse ({reason})")
    candidates.sort(reverse=True)
    chosen = candidates[0][2]
    for _n, _t, uid in candidates[1:]:
        notes.append(f"skipped {_describe(groups[uid][0])}: another axial CT series; the one with most slices is read")
    return groups[chosen], notes


def _pixels(ds_header: Any) -> np.ndarray:
    path = Path(ds_header.filename)
    try:
        if "PixelData" not in ds_header:
            raise ValueError("no pixel data")
        arr = ds_header.pixel_array
    except Exception as exc:
        ts = getattr(getattr(ds_header, "file_meta", None), "TransferSyntaxUID", None)
        syntax = f" (transfer syntax {ts.name if ts is not None else 'unknown'})"
        msg = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise AnalyzerError(f"{path.name}: pixel data cannot be decoded{syntax}: {msg}") from exc
    if arr.ndim != 2:
        raise AnalyzerError(f"{path.name}: expected one 2-D CT image per file, got shape {arr.shape}")
    return arr


def _rescale(ds: Any) -> tuple[float, float]:
    slope = getattr(ds, "RescaleSlope", None)
    intercept = getattr(ds, "RescaleIntercept", None)
    if slope is None or intercept is None:
        missing = [n for n, v in (("RescaleSlope", slope), ("RescaleIntercept", intercept)) if v is None]
        raise AnalyzerError(
            f"{Path(ds.filename).name}: {' and '.join(missing)} missing; CT numbers (HU) cannot be established"
        )
    return float(slope), float(intercept)


def _to_int16(hu: np.ndarray) -> np.ndarray:
    out: np.ndarray = np.clip(np.rint(hu), -2048, 4095).astype(np.int16)
    return out


def _slice_hu_float(ds: Any) -> np.ndarray:
    """One slice in HU as float32 (padding outside the field of view read as air)."""
    slope, intercept = _rescale(ds)
    hu: np.ndarray = _pixels(ds).astype(np.float32) * slope + intercept
    hu[hu < FOV_PAD_HU] = AIR_HU
    return hu


def _slice_hu(ds: Any) -> np.ndarray:
    """One slice in HU as int16; integer arithmetic for the usual slope 1 and whole-number intercept (the same
    values as the float route, at a fraction of the memory traffic)."""
    slope, intercept = _rescale(ds)
    arr = _pixels(ds)
    if slope != 1.0 or not float(intercept).is_integer() or arr.dtype.kind not in "iu" or arr.itemsize > 2:
        return _to_int16(_slice_hu_float(ds))
    hu = arr.astype(np.int32) + int(intercept)
    hu[hu < FOV_PAD_HU] = AIR_HU
    return np.clip(hu, -2048, 4095).astype(np.int16)


def read_dicom_series(files: Sequence[Path]) -> CTVolume:
    headers, unreadable = _headers(files)
    if not headers:
        raise AnalyzerError("no readable DICOM files in the input; a chest CT series is needed")
    series, notes = choose_series(headers)
    if unreadable:
        notes.append(f"{len(unreadable)} file(s) not readable as DICOM were ignored")
    first = series[0]
    row_dir, col_dir = _orientation(first)  # type: ignore[misc]
    normal = np.cross(row_dir, col_dir)
    slices = [
        _Slice(Path(ds.filename), ds, np.array([float(v) for v in ds.ImagePositionPatient]), row_dir, col_dir)
        for ds in series
    ]
    shapes = {(int(s.ds.Rows), int(s.ds.Columns)) for s in slices}
    if len(shapes) > 1:
        raise AnalyzerError(f"mixed image sizes within one series ({sorted(shapes)}); cannot build a volume")
    slices.sort(key=lambda s: float(s.position @ normal))
    pos = np.array([float(s.position @ normal) for s in slices])
    keep = np.concatenate([[True], np.diff(pos) > 0.01])
    if not keep.all():
        notes.append(f"{int((~keep).sum())} duplicate slice(s) at the same position dropped")
        slices = [s for s, k in zip(slices, keep, strict=True) if k]
        pos = pos[keep]
    if len(slices) < 2:
        raise AnalyzerError("only a single axial CT slice was received; a chest CT series (many slices) is needed")

    ps = [float(v) for v in first.PixelSpacing] if "PixelSpacing" in first else [1.0, 1.0]
    if "PixelSpacing" not in first:
        notes.append("PixelSpacing missing: 1 mm assumed, sizes are unreliable")
    sy, sx = ps[0], ps[1]
    thickness = float(getattr(first, "SliceThickness", 0) or 0) or None

    # Gantry tilt and uneven spacing are known from the headers, before any pixel is decoded: the usual exam
    # (neither) goes straight to int16 HU slice by slice; the others are resampled in float first.
    offsets = np.array([s.position - slices[0].position for s in slices])
    inplane = offsets - np.outer(offsets @ normal, normal)
    shift_px = np.stack([inplane @ col_dir / sy, inplane @ row_dir / sx], axis=1)  # (rows, cols)
    tilted = bool(np.abs(shift_px).max() > 0.25)
    steps = np.diff(pos)
    step = float(np.median(steps))
    max_gap = float(steps.max())
    uneven = bool(np.abs(steps - step).max() > 0.05 * step)
    resample = tilted or uneven
    decode = _slice_hu_float if resample else _slice_hu
    # Threads: file reads and the decoders' C code overlap.
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        planes = list(pool.map(decode, [s.ds for s in slices]))
    stack = np.stack(planes)
    del planes

    if tilted:
        # Slice origins drift within the image plane; shift each slice back onto slice 0's column.
        from scipy.ndimage import shift as nd_shift

        span = float(pos[-1] - pos[0])
        drift = float(np.linalg.norm(inplane[-1]))
        tilt_deg = float(np.degrees(np.arctan2(drift, span))) if span > 0 else 0.0
        for k in range(stack.shape[0]):
            if np.abs(shift_px[k]).max() > 0.01:
                stack[k] = nd_shift(stack[k], (shift_px[k, 0], shift_px[k, 1]), order=1, cval=AIR_HU)
        notes.append(f"gantry tilt {tilt_deg:.1f} degrees corrected (slices resampled onto an orthogonal grid)")

    filled = 0
    if uneven:
        # Missing slices or uneven spacing: interpolate onto a regular grid at the typical spacing.
        grid = np.arange(pos[0], pos[-1] + step * 0.5, step)
        idx = np.clip(np.searchsorted(pos, grid, side="right") - 1, 0, len(pos) - 2)
        w = ((grid - pos[idx]) / (pos[idx + 1] - pos[idx])).astype(np.float32)[:, None, None]
        stack = stack[idx] * (1 - w) + stack[idx + 1] * w
        filled = int(len(grid) - len(pos))
        if max_gap > 1.5 * step:
            notes.append(
                f"gap of {max_gap:.1f} mm between slices (about {filled} slice(s) missing) filled by interpolation"
            )
        else:
            notes.append(f"uneven slice spacing ({steps.min():.2f}-{max_gap:.2f} mm) resampled to {step:.2f} mm")
    if resample:
        stack = _to_int16(stack)
    origin = slices[0].position
    axes = np.stack([row_dir, col_dir, normal], axis=1)
    meta = {
        "modality": "CT",
        "series_instance_uid": str(getattr(first, "SeriesInstanceUID", "")),
        "series_description": str(getattr(first, "SeriesDescription", "") or ""),
        "body_part": str(getattr(first, "BodyPartExamined", "") or ""),
        "kernel": str(getattr(first, "ConvolutionKernel", "") or ""),
        "manufacturer": str(getattr(first, "Manufacturer", "") or ""),
        "kvp": float(getattr(first, "KVP", 0) or 0) or None,
        "n_files": len(slices),
        "study_date": str(getattr(first, "StudyDate", "") or ""),
        "transfer_syntax": str(getattr(getattr(first, "file_meta", None), "TransferSyntaxUID", "") or ""),
    }
    return CTVolume(
        hu=stack,
        spacing=(step, sy, sx),
        origin=origin,
        axes=axes,
        slice_thickness_mm=thickness,
        source="dicom",
        notes=notes,
        max_gap_mm=max_gap,
        filled_slices=filled,
        meta=meta,
    )


def looks_like_ct_file(path: Path) -> bool:
    """Intake check for one file: a CT image DICOM, or a research volume."""
    path = Path(path)
    if path.is_dir():
        return any(looks_like_ct_file(p) for p in sorted(path.rglob("*"))[:50] if p.is_file())
    if is_research_volume(path):
        return True
    if not _is_dicom(path):
        return False
    try:
        import pydicom

        ds = pydicom.dcmread(str(path), stop_before_pixels=True, force=True, specific_tags=["Modality", "Rows"])
    except Exception:
        return False
    return str(getattr(ds, "Modality", "")) == "CT" and "Rows" in ds
