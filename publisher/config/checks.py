"""Rules between values that their types alone do not say (ranges, PS3.5 AE titles, TLS files)."""

from __future__ import annotations

from dataclasses import replace

from publisher.config import retention
from publisher.config.model import (DUPLICATE_POLICIES, GROUP_BY, RULE_MEDIA, RULE_NAME_MAX, ConfigError,
                                    DiscRule, Settings)


def check_rules(rules: tuple[DiscRule, ...]) -> tuple[DiscRule, ...]:
    """``[[rules]]`` checked one by one (:func:`check_rule`), their names unique."""
    out = tuple(check_rule(r) for r in rules)
    seen: set[str] = set()
    for r in out:
        if r.name in seen:
            raise ConfigError(f"rules: two rules are named {r.name!r}")
        seen.add(r.name)
    return out


def check_rule(rule: DiscRule) -> DiscRule:
    rule = replace(rule, name=rule.name.strip())
    if not rule.name:
        raise ConfigError("rules: each rule needs a name")
    where = f"rule {rule.name!r}"
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


def check_settings(s: Settings) -> Settings:
    """The whole model once every source is applied (a rule may involve keys from two sources)."""
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
    for remote in d.remotes:
        if remote.retrieve not in ("move", "get"):
            raise ConfigError(f"dicom.remotes: retrieve of {remote.ae_title} must be move or get, not {remote.retrieve!r}")
    retention.check(s.retention, tuple(r.ae_title for r in d.remotes))
    return replace(s, rules=check_rules(s.rules))
