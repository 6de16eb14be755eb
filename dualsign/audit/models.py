"""The audit trail: append-only, each record chained to the previous one by hash."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from dualsign.db import Base, utcnow


class AuditEvent(Base):
    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(unique=True)  # 1, 2, 3 ... without gaps
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None]  # None: the system (worker, gateway)
    actor: Mapped[str] = mapped_column(String(64))  # username or "system"
    role: Mapped[str | None] = mapped_column(String(16))
    site_id: Mapped[int | None]
    action: Mapped[str] = mapped_column(String(32), index=True)  # create/read/update/sign/amend/...
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str | None] = mapped_column(String(64))
    client_address: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))  # success / failure / denied
    detail: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    note: Mapped[str | None] = mapped_column(Text)
