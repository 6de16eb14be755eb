"""Real CT from the repo alone: 11 slices of LIDC-IDRI-0001 (JPEG 2000 lossless) with the readers' nodule marks.

The nodule must be found, and its long-axis diameter and volume must fall within the range of the four
readers' contours (tests/data/ct_nodule/ATTRIBUTION.md says where the sample comes from; the slices are the demo's,
in dualsign/demo/samples/).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from dualsign.analyzers.ct_nodule import CTNoduleAnalyzer

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "ct_nodule"
SLAB = Path(__file__).resolve().parents[3] / "dualsign" / "demo" / "samples" / "lidc-idri-0001-slab"


@pytest.fixture(scope="module")
def readers() -> list[dict[str, str]]:
    with (SAMPLE / "lidc-idri-0001-readers.csv").open() as fh:
        return list(csv.DictReader(fh))


def test_lidc_nodule_found_within_the_readers_range(readers: list[dict[str, str]]) -> None:
    result = CTNoduleAnalyzer().analyze([SLAB])  # JPEG 2000 lossless: pylibjpeg-openjpeg decodes it
    centre = np.mean([[float(r[f"centroid_{a}_mm"]) for a in "xyz"] for r in readers], axis=0)
    diam = [float(r["longest_axial_diameter_mm"]) for r in readers]
    vols = [float(r["approx_volume_mm3"]) for r in readers]
    near = [f for f in result.raw["findings"] if np.linalg.norm(np.array(f["center_mm"]) - centre) <= 10.0]
    assert near, result.raw["findings"]
    f = near[0]
    assert min(diam) <= f["diameter_mm"] <= max(diam)
    assert min(vols) <= f["volume_mm3"] <= max(vols)
    assert f["density"] == "solid"
    # 2.5 mm slices meet the thickness rule; an 11-slice slab cannot cover the lungs
    assert result.raw["quality"]["slice_thickness_mm"] == pytest.approx(2.5)
    assert any("incomplete lung coverage" in r for r in result.quality.reasons)
    assert result.attachments[f["key_image"]].startswith(b"\x89PNG")
