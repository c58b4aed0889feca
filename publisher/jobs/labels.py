"""The label of one volume, from what the job knows about it (publisher.labels does the drawing)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from publisher.labels import LabelContent, Patient, PdiContent, load_template, render_png

def label_for(volume: dict[str, Any], *, comment: str, institution: str, out_dir: Path, viewer: bool = True) -> Path:
    """Render the printer raster (PNG) of ``volume``'s label into ``out_dir``; returns its path."""
    content = LabelContent(
        patients=tuple(Patient(p["name"], p["id"], p.get("birth_date") or None) for p in volume["patients"]),
        institution=institution,
        study_dates=tuple(volume.get("study_dates", ())),
        modalities=tuple(volume.get("modalities", ())),
        descriptions=tuple(volume.get("descriptions", ())),
        comment=comment,
        disc_number=int(volume["number"]),
        disc_count=int(volume["count"]),
        content=PdiContent.DICOM_PLUS_WEB if viewer else PdiContent.DICOM_ONLY,
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{volume['file_set_id']}.label.png"
    render_png(content, load_template("default"), target)
    return target


#: The order of the merge fields a vendor label template (a SureThing .STD for PTBurn, a Total
#: Disc Maker .tdd for TD Bridge) receives; docs/robots.md, "labels", tells the admin.
MERGE_FIELDS = ("patient name", "patient ID", "birth date", "study dates", "modalities", "description",
                "disc k of n", "comment", "institution")


def merge_fields(volume: dict[str, Any], *, comment: str, institution: str) -> tuple[str, ...]:
    """The values of :data:`MERGE_FIELDS` for ``volume`` (several patients joined by "; ")."""
    patients = volume.get("patients", [])
    return ("; ".join(p["name"] for p in patients), "; ".join(p["id"] for p in patients),
            "; ".join(p.get("birth_date") or "" for p in patients),
            ", ".join(volume.get("study_dates", ())), ", ".join(volume.get("modalities", ())),
            "; ".join(volume.get("descriptions", ())), f"disc {volume['number']} of {volume['count']}",
            comment, institution)

