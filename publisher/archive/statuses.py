"""What filing an instance answers: the C-STORE statuses, the outcomes, who sent it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum
from pathlib import Path

from publisher.archive.metadata import InstanceMeta


class Status(IntEnum):
    """C-STORE statuses we answer (PS3.4 Table B.2-1, PS3.7 Annex C)."""

    SUCCESS = 0x0000
    DUPLICATE_SOP_INSTANCE = 0x0111
    INVALID_SOP_INSTANCE = 0x0117
    OUT_OF_RESOURCES = 0xA700
    DATASET_DOES_NOT_MATCH_SOP_CLASS = 0xA900
    CANNOT_UNDERSTAND = 0xC000
    MISSING_ATTRIBUTE = 0xC001
    DATABASE_ERROR = 0xA701


class Outcome(StrEnum):
    """What became of an instance that was not refused."""

    STORED = "stored"
    REPLACED = "replaced"
    KEPT_EXISTING = "kept-existing"


class StoreRefused(Exception):
    """The instance was not stored; ``status`` is the DIMSE status to answer."""

    def __init__(self, status: Status, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Stored:
    sop_instance_uid: str
    path: Path
    outcome: Outcome
    meta: InstanceMeta


@dataclass(frozen=True)
class Provenance:
    """Who sent an instance (kept in the index for the audit trail)."""

    calling_ae: str = ""
    peer_address: str = ""
