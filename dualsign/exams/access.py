"""Who may see which exam: the site rules every exam endpoint applies."""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, or_
from sqlalchemy.orm import Session

from dualsign.accounts import service as accounts
from dualsign.accounts.models import Role, User
from dualsign.exams.models import Exam


def exam_filter(session: Session, user: User) -> ColumnElement[bool]:
    """SQL condition selecting the exams this user may see.

    physician: their site's exams and those routed to their site for reading;
    technologist: their own site's; qc_officer: their site and the sites below it;
    billing, auditor, admin: no exam content (claims and audit have their own endpoints).
    """
    if user.role == Role.PHYSICIAN:
        return or_(Exam.site_id == user.site_id, Exam.reading_site_id == user.site_id)
    if user.role == Role.TECHNOLOGIST:
        return Exam.site_id == user.site_id
    if user.role == Role.QC_OFFICER:
        return Exam.site_id.in_(accounts.descendants(session, user.site_id))
    return false()


def may_view(session: Session, user: User, exam: Exam) -> bool:
    if user.role == Role.PHYSICIAN:
        return user.site_id in {exam.site_id, exam.reading_site_id}
    if user.role == Role.TECHNOLOGIST:
        return exam.site_id == user.site_id
    if user.role == Role.QC_OFFICER:
        return exam.site_id in accounts.descendants(session, user.site_id)
    return False
