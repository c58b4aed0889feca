"""``publisher forward list|retry|cancel``: the router's forward queue (:mod:`publisher.routing.queue`)."""

from __future__ import annotations

import argparse

from publisher.cli.common import prepared, settings_from
from publisher.routing import queue


def cmd_forward(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    with prepared(settings) as service:
        if args.action == "list":
            counts = queue.counts(service.db)
            for (dest, state), n in sorted(counts.items()):
                print(f"{dest:<16} {state:<10} {n}")
            if not counts:
                print("the forward queue is empty")
            for item in queue.listing(service.db, states=("failed",) if args.failed else ("pending", "failed", "held")):
                print(f"#{item.id} {item.destination} {item.state} attempts={item.attempts} due={item.due_at:%Y-%m-%d %H:%M:%S} "
                      f"{item.sop_instance_uid}{'  ' + item.error if item.error else ''}")
            return 0
        ids = [int(i) for i in args.ids]
        if not ids and not args.destination:
            raise SystemExit("publisher forward: name item ids or --destination AE")
        n = queue.retry(service.db, ids, args.destination) if args.action == "retry" else queue.cancel(service.db, ids, args.destination)
        print(f"{n} item(s) {'due now' if args.action == 'retry' else 'cancelled'}")
        return 0


def add_parser(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    p = sub.add_parser("forward", help="the forward queue of the router: list, retry now, cancel")
    p.add_argument("action", choices=["list", "retry", "cancel"])
    p.add_argument("ids", nargs="*", metavar="ID", help="queue item numbers (as listed)")
    p.add_argument("--destination", default="", metavar="AE", help="every item of this destination")
    p.add_argument("--failed", action="store_true", help="list: failed items only")
    p.set_defaults(func=cmd_forward)
