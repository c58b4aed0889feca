"""TD Bridge (issue 17, acceptance 1, 2 and 4 for Epson): our JDF holds only keys of the TD
Bridge Technical Reference Guide and is accepted by the simulator built from it; what the old
driver wrote is refused with the guide's error codes; a pause (``.STP``) is reported and the
job resumes when it is cleared; a cancel ends the burn cancelled, though TD Bridge ends the
job ``.DON``."""
from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from robot_drivers import Bin, JobCancelled, JobRejected, LabelSpec, Blank, RobotPaused, Shortfall
from robot_drivers.model import Fault
from robot_drivers.sim.epson import parse_jdf
from tests.support.robot_rigs import TDBRIDGE_SHARE, cancelled_midway, files_digest, tdbridge, until

#: JDF keys a default burn writes, with the guide's page and allowed values (PP-100N edition)
DOCUMENTED = {
    "JOB_ID": "p. 41: 40 characters of A-Z a-z 0-9 - _, not used before (JDF0100-0102)",
    "COPIES": "p. 41: 1 to 1,000 in standard mode (JDF0300)",
    "DISC_TYPE": "p. 65: CD | DVD | DVD-DL (JDF0500-0502)",
    "FORMAT": "PP-100II p. 50: ISO9660L2 | Joliet | UDF102 | UDF150 | UDF102_BRIDGE | UDF260",
    "DATA": "p. 46: a folder as the TD Bridge PC sees it, its contents go on the disc",
    "VOLUME_LABEL": "p. 39: the volume label",
    "COMPARE": "p. 65: YES | NO (JDF0700)",
    "LABEL": "p. 39: a .tdd design made in Total Disc Maker",
    "REPLACE_FIELD": "p. 39: the merge-print data file",
}




def test_default_job_holds_documented_keys_only_and_is_accepted(tmp_path: Path, iso_image: Path,
                                                                 label_file: Path) -> None:
    sim, robot = tdbridge(tmp_path)
    try:
        robot.check()  # start-up: the share is writable and TDBStatus.txt is rewritten
        label = LabelSpec(file=label_file, merge_fields=("DOE^JANE", "12345", "disc 1 of 1"))
        result = robot.burn(iso_image, 2, label=label, job_id="J000001V1")
        text = (sim.folder / f"{result.job_id}.DON").read_text(encoding="cp1252")
        keys, invalid = parse_jdf(text)
        assert not invalid and sim.ignored == [], "no line TD Bridge would ignore"
        assert {k for k, _ in keys} == set(DOCUMENTED)
        values = dict(keys)
        assert "PUBLISHER" not in values, "not configured: TD Bridge uses its own default (p. 41)"
        assert "WRITING_SPEED" not in values, "maximum speed: the key is left out, never MAX"
        assert values["FORMAT"] == "Joliet" and values["DISC_TYPE"] == "CD"
        assert values["DATA"].startswith(TDBRIDGE_SHARE + "\\") and values["LABEL"].endswith(".tdd")
        assert len(values["JOB_ID"]) <= 40 and sim.sections[result.job_id]["STATUS"] == 4
        want = files_digest(iso_image, tmp_path)  # the files on the disc are the image's files
        assert [(r.sha256, r.bin) for r in sim.ledger.records] == [(want, Bin.OUTPUT)] * 2
    finally:
        sim.close()


def _submit_raw(sim: object, name: str, text: str) -> str:
    folder: Path = sim.folder  # type: ignore[attr-defined]
    (folder / f"{name}.JDF").write_text(text, encoding="cp1252", newline="\r\n")
    until(f"{name} to be taken", lambda: (folder / f"{name}.ERR").exists() or (folder / f"{name}.INP").exists()
           or (folder / f"{name}.DON").exists())
    return str(sim.sections.get(name, {}).get("ERROR", "")) if (folder / f"{name}.ERR").exists() else "accepted"  # type: ignore[attr-defined]


