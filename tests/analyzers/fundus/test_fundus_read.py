"""Readers: JPEG, PNG, TIFF and DICOM (ophthalmic 8-bit, VL photographic) give the same pixels; bad input is named."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fundus_samples import NO_DR, load_rgb, write_photo_dicom
from PIL import Image

from dualsign.analyzers.base import AnalyzerError
from dualsign.analyzers.fundus.read import OPHTHALMIC_8BIT, VL_PHOTOGRAPHIC, read_fundus, sniff_format


@pytest.mark.parametrize("fmt", ["PNG", "TIFF"])
def test_lossless_formats_read_the_same_pixels(tmp_path: Path, fmt: str) -> None:
    rgb = load_rgb(NO_DR)
    p = tmp_path / f"photo.{fmt.lower()}"
    Image.fromarray(rgb).save(p, format=fmt)
    image = read_fundus(p)
    assert image.source_format == fmt.lower()
    assert np.array_equal(image.rgb, rgb)


def test_jpeg_reads_and_names_its_format() -> None:
    image = read_fundus(NO_DR)
    assert image.source_format == "jpeg" and image.rgb.shape == (512, 512, 3) and image.laterality is None


@pytest.mark.parametrize(
    ("sop_class", "tag", "eye"), [(OPHTHALMIC_8BIT, "ImageLaterality", "R"), (VL_PHOTOGRAPHIC, "Laterality", "L")]
)
def test_dicom_photographs_carry_pixels_and_laterality(tmp_path: Path, sop_class: str, tag: str, eye: str) -> None:
    rgb = load_rgb(NO_DR)
    p = tmp_path / "photo.dcm"
    write_photo_dicom(p, rgb, sop_class, tag, eye)
    image = read_fundus(p)
    assert image.source_format == "dicom"
    assert image.laterality == eye
    assert np.array_equal(image.rgb, rgb)


def test_dicom_of_another_kind_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "ct.dcm"
    write_photo_dicom(p, load_rgb(NO_DR), "1.2.840.10008.5.1.4.1.1.2", "Laterality", "R")  # CT Image Storage
    with pytest.raises(AnalyzerError, match="not an ophthalmic or visible-light photograph"):
        read_fundus(p)


def test_truncated_jpeg_is_named_corrupt(tmp_path: Path) -> None:
    p = tmp_path / "broken.jpg"
    p.write_bytes(NO_DR.read_bytes()[:600])
    with pytest.raises(AnalyzerError, match="corrupt or truncated"):
        read_fundus(p)


def test_non_image_bytes_are_refused(tmp_path: Path) -> None:
    p = tmp_path / "notes.jpg"
    p.write_text("this is not a photograph\n")
    with pytest.raises(AnalyzerError, match="not a JPEG, PNG, TIFF or DICOM"):
        read_fundus(p)


def test_tiny_image_is_refused_with_its_size(tmp_path: Path) -> None:
    p = tmp_path / "thumb.png"
    Image.fromarray(load_rgb(NO_DR)).resize((120, 120)).save(p)
    with pytest.raises(AnalyzerError, match=r"too small \(120x120 px\)"):
        read_fundus(p)


def test_folder_reads_its_image_and_ignores_other_files(tmp_path: Path) -> None:
    (tmp_path / "a_readme.txt").write_text("exam notes")
    Image.fromarray(load_rgb(NO_DR)).save(tmp_path / "b_photo.png")
    assert sniff_format(tmp_path) == "png"
    assert read_fundus(tmp_path).rgb.shape == (512, 512, 3)
