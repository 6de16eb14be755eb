"""Fundus analyzer: JPEG, PNG, TIFF or DICOM photograph in; gradability, lesion marks, ICDR grade, referable DR out.

The findings JSON (`AnalysisResult.raw`) is documented in docs/fundus_findings_schema.md.
"""

from dualsign.analyzers.fundus.analyzer import FundusAnalyzer

__all__ = ["FundusAnalyzer"]
