"""``publisher user token NAME`` / ``tokens`` / ``revoke-token ID``: bearer tokens for scripts
(DICOMweb), made and revoked by an administrator at the console; audited."""

from __future__ import annotations

import argparse
import sys

from publisher.cli.common import prepared, settings_from


def cmd_token(args: argparse.Namespace) -> int:
    from publisher.audit import current_user, record
    from publisher.db.tokens import list_tokens, make_token, revoke_token
    from publisher.db.users import UserError

    with prepared(settings_from(args)) as service:
        if args.user_command == "tokens":
            for t in list_tokens(service.db):
                print(f"{t.id:6d} {t.username:24s} {'revoked' if t.revoked else 'active':8s} {t.label}")
            return 0
        if args.user_command == "revoke-token":
            if not revoke_token(service.db, args.id):
                sys.exit(f"publisher user revoke-token: no token {args.id}")
            what, detail = f"token {args.id}", {"via": "cli"}
            out = f"token {args.id}: revoked"
        else:
            try:
                token = make_token(service.db, args.name, args.label)
            except UserError as exc:
                sys.exit(f"publisher user token: {exc}")
            what, detail = f"user {args.name.strip().lower()}", {"label": args.label, "via": "cli"}
            out = token
        with service.db.session() as s:
            record(s, current_user(), f"user-{args.user_command}", what, detail)
    print(out)
    return 0


def add_parsers(users: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    p = users.add_parser("token", help="make a bearer token for scripts (DICOMweb) acting as user NAME; printed once")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--label", default="", help="what the token is for (shown by 'tokens')")
    p.set_defaults(func=cmd_token)
    p = users.add_parser("tokens", help="list bearer tokens (never the tokens themselves)")
    p.set_defaults(func=cmd_token)
    p = users.add_parser("revoke-token", help="stop a bearer token from working")
    p.add_argument("id", metavar="ID", type=int)
    p.set_defaults(func=cmd_token)
