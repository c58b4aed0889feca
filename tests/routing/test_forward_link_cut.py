"""Forwarding to another site across a link that goes down mid-study and comes back: the
destination runs in its own network namespace, joined to ours by a veth pair that this test
makes, cuts (link down, so packets vanish: no reset), restores and removes. Delivery completes
with every instance once (at most the one in flight at the cut received twice, and held once)."""

from __future__ import annotations

import os
import random
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest

from publisher.config import AllowedCaller, RemoteAE
from publisher.config.routing import Destination, ForwardSettings, Route
from publisher.demo import samples
from publisher.routing import queue
from tests.support.net import wait_until
from tests.support.peers import DCMTK_ENV
from tests.support.service import running_service, settings_for, storescu
from tests.support.tools import require_tool, unavailable

pytestmark = [pytest.mark.interop]


def _ip(*args: str) -> None:
    r = subprocess.run(["ip", *args], capture_output=True, text=True)
    assert r.returncode == 0, f"ip {' '.join(args)}: {r.stderr}"


@contextmanager
def remote_site() -> Iterator[tuple[str, str, str]]:
    """A network namespace with one veth link to ours; yields (namespace, our link, its address)."""
    require_tool("ip")
    if os.geteuid() != 0:
        unavailable("network namespaces need root")
    tag = f"{os.getpid() % 10000}{random.randrange(100)}"
    ns, ours, theirs = f"pubfwd{tag}", f"vf{tag}a", f"vf{tag}b"
    net = f"10.{random.randrange(64, 250)}.{random.randrange(1, 250)}"
    _ip("netns", "add", ns)
    try:
        _ip("link", "add", ours, "type", "veth", "peer", "name", theirs)
        _ip("link", "set", theirs, "netns", ns)
        _ip("addr", "add", f"{net}.1/30", "dev", ours)
        _ip("link", "set", ours, "up")
        _ip("netns", "exec", ns, "ip", "addr", "add", f"{net}.2/30", "dev", theirs)
        _ip("netns", "exec", ns, "ip", "link", "set", theirs, "up")
        _ip("netns", "exec", ns, "ip", "link", "set", "lo", "up")
        yield ns, ours, f"{net}.2"
    finally:
        subprocess.run(["ip", "link", "del", ours], capture_output=True)
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def test_a_link_cut_mid_study_resumes_with_no_loss_and_no_duplicate(tmp_path: Path, sqlite_url: str) -> None:
    require_tool("storescp", "storescu", "echoscu")
    files = samples.write_study(samples.StudySpec(samples.ASCII_PATIENT, "site", series=(
        samples.SeriesSpec("ct", 120, 1, "Axial", 128, 128),)), tmp_path / "in")
    out, log = tmp_path / "site-b", tmp_path / "storescp.log"
    out.mkdir()
    with remote_site() as (ns, link, address):
        dest = subprocess.Popen(["ip", "netns", "exec", ns, "storescp", "-v", "-aet", "SITEB", "-od", str(out), "11112"],
                                env=DCMTK_ENV, stdout=open(log, "wb"), stderr=subprocess.STDOUT)
        try:
            wait_until("the remote site listening", lambda: subprocess.run(
                ["echoscu", "-to", "2", "-aec", "SITEB", address, "11112"], capture_output=True, env=DCMTK_ENV).returncode == 0,
                timeout=30, poll=0.2)
            settings = settings_for(tmp_path / "svc", sqlite_url, allowed_callers=(AllowedCaller("STORESCU"),),
                                    remotes=(RemoteAE("SITEB", address, 11112),), acse_timeout=3, dimse_timeout=3,
                                    network_timeout=3)
            settings = replace(settings, routes=(Route("to-site-b", forward_to=("SITEB",)),),
                               destinations=(Destination("SITEB"),),
                               forward=ForwardSettings(tick_seconds=0.2, backoff_seconds=0.5, max_backoff_seconds=2,
                                                       max_attempts=1000, batch=20))
            with running_service(settings) as svc:
                r = storescu(settings.dicom.port, files)
                assert r.returncode == 0, r.stdout + r.stderr
                svc.start_forwarder()
                wait_until("part of the study at site B", lambda: len(list(out.iterdir())) >= 15, timeout=120, poll=0.005)
                _ip("link", "set", link, "down")  # the cut
                wait_until("the forwarder noticing the cut", lambda: any(
                    i.error for i in queue.listing(svc.db, states=("pending",))), timeout=60, poll=0.2)
                during = len(list(out.iterdir()))
                assert during < 120, "the study was delivered before the cut: nothing was tested"
                _ip("link", "set", link, "up")
                wait_until("the whole study at site B", lambda: queue.counts(svc.db) == {("SITEB", "sent"): 120},
                           timeout=240, poll=0.3)
        finally:
            dest.terminate()
            dest.wait()
    held = sorted(p.name for p in out.iterdir())
    assert len(held) == 120 and len(set(held)) == 120
    received = log.read_text(errors="replace").count("Received Store Request")
    assert 120 <= received <= 121, received
