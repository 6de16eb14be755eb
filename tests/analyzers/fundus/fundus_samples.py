"""Test inputs: the sample photos shipped in the package (IDRiD, CC BY 4.0; see their ATTRIBUTION.md), synthetic
non-fundus pictures drawn here, and a DICOM photo writer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
from PIL import Image, ImageDraw
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID, ExplicitVRLittleEndian, generate_uid

from dualsign.analyzers.fundus.read import OPHTHALMIC_8BIT

SAMPLES = Path(__file__).resolve().parents[3] / "dualsign" / "demo" / "samples" / "fundus"
NO_DR = SAMPLES / "idrid_nar_002.jpg"
REFERABLE = SAMPLES / "idrid_46.jpg"
MACULAR_EXUDATES = SAMPLES / "idrid_13.jpg"


def load_rgb(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def load_mask(name: str) -> np.ndarray:
    return np.asarray(Image.open(SAMPLES / name).convert("L")) > 127


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


def write_photo_dicom(path: Path, rgb: np.ndarray, sop_class: str, laterality_tag: str, eye: str) -> None:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID(sop_class)
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.Modality = "OP" if sop_class == OPHTHALMIC_8BIT else "XC"
    setattr(ds, laterality_tag, eye)
    ds.Rows, ds.Columns = rgb.shape[:2]
    ds.SamplesPerPixel = 3
    ds.PhotometricInterpretation = "RGB"
    ds.PlanarConfiguration = 0
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    ds.PixelData = rgb.tobytes()
    pydicom.dcmwrite(str(path), ds, enforce_file_format=True)
