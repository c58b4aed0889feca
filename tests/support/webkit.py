"""WebKitGTK driven over W3C WebDriver (``WebKitWebDriver`` starting ``MiniBrowser`` on its own Xvfb display)."""


from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    pass

from tests.support.browser_process import Browser, BrowserUnavailable, ScriptError, MINIBROWSER, WEBKIT_DRIVER, XVFB, _start
from tests.support.net import free_port


class WebKit(Browser):
    """WebKitGTK's MiniBrowser through WebKitWebDriver (W3C WebDriver over HTTP) on Xvfb."""

    name = "webkit"

    def __init__(self, width: int = 1200, height: int = 760, timeout: float = 30.0) -> None:
        for program in (WEBKIT_DRIVER, XVFB):
            if shutil.which(program) is None:
                raise BrowserUnavailable(f"{program} is not installed (apt-get install -y webkit2gtk-driver xvfb)")
        if not Path(MINIBROWSER).exists():
            raise BrowserUnavailable(f"{MINIBROWSER} missing (apt-get install -y libwebkit2gtk-4.1-0)")
        super().__init__()
        self.session: str | None = None
        try:
            display = self._start_xvfb(timeout)
            home = self.tmp / "home"
            env = {
                **{k: v for k, v in os.environ.items() if k != "WAYLAND_DISPLAY"},
                "GDK_BACKEND": "x11",
                "DISPLAY": display,
                "HOME": str(home),
                "XDG_CONFIG_HOME": str(home / "config"),
                "XDG_DATA_HOME": str(home / "data"),
                "XDG_CACHE_HOME": str(home / "cache"),
                "XDG_RUNTIME_DIR": str(home / "run"),
                "LANG": "en_US.UTF-8",  # navigator.language (WebKitGTK takes it from the locale)
                "NO_AT_BRIDGE": "1",
            }
            for d in ("config", "data", "cache", "run"):
                (home / d).mkdir(parents=True)
            os.chmod(home / "run", 0o700)
            port = free_port()
            self.base = f"http://127.0.0.1:{port}"
            self._track(_start([WEBKIT_DRIVER, f"--port={port}"], self.tmp / "webdriver.log", env))
            deadline = time.monotonic() + timeout
            while True:
                try:
                    if self._request("GET", "/status", timeout=2).get("ready"):
                        break
                except (OSError, RuntimeError):
                    pass
                if self.processes[-1].poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"WebKitWebDriver did not start: {(self.tmp / 'webdriver.log').read_text(errors='replace')[-2000:]}")
                time.sleep(0.05)
            caps = {"alwaysMatch": {"webkitgtk:browserOptions": {"binary": MINIBROWSER, "args": ["--automation"]}}}
            value = self._request("POST", "/session", {"capabilities": caps}, timeout=timeout)
            self.session = str(value["sessionId"])
            self.version = str(value["capabilities"]["browserVersion"])
            # the window rect includes MiniBrowser's chrome: size it so the page gets width x height
            self._command("POST", "/window/rect", {"x": 0, "y": 0, "width": width, "height": height})
            inner = self.evaluate("[window.innerWidth, window.innerHeight]")
            self._command("POST", "/window/rect", {"width": 2 * width - inner[0], "height": 2 * height - inner[1]})
        except BaseException:
            self.quit()
            raise

    def _start_xvfb(self, timeout: float) -> str:
        """A private X display (``-displayfd`` picks a free number); returns ``:N``."""
        read, write = os.pipe()
        try:
            with open(self.tmp / "xvfb.log", "wb") as out:
                proc = subprocess.Popen(
                    [XVFB, "-displayfd", str(write), "-screen", "0", "1280x1024x24", "-nolisten", "tcp", "-noreset"],
                    stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, pass_fds=(write,), start_new_session=True,
                )
            self._track(proc)
            os.close(write)
            write = -1
            number = b""
            deadline = time.monotonic() + timeout
            while not number.endswith(b"\n"):
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError(f"Xvfb did not start: {(self.tmp / 'xvfb.log').read_text(errors='replace')[-2000:]}")
                chunk = os.read(read, 16)
                if not chunk:
                    raise RuntimeError(f"Xvfb did not start: {(self.tmp / 'xvfb.log').read_text(errors='replace')[-2000:]}")
                number += chunk
            return ":" + number.decode().strip()
        finally:
            os.close(read)
            if write >= 0:
                os.close(write)

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None, timeout: float = 60.0) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method, headers={"Content-Type": "application/json; charset=utf-8"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                reply = json.load(resp)
        except urllib.error.HTTPError as exc:
            try:
                value = json.load(exc).get("value", {})
            except ValueError:
                value = {}
            raise RuntimeError(f"WebDriver {method} {path}: {exc.code} {value.get('error')}: {value.get('message')}") from None
        return reply.get("value")

    def _command(self, method: str, path: str, body: dict[str, Any] | None = None, timeout: float = 60.0) -> Any:
        if body is None and method == "POST":
            body = {}
        return self._request(method, f"/session/{self.session}{path}", body, timeout)

    def navigate(self, url: str) -> None:
        self._command("POST", "/url", {"url": url})

    def _evaluate_json(self, expression: str) -> str:
        script = (
            "const done = arguments[arguments.length - 1];"
            f"Promise.resolve().then(() => ({expression}))"
            ".then(v => done({json: JSON.stringify(v === undefined ? null : v)}), e => done({error: String(e) + (e && e.stack ? '\\n' + e.stack : '')}));"
        )
        res = self._command("POST", "/execute/async", {"script": script, "args": []})
        if "error" in res:
            raise ScriptError(f"{expression}: {res['error']}")
        return str(res["json"])

    def perform_actions(self, actions: list[dict[str, Any]]) -> None:
        self._command("POST", "/actions", {"actions": actions})
        self._command("DELETE", "/actions")

    def frame_urls(self) -> list[str]:
        urls = []
        frames = self._command("POST", "/elements", {"using": "css selector", "value": "iframe"})
        for ref in frames:
            self._command("POST", "/frame", {"id": ref})
            try:
                urls.append(str(self._command("POST", "/execute/sync", {"script": "return location.href", "args": []})))
            finally:
                self._command("POST", "/frame/parent")
        return urls

    def screenshot(self) -> bytes:
        return base64.b64decode(self._command("GET", "/screenshot"))

    def _close(self) -> None:
        if self.session is not None:
            try:
                self._command("DELETE", "", timeout=15)  # closes MiniBrowser
            finally:
                self.session = None
