"""Build a :class:`DiscContent` by reading DICOM files (for callers without an index)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from pydicom import dcmread

from .content import DiscContent, Instance, Patient, Series, Study


def _int(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[call-overload,no-any-return]
    except (TypeError, ValueError):
        return None


def _float(value: object) -> float | None:
    try:
        if isinstance(value, (list, tuple)) or (hasattr(value, "__len__") and not isinstance(value, str)):
            value = value[0]  # type: ignore[index]
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, IndexError):
        return None


def content_from_files(files: Iterable[tuple[str, Path]], **disc: object) -> DiscContent:
    """DiscContent from ``(file ID on the disc, source path)`` pairs, in disc order.

    Names are decoded by pydicom with the file's Specific Character Set (PS3.5 6.1).
    Instances are sorted by Instance Number inside each series. ``disc`` sets the
    DiscContent fields (label, institution, volume, ...).
    """
    content = DiscContent(**disc)  # type: ignore[arg-type]
    patients: dict[str, Patient] = {}
    studies: dict[str, Study] = {}
    series: dict[str, Series] = {}
    for file_id, source in files:
        ds = dcmread(source, stop_before_pixels=True)
        pid = str(ds.get("PatientID", ""))
        if pid not in patients:
            patients[pid] = Patient(
                pid, str(ds.get("PatientName", "")), str(ds.get("PatientBirthDate", "")),
                str(ds.get("PatientSex", "")), str(ds.get("IssuerOfPatientID", "")),
            )
            content.patients.append(patients[pid])
        st_uid = str(ds.StudyInstanceUID)
        if st_uid not in studies:
            studies[st_uid] = Study(
                st_uid, str(ds.get("StudyDate", "")), str(ds.get("StudyTime", "")),
                str(ds.get("StudyDescription", "")), str(ds.get("AccessionNumber", "")),
                str(ds.get("StudyID", "")), str(ds.get("ReferringPhysicianName", "")),
                str(ds.get("InstitutionName", "")),
            )
            patients[pid].studies.append(studies[st_uid])
        se_uid = str(ds.SeriesInstanceUID)
        if se_uid not in series:
            series[se_uid] = Series(
                se_uid, str(ds.get("Modality", "")), _int(ds.get("SeriesNumber")),
                str(ds.get("SeriesDescription", "")), str(ds.get("BodyPartExamined", "")),
            )
            studies[st_uid].series.append(series[se_uid])
        spacing = ds.get("PixelSpacing") or ds.get("ImagerPixelSpacing")
        series[se_uid].instances.append(
            Instance(
                path=file_id,
                source=source,
                sop_class_uid=str(ds.SOPClassUID),
                sop_instance_uid=str(ds.SOPInstanceUID),
                instance_number=_int(ds.get("InstanceNumber")),
                rows=_int(ds.get("Rows")),
                columns=_int(ds.get("Columns")),
                number_of_frames=_int(ds.get("NumberOfFrames")) or 1,
                bits_allocated=_int(ds.get("BitsAllocated")),
                samples_per_pixel=_int(ds.get("SamplesPerPixel")),
                photometric_interpretation=str(ds.get("PhotometricInterpretation", "")),
                pixel_spacing=(float(spacing[0]), float(spacing[1])) if spacing and len(spacing) == 2 else None,
                window_center=_float(ds.get("WindowCenter")),
                window_width=_float(ds.get("WindowWidth")),
                slice_location=_float(ds.get("SliceLocation")),
                content_date=str(ds.get("ContentDate", "")),
                content_time=str(ds.get("ContentTime", "")),
                document_title=str(ds.get("DocumentTitle", "")),
                transfer_syntax_uid=str(getattr(ds, "file_meta", {}).get("TransferSyntaxUID", "")),
            )
        )
    for se in series.values():
        se.instances.sort(key=lambda i: (i.instance_number is None, i.instance_number or 0))
    return content
