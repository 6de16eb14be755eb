"""AI findings and the physician's decision on each, with the full history of decisions."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from dualsign.db import Base, utcnow


class ReviewState(StrEnum):
    PROPOSED = "proposed"  # by the AI, not yet reviewed
    ACCEPTED = "accepted"
    REJECTED = "rejected"  # a false positive, with a reason
    EDITED = "edited"  # accepted with corrected measurements
    ADDED = "added"  # a miss the physician added


class Finding(Base):
    __tablename__ = "finding"

    id: Mapped[int] = mapped_column(primary_key=True)
    exam_id: Mapped[int] = mapped_column(ForeignKey("exam.id"), index=True)
    analysis_run_id: Mapped[int | None] = mapped_column(ForeignKey("analysis_run.id"))  # None: added
    kind: Mapped[str] = mapped_column(String(32))
    label: Mapped[str] = mapped_column(Text)
    code: Mapped[str | None] = mapped_column(String(64))
    location: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    ai_measurements: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    measurements: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)  # after edits
    confidence: Mapped[float | None]
    abnormal: Mapped[bool] = mapped_column(default=True)
    critical: Mapped[bool] = mapped_column(default=False)
    review_state: Mapped[str] = mapped_column(String(16), default=ReviewState.PROPOSED)
    reject_reason: Mapped[str | None] = mapped_column(Text)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    reviewed_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class FindingDecision(Base):
    """Append-only: each review action, so a changed mind is visible afterwards."""

    __tablename__ = "finding_decision"

    id: Mapped[int] = mapped_column(primary_key=True)
    finding_id: Mapped[int] = mapped_column(ForeignKey("finding.id"), index=True)
    state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    measurements: Mapped[dict[str, object] | None] = mapped_column(JSON)
    actor_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
