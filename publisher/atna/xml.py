"""The elements of a DICOM audit message (PS3.15 A.5.1, the schema; A.5.2, general conventions).

Coded values are written as the schema's ``CodedValueType``: ``csd-code``, ``codeSystemName`` and
``originalText`` (all three required by A.5.1; ``displayName`` is optional and left out). Codes
of the DCM code system are from PS3.16 (CID 400-405); the RFC 3881 ones are RFC 3881's.
"""

from __future__ import annotations

import base64
import datetime as dt
import xml.etree.ElementTree as ET
from dataclasses import dataclass

#: EventOutcomeIndicator (PS3.15 A.5.1): success, minor failure, serious failure, major failure.
SUCCESS, MINOR_FAILURE, SERIOUS_FAILURE, MAJOR_FAILURE = "0", "4", "8", "12"


@dataclass(frozen=True)
class Code:
    """A coded value: (code, coding scheme, meaning), e.g. (110106, DCM, "Export")."""

    code: str
    scheme: str
    meaning: str

    def element(self, parent: ET.Element, tag: str) -> ET.Element:
        return ET.SubElement(parent, tag, {"csd-code": self.code, "codeSystemName": self.scheme,
                                           "originalText": self.meaning})


def dcm(code: str, meaning: str) -> Code:
    return Code(code, "DCM", meaning)


# EventID (CID 400, Audit Event ID)
EXPORT = dcm("110106", "Export")
IMPORT = dcm("110107", "Import")
USER_AUTHENTICATION = dcm("110114", "User Authentication")
SECURITY_ALERT = dcm("110113", "Security Alert")
PATIENT_RECORD = dcm("110110", "Patient Record")
# EventTypeCode (CID 401, Audit Event Type Code)
LOGIN = dcm("110122", "Login")
SECURITY_ROLES_CHANGED = dcm("110136", "Security Roles Changed")
USER_SECURITY_ATTRIBUTES_CHANGED = dcm("110137", "User Security Attributes Changed")
# RoleIDCode (CID 402, Audit Active Participant Role ID Code)
SOURCE = dcm("110153", "Source Role ID")
DESTINATION = dcm("110152", "Destination Role ID")
DESTINATION_MEDIA = dcm("110154", "Destination Media")
SOURCE_MEDIA = dcm("110155", "Source Media")
APPLICATION = dcm("110150", "Application")
# MediaType (CID 405, Media Type Code)
CD, DVD, URI = dcm("110032", "CD"), dcm("110033", "DVD"), dcm("110037", "URI")
# ParticipantObjectIDTypeCode (RFC 3881 5.5.4; PS3.15 A.5.1; CID 404)
PATIENT_NUMBER = Code("2", "RFC-3881", "Patient Number")
USER_IDENTIFIER = Code("11", "RFC-3881", "User Identifier")
NODE_ID = dcm("110182", "Node ID")
STUDY_INSTANCE_UID = dcm("110180", "Study Instance UID")
# AuditSourceTypeCode (RFC 3881 5.4.3): an application server process
APPLICATION_SERVER = Code("4", "DCM", "Application Server")

#: ParticipantObjectTypeCode / ParticipantObjectTypeCodeRole (RFC 3881 5.5.1, 5.5.2)
PERSON, SYSTEM_OBJECT = "1", "2"
ROLE_PATIENT, ROLE_REPORT, ROLE_SECURITY_RESOURCE = "1", "3", "13"


def media_type_of(media: str) -> Code:
    """CID 405 for our media: CD-R is a CD; DVD and Blu-ray are both written as DVD, the optical
    disc code nearest to a BD (CID 405 has no Blu-ray code)."""
    return CD if media.lower().startswith("cd") else DVD


