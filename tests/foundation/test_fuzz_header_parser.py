"""Fuzzing the header parser and the structure walk (hypothesis): hostile bytes end in
MalformedDataset or MissingAttribute, never another exception, and the ways of reading a data
set (one buffer, fragments as they arrive, the file they were streamed to) agree.

Inputs are encoded sample data sets (CT, SR with nested sequences, encapsulated documents,
implicit and explicit VR) mutated by flips, insertions, deletions, truncation and splices,
plus raw random bytes. Bounded: a few hundred examples per property.
"""

from __future__ import annotations

import json
import os
import tempfile
from functools import lru_cache

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset

from publisher.demo import samples
from publisher.archive import record_keys
from publisher.archive.metadata import MissingAttribute, extract
from publisher.archive.parse import header_prefix, lenient_reading, read_header
from publisher.archive.raw_values import RawValues, parse_ds, parse_is, valid_date, valid_time
from publisher.archive.walk import Encoding, FileSource, Fragments, MalformedDataset, check_complete, check_source

EXPLICIT, IMPLICIT, DEFLATED = "1.2.840.10008.1.2.1", "1.2.840.10008.1.2", "1.2.840.10008.1.2.1.99"
FUZZ = settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "300")), deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


@lru_cache(maxsize=1)
def _seeds() -> tuple[tuple[bytes, str], ...]:
    """Encoded data sets to mutate: every sample kind, both VR encodings."""
    lenient_reading()
    spec = samples.StudySpec(samples.CJK_PATIENT, "fuzz", series=(
        samples.SeriesSpec("ct", 1, 1, "", 8, 8), samples.SeriesSpec("sr", 1, 2), samples.SeriesSpec("pdf", 1, 3),
        samples.SeriesSpec("kos", 1, 4), samples.SeriesSpec("gsps", 1, 5)))
    out = []
    for ds in samples.build_study(spec):
        for implicit in (False, True):
            buf = DicomBytesIO()
            buf.is_little_endian, buf.is_implicit_VR = True, implicit
            write_dataset(buf, ds)
            out.append((buf.getvalue(), IMPLICIT if implicit else EXPLICIT))
    return tuple(out)


#: Values that break their VR the way modalities break them (PS3.5 6.2).
HOSTILE_VALUES = [b"5,0", b"1A", b"NaN", b"-inf", b"1e999", b"2024-01-31", b"20241340", b"256199", b"12:61:00", b"",
                  b"\\\\", b"\xc3\x28", b"\xff\xfe", b"A\0B", b"\x1b$B", b"ISO_IR 999", b" " * 70, b"9" * 400, b".", b"+", b"e5"]


def _with_value(data: bytes, ts: str, which: int, value: bytes) -> bytes:
    """``data`` with the value of its ``which``-th top-level element (before Pixel Data)
    replaced by ``value`` and its length field made to match (even lengths kept)."""
    enc = Encoding.of(ts)
    try:
        found = header_prefix(data, enc, complete=True)
    except MalformedDataset:  # an earlier replacement broke a sequence: keep it so
        return data
    if found is None:
        return data
    elements = [e for e in found[1]._dict.values() if getattr(e, "value_tell", None) is not None]
    if not elements:
        return data
    elem = elements[which % len(elements)]
    if len(value) % 2:
        value += b" "
    tell, length = elem.value_tell, elem.length
    if enc.implicit_vr or elem.VR in ("OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"):
        head = data[: tell - 4] + len(value).to_bytes(4, "little")
    elif len(value) > 0xFFFF:
        return data
    else:
        head = data[: tell - 2] + len(value).to_bytes(2, "little")
    return head + value + data[tell + length :]


