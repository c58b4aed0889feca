"""The settings model: one frozen dataclass per TOML table, the type hints are the schema.

:mod:`publisher.config.load` reads files and the environment by walking these classes (field
names, type hints and the ``metadata`` below); nothing else lists the settings. Field metadata:

- ``check``: a function ``(dotted key, value) -> value`` run after the type conversion (a value
  the type alone does not constrain, e.g. a list of service names);
- ``shorthand``: in a list of tables, a plain string stands for a table with only this key;
- ``env``: further environment variable names for the field (names kept from earlier releases);
- ``table`` / ``key``: the field is written in another table (``[robot] kind``);
- ``options_of``: the field holds the other keys of that table (a driver's keyword options);
- ``short_env`` (on a section): its keys are also read as ``PUBLISHER_<KEY>``.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from publisher.config.retention import RetentionSettings
from publisher.config.routing import Destination, ForwardSettings, Route

DuplicatePolicy = Literal["keep-first", "replace", "reject"]
DUPLICATE_POLICIES: tuple[str, ...] = ("keep-first", "replace", "reject")

#: The packaged defaults, found beside the source tree (``config/publisher.toml``).
DEFAULT_CONFIG_FILE = Path(__file__).resolve().parents[2] / "config" / "publisher.toml"


class ConfigError(ValueError):
    """A setting is missing, of the wrong type or out of range; the message names it."""


def time_zone(name: str, value: str) -> str:
    """An IANA time zone name (``Europe/Berlin``) the system's tz database knows, or "" for the
    machine's own zone."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    value = value.strip()
    if value:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"{name}: unknown time zone {value!r} (an IANA name such as Europe/Berlin)") from None
    return value


#: The DICOM services a caller may be allowed (PS3.4: Storage, Verification, Storage Commitment
#: Push, Query/Retrieve FIND, MOVE, GET, Media Creation Management); :mod:`publisher.dicom.access` maps them to SOP classes.
SERVICES: tuple[str, ...] = ("store", "echo", "commitment", "find", "move", "get", "media")
#: What an entry without ``services`` may do (a modality or PACS sending to us): no query/retrieve.
DEFAULT_SERVICES: frozenset[str] = frozenset({"store", "echo", "commitment"})


#: Media a PACS's media creation request may be burned on (publisher.media.MediaType values).
MEDIA_CREATION_MEDIA: tuple[str, ...] = ("cd", "dvd", "dvd-dl", "bd", "bd-dl", "usb", "folder")


def media_creation_medium(name: str, value: str) -> str:
    """One of :data:`MEDIA_CREATION_MEDIA` (any case)."""
    if value.strip().lower() not in MEDIA_CREATION_MEDIA:
        raise ConfigError(f"{name}: {value!r} is not one of {', '.join(MEDIA_CREATION_MEDIA)}")
    return value.strip().lower()


def services(name: str, value: frozenset[str]) -> frozenset[str]:
    """Service names of :data:`SERVICES` (any case)."""
    out = frozenset(v.strip().lower() for v in value if v.strip())
    if out - set(SERVICES):
        raise ConfigError(f"{name}: unknown service(s) {', '.join(sorted(out - set(SERVICES)))}; "
                          f"one of {', '.join(SERVICES)}")
    return out


def networks(name: str, value: tuple[str, ...]) -> tuple[str, ...]:
    """IP addresses or networks (``10.0.0.0/8``), normalised."""
    out = []
    for item in (v.strip() for v in value):
        try:
            out.append(str(ipaddress.ip_network(item, strict=False)) if "/" in item else str(ipaddress.ip_address(item)))
        except ValueError:
            raise ConfigError(f"{name}: {item!r} is not an IP address or network (trusting every caller's forwarded "
                              "headers would let anyone pick their address)") from None
    return tuple(out)


@dataclass(frozen=True)
class AllowedCaller:
    """A calling AE title allowed to associate, optionally only from one host address, with the
    services it may use (:data:`SERVICES`; default :data:`DEFAULT_SERVICES`)."""

    ae_title: str
    host: str | None = None
    services: frozenset[str] = field(default=DEFAULT_SERVICES, metadata={"check": services})


@dataclass(frozen=True)
class RemoteAE:
    """A peer we connect to (C-MOVE destination, remote PACS, forward target)."""

    ae_title: str
    host: str
    port: int
    tls: bool = False
    #: How ``publisher remote retrieve`` fetches from this peer: "move" (C-MOVE to our Storage
    #: SCP) or "get" (C-GET on the query association).
    retrieve: Literal["move", "get"] = "move"


