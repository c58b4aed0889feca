"""``publisher`` command line: serve, db, import, import-disc, archive, master, remote, send, worklist, echo."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from contextlib import contextmanager
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, cast
from pathlib import Path

from tqdm import tqdm

from publisher import __version__
from publisher.config import ConfigError, Settings, load_settings

if TYPE_CHECKING:
    from publisher.intake.coercion import PatientPolicy
    from publisher.media.read.entries import FileSet
    from publisher.service import Service


def _settings(args: argparse.Namespace) -> Settings:
    try:
        return load_settings(args.config)
    except ConfigError as exc:
        sys.exit(f"configuration error: {exc}")


@contextmanager
def _prepared(settings: Settings) -> Iterator["Service"]:
    """The service's parts, migrated and recovered, released however the command ends."""
    from publisher.service import Service

    service = Service(settings)
    try:
        service.prepare()
        yield service
    finally:
        service.stop()


def _progress_bar(bar: tqdm, message: bool = True) -> Callable[..., None]:
    """A ``progress(done, total[, message])`` callback that moves ``bar``."""

    def progress(done: int, total: int, text: str = "") -> None:
        bar.total, bar.n = max(total, 1), done
        if message and text:
            bar.set_postfix_str(text[:40], refresh=False)
        bar.refresh()

    return progress


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from publisher.service import Service
    from publisher.web.app import create_app

    settings = _settings(args)
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("pynetdicom").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # not a line per tick
    service = Service(settings)
    service.prepare()
    if settings.load_samples:
        n = service.load_samples_if_empty()
        if n:
            print(f"Loaded {n} sample instances into the empty archive.", flush=True)
    try:
        service.start_dicom()
    except ConfigError as exc:  # a TLS certificate or key that cannot be used
        service.stop()
        sys.exit(f"configuration error: {exc}")
    d = settings.dicom
    print(f"DICOM: AE title {d.ae_title} listening on {d.bind}:{d.port}", flush=True)
    if d.tls_port:
        client_auth = "client certificates required" if d.tls_require_client_cert else "client certificates optional"
        print(f"DICOM: TLS on {d.bind}:{d.tls_port} (certificate {d.tls_cert_file}; {client_auth})", flush=True)
    print(f"HTTP:  http://{settings.http_host}:{settings.http_port}/", flush=True)
    print(f"Data:  {settings.data_dir.resolve()} (database {service.db.engine.url.render_as_string(hide_password=True)})", flush=True)
    from publisher.web.auth import ensure_admin

    note = ensure_admin(service.db, settings.data_dir)
    if note:
        print(note, flush=True)
    app = create_app(service.db, ae_title=d.ae_title, dicom_port=d.port, data_dir=settings.data_dir)
    # Forwarded headers only from the configured proxies: uvicorn would otherwise believe
    # X-Forwarded-For from 127.0.0.1, where the UI listens, and anyone there could pick an address.
    proxies = list(settings.http_trusted_proxies)
    config = uvicorn.Config(app, host=settings.http_host, port=settings.http_port, log_level="warning",
                            proxy_headers=bool(proxies), forwarded_allow_ips=proxies or None)
    server = uvicorn.Server(config)
    _exit_on_sigterm()
    try:
        _start_worker(service)
        server.run()
    finally:
        service.stop()
    return 0


def _exit_on_sigterm() -> None:
    """SIGTERM raises SystemExit, so ``serve`` stops through its ``finally``: uvicorn, once it
    has shut down, raises the signal it caught again, and SIGTERM's default action would end
    the process before the job worker finished the disc under way."""

    def leave(signum: int, frame: object) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, leave)


def _start_worker(service: "Service") -> None:
    """Start the job worker of ``[jobs]`` and say what it does (rules enabled, queue)."""
    from robot_drivers import RobotError

    settings = service.settings
    enabled = sum(1 for r in settings.rules if r.enabled)
    try:
        worker = service.start_worker()
    except (TypeError, ValueError, OSError, RobotError) as exc:  # e.g. a [robot] option missing: keep receiving
        logging.getLogger(__name__).error("job worker not started: robot %r: %s", settings.robot, exc)
        print(f"Jobs:  worker NOT running: robot {settings.robot!r} could not be set up ({exc}); fix [robot] and restart",
              flush=True)
        return
    if worker is None:
        print(f"Jobs:  worker off ([jobs] worker = false); {enabled} rule(s) enabled but not evaluated", flush=True)
        return
    queue = "runs queued jobs" if worker.run_queued else "leaves queued jobs to people"
    names = f" ({', '.join(r.name for r in worker.rules)})" if worker.rules else ""
    print(f"Jobs:  worker runs every {worker.tick_seconds:g} s, {queue}; "
          f"{enabled} of {len(settings.rules)} rule(s) enabled{names}", flush=True)


