"""DICOM TLS on both sides (PS3.15 Annex B) against DCMTK and Orthanc, with certificates made here.

Our TLS port (``dicom.tls_port``) with mutual TLS: DCMTK echoscu / storescu with a certificate
of our CA are served exactly as on the plain port; a caller without a certificate, with one of
another CA, or speaking plain TCP fails the handshake and the server keeps serving. Our SCU
(storage and query/retrieve) to remotes with ``tls = true``: DCMTK storescp and Orthanc over TLS,
each verified against our CA; a remote whose certificate another CA signed is refused.
"""

from __future__ import annotations

import json
import logging
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest
from pydicom import dcmread
from sqlalchemy import select

from publisher.config import ConfigError, RemoteAE, Settings, load_settings
from publisher.db.models import Instance
from publisher.demo import samples
from publisher.dicom.storage_scu import InstanceRef, send
from publisher.service import Service
from tests.support.certs import Certs, Pair
from tests.support.net import free_port
from tests.support.peers import DCMTK_ENV, storescp
from tests.support.service import running_service, settings_for, storescu
from tests.support.tools import require_tool


def _tls(pair: Pair, ca: Path) -> list[str]:
    """DCMTK options: TLS with our key and certificate, peers verified against ``ca``."""
    return ["+tls", str(pair.key), str(pair.cert), "+cf", str(ca)]


def _tls_settings(tmp: Path, url: str, certs: Certs, **dicom: object) -> Settings:
    return settings_for(tmp, url, tls_port=free_port(), tls_ca_file=str(certs.ca), tls_cert_file=str(certs.server.cert),
                        tls_key_file=str(certs.server.key), **dicom)


def _echo(port: int, *extra: str, aet: str = "ECHOSCU") -> subprocess.CompletedProcess[str]:
    return subprocess.run(["echoscu", "-aet", aet, "-aec", "DISCPUB", *extra, "127.0.0.1", str(port)],
                          capture_output=True, text=True, env=DCMTK_ENV, timeout=60)


def _files(tmp: Path, count: int = 2) -> list[Path]:
    spec = samples.StudySpec(samples.LATIN1_PATIENT, "tls", "Over TLS", series=(samples.SeriesSpec("mr", count, 1, "MR", 32, 32),))
    return samples.write_study(spec, tmp / "src")


def _stored(svc: Service) -> dict[str, bytes]:
    with svc.db.session() as s:
        rows = s.execute(select(Instance.sop_instance_uid, Instance.path)).all()
    return {uid: (svc.settings.archive_root / path).read_bytes() for uid, path in rows}


# -- our TLS port --------------------------------------------------------------------------------


@pytest.mark.parametrize("lean", [True, False], ids=["lean", "pynetdicom"])
def test_dcmtk_over_tls_is_served_as_on_the_plain_port(tmp_path: Path, certs: Certs, lean: bool) -> None:
    """echoscu and storescu with a certificate of our CA; the instances are stored byte for byte
    as the same files sent on the plain port; the calling-AE allow-list applies to TLS too."""
    require_tool("echoscu", "storescu")
    files = _files(tmp_path)
    settings = _tls_settings(tmp_path / "tls", f"sqlite:///{tmp_path / 'tls.db'}", certs, lean_storage=lean)
    plain = settings_for(tmp_path / "plain", f"sqlite:///{tmp_path / 'plain.db'}")
    with running_service(settings) as svc, running_service(plain) as ref:
        port = settings.dicom.tls_port
        r = _echo(port, *_tls(certs.client, certs.ca))
        assert r.returncode == 0, r.stdout + r.stderr
        r = storescu(port, files, *_tls(certs.client, certs.ca))
        assert r.returncode == 0, r.stdout + r.stderr
        r = storescu(plain.dicom.port, files)
        assert r.returncode == 0, r.stdout + r.stderr
        # Not on the allow-list: rejected on the TLS port exactly as on the plain one.
        r = _echo(port, *_tls(certs.client, certs.ca), aet="STRANGER")
        assert r.returncode != 0 and "Calling AE Title Not Recognized" in r.stdout + r.stderr
        over_tls, over_tcp = _stored(svc), _stored(ref)
    assert len(over_tls) == len(files)
    assert over_tls == over_tcp


