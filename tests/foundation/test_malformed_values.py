"""Malformed values are stored, never fatal (PS3.5 6.2 value representations).

A value that breaks its VR is filed byte for byte as received; the index keeps what it can
(text as received, numbers and dates it cannot read as NULL / empty) and a warning names the
tag. One association carries a dozen such instances and then a valid one: every one is
answered with success, stored byte-identical (compared with what was sent and with what DCMTK
storescp stores) and indexed. Unhandled paths that used to close the connection silently end
in a status or an A-ABORT.
"""

from __future__ import annotations

import logging
import re
import struct
from pathlib import Path

import pytest
from pydicom import dcmread
from sqlalchemy import select

from publisher.demo import samples
from publisher.dicomio.part10 import meta_end
from publisher.db.models import Instance, Patient, Series, Study
from tests.support.peers import storescp
from tests.support import pdus
from tests.support.service import running_service, settings_for, storescu

#: (case, tag, VR, raw value): one malformed value per instance.
MALFORMED: list[tuple[str, int, str, bytes]] = [
    ("comma-decimal-ds", 0x00180050, "DS", b"5,0 "),  # Slice Thickness, European decimal comma
    ("letters-in-is", 0x00200012, "IS", b"1A"),  # Acquisition Number
    ("instance-number-letters", 0x00200013, "IS", b"12B "),  # Instance Number (an index column)
    ("series-number-blank-junk", 0x00200011, "IS", b"#3"),  # Series Number (an index column)
    ("iso-format-da", 0x00080020, "DA", b"2024-01-31"),  # Study Date as ISO 8601
    ("tm-out-of-range", 0x00080030, "TM", b"256199"),  # Study Time, hour 25
    ("too-long-sh", 0x00080050, "SH", b"ACC-0123456789-0123456789-0123456789"),  # Accession Number > 16
    ("nan-ds", 0x00280030, "DS", b"NaN\\NaN "),  # Pixel Spacing
    ("infinite-ds", 0x00200032, "DS", b"1e999\\0\\-inf "),  # Image Position (Patient)
    ("broken-utf8", 0x00100010, "PN", b"M\xc3\x28ller^J\xfcrgen"),  # Patient's Name under ISO_IR 192
    ("unknown-charset", 0x00080005, "CS", b"ISO_IR 999"),  # Specific Character Set
    ("month-13-da", 0x00100030, "DA", b"19451332"),  # Patient's Birth Date
    ("february-30", 0x00080023, "DA", b"20240230"),  # Content Date
    ("too-long-cs", 0x00100040, "CS", b"MALE-FEMALE-OTHER "),  # Patient's Sex > 16
    ("astral-utf8", 0x00100010, "PN", "\U0002000b^\U0001f600".encode()),  # 4-byte UTF-8 (MariaDB utf8mb3 would refuse)
    ("nul-inside-lo", 0x00081030, "LO", b"CT\0HEAD"),  # Study Description (PostgreSQL refuses NUL in text)
]


def _tag_text(tag: int) -> str:
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X})"


def _files(folder: Path) -> list[tuple[str, Path]]:
    """One instance per malformed value (each its own patient and study, so patient and study
    level values are the ones the index reads), then a valid instance."""
    out = []
    folder.mkdir(parents=True, exist_ok=True)
    for case, tag, vr, value in MALFORMED:
        patient = samples.PatientSpec("Case^" + case, "MAL-" + case, charset="ISO_IR 192")
        spec = samples.StudySpec(patient, case, series=(samples.SeriesSpec("ct", 1, 1, "", 8, 8),))
        ds = samples.build_study(spec)[0]
        if tag in ds:
            del ds[tag]
        path = folder / f"{case}.dcm"
        samples.as_file(ds).save_as(path, enforce_file_format=True)
        _splice(path, tag, vr, value + (b" " if len(value) % 2 else b""))
        out.append((case, path))
    valid = samples.write_study(samples.StudySpec(samples.ASCII_PATIENT, "valid", series=(samples.SeriesSpec("ct", 1, 1, "", 8, 8),)),
                                folder / "valid")
    out.append(("valid", valid[0]))
    return out


def _splice(path: Path, tag: int, vr: str, value: bytes) -> None:
    """Put the element into the file's data set (explicit VR little endian) in tag order, its
    bytes exactly as given: pydicom would decode and re-encode a value it is handed."""
    data = path.read_bytes()
    start = meta_end(data)
    pos = start
    while pos < len(data):
        group, elem = struct.unpack_from("<HH", data, pos)
        if (group << 16 | elem) > tag:
            break
        code = data[pos + 4 : pos + 6]
        if code in (b"OB", b"OW", b"SQ", b"UN", b"UT", b"UC", b"UR", b"OF", b"OD", b"OL", b"OV", b"SV", b"UV"):
            pos += 12 + struct.unpack_from("<I", data, pos + 8)[0]
        else:
            pos += 8 + struct.unpack_from("<H", data, pos + 6)[0]
    element = struct.pack("<HH2sH", tag >> 16, tag & 0xFFFF, vr.encode(), len(value)) + value
    path.write_bytes(data[:pos] + element + data[pos:])


