"""Fuzzing the lean path's PDU reader and the association request handling (hypothesis).

Streams of P-DATA-TF, release and abort PDUs, some well formed (C-ECHO, C-STORE with real data
sets), some lying about lengths, contexts, control headers and command sets, are fed to the
storage acceptor over a socket pair, with a real archive behind it. Every stream must end in
an answer, a release, an A-ABORT or the peer's close (PS3.8 9.3, Annex E; PS3.7 E.1), never
another exception, and leave no partial file. Requests (A-ASSOCIATE-RQ, PS3.8 9.3.2) mutated
the same way are parsed and negotiated without an exception.
"""

from __future__ import annotations

import os
import socket
import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from publisher.archive.ingest import Archive
from publisher.config import DicomSettings
from publisher.db import migrate
from publisher.db.session import Database
from publisher.dicom.server import build_ae
from publisher.dicom.sop_classes import VERIFICATION
from publisher.dicom.storage_association import AbortAssociation, StorageAcceptor, parse_request, storage_only
from publisher.dicom.storage_scp import StorageHandler
from tests.support import pdus
from tests.support.service import archive_files
from tests.support.pdus import ct_dataset

FUZZ = settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "300")), deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
ACCEPTED = {1: (pdus.CT_IMAGE, pdus.EXPLICIT_LE), 3: (VERIFICATION, pdus.IMPLICIT_LE)}




UID, DATASET = ct_dataset("fuzz-pdu")


@pytest.fixture(scope="module")
def acceptor(tmp_path_factory: pytest.TempPathFactory) -> tuple[StorageAcceptor, Archive]:
    tmp = tmp_path_factory.mktemp("pdu")
    db = Database(f"sqlite:///{tmp / 'index.db'}")
    migrate.upgrade(db.engine)
    archive = Archive(tmp / "archive", db, duplicate_policy="replace")
    ae = build_ae(DicomSettings())
    handler = StorageHandler(archive)
    return StorageAcceptor("DISCPUB", list(ae.supported_contexts), 65536, 2.0, handler.begin), archive


def _pdv_payload(draw: st.DrawFn) -> tuple[int, bytes]:
    kind = draw(st.sampled_from(["echo", "store", "data", "whole", "junk"]))
    if kind == "echo":
        return 0x03, pdus.c_echo_rq(draw(st.integers(0, 0xFFFF)))
    if kind == "store":
        uid = draw(st.sampled_from([UID.encode(), b"1.2.3.\xe9", b"", b"1" * 80, b"1..2", UID.encode() + b" "]))
        return 0x03, pdus.c_store_rq(draw(st.sampled_from([pdus.CT_IMAGE, "1.2.3", ""])), uid, draw(st.integers(0, 0xFFFF)))
    if kind == "data":
        start = draw(st.integers(0, len(DATASET)))
        return draw(st.sampled_from([0x00, 0x02])), DATASET[start : start + draw(st.integers(0, len(DATASET)))]
    if kind == "whole":
        return 0x02, DATASET
    return draw(st.integers(0, 255)), draw(st.binary(max_size=64))


@st.composite
def streams(draw: st.DrawFn) -> bytes:
    out = bytearray()
    for _ in range(draw(st.integers(1, 12))):
        kind = draw(st.sampled_from(["pdata", "pdata", "pdata", "release", "abort", "other"]))
        if kind == "pdata":
            control, payload = _pdv_payload(draw)
            pcid = draw(st.sampled_from([1, 1, 1, 3, 0, 5, 255]))
            out += pdus.p_data(pcid, draw(st.sampled_from([control, control, draw(st.integers(0, 255))])), payload)
        elif kind == "release":
            out += pdus.RELEASE_RQ
        elif kind == "abort":
            out += struct.pack(">BBIBBBB", 0x07, 0, 4, 0, 0, 0, 0)
        else:
            body = draw(st.binary(max_size=32))
            out += struct.pack(">BBI", draw(st.integers(0, 255)), 0, draw(st.sampled_from([len(body), 0, 2**31, 2**32 - 1]))) + body
    for _ in range(draw(st.integers(0, 2))):
        if out:
            at = draw(st.integers(0, len(out) - 1))
            out[at] = draw(st.integers(0, 255))
    if draw(st.booleans()) and out:
        del out[draw(st.integers(0, len(out) - 1)) :]
    return bytes(out[: 48 * 1024])


@FUZZ
@given(streams())
@example(pdus.p_data(1, 0x03, pdus.c_store_rq(pdus.CT_IMAGE, UID)) + pdus.p_data(1, 0x02, DATASET) + pdus.RELEASE_RQ)
def test_every_pdu_stream_ends_in_an_answer_or_an_abort(acceptor: tuple[StorageAcceptor, Archive], stream: bytes) -> None:
    lean, archive = acceptor
    ours, theirs = socket.socketpair()
    try:
        ours.settimeout(2.0)
        theirs.sendall(stream)
        theirs.shutdown(socket.SHUT_WR)
        try:
            lean._run(ours, ACCEPTED, "FUZZ", "fuzz")
        except (AbortAssociation, ConnectionError, TimeoutError):
            pass
    finally:
        ours.close()
        theirs.close()
    assert not [p for p in archive_files(archive.root) if ".incoming" in p.parts], "a partial file was left behind"


@st.composite
def requests(draw: st.DrawFn) -> bytes:
    contexts = []
    for i in range(draw(st.integers(0, 5))):
        abstract = draw(st.sampled_from([pdus.CT_IMAGE, VERIFICATION, pdus.STUDY_FIND, "1.2.3", "", "\u00e9"]))
        syntaxes = draw(st.lists(st.sampled_from([pdus.EXPLICIT_LE, pdus.IMPLICIT_LE, "1.2.840.10008.1.2.4.50", "", "x"]), max_size=3))
        contexts.append((draw(st.sampled_from([2 * i + 1, 0, 2, 255])), abstract, tuple(syntaxes)))
    rq = bytearray(pdus.associate_rq(draw(st.sampled_from(["STORESCU", "", "A" * 16])), "DISCPUB", contexts,
                                     draw(st.sampled_from([0, 1, 16384, 2**32 - 1]))))
    for _ in range(draw(st.integers(0, 4))):
        at = draw(st.integers(0, len(rq) - 1))
        rq[at] = draw(st.integers(0, 255))
    return bytes(rq)


@FUZZ
@given(requests())
def test_every_association_request_is_parsed_and_negotiated_or_refused(acceptor: tuple[StorageAcceptor, Archive], rq: bytes) -> None:
    lean, _archive = acceptor
    primitive = parse_request(rq)
    if primitive is None:
        return  # not a request pynetdicom can decode: its state machine answers it (A-ABORT)
    if storage_only(primitive, frozenset({pdus.STUDY_FIND})):
        ac, accepted = lean.accept_pdu(primitive)
        assert ac[0] == 0x02 and all(ts for _a, ts in accepted.values())


def test_the_fuzzed_archive_is_consistent(acceptor: tuple[StorageAcceptor, Archive], tmp_path: Path) -> None:
    """After the streams above (one of them a whole C-STORE): what was stored has its row
    and its file, and nothing else is there."""
    from publisher.archive.check import check

    _lean, archive = acceptor
    report = check(archive)
    assert report.rows >= 1 and report.clean
