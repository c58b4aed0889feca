"""The conformance statement lists exactly what the server negotiates."""

from __future__ import annotations

from pathlib import Path

from publisher.dicom.sop_classes import STORAGE_SOP_CLASSES, TRANSFER_SYNTAXES

DOC = Path(__file__).resolve().parents[2] / "docs" / "conformance.md"


def test_every_storage_class_and_transfer_syntax_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = [uid for uid, _ in STORAGE_SOP_CLASSES + TRANSFER_SYNTAXES if f"| {uid} |" not in text]
    assert not missing, f"docs/conformance.md lacks {missing}"


SEEDS = Path(__file__).resolve().parents[1] / "data" / "seed_storage_classes.tsv"


def test_seed_statement_classes_are_all_supported() -> None:
    """Every storage SOP class the conformance statements we must match accept as SCP (their
    list, copied into ``tests/data``) is one we accept."""
    listed = {line.split("\t")[0] for line in SEEDS.read_text(encoding="utf-8").splitlines() if line and not line.startswith("#")}
    ours = {uid for uid, _ in STORAGE_SOP_CLASSES}
    assert len(listed) > 50
    assert listed <= ours, sorted(listed - ours)