def _dataset_bytes(path: Path) -> bytes:
    data = path.read_bytes()
    return data[meta_end(data):]


@pytest.fixture(scope="module")
def sent(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[tuple[str, Path]], dict[str, bytes]]:
    """The files, and the data set bytes DCMTK storescp stores of them when storescu sends
    them (storescu re-encodes what it sends, e.g. DS padding: these are the bytes on the wire)."""
    tmp = tmp_path_factory.mktemp("malformed")
    files = _files(tmp / "in")
    out = tmp / "storescp"
    with storescp(out, "DISCPUB") as port:
        r = storescu(port, [p for _, p in files])
        assert r.returncode == 0, r.stdout + r.stderr
    theirs = {str(dcmread(p, stop_before_pixels=True).SOPInstanceUID): _dataset_bytes(p) for p in out.iterdir() if p.is_file()}
    assert len(theirs) == len(files), "storescp did not store every instance"
    return files, theirs


@pytest.mark.parametrize("lean", [True, False], ids=["lean", "pynetdicom"])
def test_one_association_of_malformed_values_is_stored_and_indexed(
    tmp_path: Path, db_url: str, lean: bool, caplog: pytest.LogCaptureFixture,
    sent: tuple[list[tuple[str, Path]], dict[str, bytes]],
) -> None:
    """A dozen malformed-value instances and a valid one on one association: all answered
    success, all stored byte-identical to what storescp stores, all indexed, each malformed
    value named in a warning."""
    files, theirs = sent
    settings = settings_for(tmp_path / "svc", db_url, lean_storage=lean)
    caplog.set_level(logging.WARNING)
    with running_service(settings) as svc:
        r = storescu(settings.dicom.port, [p for _, p in files], "-v")
        responses = re.findall(r"Received Store Response \(([^)]*)\)", r.stdout + r.stderr)
        assert r.returncode == 0 and responses == ["Success"] * len(files), r.stdout + r.stderr
        assert (r.stdout + r.stderr).count("Requesting Association") == 1
        with svc.db.session() as s:
            rows = {
                inst.sop_instance_uid: (inst, series, study, patient)
                for inst, series, study, patient in s.execute(
                    select(Instance, Series, Study, Patient).join(Series, Instance.series_fk == Series.id).join(Study).join(Patient)
                ).all()
            }
        root = svc.archive.root
        assert len(rows) == len(files)
        by_case = {}
        for case, path in files:
            uid = str(dcmread(path, stop_before_pixels=True).SOPInstanceUID)
            inst, series, study, patient = rows[uid]
            assert _dataset_bytes(root / inst.path) == theirs[uid], f"{case}: not stored as received"
            by_case[case] = (inst, series, study, patient)
    warnings = "\n".join(rec.getMessage() for rec in caplog.records if rec.levelno >= logging.WARNING)
    for case, tag, _vr, _value in MALFORMED:
        if case == "astral-utf8":
            continue  # valid (4-byte UTF-8): stored and indexed, nothing to warn about
        assert _tag_text(tag) in warnings, f"{case}: no warning names {_tag_text(tag)}"
    # What the index kept of each: text as received (within its column), numbers and dates as NULL / empty.
    assert by_case["instance-number-letters"][0].instance_number is None
    assert by_case["series-number-blank-junk"][1].series_number is None
    assert by_case["iso-format-da"][2].study_date == ""
    assert by_case["tm-out-of-range"][2].study_time == ""
    assert by_case["too-long-sh"][2].accession_number == "ACC-0123456789-0"
    assert by_case["month-13-da"][3].patient_birth_date == ""
    assert by_case["broken-utf8"][3].patient_name == "M\ufffd(ller^J\ufffdrgen"
    assert by_case["astral-utf8"][3].patient_name == "\U0002000b^\U0001f600"
    assert by_case["nul-inside-lo"][2].study_description == "CT\ufffdHEAD"
    assert by_case["unknown-charset"][3].patient_name == "Case^unknown-charset"
    assert by_case["too-long-cs"][3].patient_sex == "MALE-FEMALE-OTHE"
    keys = {case: by_case[case][0].record_keys or "" for case in by_case}
    assert '"00180050":{"vr":"DS"}' in keys["comma-decimal-ds"]
    assert '"00200012":{"vr":"IS"}' in keys["letters-in-is"]
    assert "NaN" not in keys["nan-ds"] and "Infinity" not in keys["infinite-ds"]
    assert '"00080023":{"vr":"DA"}' in keys["february-30"]
    assert by_case["valid"][0].instance_number == 1


