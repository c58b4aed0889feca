"""The fast index-value decoder agrees with pydicom's full conversion, character sets included."""

from __future__ import annotations

import pytest
from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset

from publisher.demo import samples
from publisher.archive import record_keys
from publisher.archive.parse import lenient_reading, read_header
from publisher.archive.raw_values import RawValues


def _datasets() -> list[Dataset]:
    out: list[Dataset] = []
    for st in samples.demo_studies(2):
        out += samples.build_study(st)
    st = samples.demo_studies(2)[0]
    out.append(samples.rejection_note(st, samples.build_study(st)[:1]))
    jp = samples.build_study(samples.StudySpec(samples.ASCII_PATIENT, "jp", series=(samples.SeriesSpec("ct", 1, 1, "", 8, 8),)))[0]
    jp.SpecificCharacterSet = ["", "ISO 2022 IR 87"]
    jp.PatientName = "Yamada^Tarou=山田^太郎"
    jp.StudyDescription = "頭部"
    out.append(jp)
    gb = samples.build_study(samples.StudySpec(samples.ASCII_PATIENT, "gb", series=(samples.SeriesSpec("ct", 1, 1, "", 8, 8),)))[0]
    gb.SpecificCharacterSet = "GB18030"
    gb.PatientName = "王^小明"
    out.append(gb)
    return out


@pytest.mark.parametrize("implicit", [False, True])
def test_fast_values_equal_pydicom(implicit: bool) -> None:
    lenient_reading()
    ts = "1.2.840.10008.1.2" if implicit else "1.2.840.10008.1.2.1"
    for ds in _datasets():
        buf = DicomBytesIO()
        buf.is_little_endian, buf.is_implicit_VR = True, implicit
        write_dataset(buf, ds)
        raw = buf.getvalue()
        slow, fast = read_header(raw, ts), RawValues(read_header(raw, ts))
        assert record_keys.from_json(record_keys.to_json_raw(fast)) == record_keys.from_json(record_keys.to_json(record_keys.extract(slow)))
        for keyword in ("PatientName", "PatientID", "StudyDescription", "ReferringPhysicianName", "Modality", "StudyDate", "SeriesDescription"):
            expected = slow.get(keyword)
            expected_text = "" if expected in (None, "") else str(expected)
            assert fast.text(slow.data_element(keyword).tag if keyword in slow else 0, 324) == expected_text.strip(), keyword
        assert fast.integer(0x00200013) == (int(slow.InstanceNumber) if "InstanceNumber" in slow else None)
