"""worklist and name search: accent-free patient names, studies by arrival

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 01:00:00.000000

``patient.patient_name_search``: the name case-folded with its accents removed
(``publisher.archive.metadata.search_fold``), so the study browser finds ``Müller`` by
``muller``; filled here for the patients already filed, at ingest for new ones.
``ix_study_created``: the worklist shows studies newest arrival first, page by page.
"""
import unicodedata

from alembic import op
import sqlalchemy as sa

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

#: Rows read and updated per round while filling the new column.
BATCH = 1000


def search_fold(text: str) -> str:
    """As ``publisher.archive.metadata.search_fold`` at this revision (a migration stays as written)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if not unicodedata.combining(c)))


def upgrade() -> None:
    with op.batch_alter_table('patient', schema=None) as batch_op:
        batch_op.add_column(sa.Column('patient_name_search', sa.String(324), nullable=False, server_default=''))
        batch_op.create_index('ix_patient_name_search', ['patient_name_search'])
    with op.batch_alter_table('study', schema=None) as batch_op:
        batch_op.create_index('ix_study_created', ['created_at'])
    conn = op.get_bind()
    patient = sa.table('patient', sa.column('id', sa.Integer), sa.column('patient_name', sa.String),
                       sa.column('patient_name_search', sa.String))
    last = 0
    while True:
        rows = conn.execute(sa.select(patient.c.id, patient.c.patient_name).where(patient.c.id > last)
                            .order_by(patient.c.id).limit(BATCH)).all()
        if not rows:
            break
        for pk, name in rows:
            conn.execute(patient.update().where(patient.c.id == pk).values(patient_name_search=search_fold(name or "")))
        last = rows[-1][0]


def downgrade() -> None:
    with op.batch_alter_table('study', schema=None) as batch_op:
        batch_op.drop_index('ix_study_created')
    with op.batch_alter_table('patient', schema=None) as batch_op:
        batch_op.drop_index('ix_patient_name_search')
        batch_op.drop_column('patient_name_search')
