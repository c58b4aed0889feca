"""What administrators change in the web UI: ``<data_dir>/settings.toml``, over the files.

The file holds only what the Settings page edits (:data:`EDITABLE`): the institution, the
allowed callers and remotes of ``[dicom]`` and the ``[[rules]]``, in the same TOML as
``config/publisher.toml``, so it can be backed up, diffed and edited by hand. It is read after
the ``--config`` file and before the environment (docs/admin.md), and written whole and
atomically (a temporary file in the same folder, flushed, then renamed over the old one), so a
crash leaves the old file or the new one, never half of one.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

from publisher.config.checks import check_settings
from publisher.config.model import AllowedCaller, ConfigError, Settings

FILE_NAME = "settings.toml"

#: table -> the keys of it the Settings page edits.
EDITABLE: dict[str, tuple[str, ...]] = {"service": ("institution",), "dicom": ("allowed_callers", "remotes"), "rules": ()}


def path(data_dir: Path) -> Path:
    return data_dir / FILE_NAME


def read(data_dir: Path) -> dict[str, Any]:
    """The file's tables ({} when there is none)."""
    p = path(data_dir)
    if not p.exists():
        return {}
    try:
        return tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"settings file {p}: {exc}") from None


def _caller(c: AllowedCaller) -> dict[str, Any]:
    out: dict[str, Any] = {"ae_title": c.ae_title}
    if c.host:
        out["host"] = c.host
    out["services"] = sorted(c.services)
    return out


def _plain(obj: Any) -> dict[str, Any]:
    return {f.name: list(v) if isinstance(v := getattr(obj, f.name), tuple) else v for f in fields(obj)}


def editable(settings: Settings) -> dict[str, Any]:
    """What the Settings page edits, from ``settings``, as the file's tables."""
    return {
        "service": {"institution": settings.institution},
        "dicom": {"allowed_callers": [_caller(c) for c in settings.dicom.allowed_callers],
                  "remotes": [_plain(r) for r in settings.dicom.remotes]},
        "rules": [_plain(r) for r in settings.rules],
    }


def applied(settings: Settings, data: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> Settings:
    """``settings`` with the tables ``data`` applied, then the environment as at start (it wins
    over files), checked (a :class:`ConfigError` names what is wrong); ``data`` may hold only
    the :data:`EDITABLE` keys."""
    from publisher.config.load import apply_environment, apply_table

    for table, value in data.items():
        keys = EDITABLE.get(table)
        if keys is None or (keys and (not isinstance(value, Mapping) or set(value) - set(keys))):
            raise ConfigError(f"the settings file may hold only {', '.join(f'{t}.{k}' for t, ks in EDITABLE.items() for k in ks)}"
                              " and [[rules]]")
        settings = apply_table(settings, table, value)
    _check_peers(settings)
    return check_settings(apply_environment(settings, os.environ if environ is None else environ))


def _check_peers(settings: Settings) -> None:
    """AE titles of callers and remotes as PS3.5 6.2 allows them (1-16 characters of the default
    repertoire, no backslash), remote ports 1-65535: what the form lets a person type."""
    for kind, peers in (("allowed caller", settings.dicom.allowed_callers), ("remote", settings.dicom.remotes)):
        for peer in peers:
            ae = peer.ae_title
            if not 1 <= len(ae) <= 16 or "\\" in ae or not ae.isascii() or not ae.isprintable() or not ae.strip():
                raise ConfigError(f"{kind} {ae!r}: an AE title has 1-16 characters (ASCII, no backslash; PS3.5 6.2)")
    for remote in settings.dicom.remotes:
        if not 1 <= remote.port <= 65535 or not remote.host.strip():
            raise ConfigError(f"remote {remote.ae_title}: a host and a port 1-65535 are needed")


# -- writing TOML (the few types the editable settings have) ------------------------------------

def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        escaped = v.replace("\\", "\\\\").replace('"', '\\"')
        escaped = "".join(c if c.isprintable() or c == " " else f"\\u{ord(c):04x}" for c in escaped)
        return f'"{escaped}"'
    if isinstance(v, Sequence):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {v!r} as TOML")


def _table(lines: list[str], header: str, table: Mapping[str, Any]) -> None:
    plain = {k: v for k, v in table.items() if v is not None and not _is_tables(v)}
    lines += ["", header, *(f"{k} = {_value(v)}" for k, v in plain.items())]
    for k, v in table.items():
        if _is_tables(v):
            for item in v:
                _table(lines, f"[[{header.strip('[]')}.{k}]]", item)


def _is_tables(v: Any) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(x, Mapping) for x in v)


def dumps(data: Mapping[str, Any], *, who: str = "") -> str:
    when = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    lines = [f"# Written by the web UI's Settings page{f' ({who})' if who else ''} at {when}.",
             "# Read over config/publisher.toml and the --config file; the environment still wins (docs/admin.md)."]
    # An empty array of tables is a key, written before the first [table] header would claim it.
    lines += [f"{name} = []" for name, table in data.items() if isinstance(table, list) and not table]
    for name, table in data.items():
        if isinstance(table, list):
            for item in table:
                _table(lines, f"[[{name}]]", item)
        else:
            _table(lines, f"[{name}]", table)
    text = "\n".join(lines) + "\n"
    tomllib.loads(text)  # what we write must read back
    return text


def write(data_dir: Path, data: Mapping[str, Any], *, who: str = "") -> Path:
    """Write ``data`` as the settings file, atomically."""
    return write_atomically(path(data_dir), dumps(data, who=who))


def write_atomically(target: Path, text: str) -> Path:
    """``text`` as ``target``: a temporary file beside it, flushed, renamed over it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}-", suffix=target.suffix, dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target

