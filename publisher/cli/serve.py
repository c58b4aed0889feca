"""``publisher serve``: the DICOM server, the web app and the job worker in the foreground."""

from __future__ import annotations

import argparse
import logging
import signal
import sys

from publisher.config import ConfigError
from publisher.cli.common import settings_from
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from publisher.service import Service


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from publisher.service import Service
    from publisher.web.app import create_app

    settings = settings_from(args)
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
        exporter = service.start_audit_export()
    except ConfigError as exc:  # a TLS certificate or key that cannot be used
        service.stop()
        sys.exit(f"configuration error: {exc}")
    d = settings.dicom
    print(f"DICOM: AE title {d.ae_title} listening on {d.bind}:{d.port}", flush=True)
    if d.tls_port:
        client_auth = "client certificates required" if d.tls_require_client_cert else "client certificates optional"
        print(f"DICOM: TLS on {d.bind}:{d.tls_port} (certificate {d.tls_cert_file}; {client_auth})", flush=True)
    if exporter is not None:
        a = settings.audit
        print(f"Audit: DICOM audit messages to {a.host}:{a.port} over syslog ({a.transport})", flush=True)
    print(f"HTTP:  http://{settings.http_host}:{settings.http_port}/", flush=True)
    print(f"Data:  {settings.data_dir.resolve()} (database {service.db.engine.url.render_as_string(hide_password=True)})", flush=True)
    from publisher.web.auth import ensure_admin

    note = ensure_admin(service.db, settings.data_dir)
    if note:
        print(note, flush=True)
    app = create_app(service.db, ae_title=d.ae_title, dicom_port=d.port, data_dir=settings.data_dir,
                     time_zone=settings.time_zone, settings=settings, apply_settings=service.apply,
                     robots=service.robot_board, health=service.health)
    from publisher.intake.pacs import PacsGateway

    app.state.pacs = PacsGateway(settings, service.archive)  # the web's PACS page (publisher.web.pacs)
    app.state.archive = service.archive  # DICOMweb reads its files and STOW-RS files into it (publisher.web.dicomweb)
    # Forwarded headers only from the configured proxies: uvicorn would otherwise believe
    # X-Forwarded-For from 127.0.0.1, where the UI listens, and anyone there could pick an address.
    proxies = list(settings.http_trusted_proxies)
    config = uvicorn.Config(app, host=settings.http_host, port=settings.http_port, log_level="warning",
                            proxy_headers=bool(proxies), forwarded_allow_ips=proxies or None)
    server = uvicorn.Server(config)
    _exit_on_sigterm()
    try:
        _start_worker(service)
        service.start_forwarder()
        routes = [r.name for r in settings.routes if r.enabled]
        print(f"Route: {len(routes)} route(s) enabled{' (' + ', '.join(routes) + ')' if routes else ''}; "
              f"forward queue every {settings.forward.tick_seconds:g} s", flush=True)
        r = service.start_retention().settings
        kept = f"grace {r.grace_hours:g} h, fetched back from {', '.join(r.retrieve_from) or 'nowhere'}" if r.mode == "buffer" else "nothing deleted"
        print(f"Keep:  retention {r.mode} ({kept})", flush=True)
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
