"""Typed settings: ``config/publisher.toml`` defaults, then a ``--config`` file, then environment.

Every value has an embedded default so the service runs with no file at all. The model
(:mod:`publisher.config.model`) is the one list of settings: the loader
(:mod:`publisher.config.load`) derives the tables, keys, types and environment variables from it,
so tests and scripts can run several instances side by side (each with its own data directory,
database and ports) through ``PUBLISHER_*`` variables.
"""

from publisher.config import overlay
from publisher.config.load import environment_variables, load_settings
from publisher.config.model import (
    DEFAULT_CONFIG_FILE,
    DEFAULT_SERVICES,
    DUPLICATE_POLICIES,
    GROUP_BY,
    RULE_MEDIA,
    RULE_NAME_MAX,
    SERVICES,
    AllowedCaller,
    AuditSettings,
    ConfigError,
    DicomSettings,
    DiscRule,
    DuplicatePolicy,
    GroupBy,
    JobSettings,
    LabelSettings,
    RemoteAE,
    Settings,
)

__all__ = [
    "DEFAULT_CONFIG_FILE", "DEFAULT_SERVICES", "DUPLICATE_POLICIES", "GROUP_BY", "RULE_MEDIA", "RULE_NAME_MAX",
    "SERVICES", "AllowedCaller", "AuditSettings", "ConfigError", "DicomSettings", "DiscRule", "DuplicatePolicy", "GroupBy",
    "JobSettings", "LabelSettings", "RemoteAE", "Settings", "environment_variables", "load_settings", "overlay",
]
