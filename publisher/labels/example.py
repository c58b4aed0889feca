"""An example label (Latin-1, Cyrillic, Greek and CJK names) for the docs and the tests.

``python -m publisher.labels.example docs/`` writes ``labels-example.png`` and ``.pdf``.
"""
from __future__ import annotations

import sys
from datetime import date, datetime
from pathlib import Path

from publisher.labels.content import LabelContent, Patient, PdiContent
from publisher.labels.pdf import render_pdf
from publisher.labels.raster import render_png
from publisher.labels.template import LabelTemplate, load_template


def example_content() -> LabelContent:
    """Three patients in three scripts, two studies, a long comment."""
    return LabelContent(
        patients=(Patient("Müller^Zoë-Françoise", "PID-000123", date(1961, 3, 4)),
                  Patient("Иванов^Пётр^Сергеевич", "RU-7781", "19800101"),
                  Patient("Yamada^Tarou=山田^太郎=やまだ^たろう", "JP-5", "19750505")),
        institution="Klinikum Beispielstadt – Radiologie / Ακτινολογικό",
        study_dates=("20240105", "20240301"),
        modalities=("CT", "MR", "CT"),
        descriptions=("CT Thorax mit Kontrastmittel", "MRT Kniegelenk links nativ und mit KM"),
        comment="Für Dr. Παπαδόπουλος – Voraufnahmen zum Vergleich, bitte Befund beachten",
        disc_number=1, disc_count=2, created=datetime(2024, 3, 2, 10, 30),
        content=PdiContent.DICOM_PLUS_WEB)


def render_example(folder: Path, template: LabelTemplate | None = None,
                   dpi: int = 150) -> tuple[Path, Path]:
    """Write ``labels-example.pdf`` and ``labels-example.png`` into ``folder``."""
    tpl = template or load_template()
    folder.mkdir(parents=True, exist_ok=True)
    content = example_content()
    return (render_pdf(content, tpl, folder / "labels-example.pdf"),
            render_png(content, tpl, folder / "labels-example.png", dpi=dpi))


if __name__ == "__main__":
    print(*render_example(Path(sys.argv[1] if len(sys.argv) > 1 else ".")))
