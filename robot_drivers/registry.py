"""Build a driver from configuration: ``create("primera", job_folder=..., ...)``."""
from __future__ import annotations

import importlib
from typing import Any

from robot_drivers.interface import Robot

#: kind -> "module:Class"; modules are imported only when used
DRIVERS: dict[str, str] = {
    "simulator": "robot_drivers.timing:TimingSimulator",
    "local": "robot_drivers.local_drive:LocalDrive",
    "serial": "robot_drivers.serial_robot:SerialAutoloader",
    "primera": "robot_drivers.primera:PrimeraPTBurn",
    "epson": "robot_drivers.epson:EpsonTDBridge",
    "rimage": "robot_drivers.rimage:RimageHotFolder",
}

DEFAULT_KIND = "simulator"


def kinds() -> list[str]:
    """Every robot kind :func:`create` knows."""
    return sorted(DRIVERS)


def driver_class(kind: str) -> type[Robot]:
    """The driver class registered for ``kind``."""
    try:
        target = DRIVERS[kind]
    except KeyError:
        raise ValueError(f"unknown robot kind {kind!r}; known: {', '.join(kinds())}") from None
    module, _, cls = target.partition(":")
    return getattr(importlib.import_module(module), cls)


def create(kind: str = DEFAULT_KIND, **options: Any) -> Robot:
    """A driver of ``kind`` built with ``options`` (keyword arguments of its class)."""
    return driver_class(kind)(**options)


def register(kind: str, target: str) -> None:
    """Add a driver (``"package.module:Class"``) under ``kind``."""
    DRIVERS[kind] = target
