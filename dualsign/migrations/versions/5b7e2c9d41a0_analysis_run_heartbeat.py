"""analysis run heartbeat (worker lease)

Revision ID: 5b7e2c9d41a0
Revises: c01b5d310a47
Create Date: 2026-11-23 12:00:00
"""
from alembic import op
import sqlalchemy as sa
import dualsign.db


revision = '5b7e2c9d41a0'
down_revision = 'c01b5d310a47'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('analysis_run') as batch:
        batch.add_column(sa.Column('heartbeat_at', dualsign.db.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('analysis_run') as batch:
        batch.drop_column('heartbeat_at')
