"""What :func:`viewer_bundle.write_viewer` will write, estimated by part before writing.

A volume plan that spans a selection over several discs needs, for every disc, the viewer data
of what that disc holds, before any disc is written. So the estimate comes in parts
(:class:`SizeEstimate`): what every disc carries whatever it holds, what each series adds to
a disc holding all or part of it, what each instance adds, and what naming the other discs of
the set costs. Each part is an upper bound of the bytes written:

* code, translations and start page are measured exactly;
* catalogue entries (patients, studies, series, other discs) are the exact JSON of their text,
  plus a bound for the thumbnail (at most ``THUMB_SIZE`` pixels a side, PNG, base64);
* pixels: for each series up to five images (first, quartiles, last) are encoded with the
  predictor the writer would choose for them, and the largest ratio of encoded to displayed
  bytes, plus ``PIXEL_MARGIN``, is applied to every image of the series; never more than what deflate and base64 can produce
  for incompressible data (zlib's stored-block bound, RFC 1951 3.2.4);
* every file is counted (``files``), so the caller can add its file system's rounding.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydicom import dcmread
from pydicom.dataset import Dataset

from . import codec, writer
from .cache import FrameCache
from .content import DiscContent, Instance, OtherDisc, Patient, Series, SeriesElsewhere, Study
from .frames import frame_meta
from .reference import GREY, frame_array

#: Relative margin on the sampled pixel ratio (what the unsampled images may need more).
PIXEL_MARGIN = 1.15
#: Bytes a chunk file adds besides its records: ``DV.chunk("S0000001",12,[...]);`` and commas.
_CHUNK_FRAMING = 64
#: Slack on exact JSON sizes (a File-set ID or date not known yet, a language chosen later).
_SLACK = 512
_PREFIX = len("data:image/png;base64,")
_SAMPLES = 5
THUMB_ROWS = writer.THUMB_SIZE


@dataclass
class Part:
    """Bytes written and how many files and directories hold them (before any rounding)."""

    bytes: int = 0
    files: float = 0.0
    dirs: int = 0

    def __add__(self, other: Part) -> Part:
        return Part(self.bytes + other.bytes, self.files + other.files, self.dirs + other.dirs)


@dataclass
class SizeEstimate:
    """Upper bounds of the viewer's bytes by part; keys are Series / SOP Instance UIDs.

    A disc holding instances ``I`` of series ``S`` in a set of ``n`` discs gets at most
    ``fixed + sum(series[s] for s in S) + sum(instances[i] for i in I)`` plus
    ``(n - 1) * other_disc`` and, for the series of the other discs, ``elsewhere[s]`` each
    (:meth:`disc`); a split series counts ``series[s]`` and ``elsewhere[s]`` once per part.
    """

    fixed: Part = field(default_factory=Part)
    series: dict[str, Part] = field(default_factory=dict)
    instances: dict[str, Part] = field(default_factory=dict)
    elsewhere: dict[str, int] = field(default_factory=dict)
    other_disc: int = 0

    def disc(self, series: set[str], instances: set[str], volumes: int = 1, elsewhere: int = 0) -> Part:
        """The bound for one disc holding ``series`` (parts) and ``instances``; ``elsewhere`` is
        the bytes of the other discs' series lines (sum of :attr:`elsewhere` for them)."""
        total = self.fixed + Part(elsewhere + max(0, volumes - 1) * self.other_disc)
        for s in series:
            total = total + self.series.get(s, Part())
        for i in instances:
            total = total + self.instances.get(i, Part())
        return total


def _json_len(value: object) -> int:
    return len(json.dumps(value, ensure_ascii=True, separators=(",", ":")))


def _fixed(content: DiscContent) -> Part:
    langs = writer.languages()
    static = [writer.STATIC / n for n in ("VIEWER.JS", "VIEWER.CSS")]
    static += [writer.STATIC / "I18N" / f"{c.upper()}.JS" for c in langs]
    size = len(writer._start_page(langs, None)) + sum(p.stat().st_size for p in static)
    frame = writer._js("DV.catalog", writer.catalog_frame(content))
    size += len(frame) + _SLACK
    files = 4 + len(langs)  # INDEX.HTM, VIEWER.JS, VIEWER.CSS, DATA/INDEX.JS and I18N/*
    return Part(size, files, dirs=3)  # VIEWER, VIEWER/I18N, VIEWER/DATA


