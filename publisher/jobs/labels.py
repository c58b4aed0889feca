"""The label of one volume, from what the job knows about it (publisher.labels does the drawing).

A label is laid out when the job is planned (:func:`check_labels`, before anything is mastered),
rendered when the volume is mastered (:func:`render_labels`: the printer's PNG, a PDF proof, and
the case insert listing every patient when the label names only some), and printed when it burns.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from publisher.labels import (LabelContent, LabelDoesNotFit, Patient, PdiContent, layout, load_template,
                              render_insert_pdf, render_pdf, render_png, shown_patients)
from publisher.media import MediaInstance


def summary(number: int, count: int, instances: Sequence[MediaInstance]) -> dict[str, Any]:
    """What a label says about a volume: patients (with IDs), study dates, modalities, descriptions."""
    patients = sorted({(i.patient_id, i.patient_name, i.patient_birth_date) for i in instances})
    return {
        "number": number, "count": count,
        "patients": [{"id": p, "name": n, "birth_date": b} for p, n, b in patients],
        "study_dates": sorted({i.study_date for i in instances if i.study_date}),
        "modalities": sorted({i.modality for i in instances if i.modality}),
        "descriptions": sorted({i.study_description for i in instances if i.study_description}),
    }


def label_content(volume: dict[str, Any], *, comment: str, institution: str, viewer: bool = True) -> LabelContent:
    return LabelContent(
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


def check_labels(volumes: Sequence[dict[str, Any]], *, comment: str, institution: str, viewer: bool = True) -> None:
    """Lay out every volume's label now; raises :class:`LabelDoesNotFit` naming the disc."""
    tpl = load_template("default")
    for v in volumes:
        try:
            layout(label_content(v, comment=comment, institution=institution, viewer=viewer), tpl)
        except LabelDoesNotFit as exc:
            raise LabelDoesNotFit(f"the label of disc {v['number']} of {v['count']}: {exc}") from exc


def render_labels(volume: dict[str, Any], *, comment: str, institution: str, out_dir: Path,
                  viewer: bool = True) -> dict[str, str]:
    """Render ``volume``'s label (printer PNG and PDF) and, when it names only some patients,
    the case insert; returns {"label": png, "label_pdf": pdf[, "insert": pdf]}."""
    content = label_content(volume, comment=comment, institution=institution, viewer=viewer)
    tpl = load_template("default")
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = out_dir / str(volume["file_set_id"])
    out = {"label": str(render_png(content, tpl, stem.with_suffix(".label.png"))),
           "label_pdf": str(render_pdf(content, tpl, stem.with_suffix(".label.pdf")))}
    if shown_patients(content, tpl) < len(content.patients):
        out["insert"] = str(render_insert_pdf(content, tpl, stem.with_suffix(".insert.pdf")))
    return out


def label_for(volume: dict[str, Any], *, comment: str, institution: str, out_dir: Path, viewer: bool = True) -> Path:
    """The printer raster (PNG) of ``volume``'s label (rendered now unless mastering did)."""
    if volume.get("label") and Path(volume["label"]).is_file():
        return Path(volume["label"])
    return Path(render_labels(volume, comment=comment, institution=institution, out_dir=out_dir, viewer=viewer)["label"])


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