@dataclass(frozen=True)
class DicomSettings:
    """Our DICOM application entity (PS3.8 association control, PS3.7 DIMSE timeouts)."""

    ae_title: str = "DISCPUB"
    bind: str = "0.0.0.0"
    port: int = 11112
    promiscuous: bool = False
    #: What any caller may do in promiscuous mode: never query/retrieve unless listed here.
    promiscuous_services: frozenset[str] = field(default=DEFAULT_SERVICES, metadata={"check": services})
    #: A plain string is an AE title allowed the default services.
    allowed_callers: tuple[AllowedCaller, ...] = field(default=(), metadata={"shorthand": "ae_title"})
    max_associations: int = 16
    acse_timeout: float = 30.0
    dimse_timeout: float = 60.0
    network_timeout: float = 60.0
    max_pdu_size: int = 262144
    duplicate_policy: DuplicatePolicy = "keep-first"
    private_sop_classes: tuple[str, ...] = ()
    min_free_bytes: int = 64 * 1024 * 1024
    #: The largest data set accepted in one C-STORE, in bytes (0: no limit but ``min_free_bytes``).
    max_instance_bytes: int = 0
    #: Seconds a new connection has to deliver its whole A-ASSOCIATE-RQ (the ARTIM timer of
    #: PS3.8 9.1.5); until then it holds no association slot.
    request_timeout: float = 10.0
    #: Connections from one address still waiting for their A-ASSOCIATE-RQ; more are refused.
    max_pending_per_address: int = 16
    lean_storage: bool = True
    #: Query-only associations (C-FIND and echo) served by our own loop, as ``lean_storage``.
    lean_find: bool = True
    remotes: tuple[RemoteAE, ...] = ()
    #: DICOM TLS for remotes with ``tls = true`` (PS3.15 B.1): CA bundle to verify peers
    #: (empty: system store), our certificate and key (empty: none presented).
    tls_ca_file: str = ""
    tls_cert_file: str = ""
    tls_key_file: str = ""
    #: A second listening port for DICOM over TLS (0 = off; 2762 is the IANA port), served by
    #: the same handlers with ``tls_cert_file`` / ``tls_key_file`` as our certificate.
    tls_port: int = 0
    #: On the TLS port, callers must present a certificate signed by ``tls_ca_file`` (mutual TLS).
    tls_require_client_cert: bool = True
    #: The medium of discs a PACS orders over DICOM (Media Creation Management, PS3.4 Annex S;
    #: callers need the "media" service): cd, dvd, dvd-dl, bd, bd-dl, usb or folder.
    media_creation_medium: str = field(default="cd", metadata={"check": media_creation_medium})


#: How ``[[rules]]`` group what they burn: each study alone, or a patient's studies together.
GroupBy = Literal["study", "patient"]
GROUP_BY: tuple[str, ...] = ("study", "patient")
#: Media a rule may ask for; "auto" is the smallest of cd, dvd, bd that holds the group.
RULE_MEDIA: tuple[str, ...] = ("auto", "cd", "dvd", "dvd-dl", "bd", "bd-dl")
#: Jobs a rule makes carry ``created_by = "rule:<name>"`` in a 64-character column.
RULE_NAME_MAX = 59


@dataclass(frozen=True)
class DiscRule:
    """An unattended burn rule (one ``[[rules]]`` table; evaluated by :mod:`publisher.jobs.rules`).

    A group (one study, or one patient's studies) is burned once no instance of it arrived for
    ``quiet_minutes``. Filters narrow which studies count: a study qualifies when at least one of
    its instances came from one of ``calling_aes`` and is of one of ``modalities`` (empty = any);
    the whole study is burned. Only groups with an arrival within ``lookback_hours`` are
    considered, so enabling a rule does not burn the archive's backlog.
    """

    name: str
    enabled: bool = False
    group_by: GroupBy = "study"
    quiet_minutes: float = 5.0
    calling_aes: tuple[str, ...] = field(default=(), metadata={"check": lambda _, v: tuple(a.strip() for a in v)})
    modalities: tuple[str, ...] = field(default=(), metadata={"check": lambda _, v: tuple(m.strip().upper() for m in v)})
    media: str = "auto"
    copies: int = 1
    comment: str = ""
    lookback_hours: float = 24.0
    #: compress uncompressed images losslessly where the medium's profile allows it (issue 12)
    compress: bool = False
    #: the robot its jobs burn on (a ``[[robots]]`` name); "": the default robot of ``[robot]``
    robot: str = ""


@dataclass(frozen=True)
class RobotEntry:
    """One more robot (a ``[[robots]]`` table) beside the default one of ``[robot]``: a job or a
    rule names it in ``robot``. ``options`` are the driver's keyword options, as in ``[robot]``
    (``options = { time_scale = 0.02 }``)."""

    name: str
    kind: str = "simulator"
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class JobSettings:
    """The job worker inside ``publisher serve`` (``[jobs]``, :mod:`publisher.jobs.worker`)."""

    #: Run the worker with the service: evaluate ``[[rules]]`` and run queued jobs.
    worker: bool = True
    #: Also run jobs queued by people (web UI, CLI), one at a time on the robot.
    run_queued: bool = True
    #: Seconds between two evaluations of the rules and looks at the queue.
    tick_seconds: float = 30.0
    #: Bytes of encoded viewer frames kept in ``<data_dir>/viewer-cache`` for re-burns and
    #: further volume sets of the same instances (least recently used dropped first; 0: none).
    viewer_cache_bytes: int = 8 * 1024**3