def test_callers_without_a_trusted_certificate_fail_the_handshake(tmp_path: Path, certs: Certs) -> None:
    """No certificate, a certificate of another CA, or plain TCP on the TLS port: the connection
    fails, nothing is stored, and both ports keep serving (a silent client blocks nobody)."""
    require_tool("echoscu", "storescu")
    files = _files(tmp_path, 1)
    settings = _tls_settings(tmp_path / "svc", f"sqlite:///{tmp_path / 'svc.db'}", certs)
    with running_service(settings) as svc:
        port = settings.dicom.tls_port
        silent = socket.create_connection(("127.0.0.1", port))  # never says anything
        try:
            anonymous = storescu(port, files, "+tla", "+cf", str(certs.ca))
            assert anonymous.returncode != 0
            untrusted = storescu(port, files, *_tls(certs.other_client, certs.ca))
            assert untrusted.returncode != 0
            plain_tcp = _echo(port)
            assert plain_tcp.returncode != 0
            # A trusted caller that stops inside its A-ASSOCIATE-RQ: pynetdicom gets what was read.
            ctx = ssl.create_default_context(cafile=str(certs.ca))
            ctx.load_cert_chain(str(certs.client.cert), str(certs.client.key))
            with ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="127.0.0.1") as partial:
                partial.sendall(b"\x01\x00\x00\x00")
            assert _stored(svc) == {}
            # The plain port and, for a trusted caller, the TLS port still serve.
            r = _echo(settings.dicom.port)
            assert r.returncode == 0, r.stdout + r.stderr
            r = storescu(port, files, *_tls(certs.client, certs.ca))
            assert r.returncode == 0, r.stdout + r.stderr
            assert len(_stored(svc)) == 1
        finally:
            silent.close()


def test_tls_misconfiguration_is_a_config_error_naming_the_file(tmp_path: Path, certs: Certs) -> None:
    url = f"sqlite:///{tmp_path / 'svc.db'}"
    missing = tmp_path / "nowhere" / "server.key"
    bad = _tls_settings(tmp_path / "a", url, certs)
    bad = replace(bad, dicom=replace(bad.dicom, tls_key_file=str(missing)))
    with pytest.raises(ConfigError, match=f"tls_key_file {missing}: no such file"):
        with running_service(bad):
            pass
    mismatch = replace(bad, dicom=replace(bad.dicom, tls_key_file=str(certs.client.key)))
    with pytest.raises(ConfigError, match=f"tls_key_file {certs.client.key}: .*does not match.* {certs.server.cert}"):
        with running_service(mismatch):
            pass
    not_pem = tmp_path / "garbage.pem"
    not_pem.write_text("not a certificate\n")
    garbage = replace(bad, dicom=replace(bad.dicom, tls_key_file=str(certs.server.key), tls_cert_file=str(not_pem)))
    with pytest.raises(ConfigError, match=f"tls_cert_file {not_pem}"):
        with running_service(garbage):
            pass
    # Our SCU side names the file too.
    remote = RemoteAE("PEER", "127.0.0.1", free_port(), tls=True)
    with pytest.raises(ConfigError, match=f"tls_ca_file {missing.with_name('ca.pem')}: no such file"):
        send(replace(bad.dicom, tls_ca_file=str(missing.with_name("ca.pem"))), remote, _refs(_files(tmp_path, 1)))
    # Settings and their environment overrides.
    env = {"PUBLISHER_TLS_PORT": "2762", "PUBLISHER_TLS_CERT_FILE": str(certs.server.cert),
           "PUBLISHER_TLS_KEY_FILE": str(certs.server.key), "PUBLISHER_TLS_CA_FILE": str(certs.ca),
           "PUBLISHER_TLS_REQUIRE_CLIENT_CERT": "false"}
    d = load_settings(environ=env).dicom
    assert (d.tls_port, d.tls_cert_file, d.tls_key_file, d.tls_ca_file, d.tls_require_client_cert) == (
        2762, str(certs.server.cert), str(certs.server.key), str(certs.ca), False)
    with pytest.raises(ConfigError, match="tls_ca_file"):
        load_settings(environ={**env, "PUBLISHER_TLS_CA_FILE": "", "PUBLISHER_TLS_REQUIRE_CLIENT_CERT": "true",
                               "PUBLISHER_CONFIG": ""})
    with pytest.raises(ConfigError, match="tls_cert_file and dicom.tls_key_file"):
        load_settings(environ={"PUBLISHER_TLS_PORT": "2762"})
    assert load_settings(environ={}).dicom.tls_port == 0


