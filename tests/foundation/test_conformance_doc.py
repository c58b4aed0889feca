"""The conformance statement lists exactly what the server negotiates."""

from __future__ import annotations

from pathlib import Path

from publisher.dicom.sop_classes import STORAGE_SOP_CLASSES, TRANSFER_SYNTAXES

DOC = Path(__file__).resolve().parents[2] / "docs" / "conformance.md"


def test_every_storage_class_and_transfer_syntax_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = [uid for uid, _ in STORAGE_SOP_CLASSES + TRANSFER_SYNTAXES if f"| {uid} |" not in text]
    assert not missing, f"docs/conformance.md lacks {missing}"


def test_seed_statement_classes_are_all_supported() -> None:
    """Every storage SOP class of the seed conformance statements (when present beside us)."""
    import re

    seeds = Path(__file__).resolve().parents[3] / "shared" / "seeds"
    ours = {uid for uid, _ in STORAGE_SOP_CLASSES}
    found = False
    for name in ("000_09e112755cb2d4e6.txt", "001_dd8959eb75db4340.txt"):
        path = seeds / name
        if not path.exists():
            continue
        found = True
        listed = set(re.findall(r"(1\.[0-9.]+[0-9])\s+All\s+SCP", path.read_text(encoding="utf-8", errors="replace")))
        assert listed and listed <= ours, sorted(listed - ours)
    if not found:
        from tests.conftest import unavailable

        unavailable("../shared/seeds not beside the repository")
