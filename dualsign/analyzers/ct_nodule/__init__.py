"""Chest-CT lung-nodule analyzer: DICOM series (or .mha/.mhd/.nii) in; QC, lungs, nodules, Lung-RADS out.

The findings JSON (`AnalysisResult.raw`) is documented in docs/ct_nodule_findings_schema.md.
"""

from dualsign.analyzers.ct_nodule.analyzer import CTNoduleAnalyzer

__all__ = ["CTNoduleAnalyzer"]