def _read_password(args: argparse.Namespace) -> str:
    import getpass

    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass(f"Password for {args.name}: ")
    if getpass.getpass("Again: ") != first:
        sys.exit("publisher user: the two passwords differ")
    return first


def cmd_user(args: argparse.Namespace) -> int:
    """Web UI users: add, list, passwd (a new password), disable, enable."""
    from publisher.db.users import UserError, add_user, list_users, set_disabled, set_password
    from publisher.audit import current_user, record

    with _prepared(_settings(args)) as service:
        try:
            if args.user_command == "list":
                from publisher.db.logins import locks

                locked = {lk.key: lk for lk in locks(service.db) if lk.kind == "account"}
                for u in list_users(service.db):
                    lock = f"  LOCKED until {locked[u.username].until:%H:%M} UTC" if u.username in locked else ""
                    print(f"{u.username:24s} {u.role.value:12s} {'disabled' if u.disabled else 'active':8s} {u.created_by}{lock}")
                return 0
            if args.user_command == "add":
                u = add_user(service.db, args.name, args.role, _read_password(args), created_by=current_user())
                detail = {"role": u.role.value}
            elif args.user_command == "passwd":
                u = set_password(service.db, args.name, _read_password(args))
                detail = {}
            else:
                u = set_disabled(service.db, args.name, args.user_command == "disable")
                detail = {}
        except UserError as exc:
            sys.exit(f"publisher user {args.user_command}: {exc}")
        with service.db.session() as s:
            record(s, current_user(), f"user-{args.user_command}", f"user {u.username}", detail | {"via": "cli"})
        print(f"user {u.username}: {args.user_command} done ({u.role.value}{', disabled' if u.disabled else ''})")
    return 0


def cmd_user_unlock(args: argparse.Namespace) -> int:
    """Lift a web login lockout of a user name or an address (publisher.db.logins); audited."""
    from publisher.db import logins
    from publisher.audit import current_user, record

    if bool(args.name) == bool(args.address):
        sys.exit("publisher user unlock: name one user, or one --address")
    with _prepared(_settings(args)) as service:
        locked = {(lk.kind, lk.key) for lk in logins.locks(service.db)}
        forgotten = logins.unlock(service.db, username=args.name, address=args.address)
        what = f"user {args.name.strip().lower()}" if args.name else f"address {args.address}"
        was = ("account", args.name.strip().lower()) in locked if args.name else ("address", args.address) in locked
        with service.db.session() as s:
            record(s, current_user(), "login-unlock", what, {"failures_forgotten": forgotten, "via": "cli"})
    print(f"{what}: unlocked ({forgotten} failed login(s) forgotten{'' if was else '; it was not locked'})")
    return 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from publisher.db import migrate
    from publisher.db.session import Database

    settings = _settings(args)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.db_url)
    migrate.upgrade(db.engine, args.revision, archive_root=settings.archive_root)
    print(f"database at revision {migrate.current_revision(db.engine)}")
    return 0


def _walk(paths: Sequence[Path]) -> Iterator[Path]:
    for p in paths:
        if p.is_dir():
            for root, _dirs, files in os.walk(p):
                for name in sorted(files):
                    if name != "DICOMDIR":
                        yield Path(root) / name
        else:
            yield p


def cmd_import(args: argparse.Namespace) -> int:
    from publisher.archive.ingest import Provenance, StoreRefused

    files = list(_walk(args.paths))
    counts: dict[str, int] = {}
    failures: list[str] = []
    with _prepared(_settings(args)) as service, tqdm(total=len(files), unit="file", desc="import", disable=args.quiet) as bar:
        for f in files:
            try:
                outcome = service.archive.store_file(f, Provenance("IMPORT")).outcome
                counts[outcome] = counts.get(outcome, 0) + 1
            except StoreRefused as exc:
                failures.append(f"{f}: {exc.reason}")
            bar.update(1)
    summary = ", ".join(f"{v} {k}" for k, v in sorted(counts.items())) or "nothing stored"
    print(f"{summary}; {len(failures)} refused")
    for line in failures[:50]:
        print(f"  refused {line}", file=sys.stderr)
    return 1 if failures else 0


