"""The web UI's languages, by the mechanism of the on-disc viewer (viewer_bundle/static/I18N):
one catalogue per language (``lang/<ISO 639-1 code>.json``), English the source, a missing
string falls back to English; the language is the person's saved choice, else the first of
the browser's languages (``Accept-Language``, RFC 9110 12.5.4) we have, exact or by its
primary subtag (``de-DE`` -> ``de``), else English.

Unlike the viewer's catalogues the keys are the English texts themselves (gettext's way), so
a page written in English stays readable where no catalogue has its string yet. To add a
language, copy ``lang/de.json`` to ``lang/XX.json``, translate the values and add XX to
:data:`LANGUAGES`. Placeholders ``{0}`` / ``{name}`` stay as they are.
"""

from __future__ import annotations

import contextvars
import functools
import json
from pathlib import Path

CATALOGUES = Path(__file__).resolve().parent / "lang"
#: Language code -> its name in itself, as the chooser lists it.
LANGUAGES: dict[str, str] = {"en": "English", "de": "Deutsch"}
DEFAULT = "en"
#: The cookie that keeps a person's choice (set from the Account page).
LANG_COOKIE = "lang"

_current: contextvars.ContextVar[str] = contextvars.ContextVar("ui_language", default=DEFAULT)


@functools.cache
def catalogue(code: str) -> dict[str, str]:
    """English text -> its translation in ``code`` (empty for English)."""
    path = CATALOGUES / f"{code}.json"
    if code == DEFAULT or not path.exists():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    return {str(k): str(v) for k, v in data.items() if not str(k).startswith("//")}


def _accepted(header: str) -> list[str]:
    """The language ranges of an Accept-Language header, most wanted first (q=0 dropped)."""
    ranked = []
    for i, item in enumerate(header.split(",")[:32]):
        tag, _, params = item.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if tag and q > 0:
            ranked.append((-q, i, tag.strip().lower()))
    return [tag for _q, _i, tag in sorted(ranked)]


def choose(saved: str | None, accept_language: str) -> str:
    """The language of a request: the saved choice, else the browser's first we have, else English."""
    if saved in LANGUAGES:
        return saved
    for tag in _accepted(accept_language):
        for code in (tag, tag.split("-")[0]):
            if code in LANGUAGES:
                return code
    return DEFAULT


def use(code: str) -> contextvars.Token[str]:
    """Make ``code`` the language of what runs in this context (one request)."""
    return _current.set(code if code in LANGUAGES else DEFAULT)


def current() -> str:
    return _current.get()


def t(text: str, *args: object, **kwargs: object) -> str:
    """``text`` in the request's language (English when no translation), formatted with the
    arguments when there are any. The result is a trusted template: escape what goes into it."""
    out = catalogue(current()).get(text, text)
    return out.format(*args, **kwargs) if args or kwargs else out
