"""Report versions. Content is stored as the exact canonical JSON text that was signed."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from dualsign.db import Base, utcnow


class ReportStatus(StrEnum):
    PRELIMINARY = "preliminary"  # AI-signed only: not valid until a physician signs
    FINAL = "final"  # both signatures
    SUPERSEDED = "superseded"  # an earlier final version, replaced by an amendment
    RETRACTED = "retracted"


class Report(Base):
    __tablename__ = "report"
    __table_args__ = (UniqueConstraint("exam_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    exam_id: Mapped[int] = mapped_column(ForeignKey("exam.id"), index=True)
    version: Mapped[int]
    status: Mapped[str] = mapped_column(String(16))
    content_json: Mapped[str] = mapped_column(Text)  # RFC 8785 canonical text
    content_sha256: Mapped[str] = mapped_column(String(64))
    analysis_run_id: Mapped[int | None] = mapped_column(ForeignKey("analysis_run.id"))
    based_on_id: Mapped[int | None] = mapped_column(ForeignKey("report.id"))  # the version it builds on
    reason: Mapped[str | None] = mapped_column(Text)  # amendment / retraction reason
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))  # None: the AI
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