def _disc_policy(args: argparse.Namespace) -> "PatientPolicy":
    """The patient ID reconciliation chosen on the command line (publisher.intake.disc_import)."""
    from publisher.intake.coercion import AssignIssuer, DiscImportError, KeepPatientIds, MapToLocalPatient

    try:
        if args.issuer is not None:
            return AssignIssuer(args.issuer)
        if args.patient_id is not None:
            return MapToLocalPatient(args.patient_id, issuer=args.patient_issuer, patient_name=args.patient_name,
                                     birth_date=args.birth_date, sex=args.sex, source_patient_id=args.from_patient)
    except DiscImportError as exc:
        sys.exit(f"publisher import-disc: {exc}")
    if any(v is not None for v in (args.patient_name, args.birth_date, args.sex, args.from_patient)):
        sys.exit("publisher import-disc: --patient-name, --birth-date, --sex and --from-patient go with --patient-id")
    return KeepPatientIds()


def _print_disc(fileset: "FileSet") -> None:
    """What ``import-disc --dry-run`` shows: patients, studies, series and instance counts."""
    how = f"DICOMDIR {', '.join(fileset.dicomdirs)}" if fileset.dicomdirs else "no usable DICOMDIR: files found by scanning"
    print(f"{fileset.medium.description}: {how}" + (f" (File-set {', '.join(i for i in fileset.file_set_ids if i)})"
                                                     if any(fileset.file_set_ids) else ""))
    patients = fileset.patients()
    studies = series = 0
    for p in patients:
        issuer = f" (issuer {p.issuer_of_patient_id})" if p.issuer_of_patient_id else " (no issuer)"
        print(f"patient {p.patient_id or '-'}{issuer}  {p.patient_name}  {p.instances} instance(s)")
        for st in p.studies.values():
            studies += 1
            print(f"  study {st.study_date or '-'}  {st.study_description}  {st.study_instance_uid}  {st.instances} instance(s)")
            for se in st.series.values():
                series += 1
                print(f"    series {se.series_number or '-'} {se.modality or '-'}  {se.series_description}  {se.instances} instance(s)")
    print(f"{len(patients)} patient(s), {studies} study(ies), {series} series, {len(fileset.entries)} instance(s)")


def cmd_import_disc(args: argparse.Namespace) -> int:
    """Import a disc from elsewhere: read its File-set, reconcile patient IDs, store, forward."""
    from publisher.audit import current_user
    from publisher.intake.coercion import DiscImportError
    from publisher.intake.disc_import import Forward, check_policy, import_fileset
    from publisher.media.read.fileset import read_fileset
    from publisher.media.read.medium import MediumError, open_medium

    settings = _settings(args)
    policy = _disc_policy(args)
    forward = Forward(settings.dicom, _remote(settings, args.forward)) if args.forward else None
    try:
        medium = open_medium(args.source)
    except MediumError as exc:
        sys.exit(f"publisher import-disc: {exc}")
    with medium:
        with tqdm(unit="file", desc="read disc", disable=args.quiet or args.dry_run) as bar:
            fileset = read_fileset(medium, progress=_progress_bar(bar))
        if args.dry_run:
            _print_disc(fileset)
            for problem in fileset.problems:
                print(f"  problem {problem}", file=sys.stderr)
            return 0
        if not fileset.entries:
            for problem in fileset.problems:
                print(f"  problem {problem}", file=sys.stderr)
            sys.exit(f"publisher import-disc: no DICOM files found on {medium.description}")
        try:
            check_policy(fileset, policy)
        except DiscImportError as exc:
            sys.exit(f"publisher import-disc: {exc}")
        with _prepared(settings) as service, \
                tqdm(total=len(fileset.entries), unit="file", desc="import", disable=args.quiet) as bar:
            try:
                report = import_fileset(fileset, service.archive, policy=policy, actor=current_user(),
                                        modifying_system=settings.dicom.ae_title,
                                        source=args.source_name,
                                        forward=forward, progress=_progress_bar(bar))
            except DiscImportError as exc:
                sys.exit(f"publisher import-disc: {exc}")
    print(report.summary())
    for p in report.patients:
        if p["from"] != p["to"]:
            print(f"  patient {p['from']['id']} [{p['from']['issuer']}] {p['from']['name']} -> "
                  f"{p['to']['id']} [{p['to']['issuer']}] {p['to']['name']}")
    for problem in report.problems:
        print(f"  problem {problem}", file=sys.stderr)
    for path, why in report.refused.items():
        print(f"  refused {path}: {why}", file=sys.stderr)
    if report.forwarded is not None:
        for uid, why in sorted(report.forwarded.failed.items()):
            print(f"  not forwarded {uid}: {why}", file=sys.stderr)
    return 0 if report.ok else 1


