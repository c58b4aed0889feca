"""Route conditions mean what docs/admin.md says, a bad one is refused at load naming the key,
and a destination's changes leave a valid instance with every changed value in Original
Attributes Sequence (checked by dicom3tools' dciodvfy)."""

from __future__ import annotations

from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset

from publisher.config import ConfigError, load_settings
from publisher.config.routing import Destination
from publisher.demo import samples
from publisher.routing import transform
from publisher.routing.conditions import Condition, Facts, all_hold
from tests.support.tools import dciodvfy_errors


def _header() -> Dataset:
    ds = Dataset()
    ds.StudyDescription = "CT HEAD nativ"
    ds.StudyDate = "20260315"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.SliceThickness = "2.5"
    return ds


FACTS = Facts("CT_ROOM1", "10.1.2.3", "CT", "1.2.840.10008.5.1.4.1.1.2", _header)


@pytest.mark.parametrize("text, holds", [
    ("calling_ae = CT_ROOM1", True),
    ("calling_ae = CT_ROOM2", False),
    ("calling_ae != CT_ROOM2", True),
    ("calling_ae like CT_*", True),
    ("calling_ae like ct_*", False),  # case-sensitive, as C-FIND's wildcard matching
    ("modality = CT", True),
    ("source in 10.0.0.0/8", True),
    ("source in 192.168.0.0/16", False),
    ("StudyDescription like *HEAD*", True),
    ("StudyDescription ~ CT .*", True),
    ("StudyDescription ~ HEAD", False),  # a regular expression matches the whole value
    ("StudyDate in 20260101-20261231", True),
    ("StudyDate in 20250101-20251231", False),
    ("StudyDate in 20260301-", True),
    ("SliceThickness in 1-3", True),  # numbers compare as numbers
    ("SliceThickness in 10-20", False),
    ("ImageType = AXIAL", True),  # any value of a multi-valued attribute
    ("(0008,1030) like CT*", True),
    ("PatientName = ", True),  # absent: empty
])
def test_a_condition_means_what_the_documentation_says(text: str, holds: bool) -> None:
    assert Condition.parse(text).holds(FACTS) is holds, text


def test_conditions_without_the_file_are_tried_first() -> None:
    def unreadable() -> Dataset:
        raise AssertionError("the file was read although an index field already failed")

    facts = Facts("MR1", "", "MR", "", unreadable)
    assert not all_hold([Condition.parse("StudyDescription like *"), Condition.parse("modality = CT")], facts)


@pytest.mark.parametrize("when, key", [
    ('["Modalty = CT"]', "routes.ct.when[0]"),  # misspelt keyword
    ('["modality == CT"]', "routes.ct.when[0]"),
    ('["StudyDescription ~ (unclosed"]', "routes.ct.when[0]"),
    ('["StudyDate in 2026"]', "routes.ct.when[0]"),
])
def test_a_bad_condition_is_refused_naming_its_key(tmp_path: Path, when: str, key: str) -> None:
    cfg = tmp_path / "site.toml"
    cfg.write_text(f'[[routes]]\nname = "ct"\nwhen = {when}\nforward_to = ["PACS"]\n')
    with pytest.raises(ConfigError) as err:
        load_settings(config_file=cfg, environ={})
    assert key in str(err.value) and str(cfg) in str(err.value), str(err.value)


def test_an_unknown_destination_key_is_refused(tmp_path: Path) -> None:
    cfg = tmp_path / "site.toml"
    cfg.write_text('[[destinations]]\nae_title = "PACS"\nremove_privat = true\n')
    with pytest.raises(ConfigError) as err:
        load_settings(config_file=cfg, environ={})
    assert "remove_privat" in str(err.value)


def _ct_file(tmp: Path) -> Path:
    spec = samples.StudySpec(samples.LATIN1_PATIENT, "route", series=(samples.SeriesSpec("ct", 1, 1, "Axial", 32, 32),))
    path = samples.write_study(spec, tmp)[0]
    ds = pydicom.dcmread(path)
    ds.InstitutionName = ""
    block = ds.private_block(0x0019, "ACME SCANNER", create=True)
    block.add_new(0x10, "LO", "secret protocol")
    ds.save_as(path, enforce_file_format=True)
    return path


def test_changes_are_recorded_in_original_attributes_sequence(tmp_path: Path) -> None:
    path = _ct_file(tmp_path / "in")
    ds = pydicom.dcmread(path)
    name = str(ds.PatientName)
    dest = Destination("PACS", remove_private=True, remove=("OtherPatientIDs", "StudyID"),
                       set_if_missing=("InstitutionName=Klinik Nord", "ReferringPhysicianName=UNKNOWN"),
                       patient_name="upper")
    ds.OtherPatientIDs = "OLD-1"
    changes = transform.apply(ds, dest, modifying_system="DISCPUB", source="CT_ROOM1")
    assert changes.private_removed >= 2  # the creator and its element
    assert not any(e.tag.is_private for e in ds)
    assert ds.InstitutionName == "Klinik Nord" and str(ds.PatientName) == name.upper()
    assert "OtherPatientIDs" not in ds and "StudyID" not in ds
    (item,) = ds.OriginalAttributesSequence
    assert item.ReasonForTheAttributeModification == "COERCE"
    assert item.ModifyingSystem == "DISCPUB" and item.SourceOfPreviousValues == "CT_ROOM1"
    original = item.ModifiedAttributesSequence[0]
    assert original.OtherPatientIDs == "OLD-1" and str(original.PatientName) == name
    assert original.InstitutionName in ("", None) and "StudyID" in original
    assert ds.SOPInstanceUID == pydicom.dcmread(path).SOPInstanceUID  # the same instance
    assert ds.PixelData == pydicom.dcmread(path).PixelData
    out = tmp_path / "out.dcm"
    ds.save_as(out, enforce_file_format=True)
    errors = dciodvfy_errors(out)
    assert not [e for e in errors if "Original" in e or "Modif" in e], errors


def test_identity_and_pixels_cannot_be_removed_by_a_destination(tmp_path: Path) -> None:
    ds = pydicom.dcmread(_ct_file(tmp_path / "in"))
    uid = ds.SOPInstanceUID
    transform.apply(ds, Destination("PACS", remove=("SOPInstanceUID", "PixelData", "StudyInstanceUID")),
                    modifying_system="DISCPUB", source="")
    assert ds.SOPInstanceUID == uid and "PixelData" in ds and "StudyInstanceUID" in ds
