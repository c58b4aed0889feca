"""Purged instances fetched back before a disc job is mastered (a re-burn of a purged study).

The job names studies, series or patients; the instances of those that retention purged
(:func:`publisher.archive.purged.purged_of`) are fetched from the remotes of ``[retention]
retrieve_from``, in order, by each remote's ``retrieve`` method (C-MOVE to our Storage SCP or
C-GET, PS3.4 C.4.2 / C.4.3) through :func:`publisher.dicom.qr_scu.retrieve`, asking only for the
purged SOP Instance UIDs. What came back is restored in the index
(:func:`publisher.archive.purged.restored`: its first arrival time, already routed); what did not
is returned with the reason, and the job fails naming it (:mod:`publisher.jobs.purged`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from publisher.archive.ingest import Archive
from publisher.archive.lookup import present_instances
from publisher.archive.purged import Purged, restored
from publisher.config import DicomSettings, RemoteAE
from publisher.dicom.qr_scu import RemoteError, RetrieveSelection, find_remote, receiving, retrieve

log = logging.getLogger(__name__)


class Restorer:
    """Fetches purged instances back into ``archive`` from ``retrieve_from`` (AE titles)."""

    def __init__(self, dicom: DicomSettings, archive: Archive, retrieve_from: Sequence[str]) -> None:
        self.dicom, self.archive, self.retrieve_from = dicom, archive, tuple(retrieve_from)

    def __call__(self, purged: Sequence[Purged]) -> dict[str, str]:
        """Fetch ``purged`` back; returns SOP Instance UID -> why, for those still missing."""
        wanted = {p.sop_instance_uid for p in purged}
        why = {u: "no remote in [retention] retrieve_from to fetch it from" for u in wanted}
        series = list(dict.fromkeys((p.study_instance_uid, p.series_instance_uid) for p in purged))
        for ae in self.retrieve_from:
            if not wanted:
                break
            try:
                remote = find_remote(self.dicom.remotes, ae)
                with self._receiving(remote):
                    report = retrieve(self.dicom, remote, RetrieveSelection(series=series), self.archive, only=wanted)
            except (RemoteError, OSError) as exc:
                why.update({u: f"{ae}: {exc}" for u in wanted})
                continue
            back = present_instances(self.archive.db, sorted(wanted))
            restored(self.archive.db, sorted(back))
            wanted -= back
            why.update({u: f"{ae}: {report.failed.get(u, 'not found there')}" for u in wanted})
            log.info("retention: %s", report.summary())
        return {u: why[u] for u in sorted(wanted)}

    @contextmanager
    def _receiving(self, remote: RemoteAE) -> Iterator[None]:
        """Our Storage SCP for a C-MOVE's sub-operations (the running service's when it listens)."""
        if remote.retrieve == "move":
            with receiving(self.dicom, self.archive, self.archive.db):
                yield
        else:
            yield