def cmd_archive_check(args: argparse.Namespace) -> int:
    from publisher.archive.check import check

    with _prepared(_settings(args)) as service:
        report = check(service.archive, verify_hashes=args.verify, repair=args.repair)
    print(f"{report.rows} index rows, {report.files} files")
    for label, items in (
        ("missing file", report.missing_files),
        ("size differs", report.size_mismatch),
        ("hash differs", report.hash_mismatch),
        ("file not in index", report.orphan_files),
        ("could not repair", report.unrepairable),
    ):
        for item in items:
            print(f"  {label}: {item}")
    if args.repair:
        print(f"repaired {report.repaired}")
    return 0 if report.clean or (args.repair and not report.unrepairable) else 1


def _size(text: str) -> int:
    """Bytes from ``700M``, ``4.7G``, ``123456``."""
    units = {"K": 10**3, "M": 10**6, "G": 10**9}
    t = text.strip().upper().rstrip("B")
    if t and t[-1] in units:
        return int(float(t[:-1]) * units[t[-1]])
    return int(t)


PATIENT_HELP = ("a patient by Patient ID, or ID\\ISSUER when the ID is used by several issuers; patients without "
                "a Patient ID are one per study: select them with --study")


def cmd_master(args: argparse.Namespace) -> int:
    from publisher.audit import current_user, record_volumes
    from publisher.jobs.selection import EmptySelection, Selection, select_instances
    from publisher.jobs.viewer import master_with_viewer
    from publisher.media import MediaError

    with _prepared(_settings(args)) as service:
        try:
            with service.db.session() as s:
                instances, rejected = select_instances(s, Selection(args.patient, args.study, args.series), service.archive.root)
        except EmptySelection as exc:
            sys.exit(f"publisher master: {exc}")
        with tqdm(total=sum(i.size for i in instances), unit="B", unit_scale=True, desc="master", disable=args.quiet) as bar:
            try:
                volumes = master_with_viewer(
                    instances, args.media, args.out, rejected=rejected, viewer=args.viewer,
                    institution=args.institution, profile=args.profile, capacity=args.capacity,
                    exclude={uid: "" for uid in args.exclude}, compress=args.compress, progress=_progress_bar(bar),
                )
            except MediaError as exc:
                for problem in getattr(exc, "problems", ()):
                    print(f"  cannot go on {args.media}: {problem.line()}", file=sys.stderr)
                sys.exit(f"publisher master: {exc}")
        skipped = sum(1 for i in instances if i.sop_instance_uid in rejected)
        with service.db.session() as s:
            record_volumes(s, current_user(), volumes, skipped)
    if skipped:
        print(f"{skipped} rejected instance(s) left out (IHE IOCM rejection notes)")
    for v in volumes:
        target = v.image or v.root
        print(f"disc {v.number} of {v.count}: {target}  {v.size / 1e6:.1f} MB, {len(v.instances)} instances")
    return 0


# -- network: remote PACS, send, worklist, echo (issue 7) --------------------------------------

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

    settings = _settings(args)
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

    settings = _settings(args)
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
    with _prepared(settings) as service, tqdm(unit="inst", desc=f"C-{method.upper()} {remote.ae_title}", disable=args.quiet) as bar:
        progress = _progress_bar(bar, message=False)
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

    settings = _settings(args)
    remote = _remote(settings, args.remote)
    with _prepared(settings) as service:
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

    settings = _settings(args)
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

    settings = _settings(args)
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