# -- our SCU to TLS remotes ------------------------------------------------------------------------


def _refs(files: list[Path]) -> list[InstanceRef]:
    out = []
    for f in files:
        ds = dcmread(f, stop_before_pixels=True)
        out.append(InstanceRef(str(ds.SOPInstanceUID), str(ds.SOPClassUID), str(ds.file_meta.TransferSyntaxUID), f))
    return out


def _wait_tls_echo(port: int, aec: str, certs: Certs, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        r = subprocess.run(["echoscu", "-aet", "ECHOSCU", "-aec", aec, *_tls(certs.client, certs.ca), "127.0.0.1", str(port)],
                           capture_output=True, env=DCMTK_ENV)
        if r.returncode == 0:
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing answered C-ECHO over TLS as {aec} on port {port}")


@contextmanager
def _storescp_tls(out: Path, pair: Pair, ca: Path, certs: Certs) -> Iterator[int]:
    """DCMTK storescp over TLS with ``pair`` as its certificate, requiring callers signed by ``ca``."""
    def ready(port: int, proc: subprocess.Popen[bytes]) -> None:
        if pair == certs.server:
            _wait_tls_echo(port, "TLSSCP", certs, proc)
            return
        deadline = time.monotonic() + 30  # we do not trust its certificate, so no echo: wait for the port
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port)).close()
                return
            except OSError:
                time.sleep(0.05)

    with storescp(out, "TLSSCP", *_tls(pair, ca), ready=ready) as port:
        yield port


def _cli_config(tmp: Path, certs: Certs, remotes: list[tuple[str, int]]) -> Path:
    cfg = tmp / "publisher.toml"
    entries = ", ".join(f'{{ ae_title = "{ae}", host = "127.0.0.1", port = {p}, tls = true }}' for ae, p in remotes)
    cfg.write_text(
        f'[service]\ndata_dir = "{tmp / "data"}"\nload_samples = false\n'
        f'[dicom]\nbind = "127.0.0.1"\nport = {free_port()}\nmin_free_bytes = 0\nremotes = [ {entries} ]\n'
        f'tls_ca_file = "{certs.ca}"\ntls_cert_file = "{certs.client.cert}"\ntls_key_file = "{certs.client.key}"\n'
    )
    return cfg


