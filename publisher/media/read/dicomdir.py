"""Following the records of a DICOMDIR from elsewhere (PS3.3 Annex F, PS3.10 8.5 and 8.6).

Records are followed by their offsets (PS3.3 F.3.2.2: the root's first record, each record's
next sibling and lower-level entity); when the offsets lead nowhere, in sequence order.
"""

from __future__ import annotations

import io
from pathlib import PurePosixPath

import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from publisher.media.read.entries import FileEntry, Problem, ProblemKind, header_keys, key_text, level_keys
from publisher.media.read.medium import Medium, MediumFile, normalise


def is_dicomdir(f: MediumFile) -> bool:
    """Whether ``f`` is named DICOMDIR (PS3.10 8.6), whatever its case or version suffix."""
    return normalise(PurePosixPath(f.path).name) == "dicomdir"


class Unreadable(Exception):
    """The DICOMDIR cannot be read at all (its files are then found by scanning)."""


_HIERARCHY = {"PATIENT": 0, "STUDY": 1, "SERIES": 2}


def read_dicomdir(medium: Medium, dicomdir: MediumFile, problems: list[Problem]) -> tuple[str, list[FileEntry]]:
    """(File-set ID, entries) of one DICOMDIR; problems of its records go to ``problems``."""
    try:
        with medium.open(dicomdir.path) as fh:
            raw = io.BytesIO(fh.read())
        ds = pydicom.dcmread(raw, force=True)
        records = list(ds.DirectoryRecordSequence)
    except Exception as exc:  # pydicom raises many kinds on damaged files
        raise Unreadable(f"{exc.__class__.__name__}: {exc}") from None
    if not records:
        raise Unreadable("the DICOMDIR holds no directory records (PS3.3 F.3.2.1)")
    base = str(PurePosixPath(dicomdir.path).parent)
    base = "" if base == "." else base
    tree = _linked(ds, records, dicomdir.path, problems)
    entries: list[FileEntry] = []
    for record, ancestors in tree:
        entry = _entry(medium, base, record, ancestors, problems)
        if entry is not None:
            entries.append(entry)
    return key_text(ds, "FileSetID"), entries


def _in_use(record: Dataset) -> bool:
    """PS3.3 F.3.2.2 (retired Record In-use Flag): 0000H marks an inactive record."""
    return bool(record.get("RecordInUseFlag", 0xFFFF) != 0)


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
                    walk(lower, {**ancestors, key_text(record, "DirectoryRecordType"): record})
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
        rtype = key_text(r, "DirectoryRecordType")
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
    rtype = key_text(record, "DirectoryRecordType")
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
            uid = key_text(record, "ReferencedSOPInstanceUIDInFile")
            problems.append(Problem(ProblemKind.MISSING_FILE, file_id,
                                    f"{rtype} record names a file the medium does not hold" + (f" (SOP Instance {uid})" if uid else "")))
        return None
    patient, study, series = ancestors.get("PATIENT"), ancestors.get("STUDY"), ancestors.get("SERIES")
    if patient is None or study is None or series is None:
        # a DICOMDIR without these levels (records at the root): the file's own header says
        # where it belongs, as the import files it, so the preview groups it the same way
        try:
            header = header_keys(medium, found.path)
        except (InvalidDicomError, ValueError, EOFError, OSError, KeyError, TypeError):
            header = Dataset()
        patient, study, series = patient or header, study or header, series or header
    return FileEntry(
        path=found.path,
        size=found.size,
        file_id=file_id,
        record_type=rtype,
        **level_keys(patient, study, series),
        sop_class_uid=key_text(record, "ReferencedSOPClassUIDInFile"),
        sop_instance_uid=key_text(record, "ReferencedSOPInstanceUIDInFile"),
        transfer_syntax_uid=key_text(record, "ReferencedTransferSyntaxUIDInFile"),
    )