def cmd_burn(args: argparse.Namespace) -> int:
    from publisher.audit import current_user
    from publisher.jobs.disc_job import create_job
    from publisher.jobs.selection import EmptySelection, Selection

    with _prepared(_settings(args)) as service:
        try:
            job_id = create_job(service.db, Selection(args.patient, args.study, args.series), media=args.media,
                                copies=args.copies, comment=args.comment, profile=args.profile or "",
                                created_by=current_user(), compress=args.compress,
                                exclude={uid: "" for uid in args.exclude})
        except (EmptySelection, ValueError) as exc:
            sys.exit(f"publisher burn: {exc}")
        print(f"disc job {job_id} queued ({args.copies} copies, {args.media})", flush=True)
        return _run_with_bar(service, job_id, args.quiet)


def _run_with_bar(service: "Service", job_id: int, quiet: bool) -> int:
    from robot_drivers import RobotError

    from publisher.archive.lookup import disc_job
    from publisher.jobs import records
    from publisher.jobs.disc_job import run_job
    from publisher.jobs.state import InvalidTransition, JobState

    try:
        context = service.job_context()
    except (TypeError, ValueError, OSError, RobotError) as exc:  # the robot's start-up check, its options
        sys.exit(f"disc job {job_id} stays queued: robot {service.settings.robot!r} could not be set up ({exc})")
    with tqdm(total=1, unit="B", unit_scale=True, desc=f"job {job_id}", disable=quiet) as bar:
        try:
            state = run_job(context, job_id, _progress_bar(bar))
        except InvalidTransition:
            sys.exit(f"disc job {job_id} is being run elsewhere (another publisher process took it)")
    with service.db.session() as s:
        job = disc_job(s, job_id)
        assert job is not None
        problems = records.load_problems(job.problems)
        for d in records.load_discs(job.discs):
            mark = "ok" if d.ok else f"REJECTED ({d.error})"
            print(f"  disc {d.volume}, copy {d.copy}: {mark}, {d.bin} bin")
        for v in records.load_volumes(job.volumes):
            if v.insert:
                print(f"  disc {v.number}: the label names some patients; print the case insert {v.insert}")
        for p in problems:
            print(f"  cannot go on {job.media}: {p.what} (SOP Instance UID {p.uid}): {p.reason}", file=sys.stderr)
        if problems:
            print(f"  to leave them out: publisher jobs --run {job_id} --exclude-problems", file=sys.stderr)
        print(f"disc job {job_id}: {state.value}" + (f" - {job.error}" if job.error else ""))
    return 0 if state is JobState.DONE else 1


def cmd_jobs(args: argparse.Namespace) -> int:
    from publisher.archive.lookup import disc_job, recent_jobs
    from publisher.jobs.disc_job import resubmit
    from publisher.jobs.state import InvalidTransition

    with _prepared(_settings(args)) as service:
        if args.run is None:
            with service.db.session() as s:
                for job in recent_jobs(s, args.limit):
                    pct = f"{100 * job.progress_done // job.progress_total}%" if job.progress_total else ""
                    print(f"{job.id:6d}  {job.state:9s} {pct:>4s}  {job.media:5s} x{job.copies}  {job.created_at:%Y-%m-%d %H:%M}"
                          f"  {job.created_by}  {job.comment}" + (f"  [{job.error}]" if job.error else ""))
            return 0
        with service.db.session() as s:
            found = disc_job(s, args.run)
            state = found.state if found is not None else None
        if state is None:
            sys.exit(f"publisher jobs: no disc job {args.run}")
        if state == "failed":
            try:  # a person asks for it again: master and burn anew
                resubmit(service.db, args.run, exclude=args.exclude, exclude_problems=args.exclude_problems)
            except InvalidTransition as exc:
                sys.exit(f"publisher jobs: job {args.run}: {exc}")
        elif state not in ("queued", "mastered"):
            sys.exit(f"publisher jobs: job {args.run} is {state}; only queued, mastered or failed jobs run")
        return _run_with_bar(service, args.run, args.quiet)


