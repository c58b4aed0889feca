"""Acceptance 5: rejected instances (IHE IOCM rejection notes) are never put on a disc."""

from __future__ import annotations

import pydicom
import pytest

from publisher.demo import samples as S
from publisher.media import exclude_rejected
from publisher.media.rejection import REJECTION_TITLES, is_rejection_note, rejected_uids
from tests.support.image_readers import isoinfo_files


def test_rejected_instance_and_its_note_are_absent_from_the_disc(acceptance, cd_volume) -> None:
    instances, rejected, note = acceptance
    assert {rejected, note} <= {i.sop_instance_uid for i in instances}
    on_disc = {i.sop_instance_uid for i in cd_volume.instances}
    assert rejected not in on_disc and note not in on_disc
    records = pydicom.dcmread(cd_volume.root / "DICOMDIR").DirectoryRecordSequence
    uids = {r.ReferencedSOPInstanceUIDInFile for r in records if "ReferencedFileID" in r}
    assert rejected not in uids and note not in uids
    assert len(isoinfo_files(cd_volume.image, joliet=False)) == len(cd_volume.files)
    assert len(uids) == len(instances) - 2
    # the ordinary KOS ("Of Interest") of the same study stays
    assert any(r.DirectoryRecordType == "KEY OBJECT DOC" for r in records)


@pytest.mark.parametrize("code", sorted(REJECTION_TITLES))
def test_every_cid7011_title_rejects(code: str) -> None:
    spec = S.StudySpec(S.ASCII_PATIENT, "rej", series=(S.SeriesSpec("ct", 2, 1),))
    images = S.build_study(spec)
    note = S.rejection_note(spec, images[:1])
    note.ConceptNameCodeSequence[0].CodeValue = code
    assert is_rejection_note(note)
    assert rejected_uids([note]) == {str(images[0].SOPInstanceUID)}


def test_other_key_object_selections_reject_nothing() -> None:
    spec = S.StudySpec(S.ASCII_PATIENT, "keep", series=(S.SeriesSpec("ct", 2, 1), S.SeriesSpec("kos", 1, 2)))
    datasets = S.build_study(spec)
    assert not is_rejection_note(datasets[-1])
    assert rejected_uids(datasets) == set()


def test_uids_known_from_notes_outside_the_selection_are_excluded(acceptance) -> None:
    instances, rejected, note = acceptance
    keep = [i for i in instances if i.sop_instance_uid != note]
    victim = keep[0].sop_instance_uid
    left = {i.sop_instance_uid for i in exclude_rejected(keep, {victim, rejected})}
    assert victim not in left and rejected not in left and len(left) == len(keep) - 2
