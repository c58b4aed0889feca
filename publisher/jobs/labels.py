"""The label of one volume, from what the job knows about it (publisher.labels does the drawing).

A label is laid out when the job is planned (:func:`check_labels`, before anything is mastered),
rendered when the volume is mastered (:func:`render_labels`: the printer's PNG, a PDF proof, and
the case insert listing every patient when the label names only some), and printed when it burns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from publisher.labels import (LabelContent, LabelTemplate, LabelDoesNotFit, Patient, PdiContent, layout, load_template,
                              render_insert_pdf, render_pdf, render_png, shown_patients)
from publisher.jobs.records import LabelPatient, Volume, VolumeSummary
from publisher.media import MediaInstance


#: The site's label template (``<data_dir>/label-template.toml``, edited on the web UI's Settings
#: page); the shipped ``config/labels/default.toml`` while there is none. Read for every label,
#: so a change reaches the next job without a restart.
SITE_TEMPLATE = "label-template.toml"
_site_template: Path | None = None


def use_site_template(path: Path | None) -> None:
    global _site_template
    _site_template = path


def current_template() -> LabelTemplate:
    if _site_template is not None and _site_template.exists():
        return load_template(_site_template)
    return load_template("default")


def summary(number: int, count: int, instances: Sequence[MediaInstance]) -> VolumeSummary:
    """What a label says about a volume: patients (with IDs), study dates, modalities, descriptions."""
    patients = sorted({(i.patient_id, i.patient_name, i.patient_birth_date) for i in instances})
    return VolumeSummary(
        number=number, count=count,
        patients=tuple(LabelPatient(p, n, b) for p, n, b in patients),
        study_dates=tuple(sorted({i.study_date for i in instances if i.study_date})),
        modalities=tuple(sorted({i.modality for i in instances if i.modality})),
        descriptions=tuple(sorted({i.study_description for i in instances if i.study_description})),
    )


def label_content(volume: VolumeSummary, *, comment: str, institution: str, viewer: bool = True) -> LabelContent:
    return LabelContent(
        patients=tuple(Patient(p.name, p.id, p.birth_date or None) for p in volume.patients),
        institution=institution,
        study_dates=volume.study_dates,
        modalities=volume.modalities,
        descriptions=volume.descriptions,
        comment=comment,
        disc_number=volume.number,
        disc_count=volume.count,
        content=PdiContent.DICOM_PLUS_WEB if viewer else PdiContent.DICOM_ONLY,
    )


def check_labels(volumes: Sequence[VolumeSummary], *, comment: str, institution: str, viewer: bool = True) -> None:
    """Lay out every volume's label now; raises :class:`LabelDoesNotFit` naming the disc."""
    tpl = current_template()
    for v in volumes:
        try:
            layout(label_content(v, comment=comment, institution=institution, viewer=viewer), tpl)
        except LabelDoesNotFit as exc:
            raise LabelDoesNotFit(f"the label of disc {v.number} of {v.count}: {exc}") from exc


def render_labels(volume: Volume, *, comment: str, institution: str, out_dir: Path,
                  viewer: bool = True) -> Volume:
    """Render ``volume``'s label (printer PNG and PDF) and, when it names only some patients,
    the case insert; returns ``volume`` with those files named."""
    content = label_content(volume, comment=comment, institution=institution, viewer=viewer)
    tpl = current_template()
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = out_dir / volume.file_set_id
    insert = None
    if shown_patients(content, tpl) < len(content.patients):
        insert = str(render_insert_pdf(content, tpl, stem.with_suffix(".insert.pdf")))
    return replace(volume, label=str(render_png(content, tpl, stem.with_suffix(".label.png"))),
                   label_pdf=str(render_pdf(content, tpl, stem.with_suffix(".label.pdf"))), insert=insert)


def label_for(volume: Volume, *, comment: str, institution: str, out_dir: Path, viewer: bool = True) -> Path:
    """The printer raster (PNG) of ``volume``'s label (rendered now unless mastering did)."""
    if volume.label and Path(volume.label).is_file():
        return Path(volume.label)
    rendered = render_labels(volume, comment=comment, institution=institution, out_dir=out_dir, viewer=viewer)
    assert rendered.label is not None
    return Path(rendered.label)


#: The order of the merge fields a vendor label template (a SureThing .STD for PTBurn, a Total
#: Disc Maker .tdd for TD Bridge) receives; docs/robots.md, "labels", tells the admin.
MERGE_FIELDS = ("patient name", "patient ID", "birth date", "study dates", "modalities", "description",
                "disc k of n", "comment", "institution")


def merge_fields(volume: VolumeSummary, *, comment: str, institution: str) -> tuple[str, ...]:
    """The values of :data:`MERGE_FIELDS` for ``volume`` (several patients joined by "; "). With
    several patients each name carries its ID (``Müller^Jürgen (PAT-1); Иванова^Мария (PAT-2)``),
    so a vendor design that prints only the name field never parts a name from its ID."""
    patients = volume.patients
    names = [p.name if len(patients) == 1 or not p.id else f"{p.name} ({p.id})" for p in patients]
    return ("; ".join(names), "; ".join(p.id for p in patients),
            "; ".join(p.birth_date for p in patients),
            ", ".join(volume.study_dates), ", ".join(volume.modalities),
            "; ".join(volume.descriptions), f"disc {volume.number} of {volume.count}",
            comment, institution)
