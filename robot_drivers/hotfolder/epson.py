"""Epson Discproducer (PP-100 series) through TD Bridge job files (``.JDF``).

Sources: "TD Bridge Technical Reference Guide", PP-100N edition (M00009302 Rev.C: "Setting
Item List" pp. 41-45, data discs p. 46, "STF File" pp. 61-62, "Error Codes and Remedies"
p. 65) and PP-100II edition (Rev.L: life cycle pp. 7-9, recording formats p. 50, STF file
pp. 74-76, JCF file p. 97). docs/robots.md has the table of every key we write and read.

``<JOB_ID>.JDF`` (``KEY=value``: keys are case sensitive, a key with spaces around it is
invalid, the value runs to the end of the line) -> ``.RJD`` received -> ``.INP`` ->
``.STP`` while paused (e.g. a cover open; resumes when cleared) -> ``.DON`` or ``.ERR``.
``TDBStatus.txt`` (the STF file) is rewritten every five seconds: ``[ACTIVE_JOB]``,
``[COMPLETE_JOB]``, a section per job (``STATUS`` 1 standby, 2 processing, 3 paused,
4 completed, 5 completed abnormally, 6 not accepted; ``COMPLETION_NUMBER``,
``ERRORDISC_NUMBER``, ``ERROR``) and ``[PUBLISHER<N>]`` (``NAME``, ``STACKER1-4``, ``INK_*``).
A ``.JCF`` file (``[CANCEL]`` / ``JOB_ID=``) cancels a job: answered ``.CDN`` or ``.CER``,
and the cancelled job's ``.INP`` becomes ``.DON``.

TD Bridge has no key for a pre-mastered image: a data disc is given as files (``DATA=`` a
folder as the TD Bridge PC sees it) and a file system (``FORMAT``), so the driver unpacks our
image into a folder of the job share and lets TD Bridge write that tree.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pycdlib

from robot_drivers import errors
from robot_drivers.hotfolder.files import as_int, parse_sections, read_text, suffixes, write_atomic
from robot_drivers.hotfolder.job import HotFolderRobot, Observed, State
from robot_drivers.hotfolder.job import label_template as label_template_of
from robot_drivers.model import BurnRequest, Blank, RobotStatus

#: ERROR codes TD Bridge documents (PP-100N edition, p. 65: before a job is accepted)
ERRORS: dict[str, tuple[str, type[errors.RobotError]]] = {
    "SYS001": ("accepting the job failed", errors.JobRejected),
    "SYS002": ("communication error with the publishing machine", errors.RobotOffline),
    "SYS003": ("the publishing machine's HDD does not have enough space", errors.JobRejected),
    "JDF0100": ("the JOB_ID already exists", errors.JobRejected),
    "JDF0101": ("the JOB_ID is longer than 40 characters", errors.JobRejected),
    "JDF0102": ("the JOB_ID has characters other than A-Z, a-z, 0-9, - and _", errors.JobRejected),
    "JDF0200": ("the PUBLISHER is not registered in EPSON Total Disc Setup", errors.JobRejected),
    "JDF0201": ("several publishers are registered and none is chosen", errors.JobRejected),
    "JDF0202": ("the PUBLISHER is in an unsupported mode", errors.JobRejected),
    "JDF0203": ("no publisher is registered", errors.JobRejected),
    "JDF0300": ("COPIES exceeds the publisher's limit in its mode", errors.JobRejected),
    "JDF0400": ("OUT_STACKER is not 2 or 4", errors.JobRejected),
    "JDF0500": ("the DISC_TYPE differs from the disc type set for the source stacker", errors.EmptyInputBin),
    "JDF0501": ("DISC_TYPE is missing", errors.JobRejected),
    "JDF0502": ("DISC_TYPE is not CD, DVD or DVD-DL", errors.JobRejected),
    "JDF0600": ("WRITING_SPEED is not a number", errors.JobRejected),
    "JDF0700": ("COMPARE is not YES or NO", errors.JobRejected),
}

#: DISC_TYPE values (p. 65, JDF0502); TD Bridge documents no Blu-ray value for these models
DISC_TYPES = {Blank.CD_R: "CD", Blank.DVD_R: "DVD", Blank.DVD_R_DL: "DVD-DL"}
#: FORMAT values (PP-100II edition p. 50, "Recording Formats and Restrictions")
FORMATS = ("ISO9660L2", "Joliet", "UDF102", "UDF150", "UDF102_BRIDGE", "UDF260")
#: the FORMAT closest to the image we master for each medium (media/iso.py): ISO 9660 + Joliet
#: for CD (PS3.12 Annex F), UDF bridged with ISO 9660 for DVD (Annex P)
DEFAULT_FORMAT = {"CD": "Joliet", "DVD": "UDF102_BRIDGE", "DVD-DL": "UDF102_BRIDGE"}


def unpack_image(image: Path, target: Path) -> None:
    """Copy the file tree of ``image`` (Joliet names when present, else ISO 9660) into ``target``."""
    iso = pycdlib.PyCdlib()
    iso.open(str(image))
    try:
        facade = iso.get_joliet_facade() if iso.has_joliet() else iso.get_iso9660_facade()
        for here, _dirs, files in facade.walk("/"):
            folder = target.joinpath(*[p for p in here.split("/") if p])
            folder.mkdir(parents=True, exist_ok=True)
            for name in files:
                local = name.split(";")[0].rstrip(".") if not iso.has_joliet() else name
                facade.get_file_from_iso(str(folder / local), f"{here.rstrip('/')}/{name}")
    finally:
        iso.close()


class EpsonTDBridge(HotFolderRobot):
    """Driver of an Epson Discproducer via TD Bridge (see the module docstring)."""

    kind = "epson"
    title = "TD Bridge"
    id_length = 40  # JOB_ID: 40 characters of A-Za-z0-9-_ (p. 41)

    def __init__(self, name: str | None = None, *, publisher: str = "", file_system: str = "",
                 out_stacker: int | None = None, label_template: str = "", **kw: Any) -> None:
        kw.setdefault("offline_after", 20.0)  # the STF file is rewritten every 5 s (p. 61)
        super().__init__(name, **kw)
        if len(publisher) > 64:
            raise ValueError(f"TD Bridge PUBLISHER {publisher!r}: at most 64 characters (p. 41)")
        self.publisher = publisher
        if file_system and file_system not in FORMATS:
            raise ValueError(f"TD Bridge FORMAT {file_system!r}: one of {', '.join(FORMATS)}")
        self.file_system = file_system
        if out_stacker not in (None, 2, 4):
            raise ValueError(f"TD Bridge OUT_STACKER {out_stacker}: 2 or 4 (p. 65, JDF0400)")
        self.out_stacker = out_stacker
        self.label_template = label_template_of(label_template, ".tdd", "TD Bridge prints a .tdd design "
                                                                        "made in EPSON Total Disc Maker (LABEL, p. 39)")

    @property
    def status_file(self) -> Path:
        return self.job_folder / "TDBStatus.txt"  # p. 61

    def max_copies(self) -> int:
        return 1000  # standard mode; less with external output (JDF0300)

    def disc_type(self, media: Blank) -> str | None:
        try:
            return DISC_TYPES[media]
        except KeyError:
            raise ValueError(f"TD Bridge documents DISC_TYPE=CD, DVD or DVD-DL only (JDF0502), "
                             f"no value for {media.value}") from None

    def prints(self) -> bool:
        """TD Bridge prints a Total Disc Maker .tdd design only (its format is not public)."""
        return bool(self.label_template)

    # -- status ----------------------------------------------------------------------------------
    def alive_marker(self) -> str | None:
        try:
            return str(os.stat(self.status_file).st_mtime_ns)
        except FileNotFoundError:
            return None

    def _sections(self) -> dict[str, dict[str, str]]:
        return parse_sections(read_text(self.status_file) or "")

    def status(self) -> RobotStatus:
        sections = self._sections()
        if not sections.get("ACTIVE_JOB") and not any(s.startswith("PUBLISHER") for s in sections):
            raise errors.RobotOffline(self.offline_message(None))
        pubs = [v for k, v in sections.items() if k.startswith("PUBLISHER")]
        pub = next((p for p in pubs if self.publisher and p.get("NAME") == self.publisher), pubs[0] if pubs else {})
        ink = {k[4:]: v for k, v in ((k, as_int(v)) for k, v in pub.items()) if k.startswith("INK_") and v is not None}
        return RobotStatus(online=True, input_bins=(as_int(pub.get("STACKER1")),),
                           output_bin=as_int(pub.get("STACKER2")), ink_percent=ink, raw=dict(pub))

    # -- the job file ----------------------------------------------------------------------------
    def job_file(self, req: BurnRequest, attempt: str) -> str:
        """The ``.JDF`` text for ``attempt`` (the image unpacked, paths mapped)."""
        disc_type = self.disc_type(req.media)
        assert disc_type is not None
        folder = self.share.staging(attempt) / "DISC"
        unpack_image(req.image_path, folder)
        lines = ["# disc publisher job", f"JOB_ID={attempt}"]
        if self.publisher:
            lines.append(f"PUBLISHER={self.publisher}")
        lines += [f"COPIES={req.copies}", f"DISC_TYPE={disc_type}",
                  f"FORMAT={self.file_system or DEFAULT_FORMAT[disc_type]}",
                  f"DATA={self.share.visible(folder, attempt, 'disc folder')[0]}",
                  f"VOLUME_LABEL={req.volume_name[:16]}", f"COMPARE={'YES' if req.verify else 'NO'}"]
        if self.out_stacker:
            lines.append(f"OUT_STACKER={self.out_stacker}")
        if req.speed:
            lines.append(f"WRITING_SPEED={int(req.speed)}")
        if self.label_template and req.label is not None:
            template = self.share.map.robot_path(Path(self.label_template)) or self.label_template
            lines.append(f"LABEL={template}")
            if req.label.merge_fields:
                merge = self.share.staging(attempt) / "MERGE.DAT"
                write_atomic(merge, "\n".join(" ".join(v.split()) for v in req.label.merge_fields) + "\n",
                             encoding="cp1252")
                lines.append(f"REPLACE_FIELD={self.share.visible(merge, attempt, 'merge data')[0]}")
        return "\n".join(lines) + "\n"

    def submit(self, req: BurnRequest, attempt: str) -> None:
        write_atomic((self.job_folder / attempt).with_suffix(".JDF"), self.job_file(req, attempt), encoding="cp1252")

    def send_cancel(self, req: BurnRequest, attempt: str) -> None:
        """``<JOB_ID>.JCF``: ``[CANCEL]`` / ``JOB_ID=`` (PP-100II edition p. 97)."""
        write_atomic((self.job_folder / attempt).with_suffix(".JCF"), f"[CANCEL]\nJOB_ID={attempt}\n")

    # -- the job's state -------------------------------------------------------------------------
    def observe(self, req: BurnRequest, attempt: str) -> Observed:
        present = suffixes(self.job_folder, attempt)
        job = self._sections().get(attempt, {})
        status = as_int(job.get("STATUS"))
        published = max(as_int(job.get("COMPLETION_NUMBER")) or 0, 0)
        bad = max(as_int(job.get("ERRORDISC_NUMBER")) or 0, 0)
        good = max(published - bad, 0)  # abnormal discs are among the published ones (pp. 75-76)
        code = job.get("ERROR", "")
        rejects = (f"TD Bridge ERROR {code}",) * bad if code else ()
        if ".ERR" in present or status in (5, 6):
            if status not in (5, 6) and not code:  # the status of the .ERR not written yet
                return Observed(State.RUNNING, good, bad)
            text, cls = ERRORS.get(code, ("", errors.RobotError))
            what = f"{code}: {text}" if text else (f"ERROR {code} (not in the guide's table)" if code else "no error code")
            verb = "refused" if status == 6 else "failed"
            return Observed(State.FAILED, good, bad, rejects,
                            error=cls(f"TD Bridge {verb} job {attempt}: {what}", code=code or None))
        if ".DON" in present:
            return Observed(State.DONE, good, bad, rejects)
        if ".STP" in present or status == 3:
            return Observed(State.PAUSED, good, bad, rejects, code=code or None,
                            message=f"TD Bridge paused the job (STATUS=3{', ERROR=' + code if code else ''}): "
                                    f"a cover open, or paused in Total Disc Monitor")
        return Observed(State.RUNNING if status == 2 else State.PENDING, good, bad, rejects)