def test_old_driver_jobs_are_refused_with_the_guides_codes(tmp_path: Path, iso_image: Path) -> None:
    sim, _robot = tdbridge(tmp_path)
    try:
        data = sim.folder / "old"
        (data / "DICOM").mkdir(parents=True)
        (data / "DICOMDIR").write_bytes(b"x")
        ok = f"DISC_TYPE=CD\nFORMAT=Joliet\nDATA={TDBRIDGE_SHARE}\\old\n"
        # the old default: WRITING_SPEED=MAX where a number is required -> JDF0600
        assert _submit_raw(sim, "A1", f"JOB_ID=A1\n{ok}WRITING_SPEED=MAX\n") == "JDF0600"
        # the old PUBLISHER: the status file's section name, not the registered name -> JDF0200
        assert _submit_raw(sim, "A2", f"JOB_ID=A2\nPUBLISHER=PUBLISHER1\n{ok}") == "JDF0200"
        # a reused JOB_ID (the old driver resubmitted the same one) -> JDF0100
        assert _submit_raw(sim, "A3", f"JOB_ID=A3\n{ok}COPIES=1\n") == "accepted"
        until("A3 done", lambda: (sim.folder / "A3.DON").exists())
        assert _submit_raw(sim, "A3B", f"JOB_ID=A3\n{ok}") == ""  # the .ERR of the refused file ...
        assert sim.sections["A3"]["ERROR"] == "JDF0100"  # ... and the code for its JOB_ID
        assert (sim.folder / "A3.DON").exists(), "the finished job's file stays (log folder after 1-2 h)"
        # FORMAT=IMAGE + IMAGE= is in no manual: IMAGE is ignored, the FORMAT refused (STATUS=6)
        assert _submit_raw(sim, "A4", f"JOB_ID=A4\nDISC_TYPE=CD\nFORMAT=IMAGE\nIMAGE={iso_image}\n") == ""
        assert sim.sections["A4"]["STATUS"] == 6 and "A4.JDF: IMAGE" in sim.ignored
        # a local path the TD Bridge PC cannot see, and a PNG label: refused (STATUS=6, no code found)
        assert _submit_raw(sim, "A5", f"JOB_ID=A5\nDISC_TYPE=CD\nDATA={data}\n") == ""
        assert _submit_raw(sim, "A6", f"JOB_ID=A6\n{ok}LABEL={TDBRIDGE_SHARE}\\old\\DICOMDIR\n") == ""
        # lower case keys are invalid commands (p. 41), ignored
        assert _submit_raw(sim, "A7", f"JOB_ID=A7\n{ok}copies=2\n") == "accepted"
        assert "A7.JDF: copies=2" in sim.ignored
    finally:
        sim.close()


def test_a_shortfall_fails_the_burn_naming_the_missing_copies(tmp_path: Path, iso_image: Path) -> None:
    sim, robot = tdbridge(tmp_path)
    try:
        sim.inject(Fault.DRIVE_FAILURE)  # one disc ends abnormally; TD Bridge does not remake it
        with pytest.raises(Shortfall, match=r"2 good disc\(s\) of 3: 1 missing, 1 rejected") as info:
            robot.burn(iso_image, 3)
        assert [d.ok for d in info.value.discs] == [True, True, False]
    finally:
        sim.close()


def test_pause_is_waiting_for_the_operator_and_resumes(tmp_path: Path, iso_image: Path) -> None:
    """Acceptance 4, first half: .STP is a pause; the job goes on when the cover is closed."""
    sim, robot = tdbridge(tmp_path, operator_timeout=0.0)
    heard: list[str] = []
    out: list[object] = []
    try:
        sim.inject(Fault.COVER_OPEN)
        t = threading.Thread(target=lambda: out.append(robot.burn(iso_image, 2, notify=heard.append)))
        t.start()
        until("the pause", lambda: any(sim.folder.glob("*.STP")) and bool(heard))
        assert heard[0].startswith("waiting for the operator: TD Bridge paused the job (STATUS=3")
        time.sleep(0.2)  # longer than the rig's operator_timeout elsewhere: here it waits
        assert t.is_alive() and not out
        sim.clear()  # the cover is closed
        t.join(60)
        assert out and getattr(out[0], "good", 0) == 2
        assert "resumed" in heard
        assert not any(sim.folder.glob("*.STP")) and len(list(sim.folder.glob("*.DON"))) == 1
    finally:
        sim.close()


def test_cancel_ends_cancelled_not_done(tmp_path: Path, iso_image: Path) -> None:
    """Acceptance 4, second half: TD Bridge ends a cancelled job .DON with STATUS=4; the burn
    ends JobCancelled with the copies made so far."""
    sim, robot = tdbridge(tmp_path)
    try:
        sim.disc_seconds = 2000
        error = cancelled_midway(robot, sim, iso_image, "J000009V1")
        assert isinstance(error, JobCancelled), error
        (done,) = sim.folder.glob("J000009V1-*.DON")
        assert sim.sections[done.stem]["STATUS"] == 4  # what TD Bridge says: "completed"
        assert list(sim.folder.glob("J000009V1-*.CDN")), "the cancel was answered"
        assert len(error.discs) < 40  # type: ignore[attr-defined]
    finally:
        sim.close()


def test_paused_too_long_stops_the_job(tmp_path: Path, iso_image: Path) -> None:
    sim, robot = tdbridge(tmp_path)  # the rig's operator_timeout: 0.3 s
    try:
        sim.inject(Fault.COVER_OPEN)
        with pytest.raises(RobotPaused, match="not cleared within 0.3 s"):
            robot.burn(iso_image, 1)
    finally:
        sim.close()


def test_media_tdbridge_cannot_name_is_refused_clearly(tmp_path: Path, iso_image: Path) -> None:
    with pytest.raises(ValueError, match="DISC_TYPE=CD, DVD or DVD-DL only"):
        tdbridge(tmp_path / "a", media_types=["CD-R", "BD-R"])
    sim, robot = tdbridge(tmp_path / "b", media_types=["CD-R", "DVD-R"])
    try:
        with pytest.raises(JobRejected, match="no value for BD-R DL"):
            robot.burn(iso_image, 1, media=Blank.BD_R_DL)
    finally:
        sim.close()