def datetime_text(at: dt.datetime) -> str:
    """EventDateTime (xsd:dateTime) in UTC with its zone: the index keeps naive UTC times."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.timezone.utc)
    return at.astimezone(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def message(event_id: Code, action: str, at: dt.datetime, outcome: str, *, type_code: Code | None = None,
            outcome_description: str = "") -> ET.Element:
    """``AuditMessage`` with its ``EventIdentification`` (A.5.1: EventID, EventActionCode
    C/R/U/D/E, EventDateTime, EventOutcomeIndicator; EventTypeCode where the event asks for one)."""
    root = ET.Element("AuditMessage")
    ident = ET.SubElement(root, "EventIdentification", {"EventActionCode": action, "EventDateTime": datetime_text(at),
                                                         "EventOutcomeIndicator": outcome})
    event_id.element(ident, "EventID")
    if type_code is not None:
        type_code.element(ident, "EventTypeCode")
    if outcome_description:
        ET.SubElement(ident, "EventOutcomeDescription").text = outcome_description[:1000]
    return root


def participant(root: ET.Element, user_id: str, requestor: bool, role: Code | None = None, *, address: str = "",
                user_name: str = "", media: tuple[Code, str] | None = None) -> ET.Element:
    """``ActiveParticipant``: UserID, UserIsRequestor, RoleIDCode, NetworkAccessPointID (type 2, an
    IP address, or 1, a machine name); for media, ``MediaIdentifier`` with its ``MediaType`` and
    the medium's own identifier as UserID (A.5.3.5 / A.5.3.6)."""
    attrs = {"UserID": user_id or "?", "UserIsRequestor": "true" if requestor else "false"}
    if user_name:
        attrs["UserName"] = user_name
    if address:
        attrs["NetworkAccessPointID"] = address
        attrs["NetworkAccessPointTypeCode"] = "2" if _is_ip(address) else "1"
    ap = ET.SubElement(root, "ActiveParticipant", attrs)
    if role is not None:
        role.element(ap, "RoleIDCode")
    if media is not None:
        media[0].element(ET.SubElement(ap, "MediaIdentifier"), "MediaType")
    return ap


def _is_ip(address: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(address)
    except ValueError:
        return False
    return True


def audit_source(root: ET.Element, source_id: str, site_id: str) -> None:
    """``AuditSourceIdentification`` (A.5.1): who wrote the message, of which enterprise."""
    attrs = {"AuditSourceID": source_id}
    if site_id:
        attrs["AuditEnterpriseSiteID"] = site_id
    APPLICATION_SERVER.element(ET.SubElement(root, "AuditSourceIdentification", attrs), "AuditSourceTypeCode")


def patient(root: ET.Element, patient_id: str, name: str) -> ET.Element:
    """A patient participant (A.5.2.4 / RFC 3881: type 1 person, role 1 patient, ID type 2)."""
    return _object(root, PERSON, ROLE_PATIENT, PATIENT_NUMBER, patient_id, name)


def detail(po: ET.Element, kind: str, value: str) -> None:
    """A ParticipantObjectDetail (A.5.1 ValuePair: ``type`` and a base64 ``value``)."""
    ET.SubElement(po, "ParticipantObjectDetail", {"type": kind, "value": base64.b64encode(value.encode("utf-8")).decode("ascii")})


def study(root: ET.Element, uid: str, *, sop_classes: dict[str, int] | None = None, accessions: list[str] | None = None) -> None:
    """A study participant (type 2 system object, role 3 report, ID type 110180 Study Instance UID);
    its ParticipantObjectName, which the schema requires when there is no query, is the UID too.
    Where known, a ParticipantObjectDescription with its accession numbers and each SOP class
    with its number of instances (A.5.2, table A.5.2-1; A.5.3.4 asks for SOPClass)."""
    po = _object(root, SYSTEM_OBJECT, ROLE_REPORT, STUDY_INSTANCE_UID, uid, uid)
    if sop_classes or accessions:
        description = ET.SubElement(po, "ParticipantObjectDescription")
        for number in accessions or []:
            ET.SubElement(description, "Accession", {"Number": number})
        for cls, count in sorted((sop_classes or {}).items()):
            ET.SubElement(description, "SOPClass", {"UID": cls, "NumberOfInstances": str(count)})


def alert_subject(root: ET.Element, id_type: Code, object_id: str, description: str) -> None:
    """A Security Alert's subject (A.5.3.11): type 2 system object, role 13 security resource,
    with the ParticipantObjectDetail "Alert Description" (its value base64, as ValuePair is)."""
    detail(_object(root, SYSTEM_OBJECT, ROLE_SECURITY_RESOURCE, id_type, object_id, object_id), "Alert Description",
           description)


def _object(root: ET.Element, type_code: str, role: str, id_type: Code, object_id: str, name: str) -> ET.Element:
    po = ET.SubElement(root, "ParticipantObjectIdentification", {
        "ParticipantObjectID": object_id or "?", "ParticipantObjectTypeCode": type_code,
        "ParticipantObjectTypeCodeRole": role})
    id_type.element(po, "ParticipantObjectIDTypeCode")
    # A.5.1: a ParticipantObjectName or a ParticipantObjectQuery is required; without a name, the ID
    ET.SubElement(po, "ParticipantObjectName").text = name or object_id or "?"
    return po


def to_bytes(root: ET.Element) -> bytes:
    """The message as UTF-8 XML with its declaration (PS3.15 A.6: UTF-8 in the syslog MSG)."""
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True))
