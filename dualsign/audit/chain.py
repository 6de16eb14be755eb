"""The hash chain: appending an event and checking that none was changed, removed or reordered.

Each event's hash is SHA-256 over the RFC 8785 canonical JSON of all its columns except `id` and
`hash` (so `seq` and `prev_hash` are covered); the first event's prev_hash is GENESIS_HASH. The
audit_head row holds the last seq and hash, so a truncated tail shows as well.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from dualsign.audit.models import AuditEvent, AuditHead
from dualsign.signing.canonical import canonical_json, sha256_hex

GENESIS_HASH = "0" * 64
_SHA256_HEX = re.compile(r"\A[0-9a-f]{64}\Z")


def _timestamp(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def hashed_fields(event: Any, seq: int | None = None) -> dict[str, Any]:
    """The hashed content of an AuditEvent (or a row with the same columns), optionally at another seq."""
    return {
        "seq": event.seq if seq is None else seq,
        "at": _timestamp(event.at),
        "actor_id": event.actor_id,
        "actor": event.actor,
        "role": event.role,
        "site_id": event.site_id,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "client_address": event.client_address,
        "outcome": event.outcome,
        "detail": event.detail,
        "note": event.note,
        "prev_hash": event.prev_hash,
    }


def event_hash(event: Any, seq: int | None = None) -> str:
    return sha256_hex(canonical_json(hashed_fields(event, seq)))


def _take_head(session: Session) -> tuple[int, str]:
    """Lock the head and claim the next seq; returns (new seq, previous hash)."""
    claim = (
        update(AuditHead)
        .where(AuditHead.id == 1)
        .values(seq=AuditHead.seq + 1)
        .returning(AuditHead.seq, AuditHead.hash)
        .execution_options(synchronize_session=False)
    )
    row = session.execute(claim).one_or_none()
    if row is None:
        # First append ever (or a trail from before the head table): start the head from the last
        # event. ON CONFLICT makes a concurrent first append wait and then do nothing.
        last = session.execute(select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc())
                               .limit(1)).one_or_none()
        seq, last_hash = (last.seq, last.hash) if last else (0, GENESIS_HASH)
        if session.get_bind().dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            stmt: Any = pg_insert(AuditHead).on_conflict_do_nothing(index_elements=["id"])
        else:
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            stmt = sqlite_insert(AuditHead).on_conflict_do_nothing(index_elements=["id"])
        session.execute(stmt.values(id=1, seq=seq, hash=last_hash))
        row = session.execute(claim).one()
    return int(row.seq), str(row.hash)


def append(session: Session, event: AuditEvent) -> AuditEvent:
    """Give `event` its seq, timestamp and hashes and insert it, in the caller's transaction."""
    event.seq, event.prev_hash = _take_head(session)
    # Timestamped under the head lock, so `at` never goes backwards along the chain.
    event.at = dt.datetime.now(dt.UTC)
    event.hash = event_hash(event)
    session.add(event)
    session.flush()
    session.execute(
        update(AuditHead).where(AuditHead.id == 1).values(hash=event.hash)
        .execution_options(synchronize_session=False)
    )
    return event


@dataclass(frozen=True)
class ChainProblem:
    seq: int
    event_id: int | None  # None where the record itself is gone
    problem: str


def _classify_mismatch(session: Session, event: Any) -> str:
    """Tell a record moved to another position from one whose content was changed."""
    original: int | None = 1
    if event.prev_hash != GENESIS_HASH:
        before = session.scalar(select(AuditEvent.seq).where(AuditEvent.hash == event.prev_hash))
        original = before + 1 if before is not None else None
    if original is not None and original != event.seq and event_hash(event, original) == event.hash:
        return f"record reordered: it was written as seq {original}, now stands at seq {event.seq}"
    return "record changed: its content no longer matches its hash"


