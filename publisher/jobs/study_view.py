"""The on-disc viewer for a study in the archive (issue 16: check a study before burning, see
what a disc will hold): the same :func:`viewer_bundle.write_viewer` a disc gets, written from
the index's instances into ``<data_dir>/study-view/<key>/`` and served from there by the web
(:mod:`publisher.web.study_view`). No second viewer: only where the files go differs.

The folder's key is a hash of the study's instances and their SHA-256s, so a study that
changed (an instance added, replaced or rejected) gets a new folder; a folder is written
under a temporary name and renamed into place whole, so a reader never sees half of one."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import viewer_bundle as vb
from publisher.db.session import Database
from publisher.jobs.records import Selection
from publisher.jobs.selection import EmptySelection, select_instances
from publisher.jobs.viewer import viewer_cache, viewer_content
from publisher.media import exclude_rejected

FOLDER = "study-view"
START = "START.TXT"


@dataclass(frozen=True)
class StudyView:
    root: Path
    #: the viewer's start page, relative to ``root`` with ``/``
    start_page: str


def study_view(db: Database, study_uid: str, archive_root: Path, data_dir: Path, cache_bytes: int = 0) -> StudyView | None:
    """The viewer folder of study ``study_uid``, written if not there yet; None: no such study."""
    try:
        with db.session() as s:
            instances, rejected = select_instances(s, Selection(studies=(study_uid,)), archive_root)
    except EmptySelection:
        return None
    shown = exclude_rejected(instances, rejected)
    digest = hashlib.sha256("\n".join(f"{i.sop_instance_uid} {i.sha256}" for i in shown).encode()).hexdigest()[:32]
    base = data_dir / FOLDER
    root = base / digest
    start = root / START
    if start.is_file():
        return StudyView(root, start.read_text("utf-8").strip())
    base.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".new-", dir=base))
    try:
        content = viewer_content(shown, label=study_uid[-16:])
        result = vb.write_viewer(content, tmp, cache=viewer_cache(data_dir, cache_bytes))
        (tmp / START).write_text(result.start_page + "\n", "utf-8")
        try:
            os.rename(tmp, root)
        except OSError:  # written meanwhile by another request: use that one
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return StudyView(root, (root / START).read_text("utf-8").strip())
