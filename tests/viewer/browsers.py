"""Minimal drivers for Firefox (WebDriver BiDi) and WebKitGTK (W3C WebDriver) in tests.

Playwright's own Firefox and WebKit builds cannot be installed here, so the viewer is driven in
Debian's browsers through the standard protocols:

* ``Firefox``: ``firefox-esr --headless --remote-debugging-port 0`` with a fresh profile; Firefox
  speaks WebDriver BiDi on ``ws://127.0.0.1:PORT/session`` (no geckodriver needed).
* ``WebKit``: ``WebKitWebDriver`` (package ``webkit2gtk-driver``) on a free port; it starts
  WebKitGTK's ``MiniBrowser`` in automation mode. WebKitGTK has no headless mode, so the
  browser gets its own ``Xvfb`` display; its data directories are a fresh temporary folder.

Both offer the same small API: ``navigate``, ``evaluate`` (a JavaScript expression, promises
awaited, the value returned as JSON), ``wait_for``, ``perform_actions`` (W3C input actions:
real pointer, wheel and key input), ``frame_urls``, ``screenshot`` (PNG bytes) and ``quit``,
which ends the browser and every process started for it.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from websockets.sync.client import ClientConnection

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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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


def _bidi_error(reply: dict[str, Any]) -> str:
    return f"{reply.get('error')}: {reply.get('message')}"


class Firefox(Browser):
    """Headless Firefox over WebDriver BiDi (``--remote-debugging-port``), fresh profile."""

    name = "firefox"

    def __init__(self, width: int = 1200, height: int = 760, timeout: float = 30.0) -> None:
        from websockets.sync.client import connect

        if shutil.which(FIREFOX) is None:
            raise BrowserUnavailable(f"{FIREFOX} is not installed (apt-get install -y firefox-esr)")
        super().__init__()
        self._stack = contextlib.ExitStack()
        self._ws: ClientConnection | None = None
        self._next = 0
        try:
            profile = self.tmp / "profile"
            profile.mkdir()
            prefs = "".join(f"user_pref({json.dumps(k)}, {json.dumps(v)});\n" for k, v in FIREFOX_PREFS.items())
            (profile / "user.js").write_text(prefs)
            env = {**os.environ, "MOZ_CRASHREPORTER_DISABLE": "1", "HOME": str(self.tmp)}
            log = self.tmp / "firefox.log"
            cmd = [FIREFOX, "--headless", "--no-remote", "--profile", str(profile), "--remote-debugging-port", "0", "about:blank"]
            self._track(_start(cmd, log, env))
            deadline = time.monotonic() + timeout
            url = None
            while url is None:
                match = re.search(r"WebDriver BiDi listening on (ws://\S+)", log.read_text(errors="replace"))
                if match:
                    url = match.group(1)
                elif self.processes[0].poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"Firefox did not start BiDi: {log.read_text(errors='replace')[-2000:]}")
                else:
                    time.sleep(0.05)
            self._ws = self._stack.enter_context(connect(url.rstrip("/") + "/session", max_size=None, open_timeout=timeout))
            caps = self._send("session.new", {"capabilities": {"alwaysMatch": {"acceptInsecureCerts": False}}})["capabilities"]
            self.version = str(caps["browserVersion"])
            self._send("session.subscribe", {"events": ["log.entryAdded"]})
            self.context = str(self._send("browsingContext.getTree", {"maxDepth": 0})["contexts"][0]["context"])
            self._send("browsingContext.setViewport", {"context": self.context, "viewport": {"width": width, "height": height}})
        except BaseException:
            self.quit()
            raise

    def _send(self, method: str, params: dict[str, Any], timeout: float = 60.0) -> dict[str, Any]:
        assert self._ws is not None, "Firefox is closed"
        self._next += 1
        ident = self._next
        self._ws.send(json.dumps({"id": ident, "method": method, "params": params}))
        deadline = time.monotonic() + timeout
        while True:
            reply = json.loads(self._ws.recv(timeout=max(0.0, deadline - time.monotonic())))
            if reply.get("type") == "event":
                self._event(reply)
            elif reply.get("id") == ident:
                if reply.get("type") == "error":
                    raise RuntimeError(f"BiDi {method}: {_bidi_error(reply)}")
                return dict(reply["result"])

    def _event(self, event: dict[str, Any]) -> None:
        if event.get("method") == "log.entryAdded":
            entry = event["params"]
            if entry.get("level") == "error":
                self.errors.append(str(entry.get("text")))

    def navigate(self, url: str) -> None:
        self._send("browsingContext.navigate", {"context": self.context, "url": url, "wait": "complete"})

    def _evaluate_json(self, expression: str) -> str:
        script = f"(async () => {{ const v = await ({expression}); return JSON.stringify(v === undefined ? null : v); }})()"
        res = self._send(
            "script.evaluate",
            {"expression": script, "target": {"context": self.context}, "awaitPromise": True, "resultOwnership": "none"},
        )
        if res["type"] == "exception":
            raise ScriptError(f"{expression}: {res['exceptionDetails'].get('text')}")
        return str(res["result"]["value"])

    def perform_actions(self, actions: list[dict[str, Any]]) -> None:
        self._send("input.performActions", {"context": self.context, "actions": actions})
        self._send("input.releaseActions", {"context": self.context})

    def frame_urls(self) -> list[str]:
        tree = self._send("browsingContext.getTree", {"root": self.context})["contexts"][0]
        out: list[str] = []
        todo = list(tree.get("children") or [])
        while todo:
            ctx = todo.pop(0)
            out.append(str(ctx["url"]))
            todo.extend(ctx.get("children") or [])
        return out

    def screenshot(self) -> bytes:
        data = self._send("browsingContext.captureScreenshot", {"context": self.context})["data"]
        return base64.b64decode(data)

    def _close(self) -> None:
        if self._ws is None:
            return
        try:
            self._send("browser.close", {}, timeout=10)
        except Exception:  # the connection closes as Firefox goes away
            pass
        self._stack.close()
        self._ws = None
        if self.processes:
            try:
                self.processes[0].wait(10)  # its own shutdown first; quit() ends it otherwise
            except subprocess.TimeoutExpired:
                pass


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


BROWSERS: dict[str, type[Browser]] = {"firefox": Firefox, "webkit": WebKit}


def launch(name: str) -> Browser:
    """Start the browser ``name`` ("firefox" or "webkit"); ``BrowserUnavailable`` if not installed."""
    if name == "firefox":
        try:
            import websockets.sync.client  # noqa: F401
        except ImportError as exc:
            raise BrowserUnavailable("the websockets package is missing (pip install -e '.[test]')") from exc
    return BROWSERS[name]()
