"""Migration 0007_E fills the accent-free search name of the patients filed before it, so an
upgraded archive finds ``Müller`` by ``muller`` at once (issue 14)."""

from __future__ import annotations

from sqlalchemy import insert, select, text

from publisher.db import migrate
from publisher.db.models import Patient
from publisher.db.session import Database


def test_upgrade_fills_the_search_name_of_existing_patients(db_url: str) -> None:
    db = Database(db_url)
    migrate.upgrade(db.engine, "0006")
    with db.engine.begin() as conn:
        conn.execute(text("INSERT INTO patient (patient_id, issuer_of_patient_id, unidentified_study_uid, patient_name, "
                          "patient_name_norm, patient_birth_date, patient_sex, other_patient_ids, specific_character_set, "
                          "created_at) VALUES ('PAT-LAT1', '', '', 'Müller^Jürgen', 'müller^jürgen', '', '', '', '', "
                          "'2026-01-01 00:00:00')"))
    migrate.upgrade(db.engine)
    with db.engine.begin() as conn:
        assert conn.execute(select(Patient.__table__.c.patient_name_search)).scalar() == "muller^jurgen"
        conn.execute(insert(Patient.__table__), {"patient_id": "X", "patient_name": "Y"})  # the default is ""
        assert conn.execute(select(Patient.__table__.c.patient_name_search).where(Patient.__table__.c.patient_id == "X")).scalar() == ""
    db.dispose()
