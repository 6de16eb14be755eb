"""Signatures over report versions: the AI service's and the physician's, each with its algorithm."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from dualsign.db import Base, utcnow


class Signature(Base):
    __tablename__ = "signature"
    # One AI and at most one physician signature per report version: a second signer loses the race.
    __table_args__ = (UniqueConstraint("report_id", "signer_kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("report.id"), index=True)
    signer_kind: Mapped[str] = mapped_column(String(16))  # "ai" or "physician"
    signer_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    signer_name: Mapped[str] = mapped_column(String(200))  # analyzer name or physician's full name
    licence_number: Mapped[str | None] = mapped_column(String(64))
    algorithm: Mapped[str] = mapped_column(String(16))  # "SM2-SM3" or "Ed25519"
    public_key: Mapped[str] = mapped_column(Text)
    payload_json: Mapped[str] = mapped_column(Text)  # the canonical text that was signed
    payload_sha256: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(Text)  # hex
    signed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
