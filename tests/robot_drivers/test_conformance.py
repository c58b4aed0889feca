"""Every driver burns 3 copies through its simulator; every fault its simulator offers surfaces
as the typed error the vendor's documented interface lets the driver know (or the robot remakes
the disc), and the robot works again once the fault is cleared."""
from __future__ import annotations

from pathlib import Path

import pytest

from robot_drivers import Bin, LabelSpec, RobotError

from tests.support.robot_rigs import Rig


def test_burns_three_copies_recorded_by_simulator(any_rig: Rig, iso_image: Path, label_file: Path,
                                                  tmp_path: Path) -> None:
    want = any_rig.content(iso_image, tmp_path)
    result = any_rig.robot.burn(iso_image, 3, label=LabelSpec(file=label_file))
    assert [d.copy_index for d in result.discs] == [1, 2, 3]
    assert all(d.ok for d in result.discs)
    records = any_rig.ledger.records
    assert len(records) == 3
    for rec in records:
        assert rec.sha256 == want
        assert rec.label is not None and any_rig.printed_as(rec.label, label_file), rec.label
        assert rec.bin in (Bin.OUTPUT, Bin.TRAY)


def test_every_fault_surfaces_typed_and_recovers(any_rig: Rig, iso_image: Path, label_file: Path,
                                                 tmp_path: Path) -> None:
    want = any_rig.content(iso_image, tmp_path)
    label = LabelSpec(file=label_file)
    for fault, expected in any_rig.faults.items():
        any_rig.inject(fault)
        if expected is None:  # the robot rejects the disc and makes another
            result = any_rig.robot.burn(iso_image, 2, label=label)
            assert result.good == 2 and [d.bin for d in result.discs if not d.ok] == [Bin.REJECT], fault
        else:
            with pytest.raises(RobotError) as info:
                any_rig.robot.burn(iso_image, 2, label=label)
            assert isinstance(info.value, expected), (fault, info.value)
        any_rig.clear()
        before = len([r for r in any_rig.ledger.records if r.bin is not Bin.REJECT])
        result = any_rig.robot.burn(iso_image, 1, label=label)
        assert result.good == 1, fault
        good = [r for r in any_rig.ledger.records if r.bin is not Bin.REJECT]
        assert len(good) >= before + 1
        assert good[-1].sha256 == want, fault
