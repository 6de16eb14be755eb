"""One row per attempt to analyse an exam: which analyzer and model, when, and how it ended."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from dualsign.db import Base, utcnow


class AnalysisRun(Base):
    __tablename__ = "analysis_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    exam_id: Mapped[int] = mapped_column(ForeignKey("exam.id"), index=True)
    analyzer: Mapped[str] = mapped_column(String(64))
    model_version: Mapped[str] = mapped_column(String(64))
    weights_sha256: Mapped[str] = mapped_column(String(64))
    model_card: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[dt.datetime | None]
    # Renewed by the analysing worker while it runs; a run whose heartbeat is older than the lease
    # belongs to a dead worker and may be taken over (several Celery workers share one queue).
    heartbeat_at: Mapped[dt.datetime | None]
    outcome: Mapped[str] = mapped_column(String(16), default="running")  # running/succeeded/failed/abandoned
    error: Mapped[str | None] = mapped_column(Text)
    quality: Mapped[dict[str, object] | None] = mapped_column(JSON)
    raw_findings: Mapped[dict[str, object] | None] = mapped_column(JSON)
    # Images the analyzer made (key images): file name -> sha256 in the content-addressed store.
    attachments: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
