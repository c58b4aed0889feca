"""PTBurn (issue 17, acceptance 1-3 for Primera): the job request our driver writes holds only
keys of the PTBurn 3 SDK manual with values in its ranges, and the simulator (built from that
manual) accepts it; what the old driver wrote is refused with the manual's job errors; a stale
``.DON`` of an earlier attempt is never taken for this one's; missing copies fail the burn."""
from __future__ import annotations

import threading
from pathlib import Path

import pytest
from PIL import Image

from robot_drivers import (Bin, CoverOpen, JobCancelled, JobRejected, LabelSpec, Blank, PathNotVisible,
                           PrinterFailure, RobotError, RobotOffline, Shortfall)
from robot_drivers.model import Fault
from robot_drivers.sim.primera import parse_request
from robot_drivers.hotfolder.primera import PrimeraPTBurn
from tests.support.robot_rigs import HOT, PTBURN_SHARE, cancelled_midway, ptburn, until

#: JRQ keys a default burn writes, with the manual's section (Rev 3.24) and allowed values
DOCUMENTED = {
    "JobID": "2.1.1: up to 32 characters",
    "ClientID": "2.1.2: up to 32 characters",
    "ImageFile": "2.1.6: an already-mastered .GI or .ISO image, path as PTBurn's PC sees it",
    "ImageType": "2.1.8: MODE_1_2048 | MODE_2_2336 | MODE_2_2352",
    "DeleteFiles": "2.1.7: YES | NO",
    "Copies": "2.1.11: 1 to 10,000",
    "VerifyDisc": "2.1.15: YES | NO",
    "RejectIfNotBlank": "2.1.16: YES | NO",
    "PrintLabel": "2.1.12: .STD, .jpg, .bmp or .PRN",
}




def _finished_request(folder: Path, attempt: str) -> dict[str, str]:
    """The job request as PTBurn keeps it after the job (renamed .DON)."""
    return dict(parse_request((folder / f"{attempt}.DON").read_text(encoding="cp1252")))


def test_default_job_holds_documented_keys_only_and_is_accepted(tmp_path: Path, iso_image: Path,
                                                                 label_file: Path) -> None:
    sim, robot = ptburn(tmp_path)
    try:
        robot.check()  # start-up: the share is writable and ServerTickCount moves
        result = robot.burn(iso_image, 2, label=LabelSpec(file=label_file), job_id="J000001V1")
        keys = _finished_request(sim.folder, result.job_id)
        assert set(keys) == set(DOCUMENTED), "every key written is a documented one"
        assert sim.ignored == [], "the simulator ignored nothing"
        assert len(keys["JobID"]) <= 32 and keys["JobID"] == result.job_id != "J000001V1"
        assert keys["ImageFile"].startswith(PTBURN_SHARE + "\\") and keys["ImageFile"].upper().endswith(".ISO")
        assert keys["PrintLabel"].upper().endswith(".JPG") and keys["DeleteFiles"] == "YES"
        assert 1 <= int(keys["Copies"]) <= 10000 and keys["ImageType"] == "MODE_1_2048"
        assert [r.bin for r in sim.ledger.records] == [Bin.OUTPUT] * 2
        printed = Path(sim.ledger.records[0].label or "")
        with Image.open(printed) as img:
            assert img.format == "JPEG"  # PTBurn prints JPEG or BMP, not our PNG
        assert not (sim.folder / result.job_id).exists(), "the staged files are gone after the job"
    finally:
        sim.close()


def _submit_raw(sim: object, name: str, text: str) -> None:
    folder: Path = sim.folder  # type: ignore[attr-defined]
    (folder / f"{name}.JRQ").write_text(text, encoding="cp1252", newline="\r\n")


def _job_error(sim: object, name: str) -> int:
    folder: Path = sim.folder  # type: ignore[attr-defined]
    until(f"{name} to end", lambda: (folder / f"{name}.ERR").exists() or (folder / f"{name}.DON").exists())
    assert (folder / f"{name}.ERR").exists()
    return int(sim.sections[name]["JobErrorNumber"])  # type: ignore[attr-defined]


def test_old_driver_requests_are_refused_with_the_manuals_errors(tmp_path: Path, iso_image: Path,
                                                                 label_file: Path) -> None:
    sim, _robot = ptburn(tmp_path)
    try:
        staged = sim.folder / "old"
        staged.mkdir()
        (staged / "study.iso").write_bytes(iso_image.read_bytes())
        (staged / "label.png").write_bytes(label_file.read_bytes())
        # the old driver: a local Linux path PTBurn's PC cannot open -> error 4 (invalid files)
        _submit_raw(sim, "OLD1", f"JobID=OLD1\nClientID=PUBLISHER\nImageFile={iso_image}\nCopies=1\n")
        assert _job_error(sim, "OLD1") == 4
        # the old driver's PNG label (on a path PTBurn can see) -> error 7 (print file invalid)
        _submit_raw(sim, "OLD2", f"JobID=OLD2\nImageFile={PTBURN_SHARE}\\old\\study.iso\nCopies=1\n"
                                 f"PrintLabel={PTBURN_SHARE}\\old\\label.png\n")
        assert _job_error(sim, "OLD2") == 7
        # DiscType is no 3.x key: ignored; Copies beyond the manual's range -> error 8
        _submit_raw(sim, "OLD3", f"JobID=OLD3\nImageFile={PTBURN_SHARE}\\old\\study.iso\nCopies=20000\nDiscType=CD\n")
        assert _job_error(sim, "OLD3") == 8
        assert "OLD3.JRQ: DiscType" in sim.ignored
    finally:
        sim.close()


