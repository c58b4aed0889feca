"""Settings of the router (``[[routes]]`` and ``[[destinations]]``, :mod:`publisher.routing`).

A route says which received instances go where: every condition of ``when`` must hold, and the
instance is forwarded to each of ``forward_to`` (AE titles of ``[dicom] remotes``) or held in
quarantine. A destination says how an instance is changed on its way to that AE.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal


#: Fields a condition may test besides any DICOM attribute (keyword or ``(gggg,eeee)``).
CONDITION_FIELDS: tuple[str, ...] = ("calling_ae", "source", "modality", "sop_class")
#: Operators of a condition: equals, not equals, wildcard (``*`` and ``?``, PS3.4 C.2.2.2.4),
#: range (``low-high``, PS3.4 C.2.2.2.5, or a network for ``source``), regular expression.
CONDITION_OPERATORS: tuple[str, ...] = ("=", "!=", "like", "in", "~")
_CONDITION = re.compile(r"^\s*(?P<field>\S+)\s+(?P<op>=|!=|like|in|~)\s+(?P<value>.*?)\s*$")
_TAG = re.compile(r"^\(?([0-9A-Fa-f]{4}),?([0-9A-Fa-f]{4})\)?$")

RouteAction = Literal["forward", "quarantine"]
#: How a destination wants pixel data: as stored, native (decompressed: an old PACS), or
#: compressed losslessly for a slow link (JPEG 2000 lossless, JPEG lossless SV1).
TransferSyntaxChoice = Literal["as-stored", "native", "j2k-lossless", "jpeg-lossless"]
NameFormat = Literal["as-received", "upper", "family-given"]


def conditions(name: str, value: tuple[str, ...]) -> tuple[str, ...]:
    """Each item ``FIELD OP VALUE``: FIELD one of :data:`CONDITION_FIELDS` or an attribute keyword
    or tag, OP one of :data:`CONDITION_OPERATORS`; regular expressions must compile."""
    from pydicom.datadict import tag_for_keyword

    from publisher.config.model import ConfigError  # model imports this module

    out = []
    for k, item in enumerate(value):
        m = _CONDITION.match(item)
        if not m:
            raise ConfigError(f"{name}[{k}]: {item!r} is not 'FIELD OP VALUE' (OP one of {', '.join(CONDITION_OPERATORS)})")
        fld, op, val = m["field"], m["op"], m["value"]
        if fld not in CONDITION_FIELDS and not _TAG.match(fld) and tag_for_keyword(fld) is None:
            raise ConfigError(f"{name}[{k}]: {fld!r} is neither one of {', '.join(CONDITION_FIELDS)} nor a DICOM keyword or tag")
        if op == "~":
            try:
                re.compile(val)
            except re.error as exc:
                raise ConfigError(f"{name}[{k}]: bad regular expression {val!r}: {exc}") from None
        if op == "in" and fld != "source" and "-" not in val:
            raise ConfigError(f"{name}[{k}]: a range is written LOW-HIGH (either side may be empty), not {val!r}")
        out.append(f"{fld} {op} {val}")
    return tuple(out)


def tags(name: str, value: tuple[str, ...]) -> tuple[str, ...]:
    """Attribute keywords or ``(gggg,eeee)`` tags."""
    from pydicom.datadict import tag_for_keyword

    from publisher.config.model import ConfigError  # model imports this module

    for item in value:
        if not _TAG.match(item.strip()) and tag_for_keyword(item.strip()) is None:
            raise ConfigError(f"{name}: {item!r} is not a DICOM keyword or tag")
    return tuple(v.strip() for v in value)


def defaults(name: str, value: tuple[str, ...]) -> tuple[str, ...]:
    """``KEYWORD=VALUE`` items: the value an attribute gets when it is missing or empty."""
    from pydicom.datadict import tag_for_keyword

    from publisher.config.model import ConfigError  # model imports this module

    for item in value:
        key, eq, _val = item.partition("=")
        if not eq or (tag_for_keyword(key.strip()) is None and not _TAG.match(key.strip())):
            raise ConfigError(f"{name}: {item!r} is not KEYWORD=VALUE with a DICOM keyword or tag")
    return tuple(value)


@dataclass(frozen=True)
class Route:
    """One ``[[routes]]`` table: instances matching every condition of ``when`` are forwarded to
    each AE of ``forward_to`` (or quarantined). Routes apply to what arrives after the service
    starts with them, never to the archive's backlog."""

    name: str
    enabled: bool = True
    when: tuple[str, ...] = field(default=(), metadata={"check": conditions})
    action: RouteAction = "forward"
    forward_to: tuple[str, ...] = ()


@dataclass(frozen=True)
class Destination:
    """One ``[[destinations]]`` table: how instances are changed on their way to ``ae_title``
    (a remote of ``[dicom] remotes``). Pixel data changes only by a lossless transcode; every
    changed or removed value (private tags excepted) goes into Original Attributes Sequence
    (PS3.3 C.12.1.1.9.2)."""

    ae_title: str
    transfer_syntax: TransferSyntaxChoice = "as-stored"
    remove_private: bool = False
    remove: tuple[str, ...] = field(default=(), metadata={"check": tags})
    set_if_missing: tuple[str, ...] = field(default=(), metadata={"check": defaults})
    patient_name: NameFormat = "as-received"


@dataclass(frozen=True)
class ForwardSettings:
    """The forward queue (``[forward]``): retries and their backoff."""

    #: Seconds between two looks at the queue and at newly received instances.
    tick_seconds: float = 2.0
    #: First retry after this many seconds, doubling up to ``max_backoff_seconds``.
    backoff_seconds: float = 5.0
    max_backoff_seconds: float = 600.0
    #: After this many failed attempts an instance is ``failed`` (a person retries it).
    max_attempts: int = 10
    #: Instances sent on one association before it is released.
    batch: int = 100
