"""Each audit event we record (publisher.audit) as the DICOM audit message of its kind (PS3.15 A.5.3).

- ``burn``: Data Export 110106 (A.5.3.4), one message per volume written (the section allows
  exactly one Destination Media), action R; a volume with good and failed copies gets one of
  each (A.5.1: no message of mixed results);
- ``handout``: Data Export 110106 (A.5.3.4), one per disc given away, the person who took it as
  the Destination Role ID participant;
- ``disc-import``: Data Import 110107 (A.5.3.5), action C; and a Patient Record 110110
  (A.5.3.14), action U, for each patient filed under another identity than the disc's;
- ``login``, ``login-failed``, ``login-blocked``: User Authentication 110114 with EventTypeCode
  110122 Login (A.5.3.12), action E, a refusal as outcome 4;
- ``user-*``, ``password-change``, ``login-unlock``: Security Alert 110113 (A.5.3.11), action E.

``media-export`` (a volume mastered) is not sent alone: its patients and studies are those of the
Export sent when the volume is burned or handed out. Job bookkeeping (created, cancelled,
resubmitted) has no A.5.3 message and is not sent.
"""

from __future__ import annotations

import copy
import datetime as dt
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from publisher.atna import xml as X

#: Actions that become a Security Alert, with their EventTypeCode (PS3.16 CID 401).
SECURITY: dict[str, X.Code] = {
    "user-add": X.SECURITY_ROLES_CHANGED,
    "user-enable": X.USER_SECURITY_ATTRIBUTES_CHANGED,
    "user-disable": X.USER_SECURITY_ATTRIBUTES_CHANGED,
    "user-password": X.USER_SECURITY_ATTRIBUTES_CHANGED,
    "password-change": X.USER_SECURITY_ATTRIBUTES_CHANGED,
    "login-unlock": X.USER_SECURITY_ATTRIBUTES_CHANGED,
    "user-token": X.USER_SECURITY_ATTRIBUTES_CHANGED,  # a DICOMweb bearer token made (publisher.db.tokens)
    "user-revoke-token": X.USER_SECURITY_ATTRIBUTES_CHANGED,
}
LOGINS: dict[str, str] = {"login": "", "login-failed": "wrong user name or password, or a disabled account",
                          "login-blocked": "refused: too many failed attempts"}


@dataclass(frozen=True)
class Recorded:
    """One row of the audit trail, as plain data."""

    id: int
    at: dt.datetime
    actor: str
    action: str
    subject: str
    detail: Mapping[str, Any]


@dataclass(frozen=True)
class Source:
    """Who writes the messages: AuditSourceID, AuditEnterpriseSiteID, our host's name or address."""

    source_id: str
    site_id: str = ""
    node: str = ""


@dataclass(frozen=True)
class Exported:
    """What went on one volume (its ``media-export`` event): the medium, patients and studies."""

    media: str = ""
    patients: tuple[tuple[str, str], ...] = ()  #: (ID, name)
    studies: tuple[str, ...] = ()
    number: int = 0  #: the volume's number in its job (a burn's discs say which volume they hold)
    #: study UID -> {"sop_classes": {SOP Class UID: count}, "accessions": [...]}
    contents: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


def exported(detail: Mapping[str, Any]) -> Exported:
    """A ``media-export`` event's detail (``disc`` is "number/count") as :class:`Exported`."""
    number = str(detail.get("disc", "0/0")).split("/")[0]
    return Exported(str(detail.get("media", "")),
                    tuple((str(p.get("id", "")), str(p.get("name", ""))) for p in detail.get("patients", [])),
                    tuple(str(u) for u in detail.get("studies", [])), int(number) if number.isdigit() else 0,
                    dict(detail.get("study_contents", {})))


def file_set_ids(event: Recorded, job_volumes: Sequence[Mapping[str, Any]] = ()) -> list[str]:
    """The File-set IDs of the discs an Export is about: the handed-out discs, or the job's volumes."""
    discs = event.detail.get("discs", []) if event.action == "handout" else job_volumes
    return sorted({str(d.get("file_set_id", "")) for d in discs if d.get("file_set_id")})


#: The largest message we send, in bytes of XML: PS3.15 A.6 asks receivers to take at least
#: 32,768 octets; the syslog header and the frame fit in the rest.
LIMIT = 31 * 1024


