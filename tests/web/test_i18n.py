"""The UI's language: chosen as the on-disc viewer chooses (a saved choice, else the browser's
languages by preference, exact or by primary subtag, else English), and the German catalogue
has every string the pages pass through ``t``."""

from __future__ import annotations

import ast
from pathlib import Path

from publisher.web import i18n

WEB = Path(i18n.__file__).parent


def test_the_language_follows_the_saved_choice_then_accept_language() -> None:
    assert i18n.choose(None, "de-DE,de;q=0.9,en;q=0.8") == "de"
    assert i18n.choose(None, "fr-CH, fr;q=0.9, de;q=0.5, en;q=0.4") == "de"  # no French: the next one we have
    assert i18n.choose(None, "en;q=0.2, de;q=0.9") == "de"
    assert i18n.choose(None, "de;q=0, en") == "en"
    assert i18n.choose("en", "de-DE") == "en" and i18n.choose("xx", "de-AT") == "de"
    assert i18n.choose(None, "") == "en" and i18n.choose(None, "garbage;;q=x,,") == "en"


def test_every_string_of_the_pages_has_a_german_translation() -> None:
    used = set()
    for path in WEB.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) and \
                    (getattr(node.func, "id", None) == "t" or getattr(node.func, "attr", None) == "t"):
                used.add(node.args[0].value)
    missing = sorted(used - set(i18n.catalogue("de")))
    assert not missing, missing
    token = i18n.use("de")
    try:
        assert i18n.t("Log in") == "Anmelden" and i18n.t("{0} is now {1}.", "rad", "x") == "rad ist jetzt x."
        assert i18n.t("a string nobody translated") == "a string nobody translated"
    finally:
        i18n._current.reset(token)
