"""Exam intake (content-addressed, duplicate-safe), status transitions, and file materialisation."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dualsign.accounts import service as accounts
from dualsign.accounts.models import Site
from dualsign.audit import service as audit
from dualsign.clock import china_today
from dualsign.db import utcnow
from dualsign.exams.lifecycle import ExamStatus, check_transition
from dualsign.exams.modality import Modality
from dualsign.exams.models import Exam, ExamFile, ExamTransition
from dualsign.exams.store import FileStore
from dualsign.patients.models import Patient


class IntakeError(ValueError):
    """The upload itself is unacceptable (nothing stored as an exam)."""


@dataclass(frozen=True)
class IncomingFile:
    filename: str
    stream: BinaryIO


def _safe_filename(name: str) -> str:
    base = Path(name.replace("\\", "/")).name
    if not base or base in {".", ".."}:
        raise IntakeError(f"unusable file name {name!r}")
    return base


def content_digest(file_hashes: Sequence[str]) -> str:
    """The exam's identity: the same set of files is the same exam, whatever their order or names."""
    return hashlib.sha256("\n".join(sorted(set(file_hashes))).encode()).hexdigest()


def receive(
    session: Session,
    store: FileStore,
    *,
    files: Sequence[IncomingFile],
    modality: str,
    site: Site,
    patient: Patient,
    actor: audit.Actor,
    priority: str = "routine",
    laterality: str | None = None,
) -> tuple[Exam, bool]:
    """Store the files and create the exam in status 'received'. Returns (exam, created).

    The same files uploaded again by the same site return the existing exam (created=False), not a
    second one; for a different patient they are refused.
    """
    try:
        modality = Modality(modality).value
    except ValueError:
        known = ", ".join(m.value for m in Modality)
        raise IntakeError(f"unknown modality {modality!r}; expected one of: {known}") from None
    if not files:
        raise IntakeError("no files uploaded")
    if priority not in {"routine", "urgent", "stat"}:
        raise IntakeError(f"unknown priority {priority!r}; expected routine, urgent or stat")
    if laterality not in {None, "R", "L"}:
        raise IntakeError(f"unknown laterality {laterality!r}; expected R (right eye) or L (left eye)")
    stored: list[tuple[str, str, int]] = []
    names: set[str] = set()
    for incoming in files:
        name = _safe_filename(incoming.filename)
        if name in names:
            raise IntakeError(f"file name {name!r} appears twice in one upload")
        names.add(name)
        sha, size = store.put(incoming.stream)
        if size == 0:
            raise IntakeError(f"file {name!r} is empty")
        stored.append((name, sha, size))
    digest = content_digest([sha for _, sha, _ in stored])

    existing = session.scalar(select(Exam).where(Exam.site_id == site.id, Exam.content_sha256 == digest))
    if existing is not None:
        if existing.patient_id != patient.id:
            raise IntakeError(f"these files were already received as exam {existing.accession} for another "
                              "patient; check the patient before sending them again")
        audit.record(session, actor, "create", "exam", existing.id,
                     detail={"content_sha256": digest, "duplicate": True})
        return existing, False

    today = china_today()
    reading_site = accounts.reading_site_for(session, site, modality, today)
    exam = Exam(
        accession=f"DS{today:%Y%m%d}{secrets.token_hex(4).upper()}",
        patient_id=patient.id,
        site_id=site.id,
        reading_site_id=reading_site.id,
        modality=modality,
        status=ExamStatus.RECEIVED,
        content_sha256=digest,
        priority=priority,
        laterality=laterality,
        received_by_id=actor.user_id,
    )
    exam.files = [ExamFile(sha256=sha, filename=name, size_bytes=size) for name, sha, size in stored]
    try:
        with session.begin_nested():
            session.add(exam)
            session.flush()
    except IntegrityError:
        # A concurrent upload of the same files won the race: theirs is the exam.
        winner = session.scalar(select(Exam).where(Exam.site_id == site.id, Exam.content_sha256 == digest))
        if winner is None:
            raise
        return winner, False
    session.add(ExamTransition(exam_id=exam.id, from_status=None, to_status=ExamStatus.RECEIVED,
                               actor_id=actor.user_id))
    audit.record(session, actor, "create", "exam", exam.id,
                 detail={"modality": modality, "files": len(stored), "content_sha256": digest})
    if reading_site.id != site.id:
        audit.record(session, audit.SYSTEM, "route", "exam", exam.id,
                     detail={"from_site": site.code, "to_site": reading_site.code,
                             "reason": f"no physician at {site.code} qualified for {modality}"})
    return exam, True


def transition(
    session: Session, exam: Exam, target: str, *, actor_id: int | None = None, reason: str | None = None
) -> None:
    """Move the exam to a new status, refusing illegal moves; every move is kept in the history."""
    new = check_transition(exam.status, target)
    session.add(ExamTransition(exam_id=exam.id, from_status=exam.status, to_status=new,
                               actor_id=actor_id, reason=reason))
    exam.status = new
    exam.updated_at = utcnow()


def claim_for_analysis(session: Session, exam_id: int) -> bool:
    """Atomically take a queued exam for analysis; False when someone else already took it."""
    result = session.execute(
        update(Exam)
        .where(Exam.id == exam_id, Exam.status == ExamStatus.QUEUED)
        .values(status=ExamStatus.ANALYZING, updated_at=utcnow(), row_version=Exam.row_version + 1)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        return False
    session.add(ExamTransition(exam_id=exam_id, from_status=ExamStatus.QUEUED,
                               to_status=ExamStatus.ANALYZING))
    return True


def materialise(store: FileStore, exam: Exam, workdir: Path) -> list[Path]:
    """Lay the exam's files out under their original names (WFDB needs .hea beside .dat)."""
    workdir.mkdir(parents=True, exist_ok=True)
    paths = []
    for f in exam.files:
        source = store.path_for(f.sha256)
        if not source.exists():
            raise FileNotFoundError(f"stored file {f.filename} ({f.sha256}) is missing from the store")
        target = workdir / f.filename
        if not target.exists():
            target.symlink_to(source)
        paths.append(target)
    return paths
