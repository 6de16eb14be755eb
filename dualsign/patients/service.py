"""Patient identity: found by medical record number at a site, created on first sight."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dualsign.audit import service as audit
from dualsign.patients.models import Patient


class PatientError(ValueError):
    pass


def find_or_create(session: Session, actor: audit.Actor, *, site_id: int, mrn: str, name: str, sex: str,
                   birth_date: dt.date | None, insurance_number: str | None) -> Patient:
    mrn = mrn.strip()
    if not mrn or not name.strip():
        raise PatientError("patient medical record number and name are required")
    patient = session.scalar(select(Patient).where(Patient.site_id == site_id,
                                                   Patient.medical_record_number == mrn))
    if patient is None:
        patient = Patient(site_id=site_id, medical_record_number=mrn, name=name.strip(), sex=sex,
                          birth_date=birth_date, insurance_number=insurance_number)
        session.add(patient)
        session.flush()
        audit.record(session, actor, "create", "patient", patient.id)
    elif insurance_number and patient.insurance_number != insurance_number:
        patient.insurance_number = insurance_number
        audit.record(session, actor, "update", "patient", patient.id, detail={"field": "insurance_number"})
    return patient


def preload(session: Session, patient_ids: list[int]) -> None:
    """Load many patients in one query (later session.get calls are then answered from the session)."""
    if patient_ids:
        session.scalars(select(Patient).where(Patient.id.in_(set(patient_ids)))).all()


def view(session: Session, patient_id: int) -> dict[str, Any]:
    p = session.get(Patient, patient_id)
    if p is None:
        return {}
    return {"id": p.id, "medical_record_number": p.medical_record_number, "name": p.name, "sex": p.sex,
            "birth_date": p.birth_date.isoformat() if p.birth_date else None,
            "insurance_number": p.insurance_number}
