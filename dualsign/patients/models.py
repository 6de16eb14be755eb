"""Patient identity, kept apart from exam content: analysis code never reads this table."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from dualsign.db import Base, utcnow


class Patient(Base):
    __tablename__ = "patient"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"))
    medical_record_number: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    sex: Mapped[str] = mapped_column(String(1))  # F, M, O, U
    birth_date: Mapped[dt.date | None]
    insurance_number: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
