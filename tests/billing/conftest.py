"""Minimal rows for billing tests: two sites, a patient, and exams with one report each."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from dualsign.accounts.models import Site
from dualsign.billing.catalogue import Catalogue, load_catalogue
from dualsign.db import Database
from dualsign.exams.models import Exam
from dualsign.patients.models import Patient
from dualsign.reports.models import Report

INSURANCE_NUMBER = "IN-0001"
_counter = itertools.count(1)


@dataclass(frozen=True)
class World:
    site_id: int
    other_site_id: int
    patient_id: int


@dataclass(frozen=True)
class ExamRef:
    exam_id: int
    report_id: int


@pytest.fixture
def catalogue() -> Catalogue:
    return load_catalogue()


@pytest.fixture
def world(database: Database) -> World:
    with database.session() as s:
        county = Site(code="C001", name="县人民医院", level="county")
        town = Site(code="T001", name="乡镇卫生院", level="township")
        s.add_all([county, town])
        s.flush()
        patient = Patient(site_id=county.id, medical_record_number="MRN1", name="测试", sex="F",
                          insurance_number=INSURANCE_NUMBER)
        s.add(patient)
        s.flush()
        return World(county.id, town.id, patient.id)


MakeExam = Callable[..., ExamRef]


@pytest.fixture
def make_exam(database: Database, world: World) -> MakeExam:
    def make(*, modality: str = "chest_ct", status: str = "final", report_status: str = "final",
             site_id: int | None = None) -> ExamRef:
        n = next(_counter)
        site = site_id or world.site_id
        with database.session() as s:
            exam = Exam(accession=f"ACC{n:05d}", patient_id=world.patient_id, site_id=site,
                        reading_site_id=site, modality=modality, status=status,
                        content_sha256=hashlib.sha256(f"exam{n}".encode()).hexdigest())
            s.add(exam)
            s.flush()
            report = Report(exam_id=exam.id, version=1, status=report_status, content_json="{}",
                            content_sha256=hashlib.sha256(b"{}").hexdigest())
            s.add(report)
            s.flush()
            return ExamRef(exam.id, report.id)

    return make