@dataclass(frozen=True)
class LabelSettings:
    """Disc labels (``[labels]``, :mod:`publisher.labels`)."""

    #: Folders searched for the label fonts before the Debian ones (environment
    #: ``PUBLISHER_LABELS_FONT_DIRS`` or ``LABEL_FONT_DIRS``, ``:``-separated).
    font_dirs: tuple[Path, ...] = field(default=(), metadata={"env": ("LABEL_FONT_DIRS",)})


#: How audit messages reach the repository: syslog over TLS (RFC 5425, PS3.15 A.6), plain TCP
#: with the same octet-counting framing (RFC 6587, for a repository on the same host), or UDP
#: (RFC 5426, PS3.15 A.7: datagrams may be lost without anyone knowing).
AuditTransport = Literal["tls", "tcp", "udp"]


@dataclass(frozen=True)
class AuditSettings:
    """``[audit]``: the audit trail also sent as DICOM audit messages (PS3.15 A.5) to an Audit
    Record Repository over syslog (IHE ATNA); :mod:`publisher.atna`. Off while ``host`` is empty."""

    host: str = ""
    port: int = 6514
    transport: AuditTransport = "tls"
    #: CA bundle that signed the repository's certificate (empty: the system store); our client
    #: certificate and key (IHE ATNA asks for mutual TLS; empty: none presented).
    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""
    #: Check the repository's certificate names ``host`` (off only for a repository known by address).
    check_hostname: bool = True
    #: AuditSourceID (PS3.15 A.5.1; empty: the AE title) and AuditEnterpriseSiteID (empty: institution).
    source_id: str = ""
    site_id: str = ""
    #: Seconds between looks for new events, and before a new try while the repository is unreachable.
    poll_seconds: float = 2.0
    retry_seconds: float = 10.0


@dataclass(frozen=True)
class Settings:
    """Everything the service reads at start."""

    data_dir: Path = Path("var")
    database_url: str = ""
    archive_dir: Path | None = None
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    #: Reverse proxies whose X-Forwarded-For / X-Forwarded-Proto the web UI believes (addresses
    #: or networks); none by default: every other caller is who its TCP connection says.
    http_trusted_proxies: tuple[str, ...] = field(default=(), metadata={"check": networks})
    log_level: str = "INFO"
    #: Load the demo studies (:mod:`publisher.samples`) into an empty archive at start; off
    #: unless asked for (``make run`` sets ``PUBLISHER_LOAD_SAMPLES=true``).
    load_samples: bool = False
    #: The robot driver, written ``[robot] kind`` (environment ``PUBLISHER_ROBOT``).
    robot: str = field(default="simulator", metadata={"table": "robot", "key": "kind"})
    #: Keyword options of the robot driver (the other keys of ``[robot]``), e.g. time_scale,
    #: job_folder; the driver checks them when it is built (docs/robots.md lists them).
    robot_options: tuple[tuple[str, Any], ...] = field(default=(), metadata={"options_of": "robot"})
    #: Where a real robot's machine-wide lock lives (None: /run/lock). A simulator always locks
    #: in ``<data_dir>/robot-locks``, so two services never wait for each other's simulator.
    robot_lock_dir: Path | None = None
    #: ``[[robots]]``: further robots a job or rule may pick by name (the ``[robot]`` one stays the default).
    robots: tuple[RobotEntry, ...] = ()
    institution: str = ""
    #: The zone every time in the web UI is shown in (IANA name, e.g. ``Europe/Berlin``); empty:
    #: the machine's zone. Times are stored in UTC whatever this says.
    time_zone: str = field(default="", metadata={"check": time_zone})
    #: ``[dicom]``; its keys are also read from the environment without the ``DICOM_`` prefix
    #: (``PUBLISHER_AE_TITLE``, ``PUBLISHER_TLS_PORT``: the names of earlier releases).
    dicom: DicomSettings = field(default_factory=DicomSettings, metadata={"short_env": True})
    jobs: JobSettings = field(default_factory=JobSettings)
    labels: LabelSettings = field(default_factory=LabelSettings)
    audit: AuditSettings = field(default_factory=AuditSettings)
    #: ``[[rules]]``: unattended burn rules, enabled or not.
    rules: tuple[DiscRule, ...] = ()
    #: ``[[routes]]``, ``[[destinations]]`` and ``[forward]``: the router (:mod:`publisher.routing`).
    routes: tuple[Route, ...] = ()
    destinations: tuple[Destination, ...] = ()
    forward: ForwardSettings = field(default_factory=ForwardSettings)
    #: ``[retention]``: keep everything, or buffer (:mod:`publisher.retention`).
    retention: RetentionSettings = field(default_factory=RetentionSettings)

    @property
    def archive_root(self) -> Path:
        """Where instance files live (``<data_dir>/archive`` unless set)."""
        return self.archive_dir or self.data_dir / "archive"

    @property
    def db_url(self) -> str:
        """The SQLAlchemy URL; SQLite in the data directory by default."""
        return self.database_url or f"sqlite:///{(self.data_dir / 'publisher.db').resolve()}"
