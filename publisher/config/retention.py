"""Settings of retention (``[retention]``, :mod:`publisher.retention`): whether the archive keeps
every instance for ever ("keep") or lets instances go once every rule and job that needs them
has finished ("buffer"), and when an instance may go.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

RetentionMode = Literal["keep", "buffer"]


def _titles(_name: str, value: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(v.strip() for v in value if v.strip())


@dataclass(frozen=True)
class RetentionSettings:
    """``[retention]``.

    ``keep`` (the default) deletes nothing. ``buffer`` deletes an instance once it is burned
    (on a finished disc, where an enabled ``[[rules]]`` would take its study), forwarded (every
    ``forward_item`` of it sent), needed by no queued or running disc job, and ``grace_hours``
    have passed since it was received. ``max_age_days`` (0 = off) and ``low_water_bytes`` (free
    space on the archive's file system under which the oldest instances go first; 0 = off) purge
    further, but never what a forward or a disc job still needs. A purged study burned again is
    fetched back first from ``retrieve_from`` (AE titles of ``[dicom] remotes``, tried in order).
    """

    mode: RetentionMode = "keep"
    grace_hours: float = 24.0
    max_age_days: float = 0.0
    low_water_bytes: int = 0
    retrieve_from: tuple[str, ...] = field(default=(), metadata={"check": _titles})
    #: Seconds between two purge runs inside ``publisher serve``.
    tick_seconds: float = 300.0


def check(r: RetentionSettings, remotes: tuple[str, ...]) -> None:
    """Refuse numbers out of range and a ``retrieve_from`` that names no ``[dicom] remotes`` entry."""
    from publisher.config.model import ConfigError  # model imports this module

    for name, value in (("grace_hours", r.grace_hours), ("max_age_days", r.max_age_days),
                        ("low_water_bytes", r.low_water_bytes)):
        if value < 0:
            raise ConfigError(f"retention.{name} must be 0 or more, not {value}")
    if not r.tick_seconds > 0:
        raise ConfigError("retention.tick_seconds must be more than 0")
    unknown = [t for t in r.retrieve_from if t not in remotes]
    if unknown:
        raise ConfigError(f"retention.retrieve_from: {', '.join(unknown)} not in dicom.remotes "
                          f"({', '.join(remotes) or 'none configured'})")
