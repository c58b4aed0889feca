"""Values from TOML or the environment to the types the model's hints name, or a ConfigError.

The conversion is driven by the type hints of :mod:`publisher.config.model` alone: a TOML value
must already have its type (``port = "104"`` is refused: a string is not an integer), an
environment value is text and is parsed (``true``/``false``, numbers, comma-separated lists).
"""

from __future__ import annotations

import dataclasses
import functools
import os
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

from publisher.config.model import ConfigError

TRUE = ("1", "true", "yes", "on")
FALSE = ("0", "false", "no", "off")


@functools.cache
def hints(cls: type) -> dict[str, Any]:
    """The resolved type hints of a settings dataclass."""
    return typing.get_type_hints(cls)


def is_settings_class(tp: Any) -> bool:
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


def describe(tp: Any) -> str:
    """The expected type in words, for messages."""
    origin, args = get_origin(tp), get_args(tp)
    if tp is bool:
        return "true or false"
    if tp is int:
        return "an integer"
    if tp is float:
        return "a number"
    if tp is str:
        return "a string"
    if tp is Path:
        return "a path (a string)"
    if origin is Literal:
        return "one of " + ", ".join(str(a) for a in args)
    if _optional(tp) is not None:
        return f"{describe(_optional(tp))} or empty"
    if origin is dict:
        return "a table"
    if origin in (tuple, frozenset):
        item = args[0]
        if is_settings_class(item):
            return f"a list of tables ({', '.join(f.name for f in dataclasses.fields(item))})"
        plural = {str: "strings", Path: "paths", int: "integers", float: "numbers", bool: "booleans"}
        return f"a list of {plural.get(item, describe(item))}"
    if is_settings_class(tp):
        return "a table"
    return str(tp)


def _optional(tp: Any) -> Any | None:
    """``X`` of ``X | None``, else None."""
    if get_origin(tp) in (Union, types.UnionType):
        rest = [a for a in get_args(tp) if a is not type(None)]
        if len(rest) == 1 and len(get_args(tp)) == 2:
            return rest[0]
    return None


def _wrong(name: str, tp: Any, value: Any) -> ConfigError:
    return ConfigError(f"{name} is {describe(tp)}, not {value!r}")


def convert(name: str, value: Any, tp: Any, *, text: bool) -> Any:
    """``value`` as ``tp``; ``text``: it comes from the environment (a string to parse)."""
    origin, args = get_origin(tp), get_args(tp)
    inner = _optional(tp)
    if inner is not None:
        return None if value in ("", None) else convert(name, value, inner, text=text)
    if tp is bool:
        if text and isinstance(value, str) and value.strip().lower() in TRUE + FALSE:
            return value.strip().lower() in TRUE
        if isinstance(value, bool):
            return value
        raise _wrong(name, tp, value)
    if tp is int or tp is float:
        if text and isinstance(value, str):
            try:
                return tp(value.strip())
            except ValueError:
                raise _wrong(name, tp, value) from None
        if isinstance(value, bool) or not isinstance(value, (int, float) if tp is float else int):
            raise _wrong(name, tp, value)
        return tp(value)
    if tp is str or tp is Path:
        if not isinstance(value, str):
            raise _wrong(name, tp, value)
        return Path(value).expanduser() if tp is Path else value
    if origin is Literal:
        if value not in args:
            raise _wrong(name, tp, value)
        return value
    if origin is dict:  # a table of driver options, kept as TOML gave it
        if not isinstance(value, Mapping):
            raise _wrong(name, tp, value)
        return dict(value)
    if origin in (tuple, frozenset):
        item = args[0]
        if text and isinstance(value, str):
            sep = os.pathsep if item is Path else ","
            value = [v.strip() for v in value.split(sep) if v.strip()]
        if not isinstance(value, list):
            raise _wrong(name, tp, value)
        return origin(convert(f"{name}[{k}]", v, item, text=text) for k, v in enumerate(value))
    raise ConfigError(f"{name}: no conversion to {tp}")  # a model field of a type not handled here


def build(cls: type, values: Any, name: str, shorthand: str | None = None) -> Any:
    """A ``cls`` (a settings dataclass) from a TOML table; unknown and missing keys refused."""
    if isinstance(values, str) and shorthand:
        values = {shorthand: values}
    if not isinstance(values, Mapping):
        raise _wrong(name, cls, values)
    return apply(cls, None, values, name)


def apply(cls: type, current: Any, values: Mapping[str, Any], prefix: str, *, text: bool = False) -> Any:
    """``current`` (or a new ``cls``) with ``values`` set, each converted to its field's type."""
    known = {f.name: f for f in dataclasses.fields(cls)}
    changes: dict[str, Any] = {}
    for key, value in values.items():
        name = f"{prefix}.{key}" if prefix else key
        f = known.get(key)
        if f is None or "options_of" in f.metadata:
            raise ConfigError(f"unknown key {name}")
        changes[key] = field_value(f, hints(cls)[key], value, name, text=text)
    if current is not None:
        return dataclasses.replace(current, **changes)
    missing = [f.name for f in known.values() if f.name not in changes
               and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    if missing:
        raise ConfigError(f"{prefix} needs a {', '.join(missing)} (keys: {', '.join(known)})")
    return cls(**changes)


def field_value(f: dataclasses.Field[Any], tp: Any, value: Any, name: str, *, text: bool) -> Any:
    """``value`` for field ``f`` of type ``tp``: converted, nested tables built, then checked."""
    if is_settings_class(tp):
        if not isinstance(value, Mapping):
            raise _wrong(name, tp, value)
        out = build(tp, value, name)
    elif get_origin(tp) is tuple and is_settings_class(get_args(tp)[0]):
        if not isinstance(value, list):
            raise _wrong(name, tp, value)
        item = get_args(tp)[0]
        out = tuple(build(item, v, _item_name(name, k, v), f.metadata.get("shorthand")) for k, v in enumerate(value))
    else:
        out = convert(name, value, tp, text=text)
    check = f.metadata.get("check")
    return check(name, out) if check else out


def _item_name(name: str, k: int, value: Any) -> str:
    """``rules.ct-daily`` for a table with a name, else ``rules[0]``."""
    if isinstance(value, Mapping) and isinstance(value.get("name"), str) and value["name"].strip():
        return f"{name}.{value['name'].strip()}"
    return f"{name}[{k}]"
