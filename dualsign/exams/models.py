"""Exams, their content-addressed source files, and every status change they went through."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dualsign.db import Base, utcnow


class Exam(Base):
    __tablename__ = "exam"
    # The same files sent again by the same site are the same exam; another site's copy is its own exam
    # (one site must never receive another site's patient through a duplicate upload).
    __table_args__ = (UniqueConstraint("site_id", "content_sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    accession: Mapped[str] = mapped_column(String(64), unique=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"))
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"))
    # The site whose physicians read it: the own site, or a parent when none there is qualified.
    reading_site_id: Mapped[int] = mapped_column(ForeignKey("site.id"))
    modality: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(24), index=True)
    # sha256 over the sorted file hashes: the same files uploaded twice are the same exam.
    content_sha256: Mapped[str] = mapped_column(String(64), index=True)
    priority: Mapped[str] = mapped_column(String(16), default="routine")  # routine / urgent / stat (ordering)
    laterality: Mapped[str | None] = mapped_column(String(1))  # R / L for an eye, when the sender says
    urgency: Mapped[str | None] = mapped_column(String(16))  # the AI's: routine / urgent / critical
    ai_summary: Mapped[str | None] = mapped_column(Text)
    qc_reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    last_error: Mapped[str | None] = mapped_column(Text)
    received_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # Optimistic locking: two writers racing on the same exam cannot both win.
    row_version: Mapped[int] = mapped_column(Integer, default=1)

    files: Mapped[list[ExamFile]] = relationship(back_populates="exam", order_by="ExamFile.id")

    __mapper_args__ = {"version_id_col": row_version}


class ExamFile(Base):
    __tablename__ = "exam_file"
    __table_args__ = (UniqueConstraint("exam_id", "sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    exam_id: Mapped[int] = mapped_column(ForeignKey("exam.id"))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    size_bytes: Mapped[int]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    exam: Mapped[Exam] = relationship(back_populates="files")


class ExamTransition(Base):
    """Append-only history of the lifecycle; the exam row only caches the latest status."""

    __tablename__ = "exam_transition"

    id: Mapped[int] = mapped_column(primary_key=True)
    exam_id: Mapped[int] = mapped_column(ForeignKey("exam.id"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(24))
    to_status: Mapped[str] = mapped_column(String(24))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))  # None: the system
    reason: Mapped[str | None] = mapped_column(Text)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
