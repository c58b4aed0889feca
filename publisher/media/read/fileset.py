"""The File-set on a medium from elsewhere: through its DICOMDIR(s), else by scanning every file."""

from __future__ import annotations

from pydicom.errors import InvalidDicomError

from publisher.dicomio.part10 import MEDIA_STORAGE_DIRECTORY, is_part10
from publisher.media.read.dicomdir import Unreadable, is_dicomdir, read_dicomdir
from publisher.media.read.entries import FileEntry, FileSet, Problem, ProblemKind, header_keys, key_text, level_keys
from publisher.media.read.medium import Medium
from publisher.progress import Progress


def read_fileset(medium: Medium, *, progress: Progress | None = None) -> FileSet:
    """The File-set on ``medium``: through its DICOMDIR(s), else by scanning every file.

    The DICOMDIR at the root is used; when there is none there, the shallowest ones below
    (a File-set copied into a folder of the disc). File IDs are relative to the folder holding
    the DICOMDIR (PS3.10 8.6). An unreadable DICOMDIR, or one none of whose files is found, is
    reported and the files scanned.
    """
    found = [f for f in medium.files() if is_dicomdir(f)]
    problems: list[Problem] = []
    if found:
        depth = min(f.path.count("/") for f in found)
        dicomdirs = [f for f in found if f.path.count("/") == depth]
        entries: list[FileEntry] = []
        ids: list[str] = []
        read: list[str] = []
        for d in dicomdirs:
            try:
                fs_id, more = read_dicomdir(medium, d, problems)
            except Unreadable as exc:
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


def _scan(medium: Medium, problems: list[Problem], progress: Progress | None) -> FileSet:
    """Every file with a PS3.10 preamble, keys from its header (pixel data not read)."""
    files = medium.files()
    entries: list[FileEntry] = []
    not_dicom = 0
    for n, f in enumerate(files, 1):
        if progress is not None:
            progress(n - 1, len(files), f"scanning {f.path}")
        if is_dicomdir(f):
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
            ds = header_keys(medium, f.path)
        except (InvalidDicomError, ValueError, EOFError, OSError, KeyError, TypeError) as exc:
            problems.append(Problem(ProblemKind.UNREADABLE_FILE, f.path, f"header not readable: {exc}"))
            continue
        if str(ds.file_meta.get("MediaStorageSOPClassUID", "")) == MEDIA_STORAGE_DIRECTORY:
            continue  # a DICOMDIR under another name
        entries.append(FileEntry(path=f.path, size=f.size, **level_keys(ds, ds, ds), sop_class_uid=key_text(ds, "SOPClassUID"),
                                 sop_instance_uid=key_text(ds, "SOPInstanceUID"),
                                 transfer_syntax_uid=str(ds.file_meta.get("TransferSyntaxUID", ""))))
    if progress is not None:
        progress(len(files), len(files), "scanned")
    return FileSet(medium, entries, problems, scanned=True, not_dicom=not_dicom)
