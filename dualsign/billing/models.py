"""Claim entries for signed AI services. Amounts in integer fen; a retraction adds a reversal entry."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from dualsign.db import Base, utcnow


class Claim(Base):
    __tablename__ = "claim"
    # Exactly one charge and at most one reversal per exam, enforced by the database itself so that
    # concurrent signing cannot bill twice.
    __table_args__ = (UniqueConstraint("exam_id", "entry_kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    exam_id: Mapped[int] = mapped_column(ForeignKey("exam.id"), index=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("report.id"))
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), index=True)
    entry_kind: Mapped[str] = mapped_column(String(16))  # "charge" or "reversal"
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("claim.id"))
    service_code: Mapped[str] = mapped_column(String(32))
    service_name: Mapped[str] = mapped_column(String(200))
    amount_fen: Mapped[int]
    self_pay_fen: Mapped[int]
    fund_fen: Mapped[int]
    insurance_number: Mapped[str | None] = mapped_column(String(64))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
