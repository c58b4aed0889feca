"""Write the viewer and its data scripts into a disc tree (sizes estimated in :mod:`.estimate`).

Layout written under the disc root (ISO 9660 level 1 names, at most 4 directory levels)::

    VIEWER/INDEX.HTM            start page (what the root INDEX.HTM links to)
    VIEWER/VIEWER.JS, VIEWER.CSS
    VIEWER/I18N/EN.JS ...       one file per language (adding a language = adding a file)
    VIEWER/DATA/INDEX.JS        catalogue: patients, studies, series, thumbnails
    VIEWER/DATA/S0000001/C0000001.JS   pixel chunks of series 1 (lazily loaded)
    VIEWER/DATA/S0000002/D0000001.PDF  an encapsulated document, shown in a frame

A page opened from ``file://`` cannot fetch, so every data file is a script calling a global
(``DV.catalog``, ``DV.chunk``); JSON is written with ``\\uXXXX`` escapes so the files are
pure ASCII whatever the characters of the names.
"""

from __future__ import annotations

import base64
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from pydicom import dcmread
from pydicom.dataset import Dataset

from . import codec, documents, frames
from .cache import FrameCache
from .content import DiscContent, Instance, OtherDisc, Patient, Series, SeriesElsewhere, Study, ThirdPartyViewer, ViewerResult
from .reference import render_reference

STATIC = Path(__file__).parent / "static"
VIEWER_DIR = "VIEWER"
START_PAGE = f"{VIEWER_DIR}/INDEX.HTM"
#: A chunk file closes when it holds this many base64 bytes or frames.
CHUNK_BYTES = 1_500_000
CHUNK_FRAMES = 64
THUMB_SIZE = 64
_DOC_EXT = {"application/pdf": "PDF", "text/xml": "XML", "model/stl": "STL", "model/obj": "OBJ"}


def languages() -> list[str]:
    """Language codes shipped (one ``static/I18N/XX.JS`` each), English first."""
    codes = sorted(p.stem.lower() for p in (STATIC / "I18N").glob("*.JS"))
    return sorted(codes, key=lambda c: (c != "en", c))


def _js(call: str, *args: object) -> str:
    body = ",".join(json.dumps(a, ensure_ascii=True, separators=(",", ":")) for a in args)
    return f"{call}({body});\n"


def _write(root: Path, rel: str, data: bytes | str, files: list[str]) -> int:
    raw = data.encode("ascii") if isinstance(data, str) else data
    return _write_parts(root, rel, [raw], files)


def _write_parts(root: Path, rel: str, parts: list[bytes | memoryview], files: list[str]) -> int:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        fh.writelines(parts)
    files.append(rel)
    return sum(len(p) for p in parts)