def _thumb_bound(samples: int) -> int:
    raw = THUMB_ROWS * (THUMB_ROWS * samples + 1)
    png = raw + raw // 1000 + 64 + 57  # zlib stored blocks + header, PNG signature and chunks
    return _PREFIX + 4 * math.ceil(png / 3)



def _series_part(p: Patient, st: Study, se: Series, kinds: int, colour: bool) -> Part:
    """A disc holding (part of) ``se``: its patient, study and series entries, thumbnail, one
    directory and one chunk file (not full) per kind of entry."""
    entry = {"key": "S0000000", "kind": "image", "count": 999_999_999, "chunks": [],
             "thumb": "", "colour": 0, "uid": se.series_instance_uid, "modality": se.modality, "number": se.series_number,
             "desc": se.description, "body": se.body_part}
    per_kind = _json_len(entry) + _thumb_bound(3 if colour else 1) + 2 + _CHUNK_FRAMING
    size = _json_len(writer.patient_entry(p)) + _json_len(writer.study_entry(st)) + 32 + kinds * per_kind
    return Part(size + _SLACK, kinds, kinds)


def _displayed_bytes(inst: Instance) -> int | None:
    """Bytes of the frames as the viewer encodes them (grey as stored, colour as 8-bit RGB)."""
    if not (inst.rows and inst.columns):
        return None
    colour = (inst.samples_per_pixel or 1) > 1 or (inst.photometric_interpretation or "MONOCHROME2") not in GREY
    bits = inst.bits_allocated or 16
    per_pixel = 3 if colour else (1 if bits <= 8 else 2 if bits <= 16 else 4)
    return inst.rows * inst.columns * per_pixel * max(1, inst.number_of_frames)


