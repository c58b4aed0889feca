"""The conditions of a ``[[routes]]`` table (:class:`publisher.config.routing.Route`).

``FIELD OP VALUE``; the fields ``calling_ae``, ``source`` (the sender's IP address), ``modality``
(the series') and ``sop_class`` come from the index, any other field is a DICOM attribute read
from the stored file's header. Operators:

- ``=`` / ``!=``: the value equals (trailing spaces ignored) or does not;
- ``like``: wildcard matching as in C-FIND (``*`` any run, ``?`` one character; PS3.4
  C.2.2.2.4), case-sensitive;
- ``in``: a range ``LOW-HIGH`` compared as numbers when both sides are numbers, else as text
  (dates and times compare as text: PS3.4 C.2.2.2.5); for ``source`` a network (``10.0.0.0/8``);
- ``~``: a Python regular expression matching the whole value.

A multi-valued attribute matches when any of its values does.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pydicom.datadict import tag_for_keyword
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.tag import Tag

#: Fields taken from the index row rather than the file.
INDEX_FIELDS = ("calling_ae", "source", "modality", "sop_class")
_SPLIT = re.compile(r"^\s*(\S+)\s+(=|!=|like|in|~)\s+(.*?)\s*$")


@dataclass(frozen=True)
class Facts:
    """What a condition may look at for one instance: index fields and, read only when a
    condition needs them, the file's header (``header()``)."""

    calling_ae: str
    source: str
    modality: str
    sop_class: str
    header: Callable[[], Dataset]


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    value: str

    @classmethod
    def parse(cls, text: str) -> Condition:
        m = _SPLIT.match(text)
        if not m:
            raise ValueError(f"not a condition: {text!r}")
        return cls(m[1], m[2], m[3])

    @property
    def needs_header(self) -> bool:
        return self.field not in INDEX_FIELDS

    def holds(self, facts: Facts) -> bool:
        values = _values(self.field, facts)
        if self.op == "!=":
            return all(v.rstrip() != self.value for v in values)
        return any(_match(self.op, self.field, v, self.value) for v in values)


def all_hold(conditions: Sequence[Condition], facts: Facts) -> bool:
    """Whether every condition holds; the header-free ones are tried first (no file read)."""
    ordered = sorted(conditions, key=lambda c: c.needs_header)
    return all(c.holds(facts) for c in ordered)


def _values(field: str, facts: Facts) -> list[str]:
    if field in INDEX_FIELDS:
        return [str(getattr(facts, field))]
    tag = _tag(field)
    elem = facts.header().get(tag)
    if elem is None or elem.value is None:
        return [""]
    value = elem.value
    if isinstance(value, (list, MultiValue)):
        return [str(v) for v in value] or [""]
    if isinstance(value, bytes):
        return [value.decode("latin-1")]
    return [str(value)]


def _tag(field: str) -> int:
    m = re.match(r"^\(?([0-9A-Fa-f]{4}),?([0-9A-Fa-f]{4})\)?$", field)
    if m:
        return int(Tag(int(m[1], 16), int(m[2], 16)))
    tag = tag_for_keyword(field)
    if tag is None:
        raise ValueError(f"unknown DICOM keyword {field!r}")
    return int(tag)


def _match(op: str, field: str, value: str, pattern: str) -> bool:
    value = value.rstrip()
    if op == "=":
        return value == pattern
    if op == "like":
        return fnmatch.fnmatchcase(value, pattern.replace("[", "[[]"))
    if op == "~":
        return re.fullmatch(pattern, value) is not None
    if op == "in":
        if field == "source":
            try:
                return ipaddress.ip_address(value) in ipaddress.ip_network(pattern, strict=False)
            except ValueError:
                return False
        return _in_range(value, pattern)
    raise ValueError(f"unknown operator {op!r}")


def _in_range(value: str, pattern: str) -> bool:
    low, _, high = pattern.partition("-")
    low, high = low.strip(), high.strip()
    try:
        v = float(value)
        return (not low or v >= float(low)) and (not high or v <= float(high))
    except ValueError:
        return (not low or value >= low) and (not high or value <= high) and value != ""
