"""The forward queue survives what the archive survives: a destination down for a while (retries
with a growing backoff, then delivery), and a SIGKILL of ``publisher serve`` in the middle of a
200-instance forward (after a restart the destination holds exactly the 200, none twice).
A failed forward shows its reason on /forwards and a click retries it."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
from pathlib import Path

import pytest

from publisher.db.models import utcnow
from publisher.demo import samples
from publisher.routing import queue
from tests.support.net import free_port, wait_until
from tests.support.peers import DCMTK_ENV, wait_echo
from tests.support.served import publisher_serve
from tests.support.service import storescu
from tests.support.tools import require_tool
from tests.support.web_site import Site, csrf_of

pytestmark = [pytest.mark.interop]


def _config(dest_port: int) -> str:
    return f"""
[dicom]
allowed_callers = ["STORESCU", "ECHOSCU"]
remotes = [{{ ae_title = "DEST", host = "127.0.0.1", port = {dest_port} }}]

[[routes]]
name = "all-ct"
when = ["modality = CT"]
forward_to = ["DEST"]

[forward]
tick_seconds = 0.2
backoff_seconds = 0.3
max_backoff_seconds = 1.0
max_attempts = 1000
"""


def _storescp(out: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    out.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(["storescp", "-v", "-aet", "DEST", "-od", str(out), str(port)], env=DCMTK_ENV,
                            stdout=open(log, "ab"), stderr=subprocess.STDOUT)
    wait_echo(port, "DEST")
    return proc


def _queue_state(served: object) -> str:
    r = served.cli("forward", "list")  # type: ignore[attr-defined]
    return r.stdout


def test_down_destination_then_sigkill_mid_forward_delivers_each_instance_once(tmp_path: Path) -> None:
    require_tool("storescp", "storescu", "echoscu")
    files = samples.write_study(samples.StudySpec(samples.ASCII_PATIENT, "fwd", series=(
        samples.SeriesSpec("ct", 200, 1, "Axial", 64, 64),)), tmp_path / "in")
    dest_port = free_port()
    out, log = tmp_path / "dest", tmp_path / "storescp.log"
    config = _config(dest_port)
    with publisher_serve(tmp_path, config=config) as served:
        port = int(served.env["PUBLISHER_DICOM_PORT"])
        r = storescu(port, files)
        assert r.returncode == 0, r.stdout + r.stderr
        # Nothing listens at DEST yet: every instance is queued and waits, attempts growing.
        wait_until("attempts on a down destination", lambda: "DEST             pending    200" in _queue_state(served)
                   and "attempts=2" in _queue_state(served), timeout=120, poll=0.3)
        listing = _queue_state(served)
        assert "not accepted" in listing or "no association" in listing, listing  # the reason is shown
        dest = _storescp(out, dest_port, log)
        try:
            wait_until("part of the forward delivered", lambda: len(list(out.iterdir())) >= 10, timeout=120, poll=0.005)
            assert served.proc is not None
            os.kill(served.proc.pid, signal.SIGKILL)
            served.proc.wait()
            at_kill = len(list(out.iterdir()))
            assert at_kill < 200, "the forward finished before the kill: nothing was tested"
        except BaseException:
            dest.terminate()
            raise
    try:
        with publisher_serve(tmp_path, config=config) as served:  # the same data directory
            wait_until("the whole study at the destination", lambda: len(list(out.iterdir())) == 200, timeout=180, poll=0.2)
            wait_until("the queue all sent", lambda: "DEST             sent       200" in _queue_state(served), timeout=60, poll=0.3)
    finally:
        dest.terminate()
        dest.wait()
    held = sorted(p.name for p in out.iterdir())
    assert len(held) == 200 and len(set(held)) == 200
    received = log.read_text(errors="replace").count("Received Store Request")
    # What was acknowledged before the kill is never sent again; at most the one instance in
    # flight at the kill is sent twice, and storescp holds it once (same SOP Instance UID).
    assert 200 <= received <= 201, received


def test_a_failed_forward_shows_its_reason_and_is_retried_by_a_click(tmp_path: Path, sqlite_url: str) -> None:
    from tests.support.web_site import make_site

    site: Site = make_site(tmp_path, sqlite_url)
    with site.db.session() as s:
        from publisher.db.models import ForwardItem

        s.add(ForwardItem(sop_instance_uid="1.2.3.4", destination="OLDPACS", route="ct", state="pending", attempts=0,
                          due_at=utcnow(), error="", created_at=utcnow()))
    (item,) = queue.listing(site.db)
    queue.mark_attempt_failed(site.db, [item.id], "OLDPACS refused the instance: status 0xA900", backoff=1, max_backoff=1,
                              max_attempts=5, permanent=True)
    admin = site.login("boss")
    page = admin.get("/forwards")
    assert page.status_code == 200
    assert "status 0xA900" in page.text and f'data-item="{item.id}" class="failed"' in page.text
    r = admin.post(f"/forwards/{item.id}/retry", data={"csrf": csrf_of(page.text)})
    assert r.status_code == 303
    (again,) = queue.listing(site.db)
    assert again.state == "pending" and again.attempts == 0 and again.due_at <= utcnow() + dt.timedelta(seconds=1)
    assert site.login("rad").get("/forwards").status_code == 403  # admins only
