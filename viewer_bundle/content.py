"""What a disc holds, as the viewer needs it: plain dataclasses, no DICOM library types.

The media engine fills a :class:`DiscContent` from its index (names already decoded to ``str``
from whatever Specific Character Set they arrived in, PS3.5 6.1) after it has laid the DICOM
files out on the disc tree, and hands it to :func:`viewer_bundle.write_viewer`.
:func:`viewer_bundle.scan.content_from_files` builds the same tree by reading the files, for
callers that have no index (tests, benchmarks, tools).

Dates are DICOM DA strings (``YYYYMMDD``), times TM strings; person names are PN strings with
their ``^`` component separators (PS3.5 6.2.1); the viewer formats them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Instance:
    """One composite instance on the disc.

    ``path`` is its File ID on the disc relative to the root, with ``/`` separators
    (e.g. ``DICOM/P0000001/S0000001/I0000001``); ``source`` is the file to read pixels from
    (the file on the disc tree or the archive's copy: anything ``pydicom.dcmread`` opens).
    The display fields are optional: what is ``None`` is read from ``source``.
    ``content_id`` identifies the bytes of ``source`` (e.g. its SHA-256) for the cache of
    encoded frames; empty: the file's size and modification time do.
    """

    path: str
    source: Path | str
    sop_class_uid: str = ""
    sop_instance_uid: str = ""
    instance_number: int | None = None
    rows: int | None = None
    columns: int | None = None
    number_of_frames: int = 1
    bits_allocated: int | None = None
    samples_per_pixel: int | None = None
    photometric_interpretation: str = ""
    pixel_spacing: tuple[float, float] | None = None
    window_center: float | None = None
    window_width: float | None = None
    slice_location: float | None = None
    content_date: str = ""
    content_time: str = ""
    document_title: str = ""
    transfer_syntax_uid: str = ""
    content_id: str = ""


@dataclass
class Series:
    """One series: its instances in display order (e.g. by Instance Number)."""

    series_instance_uid: str
    modality: str = ""
    series_number: int | None = None
    description: str = ""
    body_part: str = ""
    instances: list[Instance] = field(default_factory=list)


@dataclass
class Study:
    """One study of a patient."""

    study_instance_uid: str
    study_date: str = ""
    study_time: str = ""
    description: str = ""
    accession_number: str = ""
    study_id: str = ""
    referring_physician: str = ""
    institution: str = ""
    series: list[Series] = field(default_factory=list)


@dataclass
class Patient:
    """One patient: ``name`` is the decoded PN string, e.g. ``"Müller^Jürgen"``."""

    patient_id: str
    name: str = ""
    birth_date: str = ""
    sex: str = ""
    issuer: str = ""
    studies: list[Study] = field(default_factory=list)


@dataclass
class SeriesElsewhere:
    """A series (or the part of a split series) that is on another disc of the set.

    ``count`` is the number of its instances on that disc. The viewer lists these so a reader
    of one disc knows which disc to insert for the rest of the set.
    """

    series_instance_uid: str
    patient_name: str = ""
    patient_id: str = ""
    study_date: str = ""
    study_description: str = ""
    modality: str = ""
    series_number: int | None = None
    description: str = ""
    count: int = 0


@dataclass
class OtherDisc:
    """Another disc of a spanned set (``volume`` of the same ``volumes``) and what it holds."""

    volume: int
    label: str = ""
    series: list[SeriesElsewhere] = field(default_factory=list)


@dataclass
class DiscContent:
    """Everything on one disc (one volume of a spanned set: ``volume`` of ``volumes``).

    ``others`` names the other discs of the set and their series (shown, not loaded).
    """

    patients: list[Patient] = field(default_factory=list)
    label: str = ""
    institution: str = ""
    created: str = ""
    volume: int = 1
    volumes: int = 1
    others: list[OtherDisc] = field(default_factory=list)

    def instances(self) -> list[Instance]:
        """Every instance, in disc order (patient, study, series, instance)."""
        return [i for p in self.patients for st in p.studies for se in st.series for i in se.instances]


@dataclass
class ThirdPartyViewer:
    """A third-party viewer folder copied beside ours (e.g. a Windows viewer).

    ``folder`` is its directory name at the disc root (ISO 9660: up to 8 of ``A-Z 0-9 _``);
    ``start_program`` the path, inside that folder, that AUTORUN.INF and README should name.
    """

    source: Path
    folder: str = "APPVIEW"
    start_program: str | None = None


@dataclass
class ViewerResult:
    """What :func:`viewer_bundle.write_viewer` wrote.

    ``start_page`` is what the disc's root INDEX.HTM should link to (exact case);
    ``files`` every file written, relative to the root with ``/``; ``size`` their total bytes;
    ``autorun_program`` the third-party start program relative to the root, if any.
    """

    start_page: str
    files: list[str]
    size: int
    languages: list[str]
    autorun_program: str | None = None
    skipped: list[str] = field(default_factory=list)
