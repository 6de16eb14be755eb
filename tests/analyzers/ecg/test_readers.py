"""Readers round-trip: a real 12-lead record written as CSV, DICOM and HL7 aECG reads back the same."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID, ExplicitVRLittleEndian, generate_uid

from dualsign.analyzers.ecg import ECGAnalyzer
from dualsign.analyzers.ecg.read import read_ecg

DATA = Path(__file__).resolve().parents[2] / "data" / "ecg"
LEADS = ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]


def _reference() -> tuple[np.ndarray, float]:
    rec = read_ecg(DATA / "HR06004")
    assert rec.lead_names == LEADS
    return rec.signal, rec.fs


def test_csv_round_trip(tmp_path: Path) -> None:
    sig, fs = _reference()
    p = tmp_path / "ecg.csv"
    body = "\n".join(",".join(f"{v:.4f}" for v in row) for row in sig)
    p.write_text(f"# sampling_rate: {fs:g} Hz\n# units=mV\n" + ",".join(LEADS) + "\n" + body + "\n")
    rec = read_ecg(p)
    assert rec.fs == fs and rec.lead_names == LEADS
    np.testing.assert_allclose(rec.signal, sig, atol=1e-4)
    # fs passed by the caller instead of a comment
    p2 = tmp_path / "ecg2.csv"
    p2.write_text(",".join(f"Lead {n}" for n in LEADS) + "\n" + body + "\n")
    assert read_ecg(p2, fs=fs).n_samples == sig.shape[0]


def test_dicom_round_trip(tmp_path: Path) -> None:
    sig, fs = _reference()
    raw = np.round(sig * 1000.0).astype(np.int16)  # uV, sensitivity 1
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = UID("1.2.840.10008.5.1.4.1.1.9.1.1")  # 12-lead ECG waveform
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ds.Modality = "ECG"
    g = Dataset()
    g.MultiplexGroupLabel = "RHYTHM"
    g.WaveformOriginality = "ORIGINAL"
    g.NumberOfWaveformChannels = len(LEADS)
    g.NumberOfWaveformSamples = raw.shape[0]
    g.SamplingFrequency = fs
    g.WaveformBitsAllocated = 16
    g.WaveformSampleInterpretation = "SS"
    chans = []
    for name in LEADS:
        ch = Dataset()
        src = Dataset()
        src.CodeValue, src.CodingSchemeDesignator, src.CodeMeaning = "x", "MDC", f"Lead {name}"
        ch.ChannelSourceSequence = [src]
        unit = Dataset()
        unit.CodeValue, unit.CodingSchemeDesignator, unit.CodeMeaning = "uV", "UCUM", "microvolt"
        ch.ChannelSensitivityUnitsSequence = [unit]
        ch.ChannelSensitivity = "1"
        ch.ChannelSensitivityCorrectionFactor = "1"
        ch.ChannelBaseline = "0"
        ch.WaveformBitsStored = 16
        chans.append(ch)
    g.ChannelDefinitionSequence = chans
    g.WaveformData = raw.tobytes()
    ds.WaveformSequence = [g]
    p = tmp_path / "ecg.dcm"
    ds.save_as(str(p), enforce_file_format=True)
    assert pydicom.dcmread(str(p)).Modality == "ECG"
    assert ECGAnalyzer().can_read(p)
    rec = read_ecg(p)
    assert rec.fs == fs and rec.lead_names == LEADS and rec.source_format == "dicom"
    np.testing.assert_allclose(rec.signal, raw / 1000.0, atol=1e-9)


def test_aecg_round_trip(tmp_path: Path) -> None:
    sig, fs = _reference()
    raw = np.round(sig * 1000.0 / 5.0).astype(int)  # scale 5 uV
    seqs = [
        '<component><sequence><code code="TIME_ABSOLUTE" codeSystem="2.16.840.1.113883.5.4"/>'
        f'<value xsi:type="GLIST_TS"><head value="20240101120000.000"/>'
        f'<increment value="{1 / fs:g}" unit="s"/></value></sequence></component>'
    ]
    for j, name in enumerate(LEADS):
        digits = " ".join(str(v) for v in raw[:, j])
        seqs.append(
            f'<component><sequence><code code="MDC_ECG_LEAD_{name.upper()}" '
            'codeSystem="2.16.840.1.113883.6.24"/>'
            f'<value xsi:type="SLIST_PQ"><origin value="0" unit="uV"/><scale value="5" unit="uV"/>'
            f"<digits>{digits}</digits></value></sequence></component>"
        )
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<AnnotatedECG xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        "<component><series><component><sequenceSet>" + "".join(seqs) + "</sequenceSet></component>"
        "</series></component></AnnotatedECG>"
    )
    p = tmp_path / "ecg.xml"
    p.write_text(xml)
    assert ECGAnalyzer().can_read(p)
    rec = read_ecg(p)
    assert abs(rec.fs - fs) < 1e-6 and rec.lead_names == LEADS
    np.testing.assert_allclose(rec.signal, raw * 5.0 / 1000.0, atol=1e-9)
    # Same beats as from the original file.
    res = ECGAnalyzer().analyze([p])
    assert (
        res.raw["measurements"]["hr_bpm"]
        == ECGAnalyzer().analyze([DATA / "HR06004"]).raw["measurements"]["hr_bpm"]
    )
