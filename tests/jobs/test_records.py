"""The job JSON columns read every shape stored so far and write the current one unchanged."""

from __future__ import annotations

import json

import pytest

from publisher.jobs import records
from publisher.jobs.records import Disc, LabelPatient, Selection, Volume

#: A volume as mastering writes it today (labels rendered, a case insert).
CURRENT = {"number": 1, "count": 2, "patients": [{"id": "P1", "name": "DOE^JANE", "birth_date": "19700101"}],
           "study_dates": ["20240101"], "modalities": ["CT"], "descriptions": ["HEAD"], "file_set_id": "PUB_1",
           "image": "/jobs/job000001/PUB_1.iso", "size": 1234, "label": "/l.png", "label_pdf": "/l.pdf",
           "insert": "/i.pdf"}


def test_a_current_volume_round_trips_identically() -> None:
    text = json.dumps([CURRENT])
    assert records.dump_volumes(records.load_volumes(text)) == text
    no_insert = {k: v for k, v in CURRENT.items() if k != "insert"}
    assert records.load_volumes(json.dumps([no_insert]))[0].to_json() == no_insert


def test_an_old_volume_without_labels_or_descriptions_loads() -> None:
    old = {"number": 1, "count": 1, "file_set_id": "PUB", "image": "/x.iso", "size": 5,
           "patients": [{"id": "P1", "name": "DOE", "birth_date": ""}], "study_dates": [], "modalities": ["MR"]}
    v = records.load_volumes(json.dumps([old]))[0]
    assert v == Volume(number=1, count=1, patients=(LabelPatient("P1", "DOE"),), modalities=("MR",),
                       file_set_id="PUB", image="/x.iso", size=5)
    assert v.label is None and v.descriptions == ()


def test_discs_selection_problems_and_exclusions() -> None:
    disc = {"volume": 1, "copy": 2, "ok": False, "bin": "reject", "sha256": None, "error": "verify"}
    assert records.load_discs(json.dumps([disc])) == [Disc(1, 2, False, "reject", None, "verify")]
    assert records.dump_discs(records.load_discs(json.dumps([disc]))) == json.dumps([disc])
    assert records.load_discs(None) == [] and records.load_volumes("") == []
    sel = {"patients": ["P1"], "studies": [], "series": ["1.2.3"]}
    assert Selection.loads(json.dumps(sel)) == Selection(("P1",), (), ("1.2.3",))
    assert Selection.loads(json.dumps(sel)).dumps() == json.dumps(sel)
    with pytest.raises(ValueError):
        Selection.loads("[1, 2]")
    problems = [{"uid": "1.2", "what": "CT image", "reason": "too big"}]
    assert records.dump_problems(records.load_problems(json.dumps(problems))) == json.dumps(problems)
    assert records.load_exclusions('["1.2"]') == {"1.2": ""}
    assert records.load_exclusions('{"1.2": "why"}') == {"1.2": "why"}
