"""Real test objects: a demo ECG (CinC 2021 E07509) wrapped as a DICOM 12-lead ECG waveform, and
pydicom's bundled CT slice."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, TwelveLeadECGWaveformStorage, generate_uid

from dualsign.analyzers.ecg.read import read_ecg
from tests.conftest import DEMO_SAMPLES


def _code(value: str, scheme: str, meaning: str) -> Dataset:
    c = Dataset()
    c.CodeValue, c.CodingSchemeDesignator, c.CodeMeaning = value, scheme, meaning
    return c


def ecg_dicom(path: Path, record: str = "E07509", *, patient_id: str = "MRN-ECG-1",
              study_uid: str | None = None) -> Path:
    rec = read_ecg(DEMO_SAMPLES / f"{record}.hea")
    raw = np.round(rec.signal * 1000.0).astype(np.int16)  # uV, sensitivity 1
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = TwelveLeadECGWaveformStorage
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID, ds.SOPInstanceUID = TwelveLeadECGWaveformStorage, ds.file_meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = study_uid or generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.Modality, ds.StudyID, ds.SeriesNumber, ds.InstanceNumber = "ECG", "1", 1, 1
    ds.PatientID, ds.PatientName, ds.PatientSex, ds.PatientBirthDate = patient_id, "Chen^Zhiming", "M", "19551120"
    ds.StudyDate, ds.StudyTime, ds.AccessionNumber, ds.ReferringPhysicianName = "20260401", "093000", "ACC1", ""
    ds.Manufacturer = "test"
    g = Dataset()
    g.MultiplexGroupLabel, g.WaveformOriginality = "RHYTHM", "ORIGINAL"
    g.NumberOfWaveformChannels, g.NumberOfWaveformSamples = raw.shape[1], raw.shape[0]
    g.SamplingFrequency, g.WaveformBitsAllocated, g.WaveformSampleInterpretation = rec.fs, 16, "SS"
    chans = []
    for name in rec.lead_names:
        ch = Dataset()
        ch.ChannelSourceSequence = [_code("x", "MDC", f"Lead {name}")]
        ch.ChannelSensitivityUnitsSequence = [_code("uV", "UCUM", "microvolt")]
        ch.ChannelSensitivity, ch.ChannelSensitivityCorrectionFactor, ch.ChannelBaseline = "1", "1", "0"
        ch.WaveformBitsStored = 16
        chans.append(ch)
    g.ChannelDefinitionSequence = chans
    g.WaveformData = raw.tobytes()
    ds.WaveformSequence = [g]
    ds.save_as(str(path), enforce_file_format=True)
    return path


CT_SMALL = Path(str(get_testdata_file("CT_small.dcm")))
MR_SMALL = Path(str(get_testdata_file("MR_small.dcm")))


def dcmtk(tool: str) -> str:
    """dcmtk's tool: pynetdicom installs its own storescu/storescp into the venv, which would shadow it."""
    import shutil

    for candidate in (f"/usr/bin/{tool}", f"/usr/local/bin/{tool}"):
        if Path(candidate).exists():
            return candidate
    found = shutil.which(tool)
    assert found, f"dcmtk's {tool} is not installed (apt-get install dcmtk)"
    return found
