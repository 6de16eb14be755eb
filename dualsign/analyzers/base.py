"""The one small interface every analyzer implements: exam files in, QC verdict + findings + report out.

An analyzer never sees patient identity: it gets file paths and returns plain data. The core stores
what it returns, signs the preliminary report and hands the findings to a physician for review.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol, runtime_checkable


class Urgency(StrEnum):
    ROUTINE = "routine"
    URGENT = "urgent"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """Worklist order: lower comes first."""
        return {"critical": 0, "urgent": 1, "routine": 2}[self.value]


class AnalyzerError(Exception):
    """Input the analyzer cannot read: the message names the problem for the sender."""


@dataclass(frozen=True)
class ModelCard:
    name: str
    version: str
    modality: str
    intended_use: str
    training_data: str
    accuracy: dict[str, Any]
    weights_sha256: str
    limitations: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class QualityVerdict:
    usable: bool
    reasons: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Finding:
    """One thing the AI marks for the physician to accept, reject or edit.

    kind:      short machine name ("statement", "nodule", "rhythm", "lesion", ...)
    label:     human text, e.g. "Atrial fibrillation"
    code:      coded concept where one exists, e.g. "SCT:164889003"
    location:  where it is (lead, time span, slice and mm coordinates, pixel box ...)
    measurements: the numbers behind it, units in the key name (e.g. "qtc_ms", "diameter_mm")
    confidence: calibrated probability in [0, 1] when the analyzer has one
    critical:  True when this finding alone makes the exam a critical result
    """

    kind: str
    label: str
    code: str | None = None
    location: dict[str, Any] = field(default_factory=dict)
    measurements: dict[str, Any] = field(default_factory=dict)
    confidence: float | None = None
    abnormal: bool = True
    critical: bool = False


@dataclass(frozen=True)
class AnalysisResult:
    quality: QualityVerdict
    findings: list[Finding]
    summary: str  # one line for the worklist
    urgency: Urgency
    report: dict[str, Any]  # structured preliminary report content (measurements, impression ...)
    raw: dict[str, Any]  # the analyzer's own documented findings JSON (what `dualsign analyze` prints)
    # Images the analyzer made for the report and the worklist (e.g. a key image per nodule):
    # file name -> PNG bytes. The core stores them content-addressed beside the exam.
    attachments: dict[str, bytes] = field(default_factory=dict)


@dataclass(frozen=True)
class ExamContext:
    """What the request says about the exam beyond its files, never patient identity.

    laterality:  "R" or "L" when the file itself does not say (fundus).
    prior_raw:   the same analyzer's findings JSON for this patient's previous exam of the same
                 modality, when one exists (follow-up: nodule growth, volume-doubling time).
    """

    laterality: str | None = None
    prior_raw: dict[str, Any] | None = None


@runtime_checkable
class Analyzer(Protocol):
    modality: str  # one of dualsign.exams.modality.Modality values
    card: ModelCard

    def can_read(self, path: Path) -> bool:
        """True when this analyzer recognises the file or folder as its input."""
        ...

    def analyze(self, paths: Sequence[Path], context: ExamContext | None = None) -> AnalysisResult:
        """Read the exam files and analyse them. Raise AnalyzerError for unreadable input."""
        ...
