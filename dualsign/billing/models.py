"""Claim entries for signed AI services. Amounts in integer fen; a retraction adds a reversal entry."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from dualsign.db import Base, utcnow


class Claim(Base):
    __tablename__ = "claim"
    # Exactly one charge and at most one reversal per exam, enforced by the database itself so that
    # concurrent signing cannot bill twice.
    __table_args__ = (
        UniqueConstraint("exam_id", "entry_kind"),
        # The fund and the patient together pay exactly the amount: no fen lost to rounding.
        CheckConstraint("self_pay_fen + fund_fen = amount_fen", name="split_sums"),
        # A charge is non-negative and stands alone; a reversal is non-positive and names its charge.
        CheckConstraint(
            "(entry_kind = 'charge' AND reverses_id IS NULL"
            " AND amount_fen >= 0 AND self_pay_fen >= 0 AND fund_fen >= 0)"
            " OR (entry_kind = 'reversal' AND reverses_id IS NOT NULL"
            " AND amount_fen <= 0 AND self_pay_fen <= 0 AND fund_fen <= 0)",
            name="entry_shape",
        ),
    )

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
    # The ratio applied, as written in the catalogue at billing time ("1" when uninsured): the
    # catalogue may change later, the entry must still explain its own split.
    self_pay_ratio: Mapped[str] = mapped_column(String(16))
    insurance_number: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)  # why a reversal was made
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
