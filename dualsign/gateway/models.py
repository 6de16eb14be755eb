"""DICOM instances received, the studies they assemble into, and the outbound result queue."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from dualsign.db import Base, utcnow


class DicomStudy(Base):
    """Instances of one study from one site, waiting for the quiet period to become an exam.

    Instances arriving after the study became an exam open the next batch (batch + 1)."""

    __tablename__ = "dicom_study"
    __table_args__ = (UniqueConstraint("site_id", "study_instance_uid", "modality", "batch"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"))
    study_instance_uid: Mapped[str] = mapped_column(String(64), index=True)
    modality: Mapped[str] = mapped_column(String(16))
    batch: Mapped[int] = mapped_column(Integer, default=1)
    calling_ae: Mapped[str] = mapped_column(String(16))
    # Patient and study identity from the first instance's header.
    header: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)  # open / exam / failed
    error: Mapped[str | None] = mapped_column(Text)
    exam_id: Mapped[int | None] = mapped_column(ForeignKey("exam.id"), index=True)
    first_received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class DicomInstance(Base):
    __tablename__ = "dicom_instance"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The same SOP instance sent twice is stored once.
    sop_instance_uid: Mapped[str] = mapped_column(String(64), unique=True)
    sop_class_uid: Mapped[str] = mapped_column(String(64))
    series_instance_uid: Mapped[str] = mapped_column(String(64))
    transfer_syntax_uid: Mapped[str] = mapped_column(String(64))
    study_id: Mapped[int] = mapped_column(ForeignKey("dicom_study.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int]
    received_via: Mapped[str] = mapped_column(String(16))  # c-store / stow-rs
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class OutboundMessage(Base):
    """One DICOM object (an SR of one report version) to send to one destination; retried with backoff.

    The object is built once and kept in the file store, so every retry sends the same SOP instance."""

    __tablename__ = "dicom_outbound"
    # One message per object (the SR, each key image) and destination.
    __table_args__ = (UniqueConstraint("report_id", "destination", "sop_instance_uid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("report.id"), index=True)
    exam_id: Mapped[int] = mapped_column(ForeignKey("exam.id"), index=True)
    destination: Mapped[str] = mapped_column(String(128))  # AE@host:port
    sop_instance_uid: Mapped[str] = mapped_column(String(64))
    sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)  # pending / sent / failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[dt.datetime | None]


class OutboundCursor(Base):
    """Report versions already considered for sending (queued, or skipped with the reason), so the
    poller looks at each signed version once."""

    __tablename__ = "dicom_outbound_seen"

    report_id: Mapped[int] = mapped_column(ForeignKey("report.id"), primary_key=True)
    outcome: Mapped[str] = mapped_column(String(200))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
