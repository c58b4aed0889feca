"""A destination's changes to an instance on its way (``[[destinations]]``).

Private tags may be removed (not recorded: a copy free of them is the point), listed attributes
removed, missing or empty attributes given a default, the patient's name reformatted. Every
value changed or removed (private tags excepted) is kept in one new item of Original Attributes
Sequence (0400,0561), PS3.3 C.12.1.1.9.2: Modified Attributes Sequence (0400,0550) with the
values as received, Attribute Modification DateTime (0400,0562), Modifying System (0400,0563),
Source of Previous Values (0400,0564, the AE that sent them) and Reason for the Attribute
Modification (0400,0565) ``COERCE``. Pixel data is never touched here (a lossless transcode is
the forwarder's, :mod:`publisher.routing.forwarder`).
"""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass, field

from pydicom.dataelem import DataElement
from pydicom.datadict import dictionary_VR
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.tag import Tag

from publisher.config.routing import Destination
from publisher.routing.conditions import _tag

#: Never removed nor changed by a destination's settings: the instance's identity and pixels.
PROTECTED = {0x00080016, 0x00080018, 0x0020000D, 0x0020000E, 0x7FE00010}


@dataclass
class Changes:
    """What :func:`apply` changed: the original elements (for Original Attributes Sequence) and
    how many private elements went."""

    originals: list[DataElement] = field(default_factory=list)
    private_removed: int = 0

    def __bool__(self) -> bool:
        return bool(self.originals) or self.private_removed > 0


def apply(ds: Dataset, dest: Destination, *, modifying_system: str, source: str,
          now: dt.datetime | None = None) -> Changes:
    """Change ``ds`` in place as ``dest`` says; returns what changed."""
    changes = Changes()
    if dest.remove_private:
        before = sum(1 for e in ds if e.tag.is_private)
        ds.remove_private_tags()
        changes.private_removed = before
    for name in dest.remove:
        tag = _tag(name)
        if tag in PROTECTED:
            continue
        if tag in ds:
            changes.originals.append(copy.deepcopy(ds[tag]))
            del ds[tag]
    for item in dest.set_if_missing:
        key, _, value = item.partition("=")
        tag = _tag(key.strip())
        if tag in PROTECTED:
            continue
        current = ds.get(tag)
        if current is None or current.value in (None, "", b"") or current.VM == 0:
            vr = current.VR if current is not None else dictionary_VR(Tag(tag))
            changes.originals.append(copy.deepcopy(current) if current is not None else DataElement(tag, vr, None))
            ds[tag] = DataElement(tag, vr, value.strip())
    if dest.patient_name != "as-received" and "PatientName" in ds:
        original = str(ds.PatientName)
        new = _format_name(original, dest.patient_name)
        if new != original:
            changes.originals.append(copy.deepcopy(ds["PatientName"]))
            ds.PatientName = new
    if changes.originals:
        record(ds, changes.originals, modifying_system=modifying_system, source=source, now=now)
    return changes


def record(ds: Dataset, originals: list[DataElement], *, modifying_system: str, source: str,
           now: dt.datetime | None = None, reason: str = "COERCE") -> None:
    """Add one item to Original Attributes Sequence (PS3.3 Table C.12-1) holding ``originals``."""
    modified = Dataset()
    for elem in originals:
        modified.add(elem)
    item = Dataset()
    item.AttributeModificationDateTime = (now or dt.datetime.now(dt.timezone.utc)).strftime("%Y%m%d%H%M%S.%f+0000")
    item.ModifiedAttributesSequence = Sequence([modified])
    item.ModifyingSystem = modifying_system[:64]
    item.ReasonForTheAttributeModification = reason
    item.SourceOfPreviousValues = source[:64]
    if "OriginalAttributesSequence" not in ds:
        ds.OriginalAttributesSequence = Sequence()
    ds.OriginalAttributesSequence.append(item)


def _format_name(name: str, fmt: str) -> str:
    """``upper``: every component group upper-cased; ``family-given``: the alphabetic group's
    family and given name only (PS3.5 6.2.1: ``family^given^middle^prefix^suffix=ideographic=phonetic``)."""
    if fmt == "upper":
        return name.upper()
    if fmt == "family-given":
        alphabetic = name.split("=")[0]
        return "^".join(alphabetic.split("^")[:2]).rstrip("^")
    return name