def _storage_association(port: int, contexts: tuple[tuple[int, str | None, tuple[str, ...]], ...]) -> tuple[object, dict[int, tuple[int, str]]]:
    s, kind, ac = pdus.associate(port, pdus.associate_rq("STORESCU", contexts=contexts))
    assert kind == 0x02, ac
    return s, pdus.accepted_contexts(ac)


@pytest.mark.parametrize("lean", [True, False], ids=["lean", "pynetdicom"])
def test_non_ascii_affected_sop_instance_uid_gets_a_status(tmp_path: Path, sqlite_url: str, lean: bool) -> None:
    """A C-STORE-RQ whose Affected SOP Instance UID holds a non-ASCII byte is answered with a
    failure status (0x0117 invalid SOP instance, or pynetdicom's own failure) or an A-ABORT,
    never a silent close; on the lean path the association then goes on."""
    settings = settings_for(tmp_path / "svc", sqlite_url, lean_storage=lean)
    with running_service(settings) as svc:
        s, accepted = _storage_association(settings.dicom.port, ((1, pdus.CT_IMAGE, (pdus.EXPLICIT_LE,)),
                                                                 (3, pdus.VERIFICATION, (pdus.IMPLICIT_LE,))))
        assert accepted[1][0] == 0
        s.sendall(pdus.p_data(1, 0x03, pdus.c_store_rq(pdus.CT_IMAGE, b"1.2.3.\xe9")))
        s.sendall(pdus.p_data(1, 0x02, b"\x08\x00\x16\x00UI\x02\x001\x00"))
        kind, pdu = pdus.read_pdu(s)
        assert kind in (0x04, 0x07), "the connection closed without an answer"
        if kind == 0x04:
            assert pdus.status_of(pdu) != 0x0000
            if lean:
                assert pdus.status_of(pdu) == 0x0117
            s.sendall(pdus.p_data(3, 0x03, pdus.c_echo_rq(2)))
            kind, pdu = pdus.read_pdu(s)
            assert kind == 0x04 and pdus.status_of(pdu) == 0x0000
        s.close()
        assert not [p for p in svc.archive.root.rglob("*.dcm")]


@pytest.mark.parametrize("service", [pdus.VERIFICATION, pdus.STUDY_FIND], ids=["lean", "pynetdicom"])
@pytest.mark.parametrize("broken, results", [
    ((1, None, (pdus.EXPLICIT_LE,)), {3}),  # no Abstract Syntax sub-item: "abstract syntax not supported"
    ((1, pdus.CT_IMAGE, ()), {1, 2, 3, 4}),  # no transfer syntax: rejected (4, or any reason)
], ids=["no-abstract-syntax", "no-transfer-syntax"])
def test_a_malformed_presentation_context_is_rejected_not_dropped(tmp_path: Path, sqlite_url: str, service: str,
                                                                  broken: tuple[int, str | None, tuple[str, ...]],
                                                                  results: set[int]) -> None:
    """A proposed presentation context with no Abstract Syntax sub-item (found by the PDU
    fuzzer: negotiation raised and the caller got no answer) or with no transfer syntax gets a
    result in the A-ASSOCIATE-AC (rejected, PS3.8 9.3.3.2) while the other contexts are accepted
    and work."""
    settings = settings_for(tmp_path / "svc", sqlite_url)
    with running_service(settings):
        s, accepted = _storage_association(settings.dicom.port, (broken, (3, service, (pdus.IMPLICIT_LE,)),
                                                                 (5, pdus.VERIFICATION, (pdus.IMPLICIT_LE,))))
        assert accepted[1][0] in results and accepted[5][0] == 0, accepted
        s.sendall(pdus.p_data(5, 0x03, pdus.c_echo_rq(1)))
        kind, pdu = pdus.read_pdu(s)
        assert kind == 0x04 and pdus.status_of(pdu) == 0x0000
        s.sendall(pdus.RELEASE_RQ)
        assert pdus.read_pdu(s)[0] == 0x06
        s.close()


def test_an_unexpected_error_in_the_storage_path_aborts(tmp_path: Path, sqlite_url: str) -> None:
    """A PDU the lean path cannot make sense of (a P-DATA-TF whose PDV runs past the PDU) is
    answered with an A-ABORT (PS3.8 9.3.8), not a silent close."""
    settings = settings_for(tmp_path / "svc", sqlite_url)
    with running_service(settings):
        s, _accepted = _storage_association(settings.dicom.port, ((1, pdus.CT_IMAGE, (pdus.EXPLICIT_LE,)),))
        s.sendall(struct.pack(">BBI", 0x04, 0, 8) + struct.pack(">IBB", 1000, 1, 3) + b"\0\0")
        kind, _pdu = pdus.read_pdu(s)
        assert kind == 0x07
        s.close()
