"""``publisher user ...``: web UI users, roles, passwords and lockouts."""

from __future__ import annotations

import argparse
import sys

from publisher.cli.common import prepared, settings_from


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

    with prepared(settings_from(args)) as service:
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
    with prepared(settings_from(args)) as service:
        locked = {(lk.kind, lk.key) for lk in logins.locks(service.db)}
        forgotten = logins.unlock(service.db, username=args.name, address=args.address)
        what = f"user {args.name.strip().lower()}" if args.name else f"address {args.address}"
        was = ("account", args.name.strip().lower()) in locked if args.name else ("address", args.address) in locked
        with service.db.session() as s:
            record(s, current_user(), "login-unlock", what, {"failures_forgotten": forgotten, "via": "cli"})
    print(f"{what}: unlocked ({forgotten} failed login(s) forgotten{'' if was else '; it was not locked'})")
    return 0
