"""``publisher remote find|retrieve``, ``send``, ``worklist`` and ``echo``: other AEs."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Sequence
from typing import Any, cast
from tqdm import tqdm

from publisher.config import Settings
from publisher.cli.common import prepared, progress_bar, settings_from


#: What ``publisher remote find`` shows per level when no -r is given.
FIND_COLUMNS: dict[str, tuple[str, ...]] = {
    "PATIENT": ("PatientID", "PatientName", "PatientBirthDate", "PatientSex", "NumberOfPatientRelatedStudies"),
    "STUDY": ("PatientID", "PatientName", "StudyDate", "StudyDescription", "AccessionNumber", "ModalitiesInStudy",
              "NumberOfStudyRelatedInstances", "StudyInstanceUID"),
    "SERIES": ("Modality", "SeriesNumber", "SeriesDescription", "NumberOfSeriesRelatedInstances", "SeriesInstanceUID"),
    "IMAGE": ("InstanceNumber", "SOPClassUID", "SOPInstanceUID"),
}


def _remote(settings: Settings, ae_title: str):  # type: ignore[no-untyped-def]
    from publisher.dicom.qr_scu import RemoteError, find_remote

    try:
        return find_remote(settings.dicom.remotes, ae_title)
    except RemoteError as exc:
        sys.exit(f"publisher: {exc}")


def _keys(pairs: Sequence[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        keyword, sep, value = pair.partition("=")
        if not sep:
            sys.exit(f"publisher: -k {pair!r}: use Keyword=value (e.g. PatientName=SMITH*)")
        out[keyword.strip()] = value
    return out


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        return "\\".join(str(v) for v in cast("Iterable[Any]", value))
    return str(value)


def cmd_remote_find(args: argparse.Namespace) -> int:
    from publisher.archive.query.keys import QueryError
    from publisher.dicom.qr_models import parse_level, parse_model
    from publisher.dicom.qr_scu import RemoteError, find

    settings = settings_from(args)
    remote = _remote(settings, args.remote)
    try:
        level, model = parse_level(args.level), parse_model(args.model)
    except (QueryError, ValueError) as exc:
        sys.exit(f"publisher remote find: {exc}")
    keys = _keys(args.key)
    columns = tuple(args.ret) or FIND_COLUMNS[level.name]
    returns = [c for c in columns if c not in keys]
    print("\t".join(columns))
    n = 0
    try:
        for ds in find(settings.dicom, remote, level, keys, returns, model):
            print("\t".join(_cell(ds.get(c)) for c in columns))
            n += 1
    except RemoteError as exc:
        sys.exit(f"publisher remote find: {exc}")
    print(f"{n} match(es)", file=sys.stderr)
    return 0


def cmd_remote_retrieve(args: argparse.Namespace) -> int:
    from publisher.dicom.qr_scu import RemoteError, RetrieveSelection, receiving, retrieve

    settings = settings_from(args)
    remote = _remote(settings, args.remote)
    series = []
    for item in args.series:
        study, sep, ser = item.partition(":")
        if not sep:
            sys.exit(f"publisher remote retrieve: --series {item!r}: use STUDY_UID:SERIES_UID")
        series.append((study, ser))
    selection = RetrieveSelection(args.study, series)
    if not selection.studies and not selection.series:
        sys.exit("publisher remote retrieve: name at least one --study or --series")
    method = args.method or remote.retrieve
    with prepared(settings) as service, tqdm(unit="inst", desc=f"C-{method.upper()} {remote.ae_title}", disable=args.quiet) as bar:
        progress = progress_bar(bar, message=False)
        try:
            if method == "move":
                with receiving(settings.dicom, service.archive, service.db):
                    report = retrieve(settings.dicom, remote, selection, service.archive, method="move", progress=progress)
            else:
                report = retrieve(settings.dicom, remote, selection, service.archive, method="get", progress=progress)
        except RemoteError as exc:
            sys.exit(f"publisher remote retrieve: {exc}")
    print(report.summary())
    for uid, why in sorted(report.failed.items()):
        print(f"  failed {uid}: {why}", file=sys.stderr)
    return 0 if report.ok else 1


def cmd_send(args: argparse.Namespace) -> int:
    from publisher.archive.identity import PatientSelectionError
    from publisher.dicom.storage_scu import instances_of, send

    settings = settings_from(args)
    remote = _remote(settings, args.remote)
    with prepared(settings) as service:
        try:
            refs = instances_of(service.db, service.archive.root, args.patient, args.study, args.series)
        except PatientSelectionError as exc:
            sys.exit(f"publisher send: {exc}")
        if not refs:
            sys.exit("publisher send: nothing in the archive matches the selection")
        with tqdm(total=len(refs), unit="inst", desc=f"send {remote.ae_title}", disable=args.quiet) as bar:
            report = send(settings.dicom, remote, refs, progress=lambda _ref, _outcome: bar.update(1))
    extra = f" ({len(report.decompressed)} decompressed for the peer)" if report.decompressed else ""
    print(f"{len(report.sent)} sent{extra}, {len(report.failed)} failed")
    for uid, why in sorted(report.failed.items()):
        print(f"  failed {uid}: {why}", file=sys.stderr)
    return 0 if report.ok else 1


def cmd_worklist(args: argparse.Namespace) -> int:
    from publisher.dicom.mwl_scu import WorklistQuery, match_studies, query_worklist
    from publisher.dicom.qr_scu import RemoteError

    settings = settings_from(args)
    remote = _remote(settings, args.remote)
    query = WorklistQuery(args.station, args.modality, args.date, args.patient, args.patient_id, args.accession)
    try:
        entries = list(query_worklist(settings.dicom, remote, query))
    except RemoteError as exc:
        sys.exit(f"publisher worklist: {exc}")
    matches = None
    if args.match:
        from publisher.db.session import Database

        db = Database(settings.db_url)
        matches = {id(m.entry): m for m in match_studies(db, entries)}
        db.dispose()
    for e in entries:
        line = f"{e.start_date} {e.start_time:<6} {e.station_ae_title:<16} {e.modality:<3} {e.accession_number:<16} {e.patient_id:<16} {e.patient_name}  {e.step_description}"
        if matches is not None:
            m = matches[id(e)]
            line += f"  -> {', '.join(m.study_uids) + ' (' + m.matched_by + ')' if m.study_uids else 'not in the archive'}"
        print(line)
    print(f"{len(entries)} worklist entr{'y' if len(entries) == 1 else 'ies'}", file=sys.stderr)
    return 0


def cmd_echo(args: argparse.Namespace) -> int:
    from publisher.dicom.verification_scu import echo

    settings = settings_from(args)
    remotes = [_remote(settings, t) for t in args.remotes] if args.remotes else list(settings.dicom.remotes)
    if not remotes:
        sys.exit("publisher echo: no remotes configured (dicom.remotes)")
    failures = 0
    for r in remotes:
        result = echo(settings.dicom, r)
        failures += not result.ok
        print(f"{r.ae_title:<16} {r.host}:{r.port}{' (TLS)' if r.tls else ''}  {'ok' if result.ok else 'FAILED'}  "
              f"{result.detail}  {result.seconds * 1000:.0f} ms")
    return 1 if failures else 0