def test_a_path_the_robot_pc_cannot_see_is_refused_by_the_driver(tmp_path: Path, iso_image: Path) -> None:
    sim, robot = ptburn(tmp_path, stage=False)
    try:
        with pytest.raises(PathNotVisible, match="outside every folder the robot's PC can see"):
            robot.burn(iso_image, 1)
    finally:
        sim.close()


def test_stale_done_of_an_earlier_attempt_is_not_this_attempts_result(tmp_path: Path, iso_image: Path,
                                                                      label_file: Path) -> None:
    """PTBurn keeps .DON until Status_Time expires (2.1.7): a second attempt of the same job must
    report its own outcome, here a failure, not the first attempt's success."""
    sim, robot = ptburn(tmp_path)
    try:
        first = robot.burn(iso_image, 1, job_id="J000002V1")
        assert (sim.folder / f"{first.job_id}.DON").exists()
        sim.inject(Fault.PRINTER_FAILURE)  # ink low: the robot pauses, nobody comes
        with pytest.raises(PrinterFailure, match="ink low") as info:
            robot.burn(iso_image, 1, label=LabelSpec(file=label_file), job_id="J000002V1")
        assert (sim.folder / f"{first.job_id}.DON").exists(), "the stale .DON is still there"
        assert info.value.code == "5"
    finally:
        sim.close()


def test_fewer_good_discs_than_copies_is_a_shortfall(tmp_path: Path, iso_image: Path) -> None:
    sim, robot = ptburn(tmp_path, sim_retry_rejects=False)
    try:
        sim.inject(Fault.DRIVE_FAILURE)
        with pytest.raises(Shortfall, match=r"2 good disc\(s\) of 3: 1 missing, 1 rejected \(disc 1: error 18") as info:
            robot.burn(iso_image, 3)
        assert [d.ok for d in info.value.discs] == [True, True, False]
    finally:
        sim.close()


def test_rejected_disc_is_remade_and_reported(tmp_path: Path, iso_image: Path) -> None:
    sim, robot = ptburn(tmp_path)
    try:
        sim.inject(Fault.VERIFY_FAILURE)
        result = robot.burn(iso_image, 2)
        assert result.good == 2 and [d.error for d in result.discs if not d.ok] == [
            "disc 1: error 19, error verifying the disc"]
    finally:
        sim.close()


def test_unknown_system_error_is_reported_with_number_and_text_then_mapped(tmp_path: Path, iso_image: Path) -> None:
    sim, robot = ptburn(tmp_path)
    try:
        sim.system_error(42, "Cover open")  # a number the public manual does not list
        with pytest.raises(RobotError, match=r"system error 42: Cover open \(not in our table\)") as info:
            robot.burn(iso_image, 1)
        assert type(info.value).__name__ == "RobotError" and info.value.code == "42"
        # once checked on the device, the admin maps the number: [robot.system_errors] 42 = "cover_open"
        mapped = PrimeraPTBurn(job_folder=sim.folder, robot_job_folder=PTBURN_SHARE, lock_dir=tmp_path / "locks",
                               system_errors={"42": "cover_open"}, **HOT)
        with pytest.raises(CoverOpen, match="cover open"):
            mapped.burn(iso_image, 1)
    finally:
        sim.close()


def test_pause_is_reported_and_the_job_resumes(tmp_path: Path, iso_image: Path) -> None:
    sim, robot = ptburn(tmp_path, operator_timeout=0.0)
    heard: list[str] = []
    try:
        sim.inject(Fault.PRINTER_FAILURE)
        label = tmp_path / "l.png"
        Image.new("RGB", (8, 8)).save(label)
        out: list[object] = []
        t = threading.Thread(target=lambda: out.append(robot.burn(iso_image, 1, label=LabelSpec(file=label),
                                                                    notify=heard.append)))
        t.start()
        until("the operator to be called", lambda: any(m.startswith("waiting for the operator") for m in heard))
        sim.clear()
        t.join(60)
        assert out and getattr(out[0], "good", 0) == 1
        assert "resumed" in heard and "ink low" in heard[0]
    finally:
        sim.close()


def test_cancel_aborts_with_the_jobs_client_id(tmp_path: Path, iso_image: Path) -> None:
    sim, robot = ptburn(tmp_path)
    try:
        sim.disc_seconds = 1200  # long enough to cancel during the job
        assert isinstance(cancelled_midway(robot, sim, iso_image, "J000003V1", 50), JobCancelled)
        assert any(sim.folder.glob("J000003V1-*.ERR"))  # PTBurn ends an aborted job .ERR, error 16
        assert not robot.cancel("J000003V1"), "nothing runs any more"
    finally:
        sim.close()


def test_offline_ptburn_is_named_at_start_up(tmp_path: Path) -> None:
    sim, robot = ptburn(tmp_path)
    try:
        sim.inject(Fault.OFFLINE)
        ticks: list[int] = []
        until("PTBurn to stop ticking", lambda: ticks.append(sim.tick) or ticks[-3:] == [sim.tick] * 3, poll=0.05)
        with pytest.raises(RobotOffline, match="has not changed"):
            robot.check()
    finally:
        sim.close()


def test_media_is_what_the_bins_hold(tmp_path: Path, iso_image: Path) -> None:
    sim, robot = ptburn(tmp_path, media_types=["CD-R"])
    try:
        with pytest.raises(JobRejected, match="set up for CD-R, not DVD-R"):
            robot.burn(iso_image, 1, media=Blank.DVD_R)
    finally:
        sim.close()
