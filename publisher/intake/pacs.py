"""Remote PACS for the web UI: C-FIND studies at each configured remote and retrieve them into
the archive (PS3.4 C.4), the same path as ``publisher remote find|retrieve``. The web room
does not import the network; ``publisher serve`` hands it a :class:`PacsGateway`."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from publisher.archive.ingest import Archive
from publisher.archive.query.keys import Level
from publisher.config import Settings
from publisher.dicom.qr_scu import RemoteError, RetrieveSelection, find, find_remote, retrieve

#: What the web shows of each study a remote holds.
STUDY_COLUMNS = ("PatientID", "PatientName", "PatientBirthDate", "StudyDate", "StudyDescription", "AccessionNumber",
                 "ModalitiesInStudy", "NumberOfStudyRelatedInstances", "StudyInstanceUID")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        return "\\".join(str(v) for v in value)
    return str(value)


class PacsGateway:
    """Query and retrieve at the remotes of ``settings`` into ``archive`` (the running service's:
    its Storage SCP receives the C-MOVE sub-operations)."""

    def __init__(self, settings: Settings, archive: Archive) -> None:
        self.settings, self.archive = settings, archive

    def titles(self) -> list[str]:
        return [r.ae_title for r in self.settings.dicom.remotes]

    def find_studies(self, ae_title: str, keys: Mapping[str, str]) -> list[dict[str, str]]:
        """The studies at ``ae_title`` matching ``keys`` (C-FIND, Study Root, STUDY level);
        raises ValueError naming the remote when it refuses or is unreachable."""
        remote = self._remote(ae_title)
        returns = [c for c in STUDY_COLUMNS if c not in keys]
        try:
            return [{c: _text(ds.get(c)) for c in STUDY_COLUMNS}
                    for ds in find(self.settings.dicom, remote, Level.STUDY, dict(keys), returns)]
        except (RemoteError, OSError) as exc:
            raise ValueError(str(exc) or f"{ae_title}: no answer") from None

    def retrieve(self, ae_title: str, study_uids: Sequence[str], progress: Callable[[int, int], None]) -> str:
        """Fetch the studies into the archive (only what it lacks); returns the summary, raises
        ValueError when instances failed."""
        remote = self._remote(ae_title)
        try:
            report = retrieve(self.settings.dicom, remote, RetrieveSelection(list(study_uids)), self.archive,
                              progress=progress)
        except (RemoteError, OSError) as exc:
            raise ValueError(str(exc) or f"{ae_title}: no answer") from None
        if not report.ok:
            first = next(iter(sorted(report.failed.items())))
            raise ValueError(f"{report.summary()}; e.g. {first[0]}: {first[1]}")
        return report.summary()

    def _remote(self, ae_title: str) -> Any:
        try:
            return find_remote(self.settings.dicom.remotes, ae_title)
        except RemoteError as exc:
            raise ValueError(str(exc)) from None

