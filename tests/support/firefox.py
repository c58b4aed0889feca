"""Firefox driven over WebDriver BiDi (``firefox-esr --headless --remote-debugging-port 0``)."""


from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import shutil
import subprocess
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from websockets.sync.client import ClientConnection

from tests.support.browser_process import Browser, BrowserUnavailable, ScriptError, FIREFOX, FIREFOX_PREFS, _start


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


