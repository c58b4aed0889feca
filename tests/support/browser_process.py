"""The browser processes behind tests/support/browsers.py: constants, start and stop of a process
group, and the small API both drivers offer (``Browser``)."""


from __future__ import annotations

import atexit
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    pass



FIREFOX = "firefox-esr"
WEBKIT_DRIVER = "WebKitWebDriver"
XVFB = "Xvfb"
#: The browser WebKitWebDriver starts by default (in libwebkit2gtk-4.1-0).
MINIBROWSER = "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser"

#: A fresh Firefox profile: no first-run pages, updates, telemetry or other network traffic.
FIREFOX_PREFS = {
    "app.update.disabledForTesting": True,
    "browser.shell.checkDefaultBrowser": False,
    "browser.startup.homepage_override.mstone": "ignore",
    "browser.aboutwelcome.enabled": False,
    "datareporting.policy.dataSubmissionEnabled": False,
    "datareporting.healthreport.uploadEnabled": False,
    "toolkit.telemetry.enabled": False,
    "network.connectivity-service.enabled": False,
    "network.captive-portal-service.enabled": False,
    "services.settings.server": "data:,",
    "messaging-system.rsexperimentloader.enabled": False,
    "app.normandy.enabled": False,
    "extensions.update.enabled": False,
    "intl.accept_languages": "en-US, en",
}


class BrowserUnavailable(RuntimeError):
    """The browser or a program it needs is not installed."""


class ScriptError(RuntimeError):
    """A script evaluated in the page threw."""


def _start(cmd: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """Start ``cmd`` in a process group of its own, output to ``log``."""
    with open(log, "wb") as out:
        return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)


def group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes of process group ``pgid``."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2 :].split()  # state, ppid, pgrp, ...
        if int(fields[2]) == pgid and fields[0] != "Z":
            pids.append(int(stat.parent.name))
    return pids


def _stop(proc: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    """End ``proc`` (SIGTERM, then SIGKILL) and whatever it left in its process group."""
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
    deadline = time.monotonic() + grace
    while group_members(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if group_members(proc.pid):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


class Browser:
    """Common part of the two drivers."""

    name: ClassVar[str]
    version: str = ""

    def __init__(self) -> None:
        self.processes: list[subprocess.Popen[bytes]] = []
        self._started: list[subprocess.Popen[bytes]] = []
        self.tmp = Path(tempfile.mkdtemp(prefix=f"dv-{self.name}-"))
        #: JavaScript errors reported by the page (Firefox only; classic WebDriver has no log).
        self.errors: list[str] = []
        atexit.register(self.quit)  # a script that dies without quit() leaves no browser behind

    # -- to implement -----------------------------------------------------------------------
    def navigate(self, url: str) -> None:
        raise NotImplementedError

    def _evaluate_json(self, expression: str) -> str:
        """Evaluate ``JSON.stringify`` of the awaited expression; return the JSON text."""
        raise NotImplementedError

    def perform_actions(self, actions: list[dict[str, Any]]) -> None:
        raise NotImplementedError

    def frame_urls(self) -> list[str]:
        """URLs of the documents loaded in the page's child frames."""
        raise NotImplementedError

    def screenshot(self) -> bytes:
        raise NotImplementedError

    def _close(self) -> None:
        raise NotImplementedError

    # -- shared -----------------------------------------------------------------------------
    def evaluate(self, expression: str) -> Any:
        """The JSON value of a JavaScript expression (a promise is awaited; undefined is None)."""
        return json.loads(self._evaluate_json(expression))

    def wait_for(self, expression: str, timeout: float = 20.0) -> Any:
        """Poll ``expression`` until it is truthy; return its value."""
        deadline = time.monotonic() + timeout
        value: Any = None
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.05)
        raise TimeoutError(f"{self.name}: {expression!r} still {value!r} after {timeout} s")

    def _track(self, proc: subprocess.Popen[bytes]) -> None:
        self.processes.append(proc)
        self._started.append(proc)

    def process_ids(self) -> list[int]:
        """Every live process started for this browser (in the process groups it started)."""
        return [pid for p in self._started for pid in group_members(p.pid)]

    def quit(self) -> None:
        """Close the browser cleanly, then make sure nothing started for it is left running."""
        try:
            self._close()
        finally:
            for proc in reversed(self.processes):
                _stop(proc)
            self.processes.clear()
            shutil.rmtree(self.tmp, ignore_errors=True)
            atexit.unregister(self.quit)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.quit()


