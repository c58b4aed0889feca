"""What every command shares: settings, the prepared service, progress bars, media options."""

from __future__ import annotations

import argparse
import os
import sys
from contextlib import contextmanager
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from tqdm import tqdm

from publisher.config import ConfigError, Settings, load_settings
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from publisher.service import Service


PATIENT_HELP = ("a patient by Patient ID, or ID\\ISSUER when the ID is used by several issuers; patients without "
                "a Patient ID are one per study: select them with --study")


def settings_from(args: argparse.Namespace) -> Settings:
    """The settings of ``--config`` (and the defaults and environment), refused at once with
    the file and key when a setting is wrong, robot driver options included."""
    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        sys.exit(f"configuration error: {exc}")
    problems = robot_option_problems(settings)
    if problems:
        where = f" (in {args.config} or the environment)" if getattr(args, "config", None) else ""
        sys.exit(f"configuration error{where}: " + "; ".join(problems))
    return settings


def robot_option_problems(settings: Settings) -> list[str]:
    """Options of ``[robot]`` and of each ``[[robots]]`` table that its driver does not take,
    named as they are written, found before any driver is built."""
    from robot_drivers.registry import option_problems

    out = [f"[robot] {p}" for p in option_problems(settings.robot, dict(settings.robot_options))]
    for entry in settings.robots:
        out += [f"[[robots]] {entry.name!r} options: {p}" for p in option_problems(entry.kind, entry.options)]
    return out


@contextmanager
def prepared(settings: Settings) -> Iterator["Service"]:
    """The service's parts, migrated and recovered, released however the command ends."""
    from publisher.service import Service

    service = Service(settings)
    try:
        service.prepare()
        yield service
    finally:
        service.stop()


def progress_bar(bar: tqdm, message: bool = True) -> Callable[..., None]:
    """A ``progress(done, total[, message])`` callback that moves ``bar``."""

    def progress(done: int, total: int, text: str = "") -> None:
        bar.total, bar.n = max(total, 1), done
        if message and text:
            bar.set_postfix_str(text[:40], refresh=False)
        bar.refresh()

    return progress


def add_media_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--exclude", action="append", default=[], metavar="SOP_INSTANCE_UID",
                   help="leave this instance out (README.TXT and INDEX.HTM say so); repeatable")
    p.add_argument("--compress", action="store_true",
                   help="compress uncompressed images losslessly where the profile allows it (JPEG 2000 / JPEG lossless)")


def walk_files(paths: Sequence[Path]) -> Iterator[Path]:
    for p in paths:
        if p.is_dir():
            for root, _dirs, files in os.walk(p):
                for name in sorted(files):
                    if name != "DICOMDIR":
                        yield Path(root) / name
        else:
            yield p


def parse_size(text: str) -> int:
    """Bytes from ``700M``, ``4.7G``, ``123456``."""
    units = {"K": 10**3, "M": 10**6, "G": 10**9}
    t = text.strip().upper().rstrip("B")
    if t and t[-1] in units:
        return int(float(t[:-1]) * units[t[-1]])
    return int(t)