def build(event: Recorded, source: Source, volumes: Mapping[str, Exported] | None = None,
          limit: int = LIMIT) -> list[ET.Element]:
    """The audit messages of ``event`` (none for an action without one); ``volumes``: File-set ID
    -> what is on it, for the Exports of a burn or a hand-over. A message over ``limit`` bytes
    is split into messages that each name a part of its studies (and all its patients)."""
    return [part for root in _build(event, source, volumes) for part in fitting(root, limit)]


def fitting(root: ET.Element, limit: int) -> list[ET.Element]:
    """``root`` as one message, or halved by its study objects until each part fits ``limit``."""
    studies = [po for po in root.findall("ParticipantObjectIdentification") if po.get("ParticipantObjectTypeCode") == "2"]
    if len(studies) <= 1 or len(X.to_bytes(root)) <= limit:
        return [root]
    half = len(studies) // 2
    out = []
    for keep in (range(half), range(half, len(studies))):
        part = copy.deepcopy(root)
        objects = [po for po in part.findall("ParticipantObjectIdentification") if po.get("ParticipantObjectTypeCode") == "2"]
        for i, po in enumerate(objects):
            if i not in keep:
                part.remove(po)
        out += fitting(part, limit)
    return out


def _build(event: Recorded, source: Source, volumes: Mapping[str, Exported] | None) -> list[ET.Element]:
    if event.action == "handout":
        return [_export(event, source, fsid, v, X.SUCCESS) for fsid, v in sorted((volumes or {}).items())]
    if event.action == "burn":
        return [_export(event, source, fsid, v, outcome) for fsid, v in sorted((volumes or {}).items())
                for outcome in _burn_outcomes(event, v)]
    if event.action == "disc-import":
        return [_import(event, source)] + _reconciled(event, source)
    if event.action in LOGINS:
        return [_login(event, source)]
    if event.action in SECURITY:
        return [_security(event, source)]
    return []


def _user(root: ET.Element, event: Recorded, role: X.Code | None) -> None:
    """The person (or the service, for unattended rules) who asked for the event."""
    X.participant(root, event.actor, True, role, address=str(event.detail.get("address", "")))


def _application(root: ET.Element, source: Source, role: X.Code | None = X.APPLICATION) -> None:
    X.participant(root, source.source_id, False, role, address=source.node)


def _objects(root: ET.Element, patients: Sequence[tuple[str, str]], studies: Sequence[str],
             contents: Mapping[str, Mapping[str, Any]] | None = None) -> None:
    for uid in studies:
        c = (contents or {}).get(uid, {})
        X.study(root, uid, sop_classes=dict(c.get("sop_classes", {})), accessions=list(c.get("accessions", [])))
    for pid, name in patients:
        X.patient(root, pid, name)


def _discs_of(event: Recorded, volume: Exported) -> list[Mapping[str, Any]]:
    """A burn's disc records of one volume (every record when the volume's number is unknown)."""
    return [x for x in event.detail.get("discs", []) if not volume.number or x.get("volume") == volume.number]


def _burn_outcomes(event: Recorded, volume: Exported) -> list[str]:
    """A volume's copies that came out good are one message (outcome 0) and the failed ones
    another (8): A.5.1 allows no message of mixed results. No disc at all is a failure."""
    ok = [bool(x.get("ok")) for x in _discs_of(event, volume)]
    return ([X.SUCCESS] if any(ok) else []) + ([X.SERIOUS_FAILURE] if not all(ok) or not ok else [])


def _export(event: Recorded, source: Source, file_set_id: str, volume: Exported, outcome: str) -> ET.Element:
    """A.5.3.4 Data Export: the requesting person and our application (both Source Role ID), the
    disc as the one Destination Media (its File-set ID, its media type), the recipient of a hand-over
    (Destination Role ID), and the studies and patients on the disc."""
    d = event.detail
    description = ""
    if outcome != X.SUCCESS:
        errors = {str(x.get("error", "")) for x in _discs_of(event, volume) if not x.get("ok") and x.get("error")}
        description = "; ".join(sorted(errors)) or str(d.get("error", "")) or "no disc came out"
    root = X.message(X.EXPORT, "R", event.at, outcome, outcome_description=description)
    _user(root, event, X.SOURCE)
    _application(root, source, X.SOURCE)
    if event.action == "handout":
        r = d.get("recipient", {})
        X.participant(root, str(r.get("name", "?")), False, X.DESTINATION,
                      user_name=f"{r.get('name', '')} ({r.get('relation', '')}; identity checked: "
                                f"{'yes' if r.get('id_checked') else 'no'})")
    X.participant(root, file_set_id, False, X.DESTINATION_MEDIA, media=(X.media_type_of(volume.media), file_set_id))
    X.audit_source(root, source.source_id, source.site_id)
    patients = volume.patients or tuple((str(p.get("id", "")), str(p.get("name", ""))) for p in d.get("patients", []))
    _objects(root, patients, volume.studies, volume.contents)
    return root


