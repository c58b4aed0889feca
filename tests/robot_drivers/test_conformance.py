"""Acceptance 1: every driver burns 3 copies through its simulator, every fault the
interface names surfaces as its typed error, and the robot recovers after it clears."""
from __future__ import annotations

from pathlib import Path

import pytest

from robot_drivers import FAULT_ERRORS, Bin, LabelSpec, RobotError
from robot_drivers.manifest import ImageManifest

from robot_rigs import Rig


def test_burns_three_copies_recorded_by_simulator(any_rig: Rig, iso_image: Path,
                                                  label_file: Path) -> None:
    want = ImageManifest.of(iso_image).sha256
    result = any_rig.robot.burn(iso_image, 3, label=LabelSpec(file=label_file))
    assert [d.copy_index for d in result.discs] == [1, 2, 3]
    assert all(d.ok for d in result.discs)
    records = any_rig.ledger.records
    assert len(records) == 3
    for rec in records:
        assert rec.sha256 == want
        assert rec.label is not None and Path(rec.label).name == label_file.name
        assert rec.bin in (Bin.OUTPUT, Bin.TRAY)


def test_every_fault_surfaces_typed_and_recovers(any_rig: Rig, iso_image: Path,
                                                 label_file: Path) -> None:
    want = ImageManifest.of(iso_image).sha256
    label = LabelSpec(file=label_file)
    for fault in any_rig.faults:
        any_rig.inject(fault)
        with pytest.raises(RobotError) as info:
            any_rig.robot.burn(iso_image, 2, label=label)
        assert type(info.value) is FAULT_ERRORS[fault] or isinstance(
            info.value, FAULT_ERRORS[fault]), (fault, info.value)
        any_rig.clear()
        before = len([r for r in any_rig.ledger.records if r.bin is not Bin.REJECT])
        result = any_rig.robot.burn(iso_image, 1, label=label)
        assert result.good == 1, fault
        good = [r for r in any_rig.ledger.records if r.bin is not Bin.REJECT]
        assert len(good) >= before + 1
        assert good[-1].sha256 == want, fault