def test_publisher_send_over_tls_verifies_the_remote(tmp_path: Path, certs: Certs, caplog: pytest.LogCaptureFixture,
                                                     capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """`publisher echo` and `publisher send` to storescp +tls: sent with our client certificate; a
    storescp whose certificate another CA signed is refused, with the reason in the log."""
    require_tool("storescp", "echoscu")
    from publisher.cli import main

    for var in ("PUBLISHER_DATA_DIR", "PUBLISHER_DATABASE_URL", "PUBLISHER_DICOM_PORT", "PUBLISHER_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    files = _files(tmp_path)
    study_uid = str(dcmread(files[0], stop_before_pixels=True).StudyInstanceUID)
    caplog.set_level(logging.ERROR, logger="publisher.dicom.tls")
    with _storescp_tls(tmp_path / "in", certs.server, certs.ca, certs) as port, \
            _storescp_tls(tmp_path / "impostor", certs.other_server, certs.ca, certs) as impostor:
        cfg = _cli_config(tmp_path, certs, [("TLSSCP", port), ("IMPOSTOR", impostor)])
        assert main(["--config", str(cfg), "import", "-q", str(tmp_path / "src")]) == 0
        assert main(["--config", str(cfg), "echo", "TLSSCP"]) == 0
        assert main(["--config", str(cfg), "send", "TLSSCP", "--study", study_uid, "-q"]) == 0
        assert f"{len(files)} sent, 0 failed" in capsys.readouterr().out
        assert "certificate" not in caplog.text
        assert main(["--config", str(cfg), "send", "IMPOSTOR", "--study", study_uid, "-q"]) == 1
        captured = capsys.readouterr()
        assert f"0 sent, {len(files)} failed" in captured.out and "IMPOSTOR at 127.0.0.1" in captured.err
        assert "the certificate of 127.0.0.1 was refused: unable to get local issuer certificate" in caplog.text
        # The same through the storage SCU function: nothing reaches the impostor.
        d = load_settings(cfg, environ={}).dicom
        report = send(d, RemoteAE("IMPOSTOR", "127.0.0.1", impostor, tls=True), _refs(files))
        assert not report.sent and len(report.failed) == len(files)
    received = {str(dcmread(p).SOPInstanceUID) for p in (tmp_path / "in").iterdir()}
    assert received == {r.sop_instance_uid for r in _refs(files)}
    assert not any((tmp_path / "impostor").iterdir())


def test_find_and_move_over_tls_with_orthanc(tmp_path: Path, certs: Certs) -> None:
    """qr_scu C-FIND and C-MOVE to Orthanc over TLS; Orthanc's C-STORE sub-operations come back
    over TLS to our TLS port with its certificate (signed by our CA)."""
    require_tool("Orthanc", "echoscu")
    from publisher.archive.query.keys import Level
    from publisher.dicom.qr_scu import RetrieveSelection, find, retrieve

    files = _files(tmp_path, 3)
    study_uid = str(dcmread(files[0], stop_before_pixels=True).StudyInstanceUID)
    settings = _tls_settings(tmp_path / "svc", f"sqlite:///{tmp_path / 'svc.db'}", certs)
    d = settings.dicom
    exe = shutil.which("Orthanc") or "/usr/sbin/Orthanc"
    work = tmp_path / "orthanc"
    work.mkdir()
    port, http = free_port(), free_port()
    (work / "orthanc.json").write_text(json.dumps({
        "Name": "tlstest", "DicomAet": "ORTHANC", "DicomPort": port, "HttpPort": http,
        "StorageDirectory": str(work / "storage"), "IndexDirectory": str(work / "index"),
        "DicomCheckCalledAet": False, "RemoteAccessAllowed": False, "AuthenticationEnabled": False,
        "Plugins": [], "DicomAlwaysAllowStore": True, "DicomScuTimeout": 10, "DicomAssociationCloseDelay": 0,
        "DicomTlsEnabled": True, "DicomTlsCertificate": str(certs.server.cert), "DicomTlsPrivateKey": str(certs.server.key),
        "DicomTlsTrustedCertificates": str(certs.ca), "DicomTlsRemoteCertificateRequired": True,
        "DicomModalities": {"discpub": {"AET": "DISCPUB", "Host": "127.0.0.1", "Port": d.tls_port, "UseDicomTls": True}},
    }))
    log = open(work / "orthanc.log", "wb")
    proc = subprocess.Popen([exe, str(work / "orthanc.json")], env=DCMTK_ENV, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_tls_echo(port, "ORTHANC", certs, proc)
        r = storescu(port, files, *_tls(certs.client, certs.ca), aec="ORTHANC")
        assert r.returncode == 0, r.stdout + r.stderr
        remote = RemoteAE("ORTHANC", "127.0.0.1", port, tls=True)
        settings = replace(settings, dicom=replace(d, remotes=(remote,)))
        with running_service(settings) as svc:
            found = list(find(settings.dicom, remote, Level.STUDY, {"StudyInstanceUID": study_uid}, ("StudyDescription",)))
            assert [str(ds.StudyDescription) for ds in found] == ["Over TLS"]
            report = retrieve(settings.dicom, remote, RetrieveSelection(studies=[study_uid]), svc.archive, method="move")
            assert report.ok and len(report.retrieved) == len(files), (report.failed, (work / "orthanc.log").read_text()[-3000:])
            assert set(_stored(svc)) == {r.sop_instance_uid for r in _refs(files)}
    finally:
        proc.terminate()
        proc.wait()
        log.close()


def test_both_ports_stop_together(tmp_path: Path, certs: Certs) -> None:
    """The returned server stops the TLS port too, once, however it is stopped."""
    from publisher.dicom.server import start_server

    require_tool("echoscu")
    settings = _tls_settings(tmp_path / "svc", f"sqlite:///{tmp_path / 'svc.db'}", certs)
    with running_service(settings) as svc:
        ports = (settings.dicom.port, settings.dicom.tls_port)
        assert _echo(ports[0]).returncode == 0
        assert _echo(ports[1], *_tls(certs.client, certs.ca)).returncode == 0
        assert svc.server is not None
        svc.server.ae.shutdown()  # pynetdicom's AE.shutdown() reaches both servers; stop() then again
        for port in ports:
            with pytest.raises(OSError):
                socket.create_connection(("127.0.0.1", port)).close()
        again = start_server(settings.dicom, svc.archive, svc.db)  # both ports free again
        again.shutdown()


def test_client_certificate_optional(tmp_path: Path, certs: Certs) -> None:
    """tls_require_client_cert = false: a caller without a certificate is served; one presenting
    a certificate of another CA is still refused (verified when presented)."""
    require_tool("echoscu")
    settings = _tls_settings(tmp_path / "svc", f"sqlite:///{tmp_path / 'svc.db'}", certs, tls_require_client_cert=False)
    with running_service(settings):
        port = settings.dicom.tls_port
        r = _echo(port, "+tla", "+cf", str(certs.ca))
        assert r.returncode == 0, r.stdout + r.stderr
        assert _echo(port, *_tls(certs.other_client, certs.ca)).returncode != 0
        r = _echo(port, *_tls(certs.client, certs.ca))
        assert r.returncode == 0, r.stdout + r.stderr


def test_query_over_tls(tmp_path: Path, certs: Certs) -> None:
    """Associations that are not storage-only (C-FIND) reach pynetdicom on the TLS port with the
    request the lean path read first: DCMTK findscu +tls, and our own QR SCU to ourselves."""
    require_tool("findscu")
    from publisher.archive.query.keys import Level
    from publisher.dicom.qr_scu import find
    from tests.support.qr_studies import QR_CALLERS, findscu

    files = _files(tmp_path, 2)
    study_uid = str(dcmread(files[0], stop_before_pixels=True).StudyInstanceUID)
    settings = _tls_settings(tmp_path / "svc", f"sqlite:///{tmp_path / 'svc.db'}", certs, allowed_callers=QR_CALLERS)
    with running_service(settings) as svc:
        for f in files:
            svc.archive.store_file(f)
        d = settings.dicom
        r = findscu(d.tls_port, "S", ["QueryRetrieveLevel=STUDY", f"StudyInstanceUID={study_uid}", "StudyDescription"],
                    tmp_path / "found", *_tls(certs.client, certs.ca))
        assert r.returncode == 0, r.stderr
        assert [str(ds.StudyDescription) for ds in r.responses] == ["Over TLS"]
        ours = replace(d, tls_cert_file=str(certs.client.cert), tls_key_file=str(certs.client.key), ae_title="QRSCU")
        found = list(find(ours, RemoteAE("DISCPUB", "127.0.0.1", d.tls_port, tls=True), Level.SERIES,
                          {"StudyInstanceUID": study_uid}, ("NumberOfSeriesRelatedInstances",)))
        assert [int(ds.NumberOfSeriesRelatedInstances) for ds in found] == [len(files)]


def test_max_associations_counts_both_ports(tmp_path: Path, certs: Certs) -> None:
    """dicom.max_associations is one limit over the plain and the TLS port."""
    require_tool("echoscu")
    from pynetdicom import AE

    settings = _tls_settings(tmp_path / "svc", f"sqlite:///{tmp_path / 'svc.db'}", certs, max_associations=1)
    with running_service(settings):
        ae = AE(ae_title="PYNETDICOM")
        ae.add_requested_context("1.2.840.10008.1.1")
        held = ae.associate("127.0.0.1", settings.dicom.port, ae_title="DISCPUB")  # storage-only: the lean path
        assert held.is_established
        try:
            r = _echo(settings.dicom.tls_port, *_tls(certs.client, certs.ca))
            assert r.returncode != 0 and "Local Limit Exceeded" in r.stdout + r.stderr, r.stdout + r.stderr
        finally:
            held.release()
        r = _echo(settings.dicom.tls_port, *_tls(certs.client, certs.ca))
        assert r.returncode == 0, r.stdout + r.stderr


def test_commitment_report_goes_back_over_tls(tmp_path: Path, certs: Certs) -> None:
    """A requester reached over TLS (``tls = true``) gets its N-EVENT-REPORT on a new
    association over TLS too, our certificate presented and its certificate verified."""
    from pynetdicom import AE, evt

    from publisher.dicom.sop_classes import (
        STORAGE_COMMITMENT_PUSH,
        STORAGE_COMMITMENT_PUSH_INSTANCE,
    )
    from tests.support.commitment import commitment_request, report_catcher, store_study, uids_of

    back_port = free_port()
    on_report, got, done = report_catcher()
    listener_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(certs.ca))
    listener_ctx.verify_mode = ssl.CERT_REQUIRED  # the report must come from a certified sender
    listener_ctx.load_cert_chain(str(certs.client.cert), str(certs.client.key))
    requester = AE(ae_title="PYNETDICOM")
    requester.add_supported_context(STORAGE_COMMITMENT_PUSH, scu_role=True, scp_role=True)
    listener = requester.start_server(("127.0.0.1", back_port), block=False, ssl_context=listener_ctx,
                                      evt_handlers=[(evt.EVT_N_EVENT_REPORT, on_report)])
    settings = _tls_settings(tmp_path / "svc", f"sqlite:///{tmp_path / 'i.db'}", certs,
                             remotes=(RemoteAE("PYNETDICOM", "127.0.0.1", back_port, True),))
    try:
        with running_service(settings) as svc:
            stored = store_study(svc, tmp_path)
            ae = AE(ae_title="PYNETDICOM")
            ae.add_requested_context(STORAGE_COMMITMENT_PUSH)
            assoc = ae.associate("127.0.0.1", settings.dicom.port, ae_title="DISCPUB")
            status, _ = assoc.send_n_action(commitment_request(stored, []), 1, STORAGE_COMMITMENT_PUSH, STORAGE_COMMITMENT_PUSH_INSTANCE)
            assoc.release()
            assert status.Status == 0x0000
            assert done.wait(15), "no N-EVENT-REPORT over TLS"
    finally:
        listener.shutdown()
    assert uids_of(got["info"].ReferencedSOPSequence) == {u for _, u in stored}
