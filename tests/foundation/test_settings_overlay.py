"""``<data_dir>/settings.toml``, what the web UI's Settings page writes: read over the config
files and under the environment, written so that it reads back as the same settings, with
every awkward value (quotes, backslashes, non-ASCII, empty lists) intact."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from publisher.config import AllowedCaller, ConfigError, DiscRule, RemoteAE, load_settings, overlay


def test_what_is_written_is_what_the_next_start_reads(tmp_path: Path) -> None:
    env = {"PUBLISHER_DATA_DIR": str(tmp_path)}
    base = load_settings(environ=env)
    changed = replace(
        base, institution='Klinik "Süd" \\ Haus 2',
        rules=(DiscRule("ct", enabled=True, modalities=("CT",), calling_aes=("CT1",), comment="für Sie"),
               DiscRule("mr", quiet_minutes=2.5, copies=2)),
        dicom=replace(base.dicom, allowed_callers=(AllowedCaller("WARD", "10.0.0.7", frozenset({"echo"})),),
                      remotes=(RemoteAE("PACS", "pacs.example", 104, retrieve="get"),)))
    overlay.write(tmp_path, overlay.editable(changed), who="boss")
    assert [p.name for p in tmp_path.iterdir()] == ["settings.toml"]  # no temporary file left
    again = load_settings(environ=env)
    assert (again.institution, again.rules, again.dicom.allowed_callers, again.dicom.remotes) == \
        (changed.institution, changed.rules, changed.dicom.allowed_callers, changed.dicom.remotes)
    # The environment still wins over the file.
    assert load_settings(environ=env | {"PUBLISHER_INSTITUTION": "Env"}).institution == "Env"

    # No rules and no callers: empty lists, not the shipped ones coming back.
    empty = overlay.editable(again) | {"rules": []}
    empty["dicom"]["allowed_callers"] = []
    overlay.write(tmp_path, empty)
    after = load_settings(environ=env)
    assert after.rules == () and after.dicom.allowed_callers == ()


def test_a_wrong_change_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    base = load_settings(environ={"PUBLISHER_DATA_DIR": str(tmp_path)})
    data = overlay.editable(base)
    data["rules"] = [{"name": "a"}, {"name": "a"}]
    with pytest.raises(ConfigError, match="two rules are named 'a'"):
        overlay.applied(base, data, environ={})
    data = overlay.editable(base) | {"jobs": {"worker": False}}
    with pytest.raises(ConfigError, match="may hold only"):
        overlay.applied(base, data, environ={})
    data = overlay.editable(base)
    data["dicom"]["remotes"] = [{"ae_title": "PACS", "host": "h", "port": 70000}]
    with pytest.raises(ConfigError, match="port 1-65535"):
        overlay.applied(base, data, environ={})
    assert not overlay.path(tmp_path).exists()
