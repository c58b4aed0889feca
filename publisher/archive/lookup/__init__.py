"""Every read of the index that web, cli and the DICOM handlers need, by what the caller wants.

One room owns the SQL against :mod:`publisher.db.models`: these functions (and the C-FIND
engine, :mod:`publisher.archive.query`) are the read API; web, cli and dicom import no
SQLAlchemy (tests/test_layering.py). Functions that take a :class:`~publisher.db.session.Database`
open their own transaction; functions that take a ``Transaction`` (what ``Database.session()``
yields) read inside the caller's, so a page can read a job, its patients and its hand-outs, or
lock a job and write beside it, in one transaction. Results are frozen records, or the model
objects (``DiscJob``, ``AuditEvent``) the callers already pass around.

- :mod:`.browse`: patients, studies and series with their counts (web JSON API, study browser)
- :mod:`.instances`: stored instances for sending, storage commitment, retrieve and worklist
- :mod:`.jobs`: disc jobs, the patients a job names, audit events
- :mod:`.selection`: a study browser selection grouped by patient (the burn preview)
- :mod:`.worklist`: the radiologist's worklist (newest arrival first, paged, filtered, "already on disc")
"""

from publisher.archive.lookup.browse import (
    PatientSummary, SeriesSummary, StudySummary, patients_page, series_of_studies, series_of_study, studies_of_patient,
)
from publisher.archive.lookup.instances import (
    StoredInstance, StudyKeys, instances_of_selection, present_instances, stored_instances, studies_by_uid_or_accession,
)
from publisher.archive.lookup.jobs import (
    PatientNames, audit_actions, audit_events, audit_events_of, disc_job, patient_names, recent_jobs,
)
from publisher.archive.lookup.selection import PatientPick, picks_by_patient
from publisher.archive.lookup.worklist import JobRef, WorklistFilter, WorklistPage, WorklistStudy, worklist

__all__ = [
    "JobRef", "PatientPick", "picks_by_patient", "WorklistFilter", "WorklistPage", "WorklistStudy", "worklist",
    "PatientNames", "PatientSummary", "SeriesSummary", "StoredInstance", "StudyKeys", "StudySummary",
    "audit_actions", "audit_events", "audit_events_of", "disc_job", "instances_of_selection", "patient_names",
    "patients_page", "present_instances", "recent_jobs", "series_of_studies", "series_of_study", "stored_instances",
    "studies_by_uid_or_accession", "studies_of_patient",
]
