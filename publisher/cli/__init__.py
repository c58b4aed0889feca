"""``publisher`` command line: one module per command group (serve, users, archive, intake,
discs, remote); this one builds the parser and runs the command."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from pathlib import Path

from publisher import __version__
from publisher.cli.archive import cmd_archive_check, cmd_db_upgrade, cmd_import
from publisher.cli.common import PATIENT_HELP, parse_size, add_media_options
from publisher.cli import forward
from publisher.cli.discs import cmd_burn, cmd_jobs, cmd_master
from publisher.cli.intake import cmd_import_disc
from publisher.cli.remote import cmd_echo, cmd_remote_find, cmd_remote_retrieve, cmd_send, cmd_worklist
from publisher.cli.serve import cmd_serve
from publisher.cli.users import cmd_user, cmd_user_unlock
from publisher.cli.tokens import add_parsers as add_token_parsers
from publisher.media.model import MediaType


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
    p.add_argument("--media", default="cd", choices=[m.value for m in MediaType])
    p.add_argument("--profile", help="media profile, e.g. STD-GEN-DVD-JPEG (default: the medium's general one)")
    p.add_argument("--capacity", type=parse_size, help="override the medium's capacity, e.g. 100M")
    p.add_argument("--institution", default="", help="institution named in README.TXT")
    p.add_argument("--out", type=Path, required=True, help="folder for the images and manifests")
    p.add_argument("--no-viewer", dest="viewer", action="store_false", help="DICOM only: no HTML5 viewer on the disc")
    add_media_options(p)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_master)

    p = sub.add_parser("burn", help="queue a disc job for a selection and run it on the configured robot")
    p.add_argument("--patient", action="append", default=[], metavar="ID[\\ISSUER]", help=PATIENT_HELP)
    p.add_argument("--study", action="append", default=[], metavar="STUDY_UID")
    p.add_argument("--series", action="append", default=[], metavar="SERIES_UID")
    p.add_argument("--media", default="cd", choices=[m.value for m in MediaType if m.is_image],
                   help="a robot burns discs: every medium written as an image")
    p.add_argument("--profile", help="media profile, e.g. STD-GEN-DVD-JPEG")
    p.add_argument("--copies", type=int, default=1)
    p.add_argument("--comment", default="", help="printed on the label")
    add_media_options(p)
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
    add_token_parsers(users)

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

    forward.add_parser(sub)

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