def _thumbnail(ds: Dataset) -> str:
    """A PNG data URL of the middle frame at the default window, at most THUMB_SIZE pixels."""
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    img = render_reference(ds, frames // 2 if frames > 1 else 0)
    step = max(1, math.ceil(max(img.shape[0], img.shape[1]) / THUMB_SIZE))
    return "data:image/png;base64," + base64.b64encode(codec.png(img[::step, ::step])).decode("ascii")


@dataclass
class _SeriesOut:
    key: str
    entry: dict[str, object]
    size: int = 0
    skipped: list[str] = field(default_factory=list)


class _Writer:
    def __init__(self, root: Path, workers: int = 1, cache: FrameCache | None = None) -> None:
        self.root = root
        self.workers = workers
        self.cache = cache
        self.files: list[str] = []
        self.size = 0
        self.skipped: list[str] = []
        self.count = 0

    def put(self, rel: str, data: bytes | str) -> None:
        self.size += _write(self.root, rel, data, self.files)

    def put_records(self, rel: str, head: str, records: list[bytes | memoryview]) -> None:
        """``head`` + ``[`` + the records' JSON texts, comma-separated + ``]);`` (no copy joins them)."""
        parts: list[bytes | memoryview] = [head.encode("ascii") + b"["]
        for n, rec in enumerate(records):
            if n:
                parts.append(b",")
            parts.append(rec)
        parts.append(b"]);\n")
        self.size += _write_parts(self.root, rel, parts, self.files)

    def next_key(self) -> str:
        self.count += 1
        return f"S{self.count:07d}"

    def image_series(self, series: Series, instances: list[Instance]) -> dict[str, object] | None:
        key = self.next_key()
        base = f"{VIEWER_DIR}/DATA/{key}"
        chunk: list[bytes | memoryview] = []
        chunk_bytes = 0
        starts: list[int] = []
        total = 0
        shown: list[int] = []
        colour = False

        def flush() -> None:
            nonlocal chunk, chunk_bytes
            if chunk:
                starts.append(total - len(chunk))
                head = _js("DV.chunk", key, len(starts) - 1, [])[: -len("[]);\n")]
                self.put_records(f"{base}/C{len(starts):07d}.JS", head, chunk)
            chunk, chunk_bytes = [], 0

        def job(n: int, predictor: int | None) -> frames.Job:
            inst = instances[n]
            cached = self.cache.key(inst, predictor) if self.cache is not None else ""
            return frames.Job(str(inst.source), inst.path, inst.instance_number, inst.pixel_spacing, predictor, cached)

        encoded = frames.encode_series(len(instances), job, workers=self.workers, store=self.cache)
        for n, enc in enumerate(encoded):
            for fr in enc.frames:
                colour = colour or fr.colour
                chunk.append(fr.text)
                chunk_bytes += fr.data_len
                total += 1
                if chunk_bytes >= CHUNK_BYTES or len(chunk) >= CHUNK_FRAMES:
                    flush()
            if enc.error:
                self.skipped.append(enc.error)
            elif enc.shown:
                shown.append(n)
        flush()
        if not total:
            self.count -= 1
            return None
        thumb = self.thumbnail(instances, shown, len(instances) // 2)
        return {"key": key, "kind": "image", "count": total, "chunks": starts, "thumb": thumb, "colour": int(colour)}

    def thumbnail(self, instances: list[Instance], shown: list[int], middle: int) -> str:
        """The thumbnail of the middle image, else of the first image shown."""
        for n in dict.fromkeys(([middle] if middle in shown else []) + shown):
            try:
                return _thumbnail(dcmread(instances[n].source))
            except Exception as exc:
                self.skipped.append(f"{instances[n].path}: thumbnail: {type(exc).__name__}: {exc}")
        return ""

    def document_series(self, series: Series, instances: list[Instance], kind: str) -> dict[str, object] | None:
        key = self.next_key()
        base = f"{VIEWER_DIR}/DATA/{key}"
        docs: list[dict[str, object]] = []
        for inst in instances:
            try:
                ds = dcmread(inst.source)
                rec: dict[str, object] = {"n": inst.instance_number or int(ds.get("InstanceNumber", 0) or 0)}
                if kind == "sr":
                    rec.update(documents.sr_document(ds))
                    rec["t"] = "sr"
                else:
                    mime, data = documents.encapsulated(ds)
                    name = f"D{len(docs) + 1:07d}.{_DOC_EXT.get(mime, 'BIN')}"
                    self.put(f"{base}/{name}", data)
                    rec.update({"t": "doc", "mime": mime, "file": f"DATA/{key}/{name}", "bytes": len(data),
                                "title": str(ds.get("DocumentTitle", "")) or inst.document_title,
                                "date": str(ds.get("ContentDate", ""))})
                docs.append(rec)
            except Exception as exc:
                self.skipped.append(f"{inst.path}: {type(exc).__name__}: {exc}")
        if not docs:
            self.count -= 1
            return None
        self.put(f"{base}/C0000001.JS", _js("DV.chunk", key, 0, docs))
        return {"key": key, "kind": kind, "count": len(docs), "chunks": [0], "thumb": ""}


def _kind(inst: Instance) -> str:
    has_pixels = inst.rows is None or inst.rows > 0
    return documents.kind_of(inst.sop_class_uid, has_pixels)


def _series_entries(w: _Writer, series: Series) -> list[dict[str, object]]:
    groups: dict[str, list[Instance]] = {}
    for inst in series.instances:
        groups.setdefault(_kind(inst), []).append(inst)
    out = []
    for kind in ("image", "sr", "doc"):
        if kind not in groups:
            continue
        if kind == "image":
            entry = w.image_series(series, groups[kind])
        else:
            entry = w.document_series(series, groups[kind], kind)
        if entry:
            entry.update({"uid": series.series_instance_uid, "modality": series.modality, "number": series.series_number,
                          "desc": series.description, "body": series.body_part})
            out.append(entry)
    return out


def patient_entry(p: Patient) -> dict[str, object]:
    """A patient of the catalogue, without its studies."""
    return {"name": p.name, "id": p.patient_id, "birth": p.birth_date, "sex": p.sex, "issuer": p.issuer}


def study_entry(st: Study) -> dict[str, object]:
    """A study of the catalogue, without its series."""
    return {"uid": st.study_instance_uid, "date": st.study_date, "time": st.study_time, "desc": st.description,
            "acc": st.accession_number, "id": st.study_id, "ref": st.referring_physician, "inst": st.institution}


def elsewhere_entry(s: SeriesElsewhere) -> dict[str, object]:
    """A series on another disc, as the list of the other discs shows it."""
    return {"uid": s.series_instance_uid, "pname": s.patient_name, "pid": s.patient_id, "date": s.study_date,
            "sdesc": s.study_description, "mod": s.modality, "num": s.series_number, "desc": s.description,
            "count": s.count}


def other_disc_entry(d: OtherDisc) -> dict[str, object]:
    return {"volume": d.volume, "label": d.label, "series": [elsewhere_entry(s) for s in d.series]}


def catalog_frame(content: DiscContent) -> dict[str, object]:
    """The catalogue without its patients: the disc, its place in the set and the other discs."""
    return {"label": content.label, "institution": content.institution, "created": content.created,
            "volume": content.volume, "volumes": content.volumes,
            "others": [other_disc_entry(d) for d in content.others], "patients": []}


def _catalog(w: _Writer, content: DiscContent) -> dict[str, object]:
    patients = []
    for p in content.patients:
        studies = []
        for st in p.studies:
            series = [e for se in st.series for e in _series_entries(w, se)]
            if series:
                studies.append({**study_entry(st), "series": series})
        if studies:
            patients.append({**patient_entry(p), "studies": studies})
    return {**catalog_frame(content), "patients": patients}


def _start_page(langs: list[str], language: str | None) -> str:
    template = (STATIC / "INDEX.HTM").read_text("utf-8")
    tags = "\n".join(f'<script src="I18N/{code.upper()}.JS"></script>' for code in langs)
    config = json.dumps({"language": language}, ensure_ascii=True)
    return template.replace("<!--LANGUAGES-->", tags).replace("/*CONFIG*/", config)


def _third_party(w: _Writer, tp: ThirdPartyViewer | Path | str) -> str | None:
    if not isinstance(tp, ThirdPartyViewer):
        tp = ThirdPartyViewer(Path(tp))
    folder = tp.folder.upper()
    if not folder or len(folder) > 8 or not all(c.isalnum() or c == "_" for c in folder) or folder == VIEWER_DIR:
        raise ValueError(f"third-party viewer folder {tp.folder!r} is not an ISO 9660 directory name")
    src = Path(tp.source)
    for path in sorted(src.rglob("*")):
        if path.is_file():
            w.put(f"{folder}/{path.relative_to(src).as_posix()}", path.read_bytes())
    return f"{folder}/{tp.start_program}" if tp.start_program else None


def write_viewer(
    content: DiscContent,
    root: Path,
    *,
    language: str | None = None,
    third_party_dir: ThirdPartyViewer | Path | str | None = None,
    workers: int | None = None,
    cache: FrameCache | None = None,
) -> ViewerResult:
    """Write the HTML viewer for ``content`` under ``root`` (the disc tree).

    ``language`` is used when none of the browser's languages is shipped (else English).
    ``third_party_dir`` copies another viewer beside ours (a :class:`ThirdPartyViewer`, or a
    folder copied as ``APPVIEW/``). Files that cannot be read are listed in
    ``ViewerResult.skipped``, never fatal. Link the root INDEX.HTM to ``result.start_page``.
    ``workers`` threads encode pixels (default: the cores available; 1: none, the same bytes);
    ``cache`` keeps encoded frames for the next disc showing the same instances
    (:class:`viewer_bundle.cache.FrameCache`, pruned to its bound after a disc that added to it).
    """
    root = Path(root)
    w = _Writer(root, frames.default_workers() if workers is None else max(1, workers), cache)
    added = cache.added if cache is not None else 0
    langs = languages()
    if language and language.lower() not in langs:
        raise ValueError(f"no translation for {language!r}; have {langs}")
    w.put(f"{VIEWER_DIR}/INDEX.HTM", _start_page(langs, language.lower() if language else None))
    for name in ("VIEWER.JS", "VIEWER.CSS"):
        w.put(f"{VIEWER_DIR}/{name}", (STATIC / name).read_bytes())
    for code in langs:
        w.put(f"{VIEWER_DIR}/I18N/{code.upper()}.JS", (STATIC / "I18N" / f"{code.upper()}.JS").read_bytes())
    catalog = _catalog(w, content)
    w.put(f"{VIEWER_DIR}/DATA/INDEX.JS", _js("DV.catalog", catalog))
    autorun = _third_party(w, third_party_dir) if third_party_dir else None
    if cache is not None and cache.added != added:
        cache.prune()
    return ViewerResult(START_PAGE, w.files, w.size, langs, autorun, w.skipped)