def _media_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--exclude", action="append", default=[], metavar="SOP_INSTANCE_UID",
                   help="leave this instance out (README.TXT and INDEX.HTM say so); repeatable")
    p.add_argument("--compress", action="store_true",
                   help="compress uncompressed images losslessly where the profile allows it (JPEG 2000 / JPEG lossless)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="publisher", description="DICOM disc publisher")
    parser.add_argument("--version", action="version", version=f"publisher {__version__}")
    parser.add_argument("--config", type=Path, help="TOML file overriding config/publisher.toml")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", help="run the DICOM server and the web app in the foreground")
    p.set_defaults(func=cmd_serve)

    db = sub.add_parser("db", help="database schema").add_subparsers(dest="db_command", required=True)
    p = db.add_parser("upgrade", help="migrate the schema to the newest revision")
    p.add_argument("revision", nargs="?", default="head")
    p.set_defaults(func=cmd_db_upgrade)

    p = sub.add_parser("import", help="file DICOM files or folders into the archive")
    p.add_argument("paths", nargs="+", type=Path)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("import-disc", help="import a disc from elsewhere (folder or .iso): DICOMDIR, patient IDs, forward")
    p.add_argument("source", type=Path, metavar="SOURCE", help="a folder (mounted disc, copied tree) or an ISO image")
    ids = p.add_mutually_exclusive_group()
    ids.add_argument("--issuer", metavar="NAME", help="set an empty Issuer of Patient ID to NAME (the source's name)")
    ids.add_argument("--patient-id", metavar="ID", help="map the disc's patient to this local patient ID")
    p.add_argument("--patient-issuer", default="", metavar="ISSUER", help="with --patient-id: the local issuer (default none)")
    p.add_argument("--patient-name", metavar="NAME", help="with --patient-id: the local name, e.g. DOE^JANE")
    p.add_argument("--birth-date", metavar="YYYYMMDD", help="with --patient-id: the local birth date")
    p.add_argument("--sex", choices=["M", "F", "O"], help="with --patient-id: the local sex")
    p.add_argument("--from-patient", metavar="ID", help="with --patient-id: the disc's patient to map (only that one is imported)")
    p.add_argument("--source-name", default="", metavar="TEXT", help="where the disc comes from, for the audit trail")
    p.add_argument("--forward", metavar="AE", help="also C-STORE what was imported to this configured remote")
    p.add_argument("--dry-run", action="store_true", help="list patients, studies and series on the disc; store nothing")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_import_disc)

    p = sub.add_parser("master", help="master a selection onto disc images (DICOMDIR, IHE PDI, ISO/UDF)")
    p.add_argument("--patient", action="append", default=[], metavar="ID[\\ISSUER]", help=PATIENT_HELP)
    p.add_argument("--study", action="append", default=[], metavar="STUDY_UID")
    p.add_argument("--series", action="append", default=[], metavar="SERIES_UID")
    p.add_argument("--media", default="cd", choices=["cd", "dvd", "dvd-dl", "bd", "bd-dl", "usb", "folder"])
    p.add_argument("--profile", help="media profile, e.g. STD-GEN-DVD-JPEG (default: the medium's general one)")
    p.add_argument("--capacity", type=_size, help="override the medium's capacity, e.g. 100M")
    p.add_argument("--institution", default="", help="institution named in README.TXT")
    p.add_argument("--out", type=Path, required=True, help="folder for the images and manifests")
    p.add_argument("--no-viewer", dest="viewer", action="store_false", help="DICOM only: no HTML5 viewer on the disc")
    _media_options(p)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_master)

    p = sub.add_parser("burn", help="queue a disc job for a selection and run it on the configured robot")
    p.add_argument("--patient", action="append", default=[], metavar="ID[\\ISSUER]", help=PATIENT_HELP)
    p.add_argument("--study", action="append", default=[], metavar="STUDY_UID")
    p.add_argument("--series", action="append", default=[], metavar="SERIES_UID")
    p.add_argument("--media", default="cd", choices=["cd", "dvd", "dvd-dl", "bd", "bd-dl"])
    p.add_argument("--profile", help="media profile, e.g. STD-GEN-DVD-JPEG")
    p.add_argument("--copies", type=int, default=1)
    p.add_argument("--comment", default="", help="printed on the label")
    _media_options(p)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_burn)

    p = sub.add_parser("jobs", help="list disc jobs, or run one (a failed one is resubmitted)")
    p.add_argument("--limit", type=int, default=30)
    p.add_argument("--run", type=int, metavar="JOB_ID", help="run a queued job, or resubmit a failed one and run it")
    p.add_argument("--exclude", action="append", default=[], metavar="SOP_INSTANCE_UID",
                   help="with --run of a failed job: leave this instance out of the discs")
    p.add_argument("--exclude-problems", action="store_true",
                   help="with --run of a failed job: leave out every instance its planning said cannot go on the medium")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_jobs)

    users = sub.add_parser("user", help="web UI users and their roles").add_subparsers(dest="user_command", required=True)
    p = users.add_parser("list", help="list users")
    p.set_defaults(func=cmd_user)
    for name, text in (("add", "add a user (asks for the password)"), ("passwd", "set a new password"),
                       ("disable", "stop a user from logging in"), ("enable", "let a disabled user log in again")):
        p = users.add_parser(name, help=text)
        p.add_argument("name", metavar="NAME")
        if name == "add":
            p.add_argument("--role", required=True, choices=["radiologist", "frontdesk", "admin"])
        if name in ("add", "passwd"):
            p.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
        p.set_defaults(func=cmd_user)
    p = users.add_parser("unlock", help="lift a login lockout (too many failed logins) of a user or an address")
    p.add_argument("name", metavar="NAME", nargs="?", help="the user name")
    p.add_argument("--address", help="an IP address locked for every user name instead")
    p.set_defaults(func=cmd_user_unlock)

    arch = sub.add_parser("archive", help="archive maintenance").add_subparsers(dest="archive_command", required=True)
    p = arch.add_parser("check", help="reconcile files and index rows")
    p.add_argument("--verify", action="store_true", help="also compare every file's SHA-256")
    p.add_argument("--repair", action="store_true", help="re-file orphan files, drop rows of lost files")
    p.set_defaults(func=cmd_archive_check)

    remote = sub.add_parser("remote", help="query and retrieve from a remote PACS (dicom.remotes)").add_subparsers(dest="remote_command", required=True)
    p = remote.add_parser("find", help="C-FIND at a remote: any level, any information model")
    p.add_argument("remote", metavar="AE", help="AE title of a configured remote")
    p.add_argument("--level", default="STUDY", help="PATIENT, STUDY, SERIES or IMAGE (default STUDY)")
    p.add_argument("--model", default="study", help="patient, study or patient-study (default study)")
    p.add_argument("-k", "--key", action="append", default=[], metavar="KEYWORD=VALUE",
                   help="matching key, e.g. PatientName=SMITH* StudyDate=20260101-20260131 (repeatable)")
    p.add_argument("-r", "--return", dest="ret", action="append", default=[], metavar="KEYWORD",
                   help="attribute to show (repeatable; default depends on the level)")
    p.set_defaults(func=cmd_remote_find)
    p = remote.add_parser("retrieve", help="fetch studies / series the archive lacks (C-MOVE to us or C-GET)")
    p.add_argument("remote", metavar="AE", help="AE title of a configured remote")
    p.add_argument("--study", action="append", default=[], metavar="STUDY_UID")
    p.add_argument("--series", action="append", default=[], metavar="STUDY_UID:SERIES_UID")
    p.add_argument("--method", choices=["move", "get"], help="default: the remote's retrieve setting")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_remote_retrieve)

    p = sub.add_parser("send", help="C-STORE patients / studies / series to a configured AE")
    p.add_argument("remote", metavar="AE", help="AE title of a configured remote")
    p.add_argument("--patient", action="append", default=[], metavar="ID[\\ISSUER]", help=PATIENT_HELP)
    p.add_argument("--study", action="append", default=[], metavar="STUDY_UID")
    p.add_argument("--series", action="append", default=[], metavar="SERIES_UID")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_send)

    p = sub.add_parser("worklist", help="list Modality Worklist entries of a worklist SCP")
    p.add_argument("remote", metavar="AE", help="AE title of a configured worklist SCP")
    p.add_argument("--station", default="", help="Scheduled Station AE Title")
    p.add_argument("--modality", default="")
    p.add_argument("--date", default="", help="scheduled date or range, e.g. 20260101-20260107")
    p.add_argument("--patient", default="", help="patient name, wildcards allowed")
    p.add_argument("--patient-id", default="")
    p.add_argument("--accession", default="")
    p.add_argument("--match", action="store_true", help="also show the archived studies each entry names")
    p.set_defaults(func=cmd_worklist)

    p = sub.add_parser("echo", help="C-ECHO configured remotes (all when none is named)")
    p.add_argument("remotes", nargs="*", metavar="AE")
    p.set_defaults(func=cmd_echo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
