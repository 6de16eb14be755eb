"""ECG readers: WFDB (.hea + .dat/.mat), DICOM waveform, HL7 aECG XML and CSV, all to one ECGRecord in mV.

Every reader checks what it reads and raises AnalyzerError naming the problem (truncated data, a header that
disagrees with the data, NaNs, no samples, an implausible sampling rate, unknown lead names): a bad file must
never come out as a quietly analysed, "normal" ECG.

CSV convention: one column per lead, a header row with the lead names, values in mV. The sampling rate is
given by the caller (`read_ecg(path, fs=500)`) or by a leading comment line such as `# fs=500` (also
`# sampling_rate: 500 Hz`); `# units=uV` (or `units: uV`) declares microvolts. An optional first column
named `time`/`t`/`time_s` (seconds) is dropped after being used to check or infer the sampling rate.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dualsign.analyzers.base import AnalyzerError
from dualsign.analyzers.ecg.leads import normalise_leads

MIN_FS, MAX_FS = 50.0, 20000.0
MIN_SECONDS = 2.0  # too short to find two beats: rejected as input, not analysed

# Bytes per sample (per signal) of the WFDB storage formats: (numerator, denominator).
_WFDB_BYTES: dict[str, tuple[int, int]] = {
    "8": (1, 1),
    "80": (1, 1),
    "16": (2, 1),
    "61": (2, 1),
    "160": (2, 1),
    "24": (3, 1),
    "32": (4, 1),
    "212": (3, 2),
    "310": (4, 3),
    "311": (4, 3),
}


@dataclass
class ECGRecord:
    signal: np.ndarray  # float64 mV, shape (n_samples, n_leads)
    fs: float
    lead_names: list[str]
    source_format: str
    path: str
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def n_samples(self) -> int:
        return int(self.signal.shape[0])

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.fs


def _finish(
    signal: np.ndarray, fs: float, names: list[str], fmt: str, path: Path, meta: dict[str, Any] | None = None
) -> ECGRecord:
    """Checks shared by every reader."""
    if not np.isfinite(fs) or fs < MIN_FS or fs > MAX_FS:
        raise AnalyzerError(f"{path}: implausible sampling rate {fs!r} Hz (expected {MIN_FS:g}-{MAX_FS:g})")
    sig = np.asarray(signal, dtype=np.float64)
    if sig.ndim == 1:
        sig = sig[:, None]
    if sig.shape[0] == 0 or sig.shape[1] == 0:
        raise AnalyzerError(f"{path}: zero-length signal (no samples)")
    if sig.shape[1] != len(names):
        raise AnalyzerError(f"{path}: {sig.shape[1]} signal columns but {len(names)} lead names")
    if sig.shape[1] > 16:
        raise AnalyzerError(f"{path}: {sig.shape[1]} channels; an ECG has at most 16 leads")
    n_bad = int(np.count_nonzero(~np.isfinite(sig)))
    if n_bad:
        raise AnalyzerError(f"{path}: signal contains {n_bad} NaN/missing samples")
    if sig.shape[0] < MIN_SECONDS * fs:
        raise AnalyzerError(
            f"{path}: signal too short ({sig.shape[0] / fs:.2f} s; at least {MIN_SECONDS:g} s needed)"
        )
    try:
        leads = normalise_leads(names)
    except ValueError as exc:
        raise AnalyzerError(f"{path}: {exc}") from None
    return ECGRecord(sig, float(fs), leads, fmt, str(path), meta or {})


# ----------------------------------------------------------------------------------------------- WFDB
def _wfdb_base(path: Path) -> Path:
    return path.with_suffix("") if path.suffix.lower() in (".hea", ".dat", ".mat") else path


def _check_wfdb_sizes(base: Path, header: Any) -> None:
    """Compare each signal file's size with what the header promises (wfdb would pad or crash)."""
    sig_len = header.sig_len
    if sig_len is None:
        return
    if sig_len <= 0:
        raise AnalyzerError(f"{base}: header gives {sig_len} samples (zero-length record)")
    files: dict[str, list[int]] = {}
    for i, fname in enumerate(header.file_name or []):
        files.setdefault(fname, []).append(i)
    for fname, idx in files.items():
        fmt = str(header.fmt[idx[0]])
        if fmt not in _WFDB_BYTES:
            continue
        spf = sum(int((header.samps_per_frame or [1] * header.n_sig)[i] or 1) for i in idx)
        num, den = _WFDB_BYTES[fmt]
        offset = int((header.byte_offset or [0] * header.n_sig)[idx[0]] or 0)
        expected = offset + -(-sig_len * spf * num // den)
        fpath = base.parent / fname
        if not fpath.exists():
            raise AnalyzerError(f"{base}: signal file {fname} named in the header is missing")
        size = fpath.stat().st_size
        if size < expected:
            raise AnalyzerError(
                f"{base}: truncated signal file {fname}: {size} bytes, header sample count "
                f"{sig_len} needs {expected}"
            )
        if size > expected + max(num, 4) and fmt != "8":
            got = (size - offset) * den // (num * spf)
            raise AnalyzerError(
                f"{base}: header sample count ({sig_len}) disagrees with data file {fname} "
                f"(holds about {got} samples)"
            )


def read_wfdb(path: Path) -> ECGRecord:
    import wfdb

    base = _wfdb_base(path)
    if not base.with_suffix(".hea").exists():
        raise AnalyzerError(f"{path}: no WFDB header {base.name}.hea")
    try:
        header = wfdb.rdheader(str(base))
    except Exception as exc:  # wfdb raises many types on malformed headers
        raise AnalyzerError(f"{base}: unreadable WFDB header ({exc})") from None
    fs = float(header.fs) if header.fs is not None else float("nan")
    if not np.isfinite(fs) or fs < MIN_FS or fs > MAX_FS:
        raise AnalyzerError(f"{base}: implausible sampling rate {header.fs!r} Hz in the header")
    if not header.n_sig:
        raise AnalyzerError(f"{base}: header declares no signals")
    _check_wfdb_sizes(base, header)
    try:
        rec = wfdb.rdrecord(str(base), physical=True)
    except Exception as exc:
        raise AnalyzerError(f"{base}: unreadable WFDB signal ({type(exc).__name__}: {exc})") from None
    if rec.p_signal is None:
        raise AnalyzerError(f"{base}: zero-length signal (no samples)")
    sig = np.asarray(rec.p_signal, dtype=np.float64)
    units = rec.units or ["mV"] * sig.shape[1]
    for j, u in enumerate(units):
        scale = _unit_scale(u or "mV")
        if scale is None:
            raise AnalyzerError(f"{base}: signal {rec.sig_name[j]!r} has non-ECG units {u!r}")
        sig[:, j] *= scale
    meta = {"comments": list(rec.comments or [])}
    return _finish(sig, fs, list(rec.sig_name or []), "wfdb", base, meta)


def _unit_scale(unit: str) -> float | None:
    u = unit.strip().replace("µ", "u").replace("μ", "u").lower()
    return {"mv": 1.0, "uv": 1e-3, "v": 1e3, "nu": 1.0, "": 1.0}.get(u)


# ---------------------------------------------------------------------------------------------- DICOM
def read_dicom(path: Path) -> ECGRecord:
    import pydicom

    try:
        ds = pydicom.dcmread(str(path))
    except Exception as exc:
        raise AnalyzerError(f"{path}: unreadable DICOM file ({exc})") from None
    seq = getattr(ds, "WaveformSequence", None)
    if not seq:
        raise AnalyzerError(f"{path}: DICOM file has no WaveformSequence (not an ECG waveform object)")
    # Prefer the rhythm group (the full recording) over a median/representative-beat group.
    best, best_len = -1, -1
    for i, g in enumerate(seq):
        label = str(getattr(g, "MultiplexGroupLabel", "")).upper()
        n = int(getattr(g, "NumberOfWaveformSamples", 0) or 0)
        score = n + (10**9 if "RHYTHM" in label else 0) - (10**9 if "MEDIAN" in label else 0)
        if score > best_len:
            best, best_len = i, score
    group = seq[best]
    try:
        fs = float(group.SamplingFrequency)
    except Exception:
        raise AnalyzerError(f"{path}: DICOM waveform has no SamplingFrequency") from None
    n_samp = int(getattr(group, "NumberOfWaveformSamples", 0) or 0)
    n_ch = int(getattr(group, "NumberOfWaveformChannels", 0) or 0)
    if n_samp == 0 or n_ch == 0:
        raise AnalyzerError(f"{path}: zero-length signal (no samples)")
    bits = int(getattr(group, "WaveformBitsAllocated", 16))
    data = bytes(getattr(group, "WaveformData", b""))
    if len(data) < n_samp * n_ch * bits // 8:
        raise AnalyzerError(
            f"{path}: truncated WaveformData: {len(data)} bytes for {n_samp} samples x {n_ch} channels"
        )
    try:
        arr = np.asarray(ds.waveform_array(best), dtype=np.float64)
    except Exception as exc:
        raise AnalyzerError(f"{path}: unreadable DICOM waveform ({exc})") from None
    names: list[str] = []
    for j, ch in enumerate(group.ChannelDefinitionSequence):
        src = ch.ChannelSourceSequence[0] if getattr(ch, "ChannelSourceSequence", None) else None
        names.append(str(getattr(src, "CodeMeaning", "") or getattr(ch, "ChannelLabel", f"channel {j}")))
        unit_seq = getattr(ch, "ChannelSensitivityUnitsSequence", None)
        unit = str(unit_seq[0].CodeValue) if unit_seq else "uV"
        scale = _unit_scale(unit)
        if scale is None:
            raise AnalyzerError(f"{path}: channel {names[-1]!r} has non-ECG units {unit!r}")
        arr[:, j] *= scale
    return _finish(arr, fs, names, "dicom", path)


# ----------------------------------------------------------------------------------------------- aECG
_HL7 = "{urn:hl7-org:v3}"


def read_aecg(path: Path) -> ECGRecord:
    try:
        root = ET.parse(str(path)).getroot()
    except ET.ParseError as exc:
        raise AnalyzerError(f"{path}: malformed aECG XML ({exc})") from None
    ns = _HL7 if root.tag.startswith(_HL7) else ""
    # The rhythm series sits in component/series; derivedSeries holds representative beats.
    series = None
    for s in root.iter(f"{ns}series"):
        series = s
        break
    if series is None:
        raise AnalyzerError(f"{path}: aECG has no <series>")
    fs: float | None = None
    names: list[str] = []
    cols: list[np.ndarray] = []
    for seq in series.iter(f"{ns}sequence"):
        code_el = seq.find(f"{ns}code")
        code = code_el.get("code", "") if code_el is not None else ""
        value = seq.find(f"{ns}value")
        if value is None:
            continue
        if "TIME" in code.upper():
            inc = value.find(f"{ns}increment")
            if inc is None:
                raise AnalyzerError(f"{path}: aECG time sequence has no increment")
            step = float(inc.get("value", "nan"))
            unit = inc.get("unit", "s")
            step *= {"s": 1.0, "ms": 1e-3, "us": 1e-6}.get(unit, float("nan"))
            if not step > 0:
                raise AnalyzerError(f"{path}: implausible aECG time increment {inc.get('value')!r} {unit}")
            fs = 1.0 / step
            continue
        digits = value.find(f"{ns}digits")
        if digits is None or digits.text is None:
            raise AnalyzerError(f"{path}: aECG lead {code!r} has no digits")
        origin = value.find(f"{ns}origin")
        scale = value.find(f"{ns}scale")
        o = float(origin.get("value", 0)) if origin is not None else 0.0
        sc = float(scale.get("value", 1)) if scale is not None else 1.0
        unit = scale.get("unit", "uV") if scale is not None else "uV"
        us = _unit_scale(unit)
        if us is None:
            raise AnalyzerError(f"{path}: aECG lead {code!r} has non-ECG units {unit!r}")
        try:
            vals = np.array(digits.text.split(), dtype=np.float64)
        except ValueError:
            raise AnalyzerError(f"{path}: aECG lead {code!r} has non-numeric digits") from None
        cols.append((vals * sc + o) * us)
        names.append(code)
    if fs is None:
        raise AnalyzerError(f"{path}: aECG has no time sequence (sampling rate unknown)")
    if not cols:
        raise AnalyzerError(f"{path}: zero-length signal (aECG has no lead sequences)")
    lengths = {len(c) for c in cols}
    if len(lengths) != 1:
        raise AnalyzerError(f"{path}: aECG leads have different sample counts {sorted(lengths)}")
    return _finish(np.column_stack(cols), fs, names, "aecg", path)


# ------------------------------------------------------------------------------------------------ CSV
_FS_RE = re.compile(r"(?:fs|sampling[_ ]?rate|sample[_ ]?rate|frequency)\s*[:=]\s*([0-9.eE+-]+)", re.I)
_UNIT_RE = re.compile(r"units?\s*[:=]\s*([a-zA-Zµμ]+)", re.I)


def read_csv(path: Path, fs: float | None = None) -> ECGRecord:
    text = path.read_text(encoding="utf-8-sig", errors="replace")
    lines = text.splitlines()
    comment_fs: float | None = None
    unit = "mV"
    body: list[str] = []
    for line in lines:
        s = line.strip()
        if not s:
            continue
        if s.startswith("#"):
            m = _FS_RE.search(s)
            if m:
                try:
                    comment_fs = float(m.group(1))
                except ValueError:
                    raise AnalyzerError(f"{path}: unreadable sampling rate in {s!r}") from None
            mu = _UNIT_RE.search(s)
            if mu:
                unit = mu.group(1)
            continue
        body.append(s)
    if not body:
        raise AnalyzerError(f"{path}: zero-length signal (empty CSV)")
    delim = ";" if body[0].count(";") > body[0].count(",") else ","
    header = [h.strip().strip('"') for h in body[0].split(delim)]
    try:
        [float(h) for h in header]
        raise AnalyzerError(f"{path}: CSV needs a header row with the lead names")
    except ValueError:
        pass
    try:
        data = np.array(
            [[float(v) if v.strip() else np.nan for v in r.split(delim)] for r in body[1:]], dtype=np.float64
        )
    except ValueError as exc:
        raise AnalyzerError(f"{path}: non-numeric CSV value ({exc})") from None
    if data.size == 0:
        raise AnalyzerError(f"{path}: zero-length signal (CSV has no data rows)")
    if data.ndim != 2 or data.shape[1] != len(header):
        raise AnalyzerError(f"{path}: CSV rows do not all have {len(header)} columns")
    time_fs: float | None = None
    if header[0].lower() in ("time", "t", "time_s", "seconds", "sec"):
        t = data[:, 0]
        if len(t) > 1 and np.all(np.isfinite(t)):
            dt = float(np.median(np.diff(t)))
            time_fs = 1.0 / dt if dt > 0 else None
        data, header = data[:, 1:], header[1:]
    rate = fs if fs is not None else comment_fs if comment_fs is not None else time_fs
    if rate is None:
        raise AnalyzerError(
            f"{path}: CSV sampling rate not stated (pass fs=..., or add a '# fs=500' comment line)"
        )
    if time_fs is not None and abs(time_fs - rate) > 0.01 * rate:
        raise AnalyzerError(
            f"{path}: stated sampling rate {rate:g} Hz disagrees with the time column ({time_fs:.4g} Hz)"
        )
    us = _unit_scale(unit)
    if us is None:
        raise AnalyzerError(f"{path}: non-ECG units {unit!r} in CSV")
    return _finish(data * us, float(rate), header, "csv", path)


# --------------------------------------------------------------------------------------------- dispatch
def sniff_format(path: Path) -> str | None:
    """Which reader fits, from the name and (for DICOM / XML) the first bytes; None when none does."""
    suffix = path.suffix.lower()
    if suffix in (".hea", ".dat", ".mat") or (suffix == "" and path.with_suffix(".hea").exists()):
        return "wfdb"
    if not path.is_file():
        return None
    if suffix == ".csv":
        return "csv"
    with path.open("rb") as fh:
        head = fh.read(1024)
    if len(head) >= 132 and head[128:132] == b"DICM" or suffix in (".dcm", ".dicom"):
        return "dicom"
    if suffix == ".xml" or head.lstrip().startswith(b"<"):
        return "aecg" if b"AnnotatedECG" in head or suffix == ".xml" else None
    return None


def read_ecg(path: str | Path, fs: float | None = None) -> ECGRecord:
    """Read any supported ECG file into mV with normalised lead names. `fs` is for CSV only."""
    p = Path(path)
    fmt = sniff_format(p)
    if fmt == "wfdb":
        return read_wfdb(p)
    if fmt is None and not p.exists() and not p.with_suffix(".hea").exists():
        raise AnalyzerError(f"{p}: no such file or WFDB record")
    if fmt == "csv":
        return read_csv(p, fs)
    if fmt == "dicom":
        return read_dicom(p)
    if fmt == "aecg":
        return read_aecg(p)
    raise AnalyzerError(f"{p}: not a recognised ECG format (WFDB, DICOM waveform, HL7 aECG XML, CSV)")
