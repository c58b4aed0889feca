"""The document objects of the sample studies: a Basic Text SR report (PS3.3 A.35.1) and an
Encapsulated PDF (PS3.3 A.45.1) whose text is set in the label fonts where they are installed."""

from __future__ import annotations

from io import BytesIO
from typing import TYPE_CHECKING

from pydicom.dataset import Dataset
from pydicom.sequence import Sequence as DicomSequence

if TYPE_CHECKING:
    from publisher.demo.samples import StudySpec


def concept(code: str, scheme: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue = code
    item.CodingSchemeDesignator = scheme
    item.CodeMeaning = meaning
    return item


def sr_document(ds: Dataset, study: StudySpec) -> None:
    """Basic Text SR IOD (PS3.3 A.35.1) with a short report."""
    ds.CompletionFlag = "COMPLETE"
    ds.VerificationFlag = "UNVERIFIED"
    ds.ValueType = "CONTAINER"
    ds.ContinuityOfContent = "SEPARATE"
    ds.ConceptNameCodeSequence = DicomSequence([concept("11528-7", "LN", "Radiology Report")])
    finding = Dataset()
    finding.RelationshipType = "CONTAINS"
    finding.ValueType = "TEXT"
    finding.ConceptNameCodeSequence = DicomSequence([concept("121071", "DCM", "Finding")])
    finding.TextValue = f"No acute abnormality. Patient {study.patient.name.replace('^', ' ')}."
    ds.ContentSequence = DicomSequence([finding])
    ds.ReferencedPerformedProcedureStepSequence = DicomSequence()
    ds.PerformedProcedureCodeSequence = DicomSequence()


def _pdf_bytes(title: str) -> bytes:
    """A one-page PDF report showing ``title``: set in the label fonts (DejaVu, Droid Sans
    Fallback: Latin, Cyrillic, CJK) when they are installed, else a minimal ASCII page."""
    from publisher.labels import fonts

    try:
        return _pdf_in_label_fonts(title)
    except fonts.FontNotFound:
        return _pdf_ascii(title)


def _pdf_in_label_fonts(title: str) -> bytes:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfgen import canvas

    from publisher.labels import fonts

    out = BytesIO()
    page = canvas.Canvas(out, pagesize=(612, 792), invariant=True)  # same bytes every time
    x = 72.0
    for face, part in fonts.runs(title):
        fonts.load(face)
        page.setFont(face.name, 18)
        page.drawString(x, 720, part)
        x += pdfmetrics.stringWidth(part, face.name, 18)
    page.showPage()
    page.save()
    return out.getvalue()


def _pdf_ascii(title: str) -> bytes:
    """A minimal valid one-page PDF showing ``title`` folded to ASCII."""
    text = title.encode("ascii", "replace").replace(b"(", b"[").replace(b")", b"]")
    stream = b"BT /F1 18 Tf 72 720 Td (" + text + b") Tj ET"
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, obj in enumerate(objs, start=1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + obj + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
    for off in offsets:
        out += f"{off:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def pdf_document(ds: Dataset, study: StudySpec) -> None:
    """Encapsulated PDF IOD (PS3.3 A.45.1)."""
    data = _pdf_bytes(f"Report {study.description}")
    if len(data) % 2:
        data += b"\0"
    ds.ConversionType = "WSD"
    ds.BurnedInAnnotation = "YES"
    ds.DocumentTitle = "Radiology report"
    ds.ConceptNameCodeSequence = DicomSequence([concept("11528-7", "LN", "Radiology Report")])
    ds.MIMETypeOfEncapsulatedDocument = "application/pdf"
    ds.EncapsulatedDocument = data
    ds.EncapsulatedDocumentLength = len(data)
    ds.AcquisitionDateTime = study.date + study.time