def _import(event: Recorded, source: Source) -> ET.Element:
    """A.5.3.5 Data Import: the importing user (Destination Role ID), the disc as Source Media, and the
    studies and patients as they were filed here (after any reconciliation)."""
    d = event.detail
    counts = d.get("counts", {})
    outcome = X.SERIOUS_FAILURE if d.get("error") else X.MINOR_FAILURE if counts.get("refused") else X.SUCCESS
    root = X.message(X.IMPORT, "C", event.at, outcome, outcome_description=str(d.get("error", "")))
    _user(root, event, X.DESTINATION)
    _application(root, source)
    medium = str(d.get("volume_id") or d.get("source") or event.subject)
    X.participant(root, medium, False, X.SOURCE_MEDIA, media=(X.CD, medium))
    X.audit_source(root, source.source_id, source.site_id)
    patients = [(p.get("to", {}).get("id", ""), p.get("to", {}).get("name", "")) for p in d.get("patients", [])]
    _objects(root, patients, list(d.get("studies", [])))
    return root


def _reconciled(event: Recorded, source: Source) -> list[ET.Element]:
    """A.5.3.14 Patient Record, action U: each patient of an imported disc filed under another
    identity than the disc's (PS3.3 C.12.1.1.9 coercion), the disc's ID and name in a detail."""
    out = []
    for p in event.detail.get("patients", []):
        was, now = p.get("from", {}), p.get("to", {})
        if (was.get("id"), was.get("issuer"), was.get("name")) == (now.get("id"), now.get("issuer"), now.get("name")):
            continue
        root = X.message(X.PATIENT_RECORD, "U", event.at, X.SUCCESS)
        _user(root, event, None)
        _application(root, source, None)
        X.audit_source(root, source.source_id, source.site_id)
        po = X.patient(root, str(now.get("id", "")), str(now.get("name", "")))
        X.detail(po, "Imported as", f"{was.get('id', '')} [{was.get('issuer', '')}] {was.get('name', '')}")
        out.append(root)
    return out


def _login(event: Recorded, source: Source) -> ET.Element:
    """A.5.3.12 User Authentication (EventTypeCode 110122 Login): the person, from their address,
    and our web application as the authenticating node. A refused login is a minor failure."""
    outcome = X.SUCCESS if event.action == "login" else X.MINOR_FAILURE
    root = X.message(X.USER_AUTHENTICATION, "E", event.at, outcome, type_code=X.LOGIN,
                     outcome_description=LOGINS[event.action])
    # the person's NetworkAccessPointID is M in A.5.3.12: "unknown" when the web server had none
    X.participant(root, event.actor, True, None, address=str(event.detail.get("address") or "unknown"))
    _application(root, source, None)
    X.audit_source(root, source.source_id, source.site_id)
    return root


def _security(event: Recorded, source: Source) -> ET.Element:
    """A.5.3.11 Security Alert: the administrator (or the person themselves) who changed a user's
    security attributes as the reporting person, our application performing it, and the user (or
    the address whose lock was lifted, as a Node ID) as the Alert Subject with its description."""
    root = X.message(X.SECURITY_ALERT, "E", event.at, X.SUCCESS, type_code=SECURITY[event.action])
    _user(root, event, None)
    _application(root, source)
    X.audit_source(root, source.source_id, source.site_id)
    kind, _, name = event.subject.partition(" ")
    what = {"user-add": "user added", "user-enable": "user enabled", "user-disable": "user disabled",
            "user-password": "password set by an administrator", "password-change": "password changed by its user",
            "login-unlock": "login lock lifted", "user-token": "bearer token made",
            "user-revoke-token": "bearer token revoked"}[event.action]
    extra = "; ".join(f"{k} {v}" for k, v in sorted(event.detail.items()))
    text = f"{what}: {event.subject} by {event.actor}" + (f" ({extra})" if extra else "")
    X.alert_subject(root, X.NODE_ID if kind == "address" else X.USER_IDENTIFIER, name or event.subject, text)
    return root
