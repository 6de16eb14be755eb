"""ECG analyzer: WFDB, DICOM, HL7 aECG or CSV in; QC verdict, beats, rhythm, measurements, statements out.

The findings JSON (`AnalysisResult.raw`) is documented in docs/ecg_findings_schema.md.
"""

from dualsign.analyzers.ecg.analyzer import ECGAnalyzer

__all__ = ["ECGAnalyzer"]
