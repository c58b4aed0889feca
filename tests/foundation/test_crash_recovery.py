"""SIGKILL in the middle of a transfer: acknowledged means durable, nothing orphaned.

Once over one association, once over eight at the same time, where files, folder syncs and
row commits of several instances are in flight together (group commit,
publisher.archive.group_commit): the kill lands among batches, and still no instance that was
answered with success is missing and no row names a file that is not whole."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from publisher.demo import samples
from publisher.archive.durable import sha256_file
from tests.support.net import free_port
from tests.support.tools import require_tool
from tests.support.peers import wait_echo
from tests.support.service import DCMTK_ENV

COUNT = 200


def _serve(data: Path, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PUBLISHER_DATA_DIR": str(data),
        "PUBLISHER_DICOM_PORT": str(port),
        "PUBLISHER_HTTP_PORT": str(free_port()),
        "PUBLISHER_PROMISCUOUS": "true",
        "PUBLISHER_LOAD_SAMPLES": "false",
        "PUBLISHER_MIN_FREE_BYTES": "0",
    }
    proc = subprocess.Popen([sys.executable, "-m", "publisher.cli", "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_echo(port, "DISCPUB")
    except RuntimeError:
        proc.kill()
        raise AssertionError(f"server did not start: {proc.stdout.read() if proc.stdout else ''!r}") from None
    return proc


def _rows(db: Path) -> dict[str, tuple[str, str]]:
    with sqlite3.connect(db) as conn:
        return {uid: (path, sha) for uid, path, sha in conn.execute("SELECT sop_instance_uid, path, sha256 FROM instance")}


def _kill_when_a_third_is_filed(server: subprocess.Popen[bytes], db: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if db.exists() and len(_rows(db)) >= COUNT // 3:
            break
        time.sleep(0.02)
    server.send_signal(signal.SIGKILL)
    server.wait()


def _acknowledged(log: str) -> set[str]:
    """SOP Instance UIDs storescu got a success response for (from its verbose log)."""
    done: set[str] = set()
    current = None
    for line in log.splitlines():
        m = re.search(r"Sending Store Request.*|Sending file: (\S+)", line)
        if m and m.group(1):
            current = Path(m.group(1)).stem
        if "Received Store Response (Success)" in line and current:
            done.add(current)
            current = None
    return done


@pytest.mark.parametrize("associations", [1, 8])
def test_sigkill_mid_transfer_then_resume(tmp_path: Path, associations: int) -> None:
    """With eight associations the kill lands among batches of files, folder syncs and commits."""
    require_tool("storescu", "echoscu")
    spec = samples.StudySpec(samples.LATIN1_PATIENT, "crash", series=(samples.SeriesSpec("ct", COUNT, 1, "", 128, 128),))
    files = samples.write_study(spec, tmp_path / "in")
    data, port = tmp_path / "data", free_port()
    server = _serve(data, port)
    senders = [
        subprocess.Popen(
            ["storescu", "-v", "-aet", "STORESCU", "-aec", "DISCPUB", "127.0.0.1", str(port), *map(str, files[k::associations])],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=DCMTK_ENV,
        )
        for k in range(associations)
    ]
    _kill_when_a_third_is_filed(server, data / "publisher.db")
    acked: set[str] = set()
    for sender in senders:
        acked |= _acknowledged(sender.communicate(timeout=120)[0])
    assert 0 < len(acked) < COUNT, f"kill should land mid-transfer ({len(acked)} acknowledged)"
    _check_after_restart(data, port, acked, files)


def _check_after_restart(data: Path, port: int, acked: set[str], files: list[Path]) -> None:
    """Restart; every acknowledged instance is indexed with its whole file, nothing is left in
    .incoming; then everything sent again is filed once."""
    db = data / "publisher.db"
    server = _serve(data, port)  # restart: migrations, partial files cleared
    try:
        rows = _rows(db)
        archive = data / "archive"
        assert acked <= set(rows), "an acknowledged instance is missing from the index"
        for uid, (path, sha) in rows.items():
            assert sha256_file(archive / path) == sha, f"orphan or damaged row {uid}"
        assert not list((archive / ".incoming").glob("*")), "partial files left after restart"
        again = subprocess.run(["storescu", "-aet", "STORESCU", "-aec", "DISCPUB", "127.0.0.1", str(port), *map(str, files)],
                               capture_output=True, text=True, env=DCMTK_ENV)
        assert again.returncode == 0, again.stderr
        rows = _rows(db)
        assert len(rows) == len(files)
        on_disk = {p.stem for p in archive.rglob("*.dcm") if ".incoming" not in p.parts}
        assert on_disk == set(rows)
    finally:
        server.terminate()
        server.wait(timeout=30)
