"""What ``/health`` reports about the running service: DICOM, the job worker, each robot, disk
free and the database, each ``ok`` or not with a detail; the service is ``ok`` only when every
part is (the web answers 503 otherwise, so a monitor or load balancer sees it)."""

from __future__ import annotations

import shutil
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from publisher.db.session import Database
from publisher.jobs.robots import RobotBoard


@dataclass(frozen=True)
class Part:
    name: str
    ok: bool
    detail: dict[str, Any]


def database(db: Database) -> Part:
    try:
        db.ping()
    except Exception as exc:  # any driver error: the database is down for us
        return Part("database", False, {"error": f"{exc.__class__.__name__}: {str(exc)[:200]}"})
    return Part("database", True, {"backend": db.engine.url.get_backend_name()})


def dicom(host: str, port: int, running: bool) -> Part:
    """The DICOM port accepts a TCP connection (the association itself is the DICOM tests' job)."""
    if not running or not port:
        return Part("dicom", False, {"error": "the DICOM server is not running", "port": port})
    try:
        with socket.create_connection((host if host not in ("", "0.0.0.0") else "127.0.0.1", port), timeout=2):
            pass
    except OSError as exc:
        return Part("dicom", False, {"error": str(exc), "port": port})
    return Part("dicom", True, {"port": port})


def worker(enabled: bool, running: bool, jobs: tuple[int, ...] = ()) -> Part:
    if not enabled:
        return Part("worker", True, {"running": False, "note": "[jobs] worker = false"})
    return Part("worker", running, {"running": running, "current_jobs": list(jobs)}
                if running else {"running": False, "error": "the job worker is not running"})


def disk(path: Path, min_free: int) -> Part:
    try:
        usage = shutil.disk_usage(path)
    except OSError as exc:
        return Part("disk", False, {"error": str(exc), "path": str(path)})
    return Part("disk", usage.free > min_free, {"path": str(path), "free_bytes": usage.free,
                                                "total_bytes": usage.total, "min_free_bytes": min_free})


def robots(board: RobotBoard) -> list[Part]:
    return [Part(f"robot:{v.name}", v.online, {"kind": v.kind, "default": v.default, "online": v.online,
                                               "faults": [f.message for f in v.faults]})
            for v in board.views()]


def report(parts: list[Part], **extra: Any) -> dict[str, Any]:
    """The JSON body: ``status`` ``ok`` or ``down`` (naming what is down) and every part."""
    down = [p.name for p in parts if not p.ok]
    return {"status": "down" if down else "ok", "down": down, **extra,
            "parts": {p.name: {"ok": p.ok, **p.detail} for p in parts}}
