"""The command line a newcomer uses, and settings from file and environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from publisher.demo import samples
from publisher.config import ConfigError, load_settings
from publisher.db.models import Instance
from publisher.db.session import Database


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "publisher.cli", *args], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=300)


def test_environment_overrides_file_and_defaults(tmp_path: Path) -> None:
    cfg = tmp_path / "site.toml"
    cfg.write_text('[service]\nhttp_port = 9000\n[dicom]\nae_title = "SITEAE"\nport = 104\nduplicate_policy = "replace"\n')
    s = load_settings(cfg, environ={"PUBLISHER_DICOM_PORT": "11999", "PUBLISHER_DATA_DIR": str(tmp_path / "d")})
    assert (s.dicom.ae_title, s.dicom.port, s.http_port, s.dicom.duplicate_policy) == ("SITEAE", 11999, 9000, "replace")
    assert s.db_url == f"sqlite:///{(tmp_path / 'd' / 'publisher.db').resolve()}"
    s = load_settings(environ={"PUBLISHER_DATABASE_URL": "postgresql+psycopg://u@h/db", "PUBLISHER_AE_TITLE": "X", "PUBLISHER_HTTP_PORT": "81"})
    assert (s.db_url, s.dicom.ae_title, s.http_port) == ("postgresql+psycopg://u@h/db", "X", 81)


@pytest.mark.parametrize("text,needle", [
    ('[dicom]\nport = "abc"\n', "dicom.port"),
    ('[dicom]\nduplicate_policy = "sometimes"\n', "duplicate_policy"),
    ('[dicom]\nae_title = "THIS_TITLE_IS_TOO_LONG"\n', "ae_title"),
    ('[service]\nnonsense = 1\n', "nonsense"),
])
def test_bad_settings_are_named(tmp_path: Path, text: str, needle: str) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text(text)
    with pytest.raises(ConfigError, match=needle):
        load_settings(cfg, environ={})



@pytest.mark.parametrize("text, needle", [
    ('[robot]\nkind = "simulator"\ntime_scal = 0.1\n', "[robot] 'time_scal' is not an option of the 'simulator' driver"),
    ('[[robots]]\nname = "second"\nkind = "simulator"\noptions = { blank = 5 }\n', "[[robots]] 'second' options: 'blank'"),
    ('[robot]\nkind = "nonesuch"\n', "unknown robot kind 'nonesuch'"),
])
def test_a_misspelt_robot_option_is_refused_at_start(tmp_path: Path, text: str, needle: str) -> None:
    """Before any driver is built (a robot may be set up only when the first job comes), the
    command refuses to start, naming the file, the table and the key."""
    cfg = tmp_path / "site.toml"
    cfg.write_text(text)
    r = _cli("--config", str(cfg), "jobs", env={"PUBLISHER_DATA_DIR": str(tmp_path / "d")})
    assert r.returncode != 0 and needle in r.stderr and str(cfg) in r.stderr, r.stderr


def test_import_check_and_repair(tmp_path: Path) -> None:
    env = {"PUBLISHER_DATA_DIR": str(tmp_path / "data"), "PUBLISHER_LOAD_SAMPLES": "false", "PUBLISHER_MIN_FREE_BYTES": "0"}
    r = _cli("db", "upgrade", env=env)
    from publisher.db.migrate import head_revision

    assert r.returncode == 0 and f"revision {head_revision()}" in r.stdout, r.stderr
    folder = tmp_path / "incoming"
    for study in samples.demo_studies(3):
        samples.write_study(study, folder / study.key)
    (folder / "notes.txt").write_text("not DICOM")
    r = _cli("import", str(folder), env=env)
    assert r.returncode == 1  # one refused file
    assert "1 refused" in r.stdout and "notes.txt" in r.stderr
    total = sum(1 for _ in folder.rglob("*.dcm"))
    db = Database(f"sqlite:///{tmp_path / 'data' / 'publisher.db'}")
    with db.session() as s:
        assert s.scalar(select(func.count(Instance.id))) == total
        victim = s.scalar(select(Instance.path).limit(1))
    assert _cli("archive", "check", env=env).returncode == 0
    # A crash between rename and commit leaves a file without a row; a lost disk leaves a row without file.
    archive = tmp_path / "data" / "archive"
    orphan = archive / "X_1" / "1.2" / "1.2.3" / "orphan.dcm"
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(next(folder.rglob("*.dcm")).read_bytes())
    (archive / victim).unlink()
    r = _cli("archive", "check", env=env)
    assert r.returncode == 1 and "missing file" in r.stdout and "file not in index" in r.stdout
    r = _cli("archive", "check", "--repair", env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    r = _cli("archive", "check", "--verify", env=env)
    assert r.returncode == 0 and "missing" not in r.stdout and "not in index" not in r.stdout, r.stdout
    with db.session() as s:
        assert s.scalar(select(func.count(Instance.id))) == total - 1
    db.dispose()


def test_import_is_idempotent(tmp_path: Path) -> None:
    env = {"PUBLISHER_DATA_DIR": str(tmp_path / "data"), "PUBLISHER_MIN_FREE_BYTES": "0"}
    folder = tmp_path / "in"
    samples.write_study(samples.demo_studies(2)[1], folder)
    assert _cli("import", "-q", str(folder), env=env).returncode == 0
    r = _cli("import", "-q", str(folder), env=env)
    assert r.returncode == 0 and "kept-existing" in r.stdout
