"""Reading DICOM File-sets from media brought in from elsewhere (PS3.10 8, PS3.3 Annex F, PS3.12).

Patients bring CDs, DVDs and USB sticks made by other hospitals' publishers, and many of them
bend the rules. This module only reads: it knows nothing of the archive or the database (the
import into the archive is :mod:`publisher.jobs.disc_import`).

* A :class:`Medium` is where the files are: a folder (a mounted disc, a copied tree) or an
  ISO 9660 image read with pycdlib (Joliet, Rock Ridge or plain ISO 9660 names; nothing is
  mounted). Names are looked up without regard to case and with the ISO 9660 version suffix
  (``;1``) and the empty extension separator (``DICOMDIR.;1``) ignored (ECMA-119 7.5).
* :func:`read_fileset` finds the DICOMDIR, follows its records by their offsets (PS3.3 F.3.2.2:
  the root's first record, each record's next sibling and lower-level entity) and lists every
  referenced file with the patient / study / series keys of the records above it. Without a
  DICOMDIR (or with an unreadable one) it scans every file for the PS3.10 preamble ``DICM``.
* Problems (a record naming a missing file, a File ID leaving the File-set, an unreadable
  DICOMDIR, broken offsets) are collected as :class:`Problem` values; none stops the reading
  of the rest.
"""

from __future__ import annotations

import enum
import io
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from types import TracebackType
from typing import BinaryIO, cast

import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

#: ``progress(done, total, message)``, as :data:`publisher.media.model.Progress`.
Progress = Callable[[int, int, str], None]

MEDIA_STORAGE_DIRECTORY = "1.2.840.10008.1.3.10"  #: SOP Class of a DICOMDIR (PS3.4 Annex I)
_VERSION = re.compile(r";\d*$")
_ISO_SIGNATURE_AT = 16 * 2048 + 1  #: ECMA-119 8.4: "CD001" in the first volume descriptor


class MediumError(Exception):
    """The source cannot be opened as a medium at all (not a folder, not an ISO image)."""


