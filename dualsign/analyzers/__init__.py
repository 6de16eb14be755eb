"""The analyzer protocol, its registry, and one folder per analyzer."""

from dualsign.analyzers.base import (
    AnalysisResult,
    Analyzer,
    AnalyzerError,
    Finding,
    ModelCard,
    QualityVerdict,
    Urgency,
)
from dualsign.analyzers.registry import analyzer_for_modality, analyzer_for_path, available_analyzers

__all__ = [
    "AnalysisResult",
    "Analyzer",
    "AnalyzerError",
    "Finding",
    "ModelCard",
    "QualityVerdict",
    "Urgency",
    "analyzer_for_modality",
    "analyzer_for_path",
    "available_analyzers",
]
