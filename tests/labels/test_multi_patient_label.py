"""Issue 14: a disc of several patients (only by a person's confirmed choice) labels each
patient's name together with their ID, on our drawn label and in a vendor design's merge fields."""

from __future__ import annotations

from publisher.jobs.labels import label_content, merge_fields
from publisher.jobs.records import LabelPatient, VolumeSummary
from publisher.labels import layout, load_template
from publisher.labels.layout import PlacedText

TWO = VolumeSummary(number=1, count=1, patients=(LabelPatient("PAT-LAT1", "Müller^Jürgen", "19561103"),
                                                 LabelPatient("PAT-CYR", "Иванова^Мария", "19820417")))


def test_each_name_is_followed_by_its_id_on_the_label() -> None:
    lines = [i.text for i in layout(label_content(TWO, comment="", institution=""), load_template("default"))
             if isinstance(i, PlacedText)]
    first, second = lines.index("Müller, Jürgen"), lines.index("Иванова, Мария")
    assert "PAT-LAT1" in lines[first + 1] and "PAT-CYR" in lines[second + 1], lines


def test_merge_fields_keep_each_name_with_its_id() -> None:
    fields = merge_fields(TWO, comment="", institution="")
    assert fields[0] == "Müller^Jürgen (PAT-LAT1); Иванова^Мария (PAT-CYR)" and fields[1] == "PAT-LAT1; PAT-CYR"
    one = VolumeSummary(number=1, count=1, patients=TWO.patients[:1])
    assert merge_fields(one, comment="", institution="")[:2] == ("Müller^Jürgen", "PAT-LAT1")
