"""The demo studies `make run` loads: their report PDFs carry the study's text in any script."""

from __future__ import annotations

import subprocess
from pathlib import Path

from publisher.demo import samples
from tests.support.tools import require_tool


def test_report_pdf_shows_a_cyrillic_description(tmp_path: Path) -> None:
    require_tool("pdftotext")
    spec = samples.StudySpec(samples.CYRILLIC_PATIENT, "pdf-cyr", description="КТ головы, 山田",
                             series=(samples.SeriesSpec("pdf", 1, 1),))
    (report,) = samples.build_study(spec)
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(bytes(report.EncapsulatedDocument).rstrip(b"\0"))
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "Report КТ головы, 山田" in text
