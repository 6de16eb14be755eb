"""FHIR R4 AuditEvent export, validated against the R4B models."""

from __future__ import annotations

import datetime as dt

from fhir.resources.R4B.auditevent import AuditEvent as FhirAuditEvent
from fhir.resources.R4B.bundle import Bundle

from dualsign.audit.service import SYSTEM, Actor, export_fhir_bundle, record, search, to_fhir
from dualsign.db import Database

DR_LI = Actor(7, "dr.li", "physician", 3, "10.0.0.12")


def _events(database: Database) -> None:
    with database.session() as session:
        record(session, Actor(None, "dr.wang", None, None, "ws-12.county.local"), "login", "user", None,
               outcome="failure", detail={"why": "wrong password"})
        record(session, DR_LI, "login", "user", 7)
        record(session, DR_LI, "read", "patient", 11)
        record(session, DR_LI, "sign", "report", 42, detail={"algorithm": "SM2-SM3", "findings": [1, 2]})
        record(session, SYSTEM, "analyze", "exam", 5, detail={"model_version": "1.0"})
        record(session, DR_LI, "retract", "report", 42, outcome="denied", detail={"reason": "not yours"})


def test_bundle_validates_and_maps_the_fields(database: Database) -> None:
    _events(database)
    with database.session() as session:
        bundle = export_fhir_bundle(session)
    Bundle.model_validate(bundle)
    assert bundle["type"] == "collection"
    resources = [entry["resource"] for entry in bundle["entry"]]
    for resource in resources:
        FhirAuditEvent.model_validate(resource)
    failed_login, login, read, sign, analyze, retract = resources

    assert failed_login["type"]["code"] == "110114" and failed_login["subtype"][0]["code"] == "110122"
    assert failed_login["outcome"] == "8" and failed_login["outcomeDesc"] == "wrong password"
    assert failed_login["agent"][0]["network"] == {"address": "ws-12.county.local", "type": "1"}
    assert login["outcome"] == "0" and login["action"] == "E"

    assert read["action"] == "R" and read["entity"][0]["type"]["code"] == "1"  # a person
    agent = read["agent"][0]
    assert agent["who"]["identifier"]["value"] == "7" and agent["who"]["display"] == "dr.li"
    assert agent["role"][0]["coding"][0]["code"] == "physician"
    assert agent["network"] == {"address": "10.0.0.12", "type": "2"}
    assert read["source"]["site"] == "site/3"

    assert sign["type"]["code"] == "attest" and sign["subtype"][-1]["code"] == "sign"
    assert sign["entity"][0]["what"]["identifier"]["value"] == "42"
    assert {"type": "findings", "valueString": "[1,2]"} in sign["entity"][0]["detail"]
    assert analyze["agent"][0]["type"]["coding"][0]["code"] == "110150"  # the application itself
    assert analyze["source"]["site"] == "central"
    assert retract["outcome"] == "4" and retract["action"] == "U"
    assert retract["recorded"].endswith("Z")

    # The chain travels with the export.
    seqs = [r["extension"][0]["valueInteger"] for r in resources]
    assert seqs == [1, 2, 3, 4, 5, 6]
    assert resources[1]["extension"][2]["valueString"] == resources[0]["extension"][1]["valueString"]


def test_export_filters(database: Database) -> None:
    _events(database)
    with database.session() as session:
        events = search(session)
        cut = events[3].at
        assert len(export_fhir_bundle(session, since=cut)["entry"]) == 3
        assert len(export_fhir_bundle(session, until=cut)["entry"]) == 3
        assert len(export_fhir_bundle(session, actor="dr.li")["entry"]) == 4
        assert len(export_fhir_bundle(session, action="login")["entry"]) == 2
        later = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
        assert export_fhir_bundle(session, since=later)["entry"] == []
        assert to_fhir(events[0])["id"] == "audit-1"
