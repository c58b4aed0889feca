"""IHE Portable Data for Imaging (RAD TF-2 4.47): README.TXT, Web Content, AUTORUN.INF.

Root of a PDI volume: DICOMDIR, README.TXT, INDEX.HTM and IHE_PDI/ (web content option: XHTML
pages per patient and per study), then optional content (the viewer). No non-DICOM file goes into
DICOM/, and IHE_PDI/ holds web content only. Names outside DICOM/ are ISO 9660 8.3 upper case,
and every link uses exactly that case (readers copy discs to case-sensitive file systems).
"""

from __future__ import annotations

import datetime as _dt
import html
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from publisher.media.model import MediaInstance, PatientKey

PDI_FOLDER = "IHE_PDI"
CREATOR = "Disc Publisher"
CREATOR_VERSION = "0.1.0"


@dataclass(frozen=True)
class PdiInfo:
    """What the PDI files say about the volume and its maker."""

    volume: int
    volumes: int
    file_set_id: str
    profile: str
    institution: str = ""
    contact: str = ""
    created: _dt.datetime | None = None
    viewer_name: str = ""
    viewer_version: str = ""
    viewer_start: str = ""  #: path of the viewer's start page on the medium, e.g. VIEWER/INDEX.HTM
    left_out: tuple[str, ...] = ()  #: instances of the selection not on this File-set, each with why


def _ascii(text: str) -> str:
    """``text`` for ASCII README.TXT: accents dropped, other characters as ``?``."""
    folded = unicodedata.normalize("NFKD", text)
    return "".join(c if c.isascii() else ("" if unicodedata.combining(c) else "?") for c in folded)


def _name(pn: str) -> str:
    """A DICOM PN (first component group) for reading: ``Family^Given^Middle^Prefix^Suffix``."""
    first = pn.split("=")[0]
    parts = [p for p in first.split("^")]
    family, given = (parts + ["", ""])[:2]
    rest = " ".join(p for p in parts[2:] if p)
    text = f"{family}, {given}" if given else family
    return f"{text} {rest}".strip() if rest else text


def _date(da: str) -> str:
    return f"{da[:4]}-{da[4:6]}-{da[6:8]}" if len(da) == 8 and da.isdigit() else da


def _structure(instances: Sequence[MediaInstance]) -> dict[PatientKey, dict[str, list[MediaInstance]]]:
    out: dict[PatientKey, dict[str, list[MediaInstance]]] = {}
    for i in instances:
        out.setdefault(i.patient_key, {}).setdefault(i.study_instance_uid, []).append(i)
    return out


def readme(instances: Sequence[MediaInstance], info: PdiInfo) -> str:
    """README.TXT: who made the disc, when, what is on it, how to open it (ASCII, CRLF)."""
    created = info.created or _dt.datetime.now()
    tree = _structure(instances)
    lines = [
        "DICOM MEDIA - PORTABLE DATA FOR IMAGING (IHE PDI)",
        "",
        f"Created by:    {CREATOR} {CREATOR_VERSION}",
        f"Institution:   {_ascii(info.institution) or '-'}",
        f"Contact:       {_ascii(info.contact) or '-'}",
        f"Created on:    {created:%Y-%m-%d %H:%M}",
        f"Volume:        disc {info.volume} of {info.volumes} (File-set ID {info.file_set_id})",
        f"Profile:       DICOM PS3.11 {info.profile}; IHE PDI with Web Content option",
        "",
        "CONTENTS",
    ]
    for studies in tree.values():
        first = next(iter(studies.values()))[0]
        lines.append(f"  Patient {_ascii(_name(first.patient_name))} (ID {_ascii(first.patient_id)}, "
                     f"born {_date(first.patient_birth_date) or '-'})")
        for study in studies.values():
            s = study[0]
            modalities = ",".join(sorted({i.modality for i in study if i.modality}))
            lines.append(f"    Study {_date(s.study_date)} {_ascii(s.study_description) or '-'} [{modalities}], "
                         f"{len(study)} objects")
    if info.left_out:
        lines += ["", f"LEFT OUT ({len(info.left_out)} object(s) of the selection are not on this disc set)"]
        lines += [f"  {_ascii(line)}" for line in info.left_out]
    lines += [
        "",
        "HOW TO OPEN",
        "  The patient names shown here may be simplified to plain letters; open INDEX.HTM in",
        "  a web browser to see them as written, with a list of every study on this disc.",
    ]
    if info.viewer_start:
        lines.append(f"  To view images, open {info.viewer_start} ({info.viewer_name} {info.viewer_version}).")
    lines += [
        "  Any DICOM viewer can import this disc: open the file DICOMDIR at its root.",
        "",
        "ORGANISATION",
        "  DICOMDIR       DICOM directory of all objects (PS3.10, PS3.3 Annex F)",
        "  DICOM/         DICOM files: DICOM/Pnnnnnnn/Snnnnnnn/SEnnnnnn/Innnnnnn",
        "  INDEX.HTM      start page (web content)",
        f"  {PDI_FOLDER}/       web pages per patient and study",
    ]
    if info.viewer_start:
        lines.append(f"  {info.viewer_start.split('/')[0]}/  viewer")
    lines += ["", "This medium contains confidential patient information."]
    return "\r\n".join(lines) + "\r\n"


