"""Series assembly from synthetic DICOM: order, rescale, gaps, duplicates, tilt, compression, bad input."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pydicom
import pytest

from dualsign.analyzers.base import AnalyzerError
from dualsign.analyzers.ct_nodule.read import read_ct
from tests.analyzers.ct_nodule.phantom import PIXEL_MM, phantom, write_series

DZ = 2.0


@pytest.fixture(scope="module")
def small() -> np.ndarray:
    hu, _ = phantom(n_slices=12, dz=DZ, nodule_mm=None)
    return hu


def test_shuffled_names_are_sorted_by_position_and_rescaled(tmp_path: Path, small: np.ndarray) -> None:
    names = [f"{random.Random(k).randrange(10**8)}_{k}.dcm" for k in range(small.shape[0])]
    random.Random(1).shuffle(names)
    write_series(tmp_path, small, DZ, slope=0.5, intercept=-1100.0, names=names)
    vol = read_ct([tmp_path])
    # slope 0.5 stores HU in half steps: the read-back is exact to that step
    assert np.abs(vol.hu.astype(int) - small.astype(int)).max() <= 1
    assert vol.spacing == pytest.approx((DZ, PIXEL_MM, PIXEL_MM))
    assert vol.origin == pytest.approx([-144.0, -144.0, -300.0])
    assert vol.index_to_lps((3, 10, 20)) == pytest.approx([-144.0 + 20 * PIXEL_MM, -144.0 + 10 * PIXEL_MM, -300 + 6])
    assert vol.lps_to_index(vol.index_to_lps((3, 10, 20))) == pytest.approx([3, 10, 20])


def test_missing_slice_is_filled_and_reported(tmp_path: Path, small: np.ndarray) -> None:
    paths = write_series(tmp_path, small, DZ)
    paths[5].unlink()
    vol = read_ct([tmp_path])
    assert vol.shape[0] == small.shape[0]
    assert vol.max_gap_mm == pytest.approx(2 * DZ)
    assert any("gap" in n for n in vol.notes)
    # the filled slice is the mean of its neighbours
    expected = (small[4].astype(float) + small[6]) / 2
    assert np.abs(vol.hu[5] - expected).max() <= 1


def test_duplicate_slices_are_dropped(tmp_path: Path, small: np.ndarray) -> None:
    write_series(tmp_path / "a", small, DZ)
    dup = write_series(tmp_path / "b", small[:1], DZ)[0]
    ds = pydicom.dcmread(str(dup))
    ds.SeriesInstanceUID = pydicom.dcmread(str(next((tmp_path / "a").iterdir()))).SeriesInstanceUID
    ds.save_as(str(tmp_path / "a" / "dup.dcm"))
    vol = read_ct([tmp_path / "a"])
    assert vol.shape[0] == small.shape[0]
    assert any("duplicate" in n for n in vol.notes)


def test_gantry_tilt_is_resampled_onto_an_orthogonal_grid(tmp_path: Path, small: np.ndarray) -> None:
    # Each slice is stored shifted by k*3 mm in y (a tilted gantry); the stored pixels are the shifted image.
    shift_px = 2  # 3 mm / 1.5 mm
    tilted = np.stack([np.roll(small[k], -shift_px * k, axis=0) for k in range(small.shape[0])])
    write_series(tmp_path, tilted, DZ, tilt_mm_per_slice=shift_px * PIXEL_MM)
    vol = read_ct([tmp_path])
    assert any("gantry tilt" in n for n in vol.notes)
    inner = (slice(None), slice(30, -30), slice(None))
    assert np.abs(vol.hu[inner].astype(int) - small[inner]).max() <= 2


def test_rle_compressed_series_reads_the_same(tmp_path: Path, small: np.ndarray) -> None:
    from pydicom.uid import RLELossless

    for p in write_series(tmp_path, small, DZ):
        ds = pydicom.dcmread(str(p))
        ds.compress(RLELossless)
        ds.save_as(str(p))
    assert pydicom.dcmread(str(next(tmp_path.iterdir()))).file_meta.TransferSyntaxUID == RLELossless
    vol = read_ct([tmp_path])
    assert np.array_equal(vol.hu, small)


def test_jpeg2000_lossless_series_reads_the_same(tmp_path: Path, small: np.ndarray) -> None:
    from pydicom.uid import JPEG2000Lossless  # encoded and decoded by pylibjpeg-openjpeg (a dependency)

    for p in write_series(tmp_path, small, DZ):
        ds = pydicom.dcmread(str(p))
        ds.compress(JPEG2000Lossless)
        ds.save_as(str(p))
    vol = read_ct([tmp_path])
    assert np.array_equal(vol.hu, small)


def test_research_volume_mha(tmp_path: Path, small: np.ndarray) -> None:
    import SimpleITK as sitk
    img = sitk.GetImageFromArray(small)
    img.SetSpacing((PIXEL_MM, PIXEL_MM, DZ))
    img.SetOrigin((-10.0, -20.0, -30.0))
    sitk.WriteImage(img, str(tmp_path / "ct.mha"))
    vol = read_ct([tmp_path / "ct.mha"])
    assert np.array_equal(vol.hu, small)
    assert vol.spacing == pytest.approx((DZ, PIXEL_MM, PIXEL_MM))
    assert vol.index_to_lps((1, 0, 0)) == pytest.approx([-10.0, -20.0, -30.0 + DZ])


def test_scout_and_other_series_are_skipped_with_a_note(tmp_path: Path, small: np.ndarray) -> None:
    write_series(tmp_path / "axial", small, DZ, series_number=2)
    write_series(tmp_path / "scout", small[:1], DZ, image_type="LOCALIZER", series_number=1)
    write_series(tmp_path / "short", small[:4], DZ, series_number=3)
    vol = read_ct([tmp_path])
    assert vol.shape[0] == small.shape[0]
    assert any("scout" in n for n in vol.notes)
    assert any("another axial CT series" in n for n in vol.notes)


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("mr", "no CT images"),
        ("single", "single"),
        ("rescale", "RescaleSlope and RescaleIntercept missing"),
        ("corrupt", "pixel data cannot be decoded"),
        ("empty", "no input files"),
    ],
)
def test_bad_input_names_the_problem(tmp_path: Path, small: np.ndarray, setup: str, message: str) -> None:
    folder = tmp_path / "in"
    if setup == "mr":
        write_series(folder, small[:4], DZ, modality="MR")
    elif setup == "single":
        write_series(folder, small[:1], DZ)
    elif setup == "rescale":
        write_series(folder, small[:4], DZ, omit_rescale=True)
    elif setup == "corrupt":
        paths = write_series(folder, small[:4], DZ)
        ds = pydicom.dcmread(str(paths[2]))
        ds.PixelData = ds.PixelData[:1000]
        ds.save_as(str(paths[2]))
    else:
        folder.mkdir()
    with pytest.raises(AnalyzerError, match=message) as err:
        read_ct([folder])
    if setup == "corrupt":
        assert "img_0002.dcm" in str(err.value)
