"""Embedded defaults <- ``config/publisher.toml`` <- ``--config`` file <- environment.

Which tables, keys and environment variables exist is read off the model
(:mod:`publisher.config.model`), never listed here:

- a ``Settings`` field whose type is a settings class is a table (``[dicom]``, ``[jobs]``,
  ``[labels]``); a tuple of a settings class is an array of tables (``[[rules]]``); every other
  field is a key of ``[service]``; ``[robot]`` holds ``kind`` (the ``robot`` field) and the
  driver's options. Any other table or key is refused, naming the file and the dotted key.
- every field that has a text form (not a list of tables) is read from the environment as
  ``PUBLISHER_<KEY>`` for ``[service]`` and ``PUBLISHER_<TABLE>_<KEY>`` for a table; keys of a
  table marked ``short_env`` (``[dicom]``) also as ``PUBLISHER_<KEY>``; a field's ``env``
  metadata adds further names (``LABEL_FONT_DIRS``). The first name set wins, in that order.
  An empty variable counts as unset. ``PUBLISHER_CONFIG`` names the ``--config`` file.
"""

from __future__ import annotations

import functools
import os
import tomllib
from collections.abc import Mapping
from dataclasses import fields, replace
from pathlib import Path
from typing import Any, get_args, get_origin

from publisher.config.checks import check_settings
from publisher.config.convert import apply, field_value, hints, is_settings_class
from publisher.config.model import DEFAULT_CONFIG_FILE, ConfigError, Settings

SERVICE = "service"
PREFIX = "PUBLISHER_"


def _tables() -> dict[str, type]:
    """Table name -> its settings class (``dicom`` -> DicomSettings)."""
    return {f.name: hints(Settings)[f.name] for f in fields(Settings) if is_settings_class(hints(Settings)[f.name])}


def _arrays() -> set[str]:
    """Arrays of tables (``[[rules]]``)."""
    return {f.name for f in fields(Settings) if _is_table_list(hints(Settings)[f.name])}


def _is_table_list(tp: Any) -> bool:
    return get_origin(tp) is tuple and is_settings_class(get_args(tp)[0])


def _service_keys() -> set[str]:
    tables, arrays = _tables(), _arrays()
    return {f.name for f in fields(Settings) if f.name not in tables and f.name not in arrays
            and "options_of" not in f.metadata}


@functools.cache
def environment_names() -> dict[tuple[str, str], tuple[str, ...]]:
    """(table or "", key) -> the environment variables that set it, the first set one winning."""
    out: dict[tuple[str, str], tuple[str, ...]] = {}
    for f in fields(Settings):
        tp = hints(Settings)[f.name]
        if is_settings_class(tp):
            for g in fields(tp):
                if _is_table_list(hints(tp)[g.name]):
                    continue
                short = (f"{PREFIX}{g.name}".upper(),) if f.metadata.get("short_env") else ()
                out[(f.name, g.name)] = (f"{PREFIX}{f.name}_{g.name}".upper(), *g.metadata.get("env", ()), *short)
        elif f.name in _service_keys():
            out[("", f.name)] = (f"{PREFIX}{f.name}".upper(), *f.metadata.get("env", ()))
    seen: dict[str, tuple[str, str]] = {}
    for target, names in out.items():
        for name in names:
            if name in seen:  # a model change that makes two settings share a name
                raise RuntimeError(f"environment variable {name} would set both {seen[name]} and {target}")
            seen[name] = target
    return out


def environment_variables() -> dict[str, str]:
    """Every environment variable read, with the dotted key it sets (for docs and tests)."""
    return {name: f"{table}.{key}" if table else key
            for (table, key), names in environment_names().items() for name in names}


def apply_table(settings: Settings, name: str, table: Any) -> Settings:
    """``settings`` with one top-level TOML table (or array of tables) of a file applied."""
    tables = _tables()
    if name in _arrays():
        f = next(f for f in fields(Settings) if f.name == name)
        return replace(settings, **{name: field_value(f, hints(Settings)[name], table, name, text=False)})
    if not isinstance(table, Mapping):
        raise ConfigError(f"unknown key {name}" if name not in tables and name != SERVICE
                          else f"[{name}] is a table, not {table!r}")
    if name == SERVICE:
        for key in table:
            if key not in _service_keys():
                raise ConfigError(f"unknown key {SERVICE}.{key}")
        return apply(Settings, settings, table, "")  # type: ignore[no-any-return]
    if name in tables:
        return replace(settings, **{name: apply(tables[name], getattr(settings, name), table, name)})
    moved = {f.metadata["key"]: f.name for f in fields(Settings) if f.metadata.get("table") == name}
    options = [f.name for f in fields(Settings) if f.metadata.get("options_of") == name]
    if moved or options:
        by_name = {f.name: f for f in fields(Settings)}
        here = {moved[k]: field_value(by_name[moved[k]], hints(Settings)[moved[k]], v, f"{name}.{k}", text=False)
                for k, v in table.items() if k in moved}
        settings = replace(settings, **here)
        rest = tuple(sorted((k, v) for k, v in table.items() if k not in moved))
        if rest and not options:
            raise ConfigError(f"unknown key {name}.{rest[0][0]}")
        changed: dict[str, Any] = {options[0]: rest}
        return replace(settings, **changed) if rest else settings
    raise ConfigError(f"unknown section [{name}]")


def apply_file(settings: Settings, path: Path) -> Settings:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        for name, table in data.items():
            settings = apply_table(settings, name, table)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path}: {exc}") from None
    except ConfigError as exc:
        raise ConfigError(f"config file {path}: {exc}") from None
    return settings


def apply_environment(settings: Settings, env: Mapping[str, str]) -> Settings:
    tables = _tables()
    for (table, key), names in environment_names().items():
        var = next((n for n in names if env.get(n, "") != ""), None)
        if var is None:
            continue
        try:
            if table:
                section = apply(tables[table], getattr(settings, table), {key: env[var]}, table, text=True)
                settings = replace(settings, **{table: section})
            else:
                settings = apply(Settings, settings, {key: env[var]}, "", text=True)
        except ConfigError as exc:
            raise ConfigError(f"environment {var}: {exc}") from None
    return settings


def load_settings(config_file: Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Embedded defaults <- ``config/publisher.toml`` <- ``config_file`` <- the web UI's
    ``<data_dir>/settings.toml`` (:mod:`publisher.config.overlay`) <- environment."""
    env = os.environ if environ is None else environ
    settings = Settings()
    files = [DEFAULT_CONFIG_FILE] if DEFAULT_CONFIG_FILE.exists() else []
    if config_file is None and env.get("PUBLISHER_CONFIG"):
        config_file = Path(env["PUBLISHER_CONFIG"])
    if config_file is not None:
        if not config_file.exists():
            raise ConfigError(f"configuration file {config_file} does not exist")
        files.append(config_file)
    for path in files:
        settings = apply_file(settings, path)
    # What admins changed in the web UI, in the data directory the files and environment name.
    from publisher.config import overlay

    admin_file = overlay.path(apply_environment(settings, env).data_dir)
    if admin_file.exists():
        settings = apply_file(settings, admin_file)
    return check_settings(apply_environment(settings, env))
