"""``publisher import-disc``: a disc from elsewhere, with its patient-ID policy and a dry run."""

from __future__ import annotations

import argparse
import sys
from tqdm import tqdm

from publisher.cli.common import prepared, progress_bar, settings_from
from publisher.cli.remote import _remote
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from publisher.intake.coercion import PatientPolicy
    from publisher.media.read.entries import FileSet


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

    settings = settings_from(args)
    policy = _disc_policy(args)
    forward = Forward(settings.dicom, _remote(settings, args.forward)) if args.forward else None
    try:
        medium = open_medium(args.source)
    except MediumError as exc:
        sys.exit(f"publisher import-disc: {exc}")
    with medium:
        with tqdm(unit="file", desc="read disc", disable=args.quiet or args.dry_run) as bar:
            fileset = read_fileset(medium, progress=progress_bar(bar))
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
        with prepared(settings) as service, \
                tqdm(total=len(fileset.entries), unit="file", desc="import", disable=args.quiet) as bar:
            try:
                report = import_fileset(fileset, service.archive, policy=policy, actor=current_user(),
                                        modifying_system=settings.dicom.ae_title,
                                        source=args.source_name,
                                        forward=forward, progress=progress_bar(bar))
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
