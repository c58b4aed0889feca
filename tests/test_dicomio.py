"""publisher.dicomio: one implementation identity, and encoders that match pydicom's writer."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from pydicom.dataelem import DataElement
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_data_element

from publisher.dicomio.encode import ascii_value, explicit_element, explicit_header, implicit_element, uid_value
from publisher.dicomio.identity import IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME
from publisher.dicomio.part10 import is_part10, meta_end, split_part10
from publisher.dicomio.vr import LONG_VR_NAMES


def test_the_identity_is_a_valid_uid_and_version_name() -> None:
    # PS3.5 9.1: components of digits without leading zeros, at most 64 characters
    assert re.fullmatch(r"(0|[1-9]\d*)(\.(0|[1-9]\d*))*", IMPLEMENTATION_CLASS_UID)
    assert len(IMPLEMENTATION_CLASS_UID) <= 64 and IMPLEMENTATION_CLASS_UID.startswith("2.25.")
    # PS3.7 D.3.3.2.2: 1 to 16 characters of the default repertoire (SH)
    assert 1 <= len(IMPLEMENTATION_VERSION_NAME) <= 16 and IMPLEMENTATION_VERSION_NAME.isascii()
    assert "\\" not in IMPLEMENTATION_VERSION_NAME


def _pydicom(tag: int, vr: str, value: object, implicit: bool = False) -> bytes:
    fp = DicomBytesIO()
    fp.is_little_endian, fp.is_implicit_VR = True, implicit
    write_data_element(fp, DataElement(tag, vr, value))
    return fp.getvalue()


@pytest.mark.parametrize(("tag", "vr", "value", "raw"), [
    (0x00020001, "OB", b"\x00\x01", b"\x00\x01"),
    (0x00020002, "UI", "1.2.840.10008.5.1.4.1.1.2", uid_value("1.2.840.10008.5.1.4.1.1.2")),
    (0x00020013, "SH", "ODD", ascii_value("ODD")),
    (0x00081030, "UT", "long text", ascii_value("long text")),
])
def test_explicit_elements_are_what_pydicom_writes(tag: int, vr: str, value: object, raw: bytes) -> None:
    assert explicit_element(tag, vr, raw) == _pydicom(tag, vr, value)


def test_implicit_elements_are_what_pydicom_writes() -> None:
    assert implicit_element(0x00000002, uid_value("1.2.3")) == _pydicom(0x00000002, "UI", "1.2.3", implicit=True)


def test_a_short_length_that_does_not_fit_is_refused() -> None:
    assert "SH" not in LONG_VR_NAMES
    with pytest.raises(ValueError, match="too long"):
        explicit_header(0x00100010, "SH", 0x10000)


def test_part10_header() -> None:
    meta = explicit_element(0x00020010, "UI", uid_value("1.2.840.10008.1.2.1"))
    data = b"\0" * 128 + b"DICM" + explicit_element(0x00020000, "UL", len(meta).to_bytes(4, "little")) + meta + b"\x08\x00"
    assert is_part10(data) and not is_part10(data[:131])
    assert meta_end(data) == len(data) - 2
    ds, start = split_part10(data)
    assert start == len(data) - 2 and ds.TransferSyntaxUID == "1.2.840.10008.1.2.1"
    with pytest.raises(ValueError):
        split_part10(b"\0" * 200)


def test_the_pynetdicom_acceptor_carries_the_same_identity() -> None:
    """Associations pynetdicom accepts (query/retrieve, commitment) answer as the lean path does."""
    from publisher.config import DicomSettings
    from publisher.dicom.server import build_ae

    ae = build_ae(DicomSettings())
    assert (ae.implementation_class_uid, ae.implementation_version_name) == (
        IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME)


def test_our_outgoing_associations_announce_the_same_identity(tmp_path: Path) -> None:
    """DCMTK storescp, debug-logging the A-ASSOCIATE-RQ, sees our implementation class UID and
    version name (PS3.7 D.3.3.2) on an association our storage SCU opens, not pynetdicom's."""
    from pynetdicom.presentation import build_context

    from publisher.config import DicomSettings, RemoteAE
    from publisher.dicom.storage_scu import associate
    from tests.support.peers import DCMTK_ENV, wait_echo
    from tests.support.net import free_port
    from tests.support.tools import require_tool

    require_tool("storescp", "echoscu")
    port, log = free_port(), tmp_path / "storescp.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(["storescp", "-d", "-aet", "PEER", "-od", str(tmp_path), str(port)], env=DCMTK_ENV,
                                stdout=out, stderr=subprocess.STDOUT)
        try:
            wait_echo(port, "PEER")
            assoc = associate(DicomSettings(ae_title="DISCPUB"), RemoteAE("PEER", "127.0.0.1", port),
                              [build_context("1.2.840.10008.1.1")])
            assert assoc.is_established
            assoc.release()
        finally:
            proc.terminate()
            proc.wait()
    text = log.read_text(errors="replace")
    seen = re.findall(r"Their Implementation Class UID:\s+(\S+)", text)
    versions = re.findall(r"Their Implementation Version Name:\s+(\S+)", text)
    assert IMPLEMENTATION_CLASS_UID in seen and IMPLEMENTATION_VERSION_NAME in versions, (seen, versions)
