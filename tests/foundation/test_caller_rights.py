"""Per-caller rights (dicom.allowed_callers services): a caller may use only the services its
entry lists. Refused services have their presentation contexts rejected (PS3.8 9.3.3.2), so
DCMTK's findscu / movescu / getscu / storescu find nothing to send on; a C-STORE on a context
accepted only for a C-GET's sub-operations is answered 0124H (PS3.7 Annex C). Both storage
paths (the lean acceptor and pynetdicom's) and promiscuous mode are covered."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset
from pynetdicom import AE, build_role, evt
from sqlalchemy import func, select

from publisher.demo import samples
from publisher.config import AllowedCaller, ConfigError, RemoteAE, load_settings
from publisher.db.models import Instance
from publisher.dicom.sop_classes import STUDY_ROOT_FIND, STUDY_ROOT_GET
from publisher.service import Service
from tests.support.peers import DCMTK_ENV, storescp
from tests.support.tools import require_tool
from tests.support.service import running_service, settings_for, storescu
from tests.support.qr_studies import STUDIES, load

CT_HEAD = STUDIES[0]
CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
QUERY = frozenset({"echo", "find", "move", "get"})
CALLERS = (
    AllowedCaller("MODALITY"),  # the default: store, echo, commitment
    AllowedCaller("VIEWER", services=QUERY),
    AllowedCaller("FINDONLY", services=frozenset({"echo", "find"})),
    AllowedCaller("GETONLY", services=frozenset({"get"})),
)
#: What DCMTK says when the context it needs was rejected (findscu, getscu, movescu; movescu
#: with its C-FIND context accepted but not the C-MOVE one).
NO_CONTEXT = re.compile(r"No (Acceptable|adequate|valid) Presentation Context")


@dataclass
class Rig:
    service: Service
    port: int
    dest_dir: Path
    files: list[Path]


@pytest.fixture
def rig(sqlite_url: str, tmp_path: Path) -> Iterator[Rig]:
    require_tool("findscu", "movescu", "getscu", "storescp", "storescu")
    dest_dir = tmp_path / "dest"
    with storescp(dest_dir, "DEST") as dest_port:
        settings = settings_for(tmp_path / "svc", sqlite_url, allowed_callers=CALLERS,
                                remotes=(RemoteAE("DEST", "127.0.0.1", dest_port),))
        with running_service(settings) as service:
            files = load(service.archive, tmp_path, [CT_HEAD])[CT_HEAD.key]
            yield Rig(service, settings.dicom.port, dest_dir, files)


def _run(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, env=DCMTK_ENV, timeout=120)


def _find(port: int, aet: str, out: Path) -> subprocess.CompletedProcess[str]:
    out.mkdir(parents=True, exist_ok=True)
    return _run(["findscu", "-aet", aet, "-aec", "DISCPUB", "-S", "-X", "-od", str(out), "-k", "QueryRetrieveLevel=STUDY",
                 "-k", "StudyInstanceUID", "-k", "PatientName", "127.0.0.1", str(port)])


def _move(port: int, aet: str, study: str) -> subprocess.CompletedProcess[str]:
    return _run(["movescu", "-v", "-aet", aet, "-aec", "DISCPUB", "-aem", "DEST", "-S", "-k", "QueryRetrieveLevel=STUDY",
                 "-k", f"StudyInstanceUID={study}", "127.0.0.1", str(port)])


def _get(port: int, aet: str, study: str, out: Path) -> subprocess.CompletedProcess[str]:
    out.mkdir(parents=True, exist_ok=True)
    return _run(["getscu", "-v", "-aet", aet, "-aec", "DISCPUB", "-S", "-od", str(out), "-k", "QueryRetrieveLevel=STUDY",
                 "-k", f"StudyInstanceUID={study}", "127.0.0.1", str(port)])


def _refused(result: subprocess.CompletedProcess[str]) -> bool:
    """DCMTK reported the rejected context (movescu still exits 0 when only C-MOVE was refused:
    the tests check that nothing arrived as well)."""
    return NO_CONTEXT.search(result.stdout + result.stderr) is not None


def _study_uid(rig: Rig) -> str:
    return str(dcmread(rig.files[0], stop_before_pixels=True).StudyInstanceUID)


def _instances(service: Service) -> int:
    with service.db.session() as s:
        return int(s.scalar(select(func.count(Instance.id))) or 0)


def test_caller_without_query_rights_is_refused_find_move_get(rig: Rig, tmp_path: Path) -> None:
    study = _study_uid(rig)
    find = _find(rig.port, "MODALITY", tmp_path / "find-modality")
    assert _refused(find)
    assert not list((tmp_path / "find-modality").glob("rsp*.dcm"))
    move = _move(rig.port, "MODALITY", study)
    assert _refused(move)
    get = _get(rig.port, "MODALITY", study, tmp_path / "get-modality")
    assert _refused(get)
    assert not any((tmp_path / "get-modality").iterdir())
    assert not rig.dest_dir.exists() or not any(rig.dest_dir.iterdir())
    # A caller with find but not move / get: the query answers, the retrievals do not.
    assert _find(rig.port, "FINDONLY", tmp_path / "find-only").returncode == 0
    assert len(list((tmp_path / "find-only").glob("rsp*.dcm"))) == 1
    move = _move(rig.port, "FINDONLY", study)
    assert _refused(move)
    get = _get(rig.port, "FINDONLY", study, tmp_path / "get-findonly")
    assert get.returncode != 0 and not any((tmp_path / "get-findonly").iterdir())


def test_caller_with_query_rights_is_served(rig: Rig, tmp_path: Path) -> None:
    study = _study_uid(rig)
    find = _find(rig.port, "VIEWER", tmp_path / "find")
    assert find.returncode == 0, find.stderr
    [answer] = [dcmread(f) for f in (tmp_path / "find").glob("rsp*.dcm")]
    assert answer.StudyInstanceUID == study
    move = _move(rig.port, "VIEWER", study)
    assert move.returncode == 0, move.stderr
    assert len([p for p in rig.dest_dir.rglob("*") if p.is_file()]) == len(rig.files)
    get = _get(rig.port, "VIEWER", study, tmp_path / "get")
    assert get.returncode == 0, get.stderr
    assert len(list((tmp_path / "get").iterdir())) == len(rig.files)


@pytest.mark.parametrize("lean", [True, False], ids=["lean-path", "pynetdicom-path"])
def test_caller_without_store_rights_cannot_store(lean: bool, sqlite_url: str, tmp_path: Path) -> None:
    require_tool("storescu")
    files = samples.write_study(samples.StudySpec(samples.ASCII_PATIENT, "r", "Rights", series=(
        samples.SeriesSpec("ct", 2, 1, "Axial", 16, 16),)), tmp_path / "src")
    settings = settings_for(tmp_path / "svc", sqlite_url, allowed_callers=CALLERS, lean_storage=lean)
    with running_service(settings) as service:
        port = settings.dicom.port
        refused = storescu(port, files, aet="FINDONLY")
        assert refused.returncode != 0 and _refused(refused)
        assert _instances(service) == 0
        echo = _run(["echoscu", "-aet", "FINDONLY", "-aec", "DISCPUB", "127.0.0.1", str(port)])
        assert echo.returncode == 0, echo.stderr  # its echo right still holds
        allowed = storescu(port, files, aet="MODALITY")
        assert allowed.returncode == 0, allowed.stderr
        assert _instances(service) == len(files)


def test_get_caller_cannot_store_on_its_retrieve_contexts(rig: Rig, tmp_path: Path) -> None:
    """A C-GET requestor proposes storage contexts with the SCP role (PS3.7 D.3.3.4) to receive
    the sub-operations; they are accepted for that, but a C-STORE of its own on them is 0124H."""
    cts = [dcmread(f, stop_before_pixels=True) for f in rig.files]
    cts = [ds for ds in cts if ds.SOPClassUID == CT_IMAGE_STORAGE]
    ae = AE(ae_title="GETONLY")
    ae.add_requested_context(STUDY_ROOT_GET)
    ae.add_requested_context(CT_IMAGE_STORAGE)
    received: list[str] = []

    def on_store(event):  # type: ignore[no-untyped-def]
        received.append(str(event.dataset.SOPInstanceUID))
        return 0x0000

    assoc = ae.associate("127.0.0.1", rig.port, ae_title="DISCPUB", ext_neg=[build_role(CT_IMAGE_STORAGE, scu_role=True, scp_role=True)],
                         evt_handlers=[(evt.EVT_C_STORE, on_store)])
    assert assoc.is_established
    try:
        query = Dataset()
        query.QueryRetrieveLevel = "SERIES"
        query.StudyInstanceUID = cts[0].StudyInstanceUID
        query.SeriesInstanceUID = cts[0].SeriesInstanceUID
        statuses = [s.Status for s, _ in assoc.send_c_get(query, STUDY_ROOT_GET) if s]
        assert statuses[-1] == 0x0000
        assert sorted(received) == sorted(str(ds.SOPInstanceUID) for ds in cts)
        own = samples.write_study(samples.StudySpec(samples.ASCII_PATIENT, "g", "Get only", series=(
            samples.SeriesSpec("ct", 1, 1, "Axial", 16, 16),)), tmp_path / "own")[0]
        before = _instances(rig.service)
        status = assoc.send_c_store(dcmread(own))
        assert status.Status == 0x0124
        assert _instances(rig.service) == before
        assert STUDY_ROOT_FIND not in {cx.abstract_syntax for cx in assoc.accepted_contexts}
    finally:
        assoc.release()


def test_promiscuous_mode_stores_but_does_not_answer_queries(sqlite_url: str, tmp_path: Path) -> None:
    require_tool("findscu", "storescu", "echoscu")
    files = samples.write_study(samples.StudySpec(samples.ASCII_PATIENT, "p", "Promiscuous", series=(
        samples.SeriesSpec("ct", 1, 1, "Axial", 16, 16),)), tmp_path / "src")
    settings = settings_for(tmp_path / "svc", sqlite_url, promiscuous=True)
    with running_service(settings) as service:
        port = settings.dicom.port
        assert storescu(port, files, aet="ANYONE").returncode == 0
        assert _instances(service) == 1
        find = _find(port, "ANYONE", tmp_path / "find")
        assert _refused(find)
    opened = settings_for(tmp_path / "svc2", f"sqlite:///{tmp_path / 'svc2.db'}", promiscuous=True,
                          promiscuous_services=frozenset({"echo", "store", "find"}))
    with running_service(opened) as service:
        load(service.archive, tmp_path / "l", [CT_HEAD])
        find = _find(opened.dicom.port, "ANYONE", tmp_path / "find2")
        assert find.returncode == 0, find.stderr
        assert len(list((tmp_path / "find2").glob("rsp*.dcm"))) == 1


def test_services_in_the_configuration(tmp_path: Path) -> None:
    cfg = tmp_path / "rights.toml"
    cfg.write_text('[dicom]\nallowed_callers = ["CT1", { ae_title = "WS", host = "10.0.0.5", services = ["Find", "move"] }]\n'
                   'promiscuous_services = ["echo"]\n')
    d = load_settings(cfg, environ={}).dicom
    assert d.allowed_callers == (AllowedCaller("CT1", None, frozenset({"store", "echo", "commitment"})),
                                 AllowedCaller("WS", "10.0.0.5", frozenset({"find", "move"})))
    assert d.promiscuous_services == frozenset({"echo"})
    assert load_settings(cfg, environ={"PUBLISHER_PROMISCUOUS_SERVICES": "store, echo"}).dicom.promiscuous_services == \
        frozenset({"store", "echo"})
    cfg.write_text('[dicom]\nallowed_callers = [{ ae_title = "WS", services = ["query"] }]\n')
    with pytest.raises(ConfigError, match="unknown service.*query"):
        load_settings(cfg, environ={})
    cfg.write_text('[dicom]\nallowed_callers = [{ ae_title = "WS", service = ["find"] }]\n')
    with pytest.raises(ConfigError, match="unknown key.*service"):
        load_settings(cfg, environ={})
