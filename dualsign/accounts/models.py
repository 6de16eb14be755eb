"""Sites in the four-level network, users, roles, practising licences and qualifications."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dualsign.db import Base, utcnow


class SiteLevel(StrEnum):
    PROVINCE = "province"
    CITY = "city"
    COUNTY = "county"
    TOWNSHIP = "township"


class Role(StrEnum):
    TECHNOLOGIST = "technologist"
    PHYSICIAN = "physician"
    QC_OFFICER = "qc_officer"
    BILLING = "billing"
    AUDITOR = "auditor"
    ADMIN = "admin"


class Site(Base):
    __tablename__ = "site"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("site.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    parent: Mapped[Site | None] = relationship(remote_side="Site.id")


class User(Base):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    # Physicians only: practising licence (执业证书) and the modalities they may sign.
    licence_number: Mapped[str | None] = mapped_column(String(64))
    licence_valid_from: Mapped[dt.date | None]
    licence_valid_to: Mapped[dt.date | None]
    qualified_modalities: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The physician's own signing key: public part in clear, private part sealed under their password.
    key_algorithm: Mapped[str | None] = mapped_column(String(16))
    public_key: Mapped[str | None] = mapped_column(Text)
    sealed_private_key: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    site: Mapped[Site] = relationship()