_XHTML_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" '
    '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">\n'
    '<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en" lang="en">\n<head>\n'
    '<meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />\n<title>{title}</title>\n'
    "</head>\n<body>\n"
)


def _page(title: str, body: str) -> bytes:
    return (_XHTML_HEAD.format(title=html.escape(title)) + body + "</body>\n</html>\n").encode("utf-8")


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def write_pdi(
    root: Path, instances: Sequence[MediaInstance], file_ids: dict[str, str], info: PdiInfo
) -> list[str]:
    """Write README.TXT, INDEX.HTM, IHE_PDI/*.HTM (and AUTORUN.INF with a viewer) under ``root``.

    Returns the written paths relative to ``root`` ("/"-separated), in disc order.
    """
    tree = _structure(instances)
    written: list[str] = []

    def put(rel: str, data: bytes) -> None:
        path = root.joinpath(*rel.split("/"))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        written.append(rel)

    put("README.TXT", readme(instances, info).encode("ascii", "replace"))
    created = info.created or _dt.datetime.now()
    index = [f"<h1>DICOM disc {info.volume} of {info.volumes}</h1>\n",
             f"<p>{_e(info.institution)} &#8212; {created:%Y-%m-%d}</p>\n"]
    if info.viewer_start:
        index.append(f'<p><a href="{_e(info.viewer_start)}">Open the viewer</a></p>\n')
    index.append("<ul>\n")
    pages: list[tuple[str, bytes]] = []
    study_no = 0
    for p_no, studies in enumerate(tree.values(), start=1):
        first = next(iter(studies.values()))[0]
        p_page = f"PAT{p_no:05d}.HTM"
        index.append(f'<li><a href="{PDI_FOLDER}/{p_page}">{_e(_name(first.patient_name))}</a> '
                     f"({_e(first.patient_id)})</li>\n")
        rows = []
        for study in studies.values():
            study_no += 1
            s = study[0]
            s_page = f"STU{study_no:05d}.HTM"
            rows.append(f'<li><a href="{s_page}">{_e(_date(s.study_date))} {_e(s.study_description)}</a></li>\n')
            series: dict[str, list[MediaInstance]] = {}
            for i in study:
                series.setdefault(i.series_instance_uid, []).append(i)
            srows = "".join(
                f"<tr><td>{_e(str(items[0].series_number or ''))}</td><td>{_e(items[0].modality)}</td>"
                f"<td>{_e(items[0].series_description)}</td><td>{len(items)}</td>"
                f"<td>{_e(file_ids[items[0].sop_instance_uid].rsplit('/', 1)[0])}</td></tr>\n"
                for items in series.values()
            )
            pages.append((s_page, _page(
                f"{_name(s.patient_name)} {s.study_date}",
                f'<p><a href="{p_page}">{_e(_name(s.patient_name))}</a></p>\n'
                f"<h1>{_e(s.study_description) or 'Study'}</h1>\n"
                f"<p>Date {_e(_date(s.study_date))}, accession {_e(s.accession_number)}, "
                f"referring {_e(_name(s.referring_physician_name))}</p>\n"
                "<table>\n<tr><th>Series</th><th>Modality</th><th>Description</th><th>Objects</th>"
                f"<th>Folder</th></tr>\n{srows}</table>\n",
            )))
        pages.append((p_page, _page(
            _name(first.patient_name),
            f'<p><a href="../INDEX.HTM">Index</a></p>\n<h1>{_e(_name(first.patient_name))}</h1>\n'
            f"<p>ID {_e(first.patient_id)}, born {_e(_date(first.patient_birth_date))}, "
            f"sex {_e(first.patient_sex)}</p>\n<ul>\n{''.join(rows)}</ul>\n",
        )))
    index.append("</ul>\n")
    if info.left_out:
        index.append(f"<h2>Left out</h2>\n<p>{len(info.left_out)} object(s) of the selection are not on this disc set:</p>\n<ul>\n")
        index.extend(f"<li>{_e(line)}</li>\n" for line in info.left_out)
        index.append("</ul>\n")
    put("INDEX.HTM", _page(f"DICOM disc {info.file_set_id}", "".join(index)))
    if info.viewer_start:
        start = info.viewer_start.replace("/", "\\")
        put("AUTORUN.INF", f"[autorun]\r\nshellexecute={start}\r\nlabel={info.file_set_id}\r\n".encode("ascii"))
    for name, data in sorted(pages):
        put(f"{PDI_FOLDER}/{name}", data)
    return written
