"""Build a driver from configuration: ``create("primera", job_folder=..., ...)``.

The drivers are the built-ins below plus whatever installed distributions declare as entry
points of the group ``robot_drivers.drivers`` (``[project.entry-points."robot_drivers.drivers"]``
in their ``pyproject.toml``: ``name = "package.module:Class"``); this package declares its
own there too. A built-in name cannot be taken over by an entry point. Modules are imported
only when their driver is used, and the table is read-only: a driver is added by installing
it, not by changing a global at run time.
"""
from __future__ import annotations

import importlib
import inspect
from collections.abc import Mapping
from functools import cache
from importlib.metadata import entry_points
from types import MappingProxyType
from typing import Any

from robot_drivers.interface import Robot

ENTRY_POINT_GROUP = "robot_drivers.drivers"

#: kind -> "module:Class" of the drivers that ship with this package
BUILTIN: Mapping[str, str] = MappingProxyType({
    "simulator": "robot_drivers.sim.timing:TimingSimulator",
    "local": "robot_drivers.local:LocalDrive",
    "serial": "robot_drivers.serial.autoloader:SerialAutoloader",
    "primera": "robot_drivers.hotfolder.primera:PrimeraPTBurn",
    "epson": "robot_drivers.hotfolder.epson:EpsonTDBridge",
    "rimage": "robot_drivers.hotfolder.rimage:RimageNetworkPublisher",
})

DEFAULT_KIND = "simulator"


@cache
def drivers() -> Mapping[str, str]:
    """Every known kind -> ``"module:Class"``: the built-ins and the installed entry points."""
    table = {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}
    table.update(BUILTIN)
    return MappingProxyType(dict(sorted(table.items())))


def driver_class(kind: str) -> type[Robot]:
    """The driver class registered for ``kind``."""
    try:
        target = drivers()[kind]
    except KeyError:
        raise ValueError(f"unknown robot kind {kind!r}; known: {', '.join(kinds(experimental=True))}") from None
    module, _, name = target.partition(":")
    cls = getattr(importlib.import_module(module), name)
    if not (isinstance(cls, type) and issubclass(cls, Robot)):
        raise ValueError(f"robot kind {kind!r}: {target} is not a robot_drivers.Robot")
    return cls


def kinds(*, experimental: bool = False) -> list[str]:
    """The robot kinds :func:`create` offers; experimental ones only when asked."""
    return [k for k in drivers() if experimental or not driver_class(k).experimental]


def create(kind: str = DEFAULT_KIND, *, experimental: bool = False, **options: Any) -> Robot:
    """A driver of ``kind`` built with ``options`` (keyword arguments of its class).

    An experimental driver (built on an interface no public document describes precisely,
    docs/robots.md) is refused unless ``experimental=True`` says the admin chose it knowingly.
    """
    cls = driver_class(kind)
    if cls.experimental and not experimental:
        raise ValueError(f"robot kind {kind!r} is experimental (docs/robots.md says what is not "
                         f"verified on a real device); set experimental = true in [robot] to use it")
    return cls(**options)


#: Options every driver takes through :func:`create` or the service, whatever its class says.
COMMON_OPTIONS = frozenset({"experimental", "lock_dir", "name"})


def option_names(kind: str) -> frozenset[str] | None:
    """The keyword options a driver of ``kind`` takes: the named parameters of its class's
    ``__init__`` and of each base it hands ``**kw`` on to; None if it takes any name at all."""
    cls = driver_class(kind)
    names: set[str] = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        params = list(inspect.signature(init).parameters.values())[1:]
        names |= {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            return frozenset(names | COMMON_OPTIONS)
    return None


def option_problems(kind: str, options: Mapping[str, Any]) -> list[str]:
    """What is wrong with ``options`` for a driver of ``kind``, found before anything is built:
    an unknown kind, or an option the driver does not take (a misspelt key), each named."""
    try:
        names = option_names(kind)
    except ValueError as exc:
        return [str(exc)]
    if names is None:
        return []
    return [f"{key!r} is not an option of the {kind!r} driver (its options: {', '.join(sorted(names - COMMON_OPTIONS))})"
            for key in options if key not in names]
