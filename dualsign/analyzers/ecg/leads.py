"""Lead-name normalisation: every reader maps its own spelling onto one vocabulary.

Standard 12-lead names are kept as "I", "II", "III", "aVR", "aVL", "aVF", "V1".."V6"; Holter / monitoring
leads keep their own names ("MLII", "CM5", ...) because they are not the standard leads, and a lead that a
file labels only generically ("ECG", "record 30, signal 0") becomes "ECG", "ECG2", ... An unknown name (say
"SpO2" or "foo") is an error: analysing a non-ECG channel as an ECG would give a wrong report.
"""

from __future__ import annotations

import re

STANDARD_12 = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")

_ALIASES: dict[str, str] = {
    "i": "I",
    "ii": "II",
    "iii": "III",
    "1": "I",
    "2": "II",
    "3": "III",
    "avr": "aVR",
    "avl": "aVL",
    "avf": "aVF",
    "-avr": "-aVR",
    "di": "I",
    "dii": "II",
    "diii": "III",
    "d1": "I",
    "d2": "II",
    "d3": "III",
}
for _i in range(1, 10):
    _ALIASES[f"v{_i}"] = f"V{_i}"
    _ALIASES[f"c{_i}"] = f"V{_i}"
for _n in ("v3r", "v4r", "v5r", "v7", "v8", "v9"):
    _ALIASES[_n] = _n.upper()

# Monitoring / Holter leads (modified limb leads, chest-manubrium leads, EASI, Frank).
_MONITOR = re.compile(r"^(ml(i{1,3}|\d)|cm\d|cc\d|ms\d|mv\d|ma\d|d\d|es|as|ai|[xyz]|ecg)$")
_GENERIC = re.compile(r"^(ecg|ekg|signal|channel|ch|lead|record \d+, signal)\s*_?(\d*)$")


def normalise_lead(name: str) -> str:
    """One lead name in the project vocabulary; raises ValueError for a name that is not an ECG lead."""
    raw = name.strip()
    key = raw.lower()
    for prefix in ("lead ", "lead_", "lead-", "mdc_ecg_lead_", "ecg lead "):
        if key.startswith(prefix):
            key = key[len(prefix) :]
            raw = raw[len(prefix) :]
    key = key.replace(" ", "")
    if key in _ALIASES:
        return _ALIASES[key]
    if _MONITOR.match(key):
        return raw.upper() if key not in ("ecg",) else "ECG"
    generic = _GENERIC.match(name.strip().lower())
    if generic:
        return "ECG"
    raise ValueError(f"unknown lead name {name!r}")


def normalise_leads(names: list[str]) -> list[str]:
    """Normalise all names; generic names get a number so every lead name stays unique."""
    out: list[str] = []
    bad: list[str] = []
    for n in names:
        try:
            out.append(normalise_lead(n))
        except ValueError:
            bad.append(n)
    if bad:
        raise ValueError(f"unknown lead name(s): {', '.join(repr(b) for b in bad)}")
    seen: dict[str, int] = {}
    unique: list[str] = []
    for n in out:
        seen[n] = seen.get(n, 0) + 1
        unique.append(n if seen[n] == 1 else f"{n}{seen[n]}")
    return unique