def verify_chain(session: Session) -> list[ChainProblem]:
    """Every problem in the trail, in seq order; an empty list means the chain is intact."""
    problems: list[ChainProblem] = []
    mismatched: list[Any] = []
    prev_seq, prev_hash, prev_bad = 0, GENESIS_HASH, False
    last_id: int | None = None
    # Plain rows, streamed: the check must not fill the session's identity map with the whole trail.
    columns = select(*AuditEvent.__table__.columns).order_by(AuditEvent.seq).execution_options(yield_per=500)
    for event in session.execute(columns):
        gap = event.seq > prev_seq + 1
        for missing in range(prev_seq + 1, event.seq):
            problems.append(ChainProblem(missing, None, "record missing: deleted from the trail"))
        content_ok = event_hash(event) == event.hash
        if not content_ok:
            mismatched.append(event)
        elif event.prev_hash != prev_hash and not gap and not prev_bad:
            problems.append(ChainProblem(
                event.seq, event.id,
                f"chain broken: prev_hash does not match the hash of seq {prev_seq} "
                f"(seq {prev_seq} was rewritten, or a record was removed or inserted)",
            ))
        prev_seq, prev_hash, prev_bad, last_id = int(event.seq), str(event.hash), not content_ok, event.id
    for event in mismatched:
        problems.append(ChainProblem(event.seq, event.id, _classify_mismatch(session, event)))

    head = session.execute(select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1)).one_or_none()
    if head is None:
        if prev_seq:
            problems.append(ChainProblem(prev_seq, last_id, "chain head missing: the tail cannot be checked"))
    elif head.seq > prev_seq:
        for missing in range(prev_seq + 1, head.seq + 1):
            problems.append(ChainProblem(
                missing, None, f"record missing at the end: the head says the trail ends at seq {head.seq}"
            ))
    elif head.seq < prev_seq:
        for extra in range(head.seq + 1, prev_seq + 1):
            problems.append(ChainProblem(extra, None, f"record beyond the chain head (seq {head.seq}): "
                                                      "written outside the audit service"))
    elif head.hash != prev_hash:
        problems.append(ChainProblem(prev_seq, last_id, "last record does not match the chain head's hash"))
    return sorted(problems, key=lambda p: p.seq)


@dataclass(frozen=True)
class Anchor:
    seq: int
    hash: str
    at: str  # when it was taken (ISO 8601, UTC)

    def to_json(self) -> str:
        return canonical_json({"seq": self.seq, "hash": self.hash, "at": self.at})

    @classmethod
    def from_json(cls, text: str) -> Anchor:
        """ValueError naming what is wrong with one anchor line."""
        try:
            data = json.loads(text)
            seq, digest, at = data["seq"], data["hash"], data["at"]
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"not an audit anchor ({exc})") from None
        if not isinstance(seq, int) or seq < 1 or not isinstance(digest, str) or not _SHA256_HEX.match(digest):
            raise ValueError("not an audit anchor (seq must be a positive integer, hash 64 hex digits)")
        return cls(seq, digest, str(at))


def take_anchor(session: Session) -> Anchor | None:
    """The chain head as an anchor; None for an empty trail."""
    head = session.execute(select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1)).one_or_none()
    if head is None or head.seq < 1:
        return None
    return Anchor(int(head.seq), str(head.hash), _timestamp(dt.datetime.now(dt.UTC)))


def check_anchors(session: Session, anchors: list[Anchor]) -> list[ChainProblem]:
    """Each anchored record that is gone or whose hash differs from the anchor's."""
    problems: list[ChainProblem] = []
    for a in anchors:
        row = session.execute(select(AuditEvent.id, AuditEvent.hash).where(AuditEvent.seq == a.seq)).one_or_none()
        if row is None:
            problems.append(ChainProblem(a.seq, None, f"anchored record missing (anchor taken {a.at})"))
        elif row.hash != a.hash:
            problems.append(ChainProblem(
                a.seq, row.id, f"differs from the anchor taken {a.at}: the trail up to here was rewritten"))
    return problems


def count_events(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(AuditEvent)) or 0)