class ProblemKind(enum.StrEnum):
    """What can be wrong with a File-set; each is reported, none stops the rest."""

    NO_DICOMDIR = "no-dicomdir"  #: none found: files were found by scanning
    UNREADABLE_DICOMDIR = "unreadable-dicomdir"  #: could not be parsed: files were found by scanning
    BROKEN_OFFSETS = "broken-offsets"  #: record offsets lead nowhere: records read in sequence order
    UNLINKED_RECORDS = "unlinked-records"  #: in-use records no offset leads to (read anyway)
    MISSING_FILE = "missing-file"  #: a record names a file the medium does not hold
    OUTSIDE_FILESET = "outside-file-set"  #: a File ID that leaves the File-set (PS3.10 8.5)
    BAD_RECORD = "bad-record"  #: a record whose Referenced File ID is unusable
    UNREADABLE_FILE = "unreadable-file"  #: a file with a DICM preamble whose header cannot be read


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the File-set: what, where (a path or File ID), and details."""

    kind: ProblemKind
    where: str
    detail: str

    def __str__(self) -> str:
        return f"{self.kind.value}: {self.where}: {self.detail}" if self.where else f"{self.kind.value}: {self.detail}"


# -- media --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MediumFile:
    """A file on a medium: its path ("/"-separated, relative to the medium's root, without an
    ISO 9660 version suffix) and size in bytes."""

    path: str
    size: int


def normalise(path: str) -> str:
    """The lookup form of a path on a medium: ``/`` separators, each component without an
    ISO 9660 version (``;1``) or trailing empty extension (``NAME.``), case-folded."""
    parts = [p for p in path.replace("\\", "/").split("/") if p]
    return "/".join(_VERSION.sub("", p).rstrip(".").casefold() for p in parts)


class Medium:
    """Files of a source, looked up without regard to case or ISO 9660 version suffixes."""

    description: str = ""
    volume_id: str = ""

    def __init__(self) -> None:
        self._files: list[MediumFile] | None = None
        self._index: dict[str, MediumFile] = {}

    # what a concrete medium provides
    def _list(self) -> Iterator[MediumFile]:
        raise NotImplementedError

    def open(self, path: str) -> BinaryIO:
        """A binary stream of the file at ``path`` (as :meth:`files` names it)."""
        raise NotImplementedError

    def close(self) -> None:
        pass

    def escaped(self, normalised_path: str) -> bool:
        """Whether the name exists on the medium but leads outside it (a folder's symlink)."""
        return False

    # shared
    def files(self) -> list[MediumFile]:
        """Every regular file of the medium, in path order."""
        if self._files is None:
            self._files = sorted(self._list(), key=lambda f: f.path)
            for f in self._files:
                self._index.setdefault(normalise(f.path), f)
        return self._files

    def lookup(self, path: str) -> MediumFile | None:
        """The file whose name matches ``path`` case-insensitively (version suffix ignored)."""
        self.files()
        return self._index.get(normalise(path))

    def read(self, path: str) -> bytes:
        with self.open(path) as fh:
            return fh.read()

    def head(self, path: str, size: int = 132) -> bytes:
        with self.open(path) as fh:
            return fh.read(size)

    def __enter__(self) -> "Medium":
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


class FolderMedium(Medium):
    """A folder: a mounted disc, or a disc's tree copied somewhere."""

    def __init__(self, root: Path) -> None:
        super().__init__()
        self.root = Path(root)
        self._real_root = self.root.resolve()
        self._escaped: set[str] = set()
        self.description = str(self.root)
        self.volume_id = self.root.name

    def _list(self) -> Iterator[MediumFile]:
        for here, dirs, names in os.walk(self.root):
            dirs.sort()
            for name in names:
                full = Path(here) / name
                rel = full.relative_to(self.root).as_posix()
                if full.is_symlink() and not full.resolve().is_relative_to(self._real_root):
                    self._escaped.add(normalise(rel))  # leads outside the medium: never read
                    continue
                try:
                    if full.is_file():
                        yield MediumFile(rel, full.stat().st_size)
                except OSError:
                    continue

    def escaped(self, normalised_path: str) -> bool:
        self.files()
        return normalised_path in self._escaped

    def local_path(self, path: str) -> Path:
        return self.root.joinpath(*path.split("/"))

    def open(self, path: str) -> BinaryIO:
        return open(self.local_path(path), "rb")


class IsoMedium(Medium):
    """An ISO 9660 image (with Joliet / Rock Ridge / UDF bridge) read with pycdlib, unmounted.

    Files are listed in the richest name space the image has (Joliet, else Rock Ridge, else
    ISO 9660); a name not found there is also looked up among the plain ISO 9660 names, which
    are the ones DICOM File IDs match on CD-R (PS3.12 F.3.2)."""

    def __init__(self, image: Path) -> None:
        super().__init__()
        import pycdlib
        from pycdlib.pycdlibexception import PyCdlibException

        self.image = Path(image)
        self._iso = pycdlib.PyCdlib()
        try:
            self._iso.open(str(self.image))
        except (PyCdlibException, OSError) as exc:
            raise MediumError(f"{image}: not a readable ISO 9660 image ({exc})") from None
        if self._iso.has_joliet():
            self._space = "joliet_path"
        elif self._iso.has_rock_ridge():
            self._space = "rr_path"
        else:
            self._space = "iso_path"
        self._where: dict[str, tuple[str, str]] = {}  # listed path -> (name space, path in it)
        self._alias: dict[str, MediumFile] | None = None  # normalised ISO 9660 path -> file not listed
        pvd = self._iso.pvd
        self.volume_id = pvd.volume_identifier.decode("ascii", "replace").strip() if pvd is not None else ""
        self.description = f"{self.image} (volume {self.volume_id or '?'})"

    def _walk(self, space: str) -> Iterator[tuple[str, str, int]]:
        """(path without version, path in the name space, size) of every file in ``space``."""
        for here, _dirs, names in self._iso.walk(**{space: "/"}):
            for name in names:
                full = f"{here.rstrip('/')}/{name}"
                size = self._iso.get_record(**{space: full}).get_data_length()
                shown = "/".join(_VERSION.sub("", p).rstrip(".") if space == "iso_path" else p
                                 for p in full.strip("/").split("/"))
                yield shown, full, int(size)

    def _list(self) -> Iterator[MediumFile]:
        for shown, full, size in self._walk(self._space):
            self._where[shown] = (self._space, full)
            yield MediumFile(shown, size)

    def lookup(self, path: str) -> MediumFile | None:
        found = super().lookup(path)
        if found is not None or self._space == "iso_path":
            return found
        if self._alias is None:
            self._alias = {}
            for shown, full, size in self._walk("iso_path"):
                key = normalise(shown)
                if key not in self._index:
                    alias = "iso9660:" + shown
                    self._where[alias] = ("iso_path", full)
                    self._alias[key] = MediumFile(alias, size)
        return self._alias.get(normalise(path))

    def open(self, path: str) -> BinaryIO:
        if path not in self._where:
            self.files()
        space, full = self._where[path]
        return cast(BinaryIO, self._iso.open_file_from_iso(**{space: full}))

    def close(self) -> None:
        self._iso.close()


def open_medium(source: Path) -> Medium:
    """A folder, a DICOMDIR file (its folder), or an ISO image file (detected by its volume
    descriptor signature ``CD001``, ECMA-119 8.4.2, whatever its name)."""
    source = Path(source)
    if source.is_dir():
        return FolderMedium(source)
    if not source.is_file():
        raise MediumError(f"{source}: no such folder or image file")
    if normalise(source.name) == "dicomdir":
        return FolderMedium(source.parent)
    with open(source, "rb") as fh:
        fh.seek(_ISO_SIGNATURE_AT)
        signature = fh.read(5)
    if signature != b"CD001":
        raise MediumError(f"{source}: neither a folder nor an ISO 9660 image (no CD001 volume descriptor)")
    return IsoMedium(source)


# -- the File-set -----------------------------------------------------------------------------


@dataclass(frozen=True)
class FileEntry:
    """One file of the File-set and the keys of its records (or of its header when scanned).

    ``path`` names the file on the medium (:meth:`Medium.open`); ``file_id`` is the Referenced
    File ID as the DICOMDIR wrote it ("/"-joined; empty when the file was found by scanning).
    """

    path: str
    size: int
    file_id: str = ""
    record_type: str = ""
    patient_id: str = ""
    issuer_of_patient_id: str = ""
    patient_name: str = ""
    study_instance_uid: str = ""
    study_date: str = ""
    study_description: str = ""
    series_instance_uid: str = ""
    modality: str = ""
    series_number: str = ""
    series_description: str = ""
    sop_class_uid: str = ""
    sop_instance_uid: str = ""
    transfer_syntax_uid: str = ""

    @property
    def patient_key(self) -> tuple[str, str]:
        return (self.patient_id, self.issuer_of_patient_id)


@dataclass
class SeriesSummary:
    series_instance_uid: str
    modality: str
    series_number: str
    series_description: str
    instances: int = 0


@dataclass
class StudySummary:
    study_instance_uid: str
    study_date: str
    study_description: str
    series: dict[str, SeriesSummary] = field(default_factory=dict)

    @property
    def instances(self) -> int:
        return sum(s.instances for s in self.series.values())


@dataclass
class PatientSummary:
    patient_id: str
    issuer_of_patient_id: str
    patient_name: str
    studies: dict[str, StudySummary] = field(default_factory=dict)

    @property
    def instances(self) -> int:
        return sum(s.instances for s in self.studies.values())


@dataclass
class FileSet:
    """What :func:`read_fileset` found on a medium."""

    medium: Medium
    entries: list[FileEntry]
    problems: list[Problem]
    dicomdirs: list[str] = field(default_factory=list)  #: paths of the DICOMDIRs read
    file_set_ids: list[str] = field(default_factory=list)
    scanned: bool = False  #: files were found by scanning, not through a DICOMDIR
    not_dicom: int = 0  #: files scanned that carry no DICM preamble (README, viewer, ...)

    def patients(self) -> list[PatientSummary]:
        """Patients, their studies and series with instance counts, in the order found."""
        out: dict[tuple[str, str], PatientSummary] = {}
        for e in self.entries:
            p = out.setdefault(e.patient_key, PatientSummary(e.patient_id, e.issuer_of_patient_id, e.patient_name))
            st = p.studies.setdefault(e.study_instance_uid, StudySummary(e.study_instance_uid, e.study_date, e.study_description))
            se = st.series.setdefault(
                e.series_instance_uid, SeriesSummary(e.series_instance_uid, e.modality, e.series_number, e.series_description)
            )
            se.instances += 1
        return list(out.values())


def read_fileset(medium: Medium, *, progress: Progress | None = None) -> FileSet:
    """The File-set on ``medium``: through its DICOMDIR(s), else by scanning every file.

    The DICOMDIR at the root is used; when there is none there, the shallowest ones below
    (a File-set copied into a folder of the disc). File IDs are relative to the folder holding
    the DICOMDIR (PS3.10 8.6). An unreadable DICOMDIR, or one none of whose files is found, is
    reported and the files scanned.
    """
    found = [f for f in medium.files() if _is_dicomdir(f)]
    problems: list[Problem] = []
    if found:
        depth = min(f.path.count("/") for f in found)
        dicomdirs = [f for f in found if f.path.count("/") == depth]
        entries: list[FileEntry] = []
        ids: list[str] = []
        read: list[str] = []
        for d in dicomdirs:
            try:
                fs_id, more = _read_dicomdir(medium, d, problems)
            except _Unreadable as exc:
                problems.append(Problem(ProblemKind.UNREADABLE_DICOMDIR, d.path, str(exc)))
                continue
            read.append(d.path)
            ids.append(fs_id)
            entries += more
        if entries:
            unique: dict[str, FileEntry] = {}
            for e in entries:
                unique.setdefault(e.path, e)  # a file two records name is imported once
            return FileSet(medium, list(unique.values()), problems, read, ids)
        if read:  # records, but none leads to a file here: the files may still be on the disc
            problems.append(Problem(ProblemKind.MISSING_FILE, "", "no file the DICOMDIR names was found; "
                                    "DICOM files found by scanning"))
    else:
        problems.append(Problem(ProblemKind.NO_DICOMDIR, "", "no DICOMDIR on the medium; DICOM files found by scanning"))
    return _scan(medium, problems, progress)


# -- DICOMDIR ----------------------------------------------------------------------------------


def _is_dicomdir(f: MediumFile) -> bool:
    return normalise(PurePosixPath(f.path).name) == "dicomdir"



class _Unreadable(Exception):
    pass


_HIERARCHY = {"PATIENT": 0, "STUDY": 1, "SERIES": 2}


def _text(ds: Dataset, keyword: str) -> str:
    try:
        value = ds.get(keyword)
    except Exception:  # a value that cannot be decoded: leave the key empty
        return ""
    if value is None:
        return ""
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        return "\\".join(str(v) for v in value)
    return str(value).strip()


def _read_dicomdir(medium: Medium, dicomdir: MediumFile, problems: list[Problem]) -> tuple[str, list[FileEntry]]:
    """(File-set ID, entries) of one DICOMDIR; problems of its records go to ``problems``."""
    try:
        with medium.open(dicomdir.path) as fh:
            raw = io.BytesIO(fh.read())
        ds = pydicom.dcmread(raw, force=True)
        records = list(ds.DirectoryRecordSequence)
    except Exception as exc:  # pydicom raises many kinds on damaged files
        raise _Unreadable(f"{exc.__class__.__name__}: {exc}") from None
    if not records:
        raise _Unreadable("the DICOMDIR holds no directory records (PS3.3 F.3.2.1)")
    base = str(PurePosixPath(dicomdir.path).parent)
    base = "" if base == "." else base
    tree = _linked(ds, records, dicomdir.path, problems)
    entries: list[FileEntry] = []
    for record, ancestors in tree:
        entry = _entry(medium, base, record, ancestors, problems)
        if entry is not None:
            entries.append(entry)
    return _text(ds, "FileSetID"), entries


def _in_use(record: Dataset) -> bool:
    """PS3.3 F.3.2.2 (retired Record In-use Flag): 0000H marks an inactive record."""
    return record.get("RecordInUseFlag", 0xFFFF) != 0


def _linked(ds: Dataset, records: list[Dataset], where: str, problems: list[Problem]) -> list[tuple[Dataset, dict[str, Dataset]]]:
    """Every in-use record with the records above it (by type), in DICOMDIR order.

    Offsets (PS3.3 F.3.2.2) count bytes from the start of the file to a record's Item tag;
    pydicom keeps that position as ``seq_item_tell``. When the root offset leads to no record
    (a writer that counted from elsewhere), the records are read in sequence order instead."""
    at = {int(getattr(r, "seq_item_tell", -1)): r for r in records}
    first = ds.get("OffsetOfTheFirstDirectoryRecordOfTheRootDirectoryEntity")
    out: list[tuple[Dataset, dict[str, Dataset]]] = []
    if first not in at:
        problems.append(Problem(ProblemKind.BROKEN_OFFSETS, where,
                                f"the root offset {first} names no record; records read in sequence order"))
        return _in_order(records)
    visited: set[int] = set()
    broken = 0

    def walk(offset: int, ancestors: dict[str, Dataset]) -> None:
        nonlocal broken
        while offset:
            record = at.get(offset)
            if record is None or offset in visited:
                broken += 1  # an offset into nowhere, or a loop
                return
            visited.add(offset)
            if _in_use(record):
                out.append((record, ancestors))
                lower = int(record.get("OffsetOfReferencedLowerLevelDirectoryEntity", 0) or 0)
                if lower:
                    walk(lower, {**ancestors, _text(record, "DirectoryRecordType"): record})
            offset = int(record.get("OffsetOfTheNextDirectoryRecord", 0) or 0)

    walk(int(first), {})
    if broken:
        problems.append(Problem(ProblemKind.BROKEN_OFFSETS, where, f"{broken} record offset(s) lead to no record"))
    unreached = [r for r in records if int(getattr(r, "seq_item_tell", -1)) not in visited and _in_use(r)]
    if unreached:
        problems.append(Problem(ProblemKind.UNLINKED_RECORDS, where,
                                f"{len(unreached)} in-use record(s) not linked from the root; read in sequence order"))
        reached = {id(r) for r, _ in out}
        out += [(r, a) for r, a in _in_order(records) if id(r) not in reached]
    return out


def _in_order(records: list[Dataset]) -> list[tuple[Dataset, dict[str, Dataset]]]:
    """Records with their ancestors inferred from sequence order and the PATIENT > STUDY >
    SERIES > instance hierarchy (PS3.3 F.4), for DICOMDIRs whose offsets cannot be followed."""
    out = []
    ancestors: dict[str, Dataset] = {}
    for r in records:
        if not _in_use(r):
            continue
        rtype = _text(r, "DirectoryRecordType")
        level = _HIERARCHY.get(rtype)
        if level is not None:
            ancestors = {k: v for k, v in ancestors.items() if _HIERARCHY.get(k, 9) < level}
            out.append((r, dict(ancestors)))
            ancestors[rtype] = r
        else:
            out.append((r, dict(ancestors)))
    return out


def _file_id(record: Dataset) -> list[str] | None:
    """The Referenced File ID's components (CS, backslash-separated, PS3.10 8.5); writers that
    used ``/`` inside one value are tolerated."""
    if "ReferencedFileID" not in record:
        return None
    value = record["ReferencedFileID"].value
    parts = list(value) if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue" else [value]
    return [c.strip() for p in parts for c in str(p).replace("/", "\\").split("\\") if c.strip() != ""]


def _entry(medium: Medium, base: str, record: Dataset, ancestors: dict[str, Dataset], problems: list[Problem]) -> FileEntry | None:
    components = _file_id(record)
    if components is None:
        return None
    rtype = _text(record, "DirectoryRecordType")
    file_id = "/".join(components)
    if not components:
        problems.append(Problem(ProblemKind.BAD_RECORD, rtype, "empty Referenced File ID"))
        return None
    if any(c in (".", "..") or ":" in c for c in components):
        problems.append(Problem(ProblemKind.OUTSIDE_FILESET, file_id,
                                f"{rtype} record's File ID leaves the File-set (PS3.10 8.5); not read"))
        return None
    path = f"{base}/{file_id}" if base else file_id
    found = medium.lookup(path)
    if found is None:
        if medium.escaped(normalise(path)):
            problems.append(Problem(ProblemKind.OUTSIDE_FILESET, file_id,
                                    f"{rtype} record names a link that leads outside the medium; not read"))
        else:
            uid = _text(record, "ReferencedSOPInstanceUIDInFile")
            problems.append(Problem(ProblemKind.MISSING_FILE, file_id,
                                    f"{rtype} record names a file the medium does not hold" + (f" (SOP Instance {uid})" if uid else "")))
        return None
    patient, study, series = ancestors.get("PATIENT"), ancestors.get("STUDY"), ancestors.get("SERIES")
    if patient is None or study is None or series is None:
        # a DICOMDIR without these levels (records at the root): the file's own header says
        # where it belongs, as the import files it, so the preview groups it the same way
        try:
            header = _header(medium, found.path)
        except (InvalidDicomError, ValueError, EOFError, OSError, KeyError, TypeError):
            header = Dataset()
        patient, study, series = patient or header, study or header, series or header
    return FileEntry(
        path=found.path,
        size=found.size,
        file_id=file_id,
        record_type=rtype,
        **_levels(patient, study, series),
        sop_class_uid=_text(record, "ReferencedSOPClassUIDInFile"),
        sop_instance_uid=_text(record, "ReferencedSOPInstanceUIDInFile"),
        transfer_syntax_uid=_text(record, "ReferencedTransferSyntaxUIDInFile"),
    )


def _header(medium: Medium, path: str) -> Dataset:
    """The header keys of the file at ``path`` (pixel data not read)."""
    with medium.open(path) as fh:
        return pydicom.dcmread(fh, stop_before_pixels=True, specific_tags=_HEADER_TAGS)  # type: ignore[arg-type]


def _levels(patient: Dataset, study: Dataset, series: Dataset) -> dict[str, str]:
    """The patient, study and series keys of a :class:`FileEntry`, from records or a header."""
    return {
        "patient_id": _text(patient, "PatientID"), "issuer_of_patient_id": _text(patient, "IssuerOfPatientID"),
        "patient_name": _text(patient, "PatientName"), "study_instance_uid": _text(study, "StudyInstanceUID"),
        "study_date": _text(study, "StudyDate"), "study_description": _text(study, "StudyDescription"),
        "series_instance_uid": _text(series, "SeriesInstanceUID"), "modality": _text(series, "Modality"),
        "series_number": _text(series, "SeriesNumber"), "series_description": _text(series, "SeriesDescription"),
    }


# -- scanning --------------------------------------------------------------------------------

_HEADER_TAGS = [
    "SpecificCharacterSet", "SOPClassUID", "SOPInstanceUID", "PatientID", "IssuerOfPatientID", "PatientName",
    "StudyInstanceUID", "StudyDate", "StudyDescription", "SeriesInstanceUID", "Modality", "SeriesNumber",
    "SeriesDescription",
]


def is_part10(head: bytes) -> bool:
    """Whether ``head`` starts like a PS3.10 file: 128-byte preamble, then ``DICM`` (PS3.10 7.1)."""
    return len(head) >= 132 and head[128:132] == b"DICM"


def _scan(medium: Medium, problems: list[Problem], progress: Progress | None) -> FileSet:
    """Every file with a PS3.10 preamble, keys from its header (pixel data not read)."""
    files = medium.files()
    entries: list[FileEntry] = []
    not_dicom = 0
    for n, f in enumerate(files, 1):
        if progress is not None:
            progress(n - 1, len(files), f"scanning {f.path}")
        if _is_dicomdir(f):
            continue  # one that could not be read: not an instance either
        try:
            head = medium.head(f.path)
        except OSError as exc:
            problems.append(Problem(ProblemKind.UNREADABLE_FILE, f.path, f"cannot read: {exc}"))
            continue
        if not is_part10(head):
            not_dicom += 1
            continue
        try:
            ds = _header(medium, f.path)
        except (InvalidDicomError, ValueError, EOFError, OSError, KeyError, TypeError) as exc:
            problems.append(Problem(ProblemKind.UNREADABLE_FILE, f.path, f"header not readable: {exc}"))
            continue
        if str(ds.file_meta.get("MediaStorageSOPClassUID", "")) == MEDIA_STORAGE_DIRECTORY:
            continue  # a DICOMDIR under another name
        entries.append(FileEntry(path=f.path, size=f.size, **_levels(ds, ds, ds), sop_class_uid=_text(ds, "SOPClassUID"),
                                 sop_instance_uid=_text(ds, "SOPInstanceUID"),
                                 transfer_syntax_uid=str(ds.file_meta.get("TransferSyntaxUID", ""))))
    if progress is not None:
        progress(len(files), len(files), "scanned")
    return FileSet(medium, entries, problems, scanned=True, not_dicom=not_dicom)


# -- PS3.10 files --------------------------------------------------------------------------------


def split_part10(data: bytes) -> tuple[Dataset, int]:
    """The File Meta Information of a PS3.10 file (group 0002, always Explicit VR Little
    Endian, PS3.10 7.1) and the offset where the data set starts."""
    from pydicom.filereader import read_dataset

    if not is_part10(data[:132]):
        raise ValueError("no DICM preamble")
    pos = 132
    while pos + 8 <= len(data):
        if int.from_bytes(data[pos : pos + 2], "little") != 0x0002:
            break
        vr = data[pos + 4 : pos + 6]
        if vr in (b"OB", b"OW", b"UN", b"SQ", b"UT", b"UC", b"UR", b"OF", b"OD", b"OL", b"OV"):
            pos += 12 + int.from_bytes(data[pos + 8 : pos + 12], "little")
        else:
            pos += 8 + int.from_bytes(data[pos + 6 : pos + 8], "little")
    meta = read_dataset(io.BytesIO(data[132:pos]), is_implicit_VR=False, is_little_endian=True)
    return meta, pos