@st.composite
def mutated(draw: st.DrawFn) -> tuple[bytes, str]:
    seeds = _seeds()
    data, ts = seeds[draw(st.integers(0, len(seeds) - 1))]
    for _ in range(draw(st.integers(0, 4))):  # values that break their VR, well-formed otherwise
        value = draw(st.one_of(st.sampled_from(HOSTILE_VALUES), st.binary(max_size=24)))
        data = _with_value(data, ts, draw(st.integers(0, 200)), value)
    buf = bytearray(data)
    for _ in range(draw(st.integers(0, 3)) * draw(st.integers(0, 2))):  # often none: the values alone
        kind = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "splice", "length"]))
        if not buf:
            break
        at = draw(st.integers(0, len(buf) - 1))
        if kind == "flip":
            buf[at] = draw(st.integers(0, 255))
        elif kind == "insert":
            buf[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif kind == "delete":
            del buf[at : at + draw(st.integers(1, 16))]
        elif kind == "truncate":
            del buf[at:]
        elif kind == "splice":  # a piece of another data set, e.g. a sequence inside a sequence
            other = seeds[draw(st.integers(0, len(seeds) - 1))][0]
            start = draw(st.integers(0, len(other) - 1))
            buf[at:at] = other[start : start + draw(st.integers(1, 400))]
        else:  # a length field made to lie (defined, undefined, huge)
            value = draw(st.sampled_from([0, 1, 0xFFFF, 0xFFFFFFFF, 0x7FFFFFFF, draw(st.integers(0, 2**32 - 1))]))
            buf[at : at + 4] = value.to_bytes(4, "little")
    if draw(st.booleans()) and ts == EXPLICIT:
        ts = draw(st.sampled_from([EXPLICIT, "1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.2"]))
    return bytes(buf), ts


inputs = st.one_of(mutated(), st.tuples(st.binary(max_size=2048), st.sampled_from([EXPLICIT, IMPLICIT, DEFLATED])))


def _index_values(data: bytes, ts: str) -> None:
    """What ingest does with a data set: read the header, extract the index values, the
    record keys as JSON; only the two documented refusals may come out."""
    try:
        header = read_header(data, ts)
    except MalformedDataset:
        return
    try:
        extract(header)
    except MissingAttribute:
        pass
    keys = record_keys.to_json_raw(RawValues(header))
    json.loads(keys, parse_constant=lambda c: (_ for _ in ()).throw(AssertionError(f"{c} in record keys")))


@FUZZ
@given(inputs)
def test_hostile_data_sets_end_in_a_refusal_or_an_index_row(case: tuple[bytes, str]) -> None:
    lenient_reading()
    _index_values(*case)


def _outcome(check: object) -> str:
    try:
        check()  # type: ignore[operator]
    except MalformedDataset:
        return "malformed"
    return "complete"


@FUZZ
@given(mutated(), st.lists(st.integers(1, 4096), min_size=1, max_size=8))
def test_fragments_file_and_buffer_walks_agree(case: tuple[bytes, str], cuts: list[int]) -> None:
    """check_source over the pieces as they arrived, and over the file they went to, says
    what check_complete says over one buffer."""
    data, ts = case
    enc = Encoding.of(ts)
    frags = Fragments()
    pos = 0
    for n in cuts:
        frags.append(memoryview(data)[pos : pos + n])
        pos += n
    if pos < len(data):
        frags.append(data[pos:])
    whole = _outcome(lambda: check_complete(data, enc))
    assert _outcome(lambda: check_source(frags, enc)) == whole
    fd, path = tempfile.mkstemp()
    try:
        os.write(fd, b"HEAD" + data)
        assert _outcome(lambda: check_source(FileSource(fd, 4, len(data)), enc)) == whole
    finally:
        os.close(fd)
        os.unlink(path)


@FUZZ
@given(mutated(), st.integers(0, 4096))
def test_a_header_found_early_is_the_header_of_the_whole(case: tuple[bytes, str], cut: int) -> None:
    """The lean path parses the header from the first fragments; what it finds there must be
    what the complete data set holds (or nothing yet, or a refusal)."""
    data, ts = case
    enc = Encoding.of(ts)
    try:
        early = header_prefix(data[:cut], enc)
    except MalformedDataset:
        return
    if early is None:
        return
    end, header = early
    try:
        full = header_prefix(data, enc, complete=True)
    except MalformedDataset:
        raise AssertionError("the early header was accepted, the complete one refused") from None
    assert full is not None and full[0] == end and set(full[1].keys()) == set(header.keys())


@settings(max_examples=500, deadline=None, database=None)
@given(st.text(max_size=40))
def test_value_parsers_never_raise(text: str) -> None:
    for parse in (parse_ds, parse_is, valid_date, valid_time):
        parse(text)
    value = parse_ds(text)
    assert value is None or value == value and abs(value) != float("inf")
