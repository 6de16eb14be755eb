"""The audit trail: append-only, each record chained to the previous one by hash."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, CheckConstraint, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from dualsign.db import Base, utcnow


class AuditEvent(Base):
    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(unique=True)  # 1, 2, 3 ... without gaps
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
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


class AuditHead(Base):
    """The chain's head: one row (id 1) holding the last seq and hash.

    Every append updates this row first, which serialises appenders on every backend (the write lock
    in SQLite, a row lock in PostgreSQL), and it lets verification notice a truncated tail.
    """

    __tablename__ = "audit_head"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    seq: Mapped[int]
    hash: Mapped[str] = mapped_column(String(64))
