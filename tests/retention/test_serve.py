"""``publisher serve`` runs the purge of ``[retention]``: in buffer mode, with no route, rule or job
needing them and no grace period, instances a modality sent (DCMTK storescu) go by themselves,
leaving their purged_instance rows and a ``purge`` audit event; the start-up says so."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from publisher.db.models import AuditEvent, Instance, PurgedInstance
from publisher.db.session import Database
from publisher.demo import samples
from tests.support.jobs import CT_B
from tests.support.net import wait_until
from tests.support.served import publisher_serve
from tests.support.service import storescu
from tests.support.tools import require_tool

pytestmark = [pytest.mark.interop]

CONFIG = """
[dicom]
allowed_callers = ["STORESCU", "ECHOSCU"]

[forward]
tick_seconds = 0.2

[retention]
mode = "buffer"
grace_hours = 0
tick_seconds = 0.2
"""


def test_serve_purges_in_buffer_mode(tmp_path: Path) -> None:
    require_tool("storescu")
    files = samples.write_study(CT_B, tmp_path / "in")
    with publisher_serve(tmp_path, config=CONFIG) as served:
        r = storescu(int(served.env["PUBLISHER_DICOM_PORT"]), files)
        assert r.returncode == 0, r.stdout + r.stderr
        db = Database(f"sqlite:///{(served.data / 'publisher.db').resolve()}")
        try:
            def counts() -> tuple[int, int]:
                with db.session() as s:
                    return (int(s.scalar(select(func.count()).select_from(Instance)) or 0),
                            int(s.scalar(select(func.count()).select_from(PurgedInstance)) or 0))

            def audited() -> int:
                with db.session() as s:
                    return int(s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "purge")) or 0)

            wait_until("the purge run", lambda: counts() == (0, len(files)))
            wait_until("the purge's audit event", lambda: audited() > 0)  # written once the run's deletions are done
        finally:
            db.dispose()
        assert "Keep:  retention buffer (grace 0 h, fetched back from nowhere)" in served.log.read_text()
    assert not list((served.data / "archive").rglob("*.dcm"))