def _b64_bound(n: int) -> int:
    """The most base64 text zlib can make of ``n`` bytes (stored blocks, RFC 1951 3.2.4)."""
    return 4 * math.ceil((n + n // 1000 + 64) / 3)


@dataclass
class _Sample:
    ratios: dict[int, float] = field(default_factory=dict)  #: predictor -> encoded / displayed bytes, largest
    file_ratios: dict[int, float] = field(default_factory=dict)  #: predictor -> encoded / file bytes, largest
    chosen: set[int] = field(default_factory=set)  #: predictors the writer's rule chose for the samples
    record: int = 0  #: a frame record's JSON without its pixels, largest seen
    colour: bool = False

    def ratio(self, per_file: bool) -> float:
        """The largest ratio of the predictors the writer may choose (it chooses per series
        part from its first frame, :func:`codec.choose_predictor`; samples that disagree
        mean either)."""
        ratios = self.file_ratios if per_file else self.ratios
        return max((ratios[p] for p in self.chosen if p in ratios), default=0.0)

    def merge(self, other: _Sample) -> None:
        """The largest of both, for each figure."""
        for mine, theirs in ((self.ratios, other.ratios), (self.file_ratios, other.file_ratios)):
            for p, r in theirs.items():
                mine[p] = max(mine.get(p, 0.0), r)
        self.chosen |= other.chosen
        self.record = max(self.record, other.record)
        self.colour = self.colour or other.colour

    def note(self) -> dict[str, object]:
        """As JSON for the cache."""
        return {"ratios": list(self.ratios.items()), "file_ratios": list(self.file_ratios.items()),
                "chosen": sorted(self.chosen), "record": self.record, "colour": self.colour}

    @classmethod
    def from_note(cls, note: dict[str, Any]) -> _Sample:
        return cls({int(p): float(r) for p, r in note["ratios"]}, {int(p): float(r) for p, r in note["file_ratios"]},
                   {int(p) for p in note["chosen"]}, int(note["record"]), bool(note["colour"]))


def _measure(ds: Dataset, size: int) -> _Sample:
    out = _Sample()
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    for index in sorted({0, frames // 2}):
        values = frame_array(ds, index)
        sizes = codec.predictor_sizes(values)  # the writer's setting, so the bound follows it
        encoded = {p: 4 * math.ceil(n / 3) for p, n in sizes.items()}  # as base64 text
        out.chosen.add(codec.smaller(sizes))
        rec = frame_meta(ds, None, None, index, values, codec.PREDICT_NONE)
        rec["d"] = ""
        out.record = max(out.record, _json_len(rec) + 1)
        for p, n in encoded.items():
            out.ratios[p] = max(out.ratios.get(p, 0.0), n / max(1, values.nbytes))
            out.file_ratios[p] = max(out.file_ratios.get(p, 0.0), n * frames / max(1, size))
        out.colour = out.colour or values.ndim == 3
    return out


def _measured(inst: Instance, cache: FrameCache | None) -> _Sample:
    """:func:`_measure` of ``inst``, kept in ``cache`` (a re-burn reads no sample again)."""
    key = cache.key(inst, None, "estimate-sample") if cache is not None else ""
    if cache is not None and key:
        note = cache.get_note(key)
        try:
            if note is not None:
                return _Sample.from_note(note)
        except (KeyError, TypeError, ValueError):
            pass
    sample = _measure(dcmread(inst.source), Path(inst.source).stat().st_size)
    if cache is not None and key:
        cache.put_note(key, sample.note())
    return sample


def _sample(images: list[Instance], cache: FrameCache | None = None) -> _Sample:
    out = _Sample()
    n = len(images)
    for k in sorted({0, n // 4, n // 2, (3 * n) // 4, n - 1})[:_SAMPLES]:
        try:
            out.merge(_measured(images[k], cache))
        except Exception:  # unreadable: the writer skips it too; the others decide
            continue
    return out


def _image_part(inst: Instance, s: _Sample) -> Part:
    frames = max(1, inst.number_of_frames)
    displayed = _displayed_bytes(inst)
    if displayed is not None:
        bound = _b64_bound(displayed // frames) * frames
        ratio = s.ratio(per_file=False)
        pixels = min(bound, math.ceil(displayed * ratio * PIXEL_MARGIN)) if ratio else bound
    else:
        ratio = s.ratio(per_file=True) or 4 / 3  # nothing measured: base64 of the stored bytes
        pixels = math.ceil(Path(inst.source).stat().st_size * ratio * PIXEL_MARGIN) + 64 * frames
    record = (s.record or 400) + 64
    size = pixels + frames * (record + 9)  # and the chunk list entry of a chunk starting here
    chunks = frames / writer.CHUNK_FRAMES + size / writer.CHUNK_BYTES
    return Part(size + math.ceil(chunks * _CHUNK_FRAMING), chunks)


def _document_part(inst: Instance, kind: str) -> Part:
    size = Path(inst.source).stat().st_size
    if kind == "sr":  # text escaped as \\uXXXX: at most six bytes per byte of the file
        return Part(2_000 + 6 * size)
    return Part(1_000 + size + 6 * len(inst.document_title), 1)  # the document is a file of its own


def estimate_parts(content: DiscContent, cache: FrameCache | None = None) -> SizeEstimate:
    """:class:`SizeEstimate` of ``content`` (reads a few images of every series, unless
    ``cache`` holds their measurement)."""
    est = SizeEstimate(fixed=_fixed(content))
    est.other_disc = _json_len(writer.other_disc_entry(OtherDisc(9999, "X" * 16))) + 1
    for p in content.patients:
        for st in p.studies:
            for se in st.series:
                groups: dict[str, list[Instance]] = {}
                for inst in se.instances:
                    groups.setdefault(writer._kind(inst), []).append(inst)
                images = groups.get("image", [])
                sample = _sample(images, cache) if images else _Sample()
                kinds = sum(1 for k in ("image", "sr", "doc") if groups.get(k))
                est.series[se.series_instance_uid] = _series_part(p, st, se, max(1, kinds), sample.colour)
                est.elsewhere[se.series_instance_uid] = _json_len(writer.elsewhere_entry(SeriesElsewhere(
                    se.series_instance_uid, p.name, p.patient_id, st.study_date, st.description, se.modality,
                    se.series_number, se.description, len(se.instances)))) + 1
                for inst in images:
                    est.instances[_key(inst)] = _image_part(inst, sample)
                for kind in ("sr", "doc"):
                    for inst in groups.get(kind, []):
                        est.instances[_key(inst)] = _document_part(inst, kind)
    return est


def _key(inst: Instance) -> str:
    return inst.sop_instance_uid or inst.path


def estimate_size(content: DiscContent) -> int:
    """Bytes :func:`write_viewer` will write for ``content`` on one disc, rounded up."""
    est = estimate_parts(content)  # the other discs named in ``content`` are in est.fixed
    return est.disc(set(est.series), set(est.instances)).bytes + 1
