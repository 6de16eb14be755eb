"""Synthetic chest-CT phantoms written as DICOM series, for tests that must run from the repo alone.

A body ellipse of soft tissue holds two air-filled lungs with a few vessels; a nodule can be placed in the
right lung. Every geometric fact (positions, spacing, nodule centre and size) is known exactly.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

PIXEL_MM = 1.5
SIZE = 192


def phantom(n_slices: int = 60, dz: float = 2.0, nodule_mm: float | None = 10.0, nodule_hu: float = 30.0,
            seed: int = 0, nodule_at: tuple[float, float, float] = (0.0, 0.0, 0.0)) -> tuple[np.ndarray, dict]:
    """HU volume [z, y, x] and its truth (nodule centre in index units, lungs' nominal volumes)."""
    rng = np.random.default_rng(seed)
    z, y, x = np.meshgrid(np.arange(n_slices) * dz, np.arange(SIZE) * PIXEL_MM, np.arange(SIZE) * PIXEL_MM,
                          indexing="ij")
    cy, cx, cz = SIZE * PIXEL_MM / 2, SIZE * PIXEL_MM / 2, n_slices * dz / 2
    hu: np.ndarray = np.full(z.shape, -1000.0, np.float32)
    body = ((x - cx) / 130) ** 2 + ((y - cy) / 95) ** 2 <= 1
    hu[body] = 40.0
    half = n_slices * dz / 2 - 6  # lungs end inside the scan: complete coverage
    lungs = []
    for sign in (-1, 1):
        m = ((x - cx - sign * 60) / 50) ** 2 + ((y - cy) / 78) ** 2 + ((z - cz) / half) ** 2 <= 1
        hu[m] = -850.0
        lungs.append(m)
    # a few vessels: tubes along z in each lung
    for sign in (-1, 1):
        for off in (-25, 20):
            tube = ((x - cx - sign * 55 - off / 3) ** 2 + (y - cy - off) ** 2 <= 2.0**2) & lungs[(sign + 1) // 2]
            hu[tube] = 30.0
    truth: dict = {"lung_ml": [float(m.sum()) * PIXEL_MM * PIXEL_MM * dz / 1000 for m in lungs]}
    if nodule_mm:
        # right lung: patient right is -x in LPS, i.e. the lower column indices here
        ncz, ncy, ncx = cz + nodule_at[0], cy - 15 + nodule_at[1], cx - 70 + nodule_at[2]
        ss = 3  # supersampled partial volume at the edge
        occ = np.zeros(z.shape, np.float32)
        for a in range(ss):
            for b in range(ss):
                for c in range(ss):
                    dzv, dyv, dxv = ((a + 0.5) / ss - 0.5) * dz, ((b + 0.5) / ss - 0.5) * PIXEL_MM, (
                        (c + 0.5) / ss - 0.5) * PIXEL_MM
                    occ += ((z + dzv - ncz) ** 2 + (y + dyv - ncy) ** 2 + (x + dxv - ncx) ** 2 <= (nodule_mm / 2) ** 2)
        occ /= ss**3
        hu = hu * (1 - occ) + nodule_hu * occ
        truth["nodule_index"] = (ncz / dz, ncy / PIXEL_MM, ncx / PIXEL_MM)
        truth["nodule_mm"] = nodule_mm
    hu += rng.normal(0, 8, hu.shape).astype(np.float32)
    return np.clip(np.rint(hu), -1024, 3071).astype(np.int16), truth


def write_series(folder: Path, hu: np.ndarray, dz: float, *, slope: float = 1.0, intercept: float = -1024.0,
                 modality: str = "CT", series_uid: str | None = None, thickness: float | None = None,
                 tilt_mm_per_slice: float = 0.0, names: list[str] | None = None, study_date: str = "20250101",
                 origin: tuple[float, float, float] = (-144.0, -144.0, -300.0), image_type: str = "ORIGINAL",
                 omit_rescale: bool = False, series_number: int = 2) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    series_uid = series_uid or generate_uid()
    study_uid = generate_uid()
    paths = []
    for k in range(hu.shape[0]):
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = CTImageStorage
        meta.MediaStorageSOPInstanceUID = generate_uid()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        name = names[k] if names else f"img_{k:04d}.dcm"
        ds = FileDataset(str(folder / name), {}, file_meta=meta, preamble=b"\0" * 128)
        ds.SOPClassUID = CTImageStorage
        ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
        ds.Modality = modality
        ds.StudyInstanceUID = study_uid
        ds.SeriesInstanceUID = series_uid
        ds.SeriesNumber = series_number
        ds.StudyDate = study_date
        ds.InstanceNumber = k + 1
        ds.ImageType = [image_type, "PRIMARY", "AXIAL"]
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.ImagePositionPatient = [origin[0], origin[1] + tilt_mm_per_slice * k, origin[2] + k * dz]
        ds.PixelSpacing = [PIXEL_MM, PIXEL_MM]
        ds.SliceThickness = thickness if thickness is not None else dz
        ds.Rows, ds.Columns = hu.shape[1], hu.shape[2]
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.BitsAllocated = ds.BitsStored = 16
        ds.HighBit = 15
        ds.PixelRepresentation = 0
        if not omit_rescale:
            ds.RescaleSlope = slope
            ds.RescaleIntercept = intercept
        stored = np.clip(np.rint((hu[k].astype(np.float64) - intercept) / slope), 0, 65535).astype(np.uint16)
        ds.PixelData = stored.tobytes()
        path = folder / name
        ds.save_as(str(path), enforce_file_format=True)
        paths.append(path)
    return paths


def read_back(path: Path) -> pydicom.Dataset:
    return pydicom.dcmread(str(path))
