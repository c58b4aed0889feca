"""A real ``publisher serve`` (uvicorn over HTTP, DICOM, the worker) on free ports, for tests
that must see what a browser or a proxy sees, not FastAPI's TestClient."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from publisher.db import migrate
from publisher.db.session import Database
from publisher.db.users import add_user
from tests.support.net import free_port


@dataclass
class Served:
    base: str
    data: Path
    log: Path
    env: dict[str, str]
    #: the ``publisher serve`` process (a test may kill it)
    proc: "subprocess.Popen[bytes] | None" = None

    def cli(self, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        """``publisher ARGS`` on the same data directory and database as the server."""
        return subprocess.run([sys.executable, "-m", "publisher.cli", *args], input=stdin, capture_output=True, text=True,
                              env=self.env, timeout=120)


def wait_http(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"publisher serve ended with {proc.returncode}:\n{log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"publisher serve did not answer {url}:\n{log.read_text(errors='replace')}")


@contextmanager
def publisher_serve(tmp: Path, env: Mapping[str, str] = {}, config: str = "",
                    users: Mapping[str, tuple[str, str]] = {}) -> Iterator[Served]:
    """``publisher serve`` with its data in ``tmp / "data"``; ``env`` adds PUBLISHER_* settings,
    ``config`` is a TOML file's text, ``users`` (name -> (role, password)) are added by the CLI first."""
    http = free_port()
    data, log = tmp / "data", tmp / "serve.log"
    full = {k: v for k, v in os.environ.items() if k not in ("PUBLISHER_CONFIG", "PUBLISHER_DATABASE_URL", "PUBLISHER_ARCHIVE_DIR")}
    full |= {
        "PUBLISHER_DATA_DIR": str(data),
        "PUBLISHER_HTTP_HOST": "127.0.0.1",
        "PUBLISHER_HTTP_PORT": str(http),
        "PUBLISHER_DICOM_BIND": "127.0.0.1",
        "PUBLISHER_DICOM_PORT": str(free_port()),
        "PUBLISHER_LOAD_SAMPLES": "false",
        "PUBLISHER_MIN_FREE_BYTES": "0",
        "PUBLISHER_ROBOT": "simulator",
        **env,
    }
    args = []
    if config:
        (tmp / "site.toml").write_text(config, encoding="utf-8")
        args = ["--config", str(tmp / "site.toml")]
    served = Served(f"http://127.0.0.1:{http}", data, log, full)
    if users:  # in this process: a CLI run per user costs seconds on a loaded machine
        data.mkdir(parents=True, exist_ok=True)
        db = Database(f"sqlite:///{(data / 'publisher.db').resolve()}")
        migrate.upgrade(db.engine)
        for name, (role, password) in users.items():
            add_user(db, name, role, password, created_by="test")
        db.dispose()
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "publisher.cli", *args, "serve"], env=full, stdout=out,
                                stderr=subprocess.STDOUT, cwd=tmp)
    served.proc = proc
    try:
        wait_http(f"{served.base}/health", proc, log)
        yield served
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
