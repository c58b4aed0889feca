"""The CLI over the network side: `publisher echo`, `send`, `remote find`, `remote retrieve`."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydicom import dcmread

from publisher.demo import samples
from publisher.cli import main
from publisher.dicom.qr_scu import present_in_index
from publisher.db.session import Database
from tests.support.net import free_port
from tests.support.tools import require_tool
from tests.support.qr_studies import STUDIES
from tests.support.peers import orthanc, orthanc_upload, storescp_explicit_images_only

CT_HEAD = STUDIES[0]


def _config(tmp: Path, port: int, remotes: list[tuple[str, int]]) -> Path:
    cfg = tmp / "publisher.toml"
    entries = ", ".join(f'{{ ae_title = "{ae}", host = "127.0.0.1", port = {p} }}' for ae, p in remotes)
    cfg.write_text(
        f'[service]\ndata_dir = "{tmp / "data"}"\nload_samples = false\n'
        f'[dicom]\nbind = "127.0.0.1"\nport = {port}\nmin_free_bytes = 0\nremotes = [ {entries} ]\n'
    )
    return cfg


def test_echo_send_find_and_retrieve_from_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    require_tool("storescp", "Orthanc")
    for var in ("PUBLISHER_DATA_DIR", "PUBLISHER_DATABASE_URL", "PUBLISHER_DICOM_PORT", "PUBLISHER_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    our_port = free_port()
    files = samples.write_study(CT_HEAD, tmp_path / "src")
    with storescp_explicit_images_only(tmp_path / "received") as store_port, \
            orthanc(tmp_path / "orthanc", "DISCPUB", our_port) as (orthanc_port, http):
        orthanc_upload(http, files)
        cfg = _config(tmp_path, our_port, [("EXPLICIT", store_port), ("ORTHANC", orthanc_port), ("DOWN", free_port())])

        assert main(["--config", str(cfg), "echo"]) == 1  # DOWN does not answer
        out = capsys.readouterr().out
        assert "EXPLICIT" in out and "ORTHANC" in out and out.count(" ok ") == 2 and "DOWN" in out and "FAILED" in out
        assert main(["--config", str(cfg), "echo", "ORTHANC"]) == 0

        assert main(["--config", str(cfg), "remote", "find", "ORTHANC", "--level", "STUDY", "-k", "PatientName=müller*"]) == 0
        out = capsys.readouterr().out
        assert CT_HEAD.uid in out and "Müller^Jürgen" in out and "CT Schädel" in out

        assert main(["--config", str(cfg), "remote", "retrieve", "ORTHANC", "--study", CT_HEAD.uid, "-q"]) == 0
        out = capsys.readouterr().out
        assert "4 instance(s) at ORTHANC: 0 already here, 4 retrieved by C-MOVE, 0 failed" in out
        db = Database(f"sqlite:///{tmp_path / 'data' / 'publisher.db'}")
        uids = [str(dcmread(f, stop_before_pixels=True).SOPInstanceUID) for f in files]
        assert present_in_index(db, uids) == set(uids)
        db.dispose()

        # send: the explicit-only storescp takes the CT images, refuses the SR (no context for it)
        assert main(["--config", str(cfg), "send", "EXPLICIT", "--study", CT_HEAD.uid, "-q"]) == 1
        captured = capsys.readouterr()
        assert "3 sent, 1 failed" in captured.out and "no presentation context" in captured.err
        assert len(list((tmp_path / "received").iterdir())) == 3
