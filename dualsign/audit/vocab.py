"""Who did what, and how it ended: the audit trail's vocabulary."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class AuditAction(StrEnum):
    """What was done. Patient-data access is create/read/update; nothing is ever deleted."""

    CREATE = "create"
    READ = "read"
    UPDATE = "update"
    UPLOAD = "upload"  # exam files received
    QC = "qc"  # image-quality verdict
    ANALYZE = "analyze"  # an AI analysis run
    REVIEW = "review"  # a physician's decision on an AI finding
    ROUTE = "route"  # an exam sent to another site's worklist
    SIGN = "sign"
    AMEND = "amend"
    RETRACT = "retract"
    VERIFY = "verify"  # signatures or the audit chain re-checked
    EXPORT = "export"  # claims, settlements, audit trail leaving the system
    CLAIM = "claim"  # an insurance claim raised
    REVERSE = "reverse"  # a claim reversed
    LOGIN = "login"
    LOGOUT = "logout"


class Outcome(StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"  # attempted and failed (bad password, invalid input, error)
    DENIED = "denied"  # refused by authorisation or a business rule


@dataclass(frozen=True)
class Actor:
    """The authenticated user (or the system) behind an action, as known at request time."""

    user_id: int | None
    username: str
    role: str | None
    site_id: int | None
    client_address: str | None = None


SYSTEM = Actor(None, "system", None, None)
