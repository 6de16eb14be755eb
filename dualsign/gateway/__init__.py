"""Hospital integration over DICOM: exams in (C-STORE SCP, STOW-RS), verified SRs back to PACS."""
