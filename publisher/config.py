"""Typed settings: ``config/publisher.toml`` defaults, then a ``--config`` file, then environment.

Every value has an embedded default so the service runs with no file at all. The environment
variables in :data:`ENVIRONMENT` override files, so tests and scripts can run several instances
side by side (each with its own data directory, database and ports).
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal, Mapping

DuplicatePolicy = Literal["keep-first", "replace", "reject"]
DUPLICATE_POLICIES: tuple[str, ...] = ("keep-first", "replace", "reject")

#: The packaged defaults, found beside the source tree (``config/publisher.toml``).
DEFAULT_CONFIG_FILE = Path(__file__).resolve().parent.parent / "config" / "publisher.toml"


class ConfigError(ValueError):
    """A setting is missing, of the wrong type or out of range; the message names it."""


#: The DICOM services a caller may be allowed (PS3.4: Storage, Verification, Storage Commitment
#: Push, Query/Retrieve FIND, MOVE, GET); :mod:`publisher.dicom.access` maps them to SOP classes.
SERVICES: tuple[str, ...] = ("store", "echo", "commitment", "find", "move", "get")
#: What an entry without ``services`` may do (a modality or PACS sending to us): no query/retrieve.
DEFAULT_SERVICES: frozenset[str] = frozenset({"store", "echo", "commitment"})


@dataclass(frozen=True)
class AllowedCaller:
    """A calling AE title allowed to associate, optionally only from one host address, with the
    services it may use (:data:`SERVICES`; default :data:`DEFAULT_SERVICES`)."""

    ae_title: str
    host: str | None = None
    services: frozenset[str] = DEFAULT_SERVICES


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
    promiscuous_services: frozenset[str] = DEFAULT_SERVICES
    allowed_callers: tuple[AllowedCaller, ...] = ()
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
    calling_aes: tuple[str, ...] = ()
    modalities: tuple[str, ...] = ()
    media: str = "auto"
    copies: int = 1
    comment: str = ""
    lookback_hours: float = 24.0
    #: compress uncompressed images losslessly where the medium's profile allows it (issue 12)
    compress: bool = False


@dataclass(frozen=True)
class JobSettings:
    """The job worker inside ``publisher serve`` (``[jobs]``, :mod:`publisher.jobs.worker`)."""

    #: Run the worker with the service: evaluate ``[[rules]]`` and run queued jobs.
    worker: bool = True
    #: Also run jobs queued by people (web UI, CLI), one at a time on the robot.
    run_queued: bool = True
    #: Seconds between two evaluations of the rules and looks at the queue.
    tick_seconds: float = 30.0


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
    http_trusted_proxies: tuple[str, ...] = ()
    log_level: str = "INFO"
    load_samples: bool = True
    robot: str = "simulator"
    #: Keyword options of the robot driver (the ``[robot]`` table), e.g. time_scale, job_folder.
    robot_options: tuple[tuple[str, Any], ...] = ()
    #: Where a real robot's machine-wide lock lives (None: /run/lock). A simulator always locks
    #: in ``<data_dir>/robot-locks``, so two services never wait for each other's simulator.
    robot_lock_dir: Path | None = None
    institution: str = ""
    dicom: DicomSettings = field(default_factory=DicomSettings)
    jobs: JobSettings = field(default_factory=JobSettings)
    #: ``[[rules]]``: unattended burn rules, enabled or not.
    rules: tuple[DiscRule, ...] = ()

    @property
    def archive_root(self) -> Path:
        """Where instance files live (``<data_dir>/archive`` unless set)."""
        return self.archive_dir or self.data_dir / "archive"

    @property
    def db_url(self) -> str:
        """The SQLAlchemy URL; SQLite in the data directory by default."""
        return self.database_url or f"sqlite:///{(self.data_dir / 'publisher.db').resolve()}"


#: Environment variable -> (section or "", key). "" is the top-level [service] table.
ENVIRONMENT: dict[str, tuple[str, str]] = {
    "PUBLISHER_DATA_DIR": ("", "data_dir"),
    "PUBLISHER_DATABASE_URL": ("", "database_url"),
    "PUBLISHER_ARCHIVE_DIR": ("", "archive_dir"),
    "PUBLISHER_HTTP_HOST": ("", "http_host"),
    "PUBLISHER_HTTP_PORT": ("", "http_port"),
    "PUBLISHER_HTTP_TRUSTED_PROXIES": ("", "http_trusted_proxies"),
    "PUBLISHER_LOG_LEVEL": ("", "log_level"),
    "PUBLISHER_LOAD_SAMPLES": ("", "load_samples"),
    "PUBLISHER_ROBOT": ("", "robot"),
    "PUBLISHER_ROBOT_LOCK_DIR": ("", "robot_lock_dir"),
    "PUBLISHER_AE_TITLE": ("dicom", "ae_title"),
    "PUBLISHER_DICOM_BIND": ("dicom", "bind"),
    "PUBLISHER_DICOM_PORT": ("dicom", "port"),
    "PUBLISHER_PROMISCUOUS": ("dicom", "promiscuous"),
    "PUBLISHER_PROMISCUOUS_SERVICES": ("dicom", "promiscuous_services"),
    "PUBLISHER_MAX_ASSOCIATIONS": ("dicom", "max_associations"),
    "PUBLISHER_MAX_PDU_SIZE": ("dicom", "max_pdu_size"),
    "PUBLISHER_DUPLICATE_POLICY": ("dicom", "duplicate_policy"),
    "PUBLISHER_MIN_FREE_BYTES": ("dicom", "min_free_bytes"),
    "PUBLISHER_LEAN_STORAGE": ("dicom", "lean_storage"),
    "PUBLISHER_TLS_PORT": ("dicom", "tls_port"),
    "PUBLISHER_TLS_CA_FILE": ("dicom", "tls_ca_file"),
    "PUBLISHER_TLS_CERT_FILE": ("dicom", "tls_cert_file"),
    "PUBLISHER_TLS_KEY_FILE": ("dicom", "tls_key_file"),
    "PUBLISHER_TLS_REQUIRE_CLIENT_CERT": ("dicom", "tls_require_client_cert"),
    "PUBLISHER_JOBS_WORKER": ("jobs", "worker"),
    "PUBLISHER_JOBS_TICK_SECONDS": ("jobs", "tick_seconds"),
}


def _coerce(name: str, value: Any, target: Any) -> Any:
    """Convert ``value`` (from TOML or the environment) to the type of the default ``target``."""
    try:
        if isinstance(target, bool):
            if isinstance(value, str):
                if value.lower() in ("1", "true", "yes", "on"):
                    return True
                if value.lower() in ("0", "false", "no", "off"):
                    return False
                raise ValueError(value)
            return bool(value)
        if isinstance(target, int):
            return int(value)
        if isinstance(target, float):
            return float(value)
        if isinstance(target, Path) or name in ("archive_dir", "robot_lock_dir"):
            return Path(value).expanduser() if value not in (None, "") else None
        if isinstance(target, str):
            return str(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"setting {name!r}: cannot use {value!r} ({exc})") from None
    return value


def _apply(obj: Any, values: Mapping[str, Any], prefix: str) -> Any:
    """A copy of dataclass ``obj`` with ``values`` applied; unknown keys are errors."""
    known = {f.name: f for f in fields(obj)}
    changes: dict[str, Any] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if key not in known:
            raise ConfigError(f"unknown setting {name!r}")
        current = getattr(obj, key)
        if key == "allowed_callers":
            changes[key] = tuple(_caller(name, v) for v in value)
        elif key == "remotes":
            changes[key] = tuple(_remote(name, v) for v in value)
        elif key == "http_trusted_proxies":
            changes[key] = _networks(name, value)
        elif key == "promiscuous_services":
            changes[key] = _services(name, value)
        elif key in ("private_sop_classes",):
            changes[key] = tuple(str(v) for v in value)
        elif key == "dicom":
            changes[key] = _apply(current, value, "dicom.")
        elif key == "jobs":
            changes[key] = _apply(current, value, "jobs.")
        elif key == "rules":
            changes[key] = _rules(name, value)
        else:
            changes[key] = _coerce(name, value, current if current is not None else Path())
    return replace(obj, **changes)


def _caller(name: str, value: Any) -> AllowedCaller:
    if isinstance(value, str):
        return AllowedCaller(value)
    if isinstance(value, Mapping) and "ae_title" in value:
        unknown = set(value) - {"ae_title", "host", "services"}
        if unknown:
            raise ConfigError(f"{name}: unknown key(s) {', '.join(sorted(unknown))} in the entry of {value['ae_title']!r}")
        services = _services(f"{name} {value['ae_title']}", value["services"]) if "services" in value else DEFAULT_SERVICES
        return AllowedCaller(str(value["ae_title"]), value.get("host") or None, services)
    raise ConfigError(f"{name}: each entry needs ae_title (and optionally host, services), got {value!r}")


def _networks(name: str, value: Any) -> tuple[str, ...]:
    """IP addresses or networks (``10.0.0.0/8``); an environment value is comma-separated."""
    items = [v.strip() for v in value.split(",")] if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)):
        raise ConfigError(f"{name}: a list of proxy addresses, e.g. [\"10.0.0.2\"]")
    out = []
    for item in (str(v).strip() for v in items):
        try:
            out.append(str(ipaddress.ip_network(item, strict=False)) if "/" in item else str(ipaddress.ip_address(item)))
        except ValueError:
            raise ConfigError(f"{name}: {item!r} is not an IP address or network (trusting every caller's forwarded "
                              "headers would let anyone pick their address)") from None
    return tuple(out)


def _services(name: str, value: Any) -> frozenset[str]:
    """A list of :data:`SERVICES` names (an environment value: comma-separated)."""
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)):
        raise ConfigError(f"{name}: services is a list, e.g. [\"store\", \"echo\"]")
    out = frozenset(str(v).strip().lower() for v in items if str(v).strip())
    if out - set(SERVICES):
        raise ConfigError(f"{name}: unknown service(s) {', '.join(sorted(out - set(SERVICES)))}; "
                          f"one of {', '.join(SERVICES)}")
    return out


def _remote(name: str, value: Any) -> RemoteAE:
    try:
        remote = RemoteAE(
            str(value["ae_title"]), str(value["host"]), int(value["port"]), bool(value.get("tls", False)),
            str(value.get("retrieve", "move")),  # type: ignore[arg-type]
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"{name}: each remote needs ae_title, host and port ({exc})") from None
    if remote.retrieve not in ("move", "get"):
        raise ConfigError(f"{name}: retrieve of {remote.ae_title} must be move or get, not {remote.retrieve!r}")
    return remote


def _rules(name: str, value: Any) -> tuple[DiscRule, ...]:
    """``[[rules]]`` as typed, checked :class:`DiscRule` s (names unique)."""
    if not isinstance(value, list):
        raise ConfigError(f"{name}: write rules as [[rules]] tables")
    rules = tuple(_rule(f"{name}[{k}]", v) for k, v in enumerate(value))
    seen: set[str] = set()
    for r in rules:
        if r.name in seen:
            raise ConfigError(f"{name}: two rules are named {r.name!r}")
        seen.add(r.name)
    return rules


def _rule(name: str, value: Any) -> DiscRule:
    if not isinstance(value, Mapping) or not str(value.get("name", "")).strip():
        raise ConfigError(f"{name}: each rule needs a name")
    rule_name = str(value["name"]).strip()
    where = f"rule {rule_name!r}"
    values = dict(value)
    for key in ("calling_aes", "modalities"):
        if key in values:
            items = values.pop(key)
            if isinstance(items, str) or not isinstance(items, list):
                raise ConfigError(f"{where}: {key} is a list, e.g. {key} = [\"CT\"]")
            values[key] = tuple(str(v).strip().upper() if key == "modalities" else str(v).strip() for v in items)
    rule: DiscRule = _apply(DiscRule(rule_name), {k: v for k, v in values.items() if k != "name"}, f"rules.{rule_name}.")
    if len(rule.name) > RULE_NAME_MAX:
        raise ConfigError(f"{where}: a name has at most {RULE_NAME_MAX} characters")
    if rule.group_by not in GROUP_BY:
        raise ConfigError(f"{where}: group_by {rule.group_by!r}: one of {', '.join(GROUP_BY)}")
    if rule.media not in RULE_MEDIA:
        raise ConfigError(f"{where}: media {rule.media!r}: one of {', '.join(RULE_MEDIA)}")
    if not rule.quiet_minutes > 0:
        raise ConfigError(f"{where}: quiet_minutes must be more than 0")
    if not rule.lookback_hours * 60 > rule.quiet_minutes:
        raise ConfigError(f"{where}: lookback_hours must be longer than quiet_minutes")
    if rule.copies < 1:
        raise ConfigError(f"{where}: copies must be at least 1")
    if len(rule.comment) > 256:
        raise ConfigError(f"{where}: a comment has at most 256 characters")
    return rule


def _validate(s: Settings) -> Settings:
    d = s.dicom
    if not 1 <= len(d.ae_title) <= 16 or "\\" in d.ae_title or d.ae_title.strip() != d.ae_title:
        raise ConfigError(f"dicom.ae_title {d.ae_title!r}: 1-16 characters, no backslash or padding (PS3.5 AE)")
    if d.duplicate_policy not in DUPLICATE_POLICIES:
        raise ConfigError(f"dicom.duplicate_policy {d.duplicate_policy!r}: one of {', '.join(DUPLICATE_POLICIES)}")
    for port_name, port in (("dicom.port", d.port), ("dicom.tls_port", d.tls_port), ("http_port", s.http_port)):
        if not 0 <= port <= 65535:
            raise ConfigError(f"{port_name} {port}: not a TCP port")
    if d.tls_port:
        if d.tls_port == d.port:
            raise ConfigError(f"dicom.tls_port {d.tls_port}: the same as dicom.port (TLS needs its own port)")
        if not (d.tls_cert_file and d.tls_key_file):
            raise ConfigError("dicom.tls_port is set: dicom.tls_cert_file and dicom.tls_key_file (our certificate) are needed")
        if d.tls_require_client_cert and not d.tls_ca_file:
            raise ConfigError("dicom.tls_require_client_cert: dicom.tls_ca_file (the CA that signs callers' certificates) is needed")
    if d.max_associations < 1:
        raise ConfigError("dicom.max_associations must be at least 1")
    if not d.request_timeout > 0:
        raise ConfigError("dicom.request_timeout must be more than 0 seconds")
    if d.max_pending_per_address < 1:
        raise ConfigError("dicom.max_pending_per_address must be at least 1")
    if d.max_instance_bytes < 0:
        raise ConfigError("dicom.max_instance_bytes must be 0 (no limit) or more")
    if not s.jobs.tick_seconds > 0:
        raise ConfigError("jobs.tick_seconds must be more than 0")
    return s


def load_settings(config_file: Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Embedded defaults <- ``config/publisher.toml`` <- ``config_file`` <- environment."""
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
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: {exc}") from None
        top = dict(data.pop("service", {}))
        for section in ("dicom", "jobs", "rules"):
            if section in data:
                top[section] = data.pop(section)
        robot = dict(data.pop("robot", {}))
        if "kind" in robot:
            top["robot"] = robot.pop("kind")
        if robot:
            settings = replace(settings, robot_options=tuple(sorted(robot.items())))
        for section in data:
            if section not in ("labels", "media", "rules"):
                raise ConfigError(f"{path}: unknown section [{section}]")
        settings = _apply(settings, top, "")
    for var, (section, key) in ENVIRONMENT.items():
        if var in env and env[var] != "":
            settings = _apply(settings, {section: {key: env[var]}} if section else {key: env[var]}, "")
    return _validate(settings)
