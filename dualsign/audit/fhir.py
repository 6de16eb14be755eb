"""The audit trail as FHIR R4 AuditEvent resources (validated against the R4B models).

Mapping: type is the DICOM audit event type for logins (110114 User Authentication) and exports
(110106 Export), otherwise the ISO 21089 record-lifecycle event the action amounts to; subtype
always carries the action's own code. outcome: success 0, denied 4 (minor failure: the request was
refused), failure 8 (serious failure). The chain fields (seq, hash, prev_hash) travel as extensions,
so an exported trail can still be checked link by link.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import uuid
from typing import Any

from fhir.resources.R4B.auditevent import AuditEvent as FhirAuditEvent
from sqlalchemy.orm import Session

from dualsign.audit.models import AuditEvent
from dualsign.audit.query import search
from dualsign.audit.vocab import AuditAction, Outcome
from dualsign.signing.canonical import canonical_json

# Identifier and code systems owned by this product; a deployment may map them to its own URLs.
BASE = "urn:dualsign"
ACTION_SYSTEM = f"{BASE}:audit-action"
ROLE_SYSTEM = f"{BASE}:role"
USER_SYSTEM = f"{BASE}:user"
SITE_SYSTEM = f"{BASE}:site"
OBJECT_SYSTEM = f"{BASE}:object"
EXT_SEQ, EXT_HASH, EXT_PREV = (f"{BASE}:audit-chain-{n}" for n in ("seq", "hash", "prev-hash"))

DCM = "http://dicom.nema.org/resources/ontology/DCM"
LIFECYCLE = "http://terminology.hl7.org/CodeSystem/iso-21089-lifecycle"
AGENT_TYPE = "http://terminology.hl7.org/CodeSystem/extra-security-role-type"
SOURCE_TYPE = "http://terminology.hl7.org/CodeSystem/security-source-type"
ENTITY_TYPE = "http://terminology.hl7.org/CodeSystem/audit-entity-type"

# action -> (type system, code, display, FHIR action C/R/U/D/E)
_TYPES: dict[AuditAction, tuple[str, str, str, str]] = {
    AuditAction.CREATE: (LIFECYCLE, "originate", "Originate/Retain Record Lifecycle Event", "C"),
    AuditAction.READ: (LIFECYCLE, "access", "Access/View Record Lifecycle Event", "R"),
    AuditAction.UPDATE: (LIFECYCLE, "amend", "Amend (Update) Record Lifecycle Event", "U"),
    AuditAction.UPLOAD: (LIFECYCLE, "receive", "Receive/Retain Record Lifecycle Event", "C"),
    AuditAction.QC: (LIFECYCLE, "verify", "Verify Record Lifecycle Event", "E"),
    AuditAction.ANALYZE: (LIFECYCLE, "originate", "Originate/Retain Record Lifecycle Event", "C"),
    AuditAction.REVIEW: (LIFECYCLE, "amend", "Amend (Update) Record Lifecycle Event", "U"),
    AuditAction.ROUTE: (LIFECYCLE, "transmit", "Transmit Record Lifecycle Event", "E"),
    AuditAction.SIGN: (LIFECYCLE, "attest", "Attest Record Lifecycle Event", "E"),
    AuditAction.AMEND: (LIFECYCLE, "amend", "Amend (Update) Record Lifecycle Event", "U"),
    AuditAction.RETRACT: (LIFECYCLE, "deprecate", "Deprecate Record Lifecycle Event", "U"),
    AuditAction.VERIFY: (LIFECYCLE, "verify", "Verify Record Lifecycle Event", "E"),
    AuditAction.EXPORT: (DCM, "110106", "Export", "E"),
    AuditAction.CLAIM: (LIFECYCLE, "originate", "Originate/Retain Record Lifecycle Event", "C"),
    AuditAction.REVERSE: (LIFECYCLE, "deprecate", "Deprecate Record Lifecycle Event", "C"),
    AuditAction.LOGIN: (DCM, "110114", "User Authentication", "E"),
    AuditAction.LOGOUT: (DCM, "110114", "User Authentication", "E"),
}
_AUTH_SUBTYPE = {AuditAction.LOGIN: ("110122", "Login"), AuditAction.LOGOUT: ("110123", "Logout")}
_OUTCOME = {Outcome.SUCCESS: "0", Outcome.DENIED: "4", Outcome.FAILURE: "8"}
_PERSON_OBJECTS = {"patient", "user"}


def _instant(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _agent(event: AuditEvent) -> dict[str, Any]:
    human = event.actor_id is not None
    agent: dict[str, Any] = {
        "type": {"coding": [{"system": AGENT_TYPE, "code": "humanuser", "display": "human user"}
                            if human else {"system": DCM, "code": "110150", "display": "Application"}]},
        "who": {"display": event.actor},
        "altId": event.actor,
        "requestor": True,
    }
    if human:
        agent["who"]["identifier"] = {"system": USER_SYSTEM, "value": str(event.actor_id)}
    if event.role:
        agent["role"] = [{"coding": [{"system": ROLE_SYSTEM, "code": event.role}], "text": event.role}]
    if event.client_address:
        try:
            ipaddress.ip_address(event.client_address)
            kind = "2"  # IP address
        except ValueError:
            kind = "1"  # machine name
        agent["network"] = {"address": event.client_address, "type": kind}
    return agent


def _entity(event: AuditEvent) -> dict[str, Any]:
    what: dict[str, Any] = {"display": event.object_type if event.object_id is None
                            else f"{event.object_type}/{event.object_id}"}
    if event.object_id is not None:
        what["identifier"] = {"system": f"{OBJECT_SYSTEM}:{event.object_type}", "value": event.object_id}
    kind = ("1", "Person") if event.object_type in _PERSON_OBJECTS else ("2", "System Object")
    entity: dict[str, Any] = {
        "what": what, "type": {"system": ENTITY_TYPE, "code": kind[0], "display": kind[1]},
    }
    details = [{"type": key, "valueString": value if isinstance(value, str) else canonical_json(value)}
               for key, value in sorted((event.detail or {}).items())]
    if event.note:
        details.append({"type": "note", "valueString": event.note})
    if details:
        entity["detail"] = details
    return entity


def to_fhir(event: AuditEvent) -> dict[str, Any]:
    """One audit event as FHIR R4 AuditEvent JSON (a dict), validated before it is returned."""
    action = AuditAction(event.action)
    system, code, display, crud = _TYPES[action]
    subtype = [{"system": ACTION_SYSTEM, "code": action.value}]
    if action in _AUTH_SUBTYPE:
        sub_code, sub_display = _AUTH_SUBTYPE[action]
        subtype.insert(0, {"system": DCM, "code": sub_code, "display": sub_display})
    resource: dict[str, Any] = {
        "resourceType": "AuditEvent",
        "id": f"audit-{event.seq}",
        "extension": [
            {"url": EXT_SEQ, "valueInteger": event.seq},
            {"url": EXT_HASH, "valueString": event.hash},
            {"url": EXT_PREV, "valueString": event.prev_hash},
        ],
        "type": {"system": system, "code": code, "display": display},
        "subtype": subtype,
        "action": crud,
        "recorded": _instant(event.at),
        "outcome": _OUTCOME[Outcome(event.outcome)],
        "agent": [_agent(event)],
        "source": {
            "site": "central" if event.site_id is None else f"site/{event.site_id}",
            "observer": {"display": "dualsign"} if event.site_id is None else
            {"identifier": {"system": SITE_SYSTEM, "value": str(event.site_id)}, "display": "dualsign"},
            "type": [{"system": SOURCE_TYPE, "code": "4", "display": "Application Server"}],
        },
        "entity": [_entity(event)],
    }
    detail = event.detail or {}
    reason = detail.get("reason", detail.get("why"))
    if event.outcome != Outcome.SUCCESS and isinstance(reason, str):
        resource["outcomeDesc"] = reason
    FhirAuditEvent.model_validate(resource)  # raises if the mapping ever drifts from R4
    return resource


def export_fhir_bundle(
    session: Session,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    actor: str | None = None,
    action: str | None = None,
) -> dict[str, Any]:
    """A FHIR Bundle of type "collection" holding the matching events in chain order.

    `since` inclusive, `until` exclusive, `actor` a username. Entry fullUrls are stable
    (urn:uuid derived from each event's hash), so re-exports of the same events deduplicate.
    """
    events = search(session, since=since, until=until, actor=actor, action=action)
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": _instant(dt.datetime.now(dt.UTC)),
        "entry": [{"fullUrl": f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{BASE}:audit:{e.hash}')}",
                   "resource": to_fhir(e)} for e in events],
    }
