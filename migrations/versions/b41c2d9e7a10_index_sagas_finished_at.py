"""index sagas.finished_at (recent throughput, retention)

Revision ID: b41c2d9e7a10
Revises: 30707f4026c3
Create Date: 2026-11-26 13:05:00

"""
from alembic import op


revision = 'b41c2d9e7a10'
down_revision = '30707f4026c3'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('sagas', schema=None) as batch_op:
        batch_op.create_index('ix_sagas_finished_at', ['finished_at'], unique=False)


def downgrade():
    with op.batch_alter_table('sagas', schema=None) as batch_op:
        batch_op.drop_index('ix_sagas_finished_at')
