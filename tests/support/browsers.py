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

from tests.support.browser_process import Browser, BrowserUnavailable, ScriptError
from tests.support.firefox import Firefox
from tests.support.webkit import WebKit

__all__ = ["Browser", "BrowserUnavailable", "ScriptError", "launch"]

BROWSERS: dict[str, type[Browser]] = {"firefox": Firefox, "webkit": WebKit}


def launch(name: str) -> Browser:
    """Start the browser ``name`` ("firefox" or "webkit"); ``BrowserUnavailable`` if not installed."""
    if name == "firefox":
        try:
            import websockets.sync.client  # noqa: F401
        except ImportError as exc:
            raise BrowserUnavailable("the websockets package is missing (pip install -e '.[test]')") from exc
    return BROWSERS[name]()
