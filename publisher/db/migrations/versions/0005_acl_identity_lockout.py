"""patients without a Patient ID are one per study; failed web logins kept for lockouts

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 10:00:00.000000

The patient row was unique on (Patient ID, Issuer), so every instance without a Patient ID was
filed under one patient row, whoever it showed. Rows are now unique on (Patient ID, Issuer,
unidentified_study_uid): empty for patients with an ID, the study's UID for those without
(publisher.archive.identity). Upgrading splits each such merged row into one patient per
study; the names, birth dates and sexes of the new rows are read again from one stored file of
each study when the archive folder is known (``publisher db upgrade`` and the service pass it),
else copied from the merged row. Downgrading merges them again.

``login_failure`` holds failed web logins while they count towards locking an account or an
address (publisher.db.logins).
"""
from pathlib import Path

from alembic import context, op
import sqlalchemy as sa
from sqlalchemy.dialects import mysql


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")

patient = sa.Table(  # a Table with its key, so an insert reports the new row's id
    "patient", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True), sa.Column("patient_id", sa.String(64)),
    sa.Column("issuer_of_patient_id", sa.String(64)), sa.Column("unidentified_study_uid", sa.String(64)),
    sa.Column("patient_name", sa.String(324)), sa.Column("patient_name_norm", sa.String(324)),
    sa.Column("patient_birth_date", sa.String(8)), sa.Column("patient_sex", sa.String(16)),
    sa.Column("other_patient_ids", sa.String(1024)), sa.Column("specific_character_set", sa.String(128)),
    sa.Column("created_at", TIMESTAMP),
)
study = sa.table("study", sa.column("id", sa.Integer), sa.column("patient_fk", sa.Integer), sa.column("study_instance_uid", sa.String))
series = sa.table("series", sa.column("id", sa.Integer), sa.column("study_fk", sa.Integer))
instance = sa.table("instance", sa.column("series_fk", sa.Integer), sa.column("path", sa.String))

COPIED = ("patient_id", "issuer_of_patient_id", "patient_name", "patient_name_norm", "patient_birth_date", "patient_sex",
          "other_patient_ids", "specific_character_set", "created_at")


def _demographics(bind: sa.Connection, root: Path | None, study_pk: int) -> dict[str, str]:
    """Name, birth date and sex from one stored file of the study (nothing when unreadable)."""
    if root is None:
        return {}
    path = bind.execute(sa.select(instance.c.path).join(series, instance.c.series_fk == series.c.id)
                        .where(series.c.study_fk == study_pk).limit(1)).scalar()
    if path is None:
        return {}
    from pydicom import dcmread

    try:
        ds = dcmread(root / path, stop_before_pixels=True, specific_tags=["SpecificCharacterSet", "PatientName",
                                                                          "PatientBirthDate", "PatientSex"])
        name = str(ds.get("PatientName", "") or "")[:324]
        return {"patient_name": name, "patient_name_norm": name.casefold(),
                "patient_birth_date": str(ds.get("PatientBirthDate", "") or "")[:8],
                "patient_sex": str(ds.get("PatientSex", "") or "")[:16]}
    except Exception:  # a missing or unreadable file: keep what the merged row said
        return {}


def _split_unidentified(bind: sa.Connection, root: Path | None) -> None:
    merged = bind.execute(sa.select(patient).where(sa.func.trim(patient.c.patient_id) == "")).mappings().all()
    for row in merged:
        studies = bind.execute(sa.select(study.c.id, study.c.study_instance_uid).where(study.c.patient_fk == row["id"])
                               .order_by(study.c.id)).all()
        for n, (study_pk, uid) in enumerate(studies):
            values = {"unidentified_study_uid": uid, **_demographics(bind, root, study_pk)}
            if n == 0:
                bind.execute(sa.update(patient).where(patient.c.id == row["id"]).values(**values))
                continue
            new = bind.execute(sa.insert(patient).values({**{k: row[k] for k in COPIED}, **values})).inserted_primary_key
            assert new is not None
            bind.execute(sa.update(study).where(study.c.id == study_pk).values(patient_fk=new[0]))


def _merge_unidentified(bind: sa.Connection) -> None:
    rows = bind.execute(sa.select(patient.c.id, patient.c.patient_id, patient.c.issuer_of_patient_id)
                        .where(patient.c.unidentified_study_uid != "").order_by(patient.c.id)).all()
    keep: dict[tuple[str, str], int] = {}
    for pk, pid, issuer in rows:
        first = keep.setdefault((pid, issuer), pk)
        if first != pk:
            bind.execute(sa.update(study).where(study.c.patient_fk == pk).values(patient_fk=first))
            bind.execute(sa.delete(patient).where(patient.c.id == pk))


def upgrade() -> None:
    with op.batch_alter_table("patient") as batch:
        batch.add_column(sa.Column("unidentified_study_uid", sa.String(length=64), nullable=False, server_default=""))
        batch.drop_constraint("uq_patient_id_issuer", type_="unique")
    root = context.config.attributes.get("archive_root")
    _split_unidentified(op.get_bind(), Path(root) if root else None)
    with op.batch_alter_table("patient") as batch:
        batch.create_unique_constraint("uq_patient_identity", ["patient_id", "issuer_of_patient_id", "unidentified_study_uid"])
    op.create_table(
        "login_failure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_login_failure_user", "login_failure", ["username", "at"])
    op.create_index("ix_login_failure_address", "login_failure", ["address", "at"])
    op.create_index("ix_login_failure_at", "login_failure", ["at"])


def downgrade() -> None:
    op.drop_table("login_failure")
    with op.batch_alter_table("patient") as batch:
        batch.drop_constraint("uq_patient_identity", type_="unique")
    _merge_unidentified(op.get_bind())
    with op.batch_alter_table("patient") as batch:
        batch.drop_column("unidentified_study_uid")
        batch.create_unique_constraint("uq_patient_id_issuer", ["patient_id", "issuer_of_patient_id"])
