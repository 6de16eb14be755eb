"""Imports every domain's tables so that metadata (and Alembic) sees them all."""

from dualsign.accounts.models import Site, User
from dualsign.analyzers.models import AnalysisRun
from dualsign.audit.models import AuditEvent
from dualsign.billing.models import Claim
from dualsign.db import Base
from dualsign.exams.models import Exam, ExamFile, ExamTransition
from dualsign.gateway.models import DicomInstance, DicomStudy, OutboundCursor, OutboundMessage
from dualsign.patients.models import Patient
from dualsign.reports.models import Report
from dualsign.review.models import Finding, FindingDecision
from dualsign.signing.models import Signature

__all__ = [
    "AnalysisRun", "AuditEvent", "Base", "Claim", "DicomInstance", "DicomStudy", "Exam", "ExamFile",
    "ExamTransition", "Finding", "FindingDecision", "OutboundCursor", "OutboundMessage", "Patient", "Report",
    "Signature", "Site", "User",
]
