"""A real ``publisher serve`` and Orthanc with its DICOMweb plugin holding the same studies, and
``dicomweb-client`` clients for both (tests/web/test_dicomweb*.py)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dicomweb_client.api import DICOMwebClient

from publisher.demo import samples
from tests.support.peers import ORTHANC_DICOMWEB, orthanc, orthanc_upload
from tests.support.qr_studies import STUDIES
from tests.support.served import Served, publisher_serve

USERS = {"rad": ("radiologist", "rad-password-1"), "desk": ("frontdesk", "desk-password-1")}


@dataclass
class Rig:
    served: Served
    #: bearer tokens by user name
    tokens: dict[str, str]
    files: list[Path]
    ours: DICOMwebClient
    theirs: DICOMwebClient

    def client(self, token: str | None) -> DICOMwebClient:
        headers = {"Authorization": f"Bearer {token}"} if token else None
        return DICOMwebClient(f"{self.served.base}/dicomweb", headers=headers)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@contextmanager
def dicomweb_rig(tmp: Path) -> Iterator[Rig]:
    files = [p for spec in STUDIES for p in samples.write_study(spec, tmp / "src" / spec.key)]
    with publisher_serve(tmp / "pub", users=USERS) as served:
        done = served.cli("import", "-q", str(tmp / "src"))
        assert done.returncode == 0, done.stdout + done.stderr
        tokens = {}
        for name in USERS:
            made = served.cli("user", "token", name, "--label", "test")
            assert made.returncode == 0, made.stderr
            tokens[name] = made.stdout.strip()
        with orthanc(tmp / "orthanc", "DISCPUB", int(served.env["PUBLISHER_DICOM_PORT"]),
                     plugins=[ORTHANC_DICOMWEB], extra={"DefaultEncoding": "Utf8"}) as (_port, http):
            orthanc_upload(http, files)
            ours = DICOMwebClient(f"{served.base}/dicomweb", headers={"Authorization": f"Bearer {tokens['rad']}"})
            yield Rig(served, tokens, files, ours, DICOMwebClient(f"http://127.0.0.1:{http}/dicom-web"))


def values(answer: Sequence[dict[str, Any]], uid_tag: str) -> dict[str, dict[str, Any]]:
    """QIDO answers by the UID of their level."""
    return {a[uid_tag]["Value"][0]: a for a in answer}
