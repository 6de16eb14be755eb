"""FHIR R4 (R4B models) views of reports: DiagnosticReport, Observation, ImagingStudy, Provenance."""
