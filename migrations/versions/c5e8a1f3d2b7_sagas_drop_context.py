"""drop sagas.context: each step keeps its own result

Revision ID: c5e8a1f3d2b7
Revises: b41c2d9e7a10
Create Date: 2026-11-26 15:40:00

"""
import sqlalchemy as sa
from alembic import op


revision = 'c5e8a1f3d2b7'
down_revision = 'b41c2d9e7a10'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('sagas', schema=None) as batch_op:
        batch_op.drop_column('context')


def downgrade():
    with op.batch_alter_table('sagas', schema=None) as batch_op:
        batch_op.add_column(sa.Column('context', sa.JSON(), nullable=False, server_default='{}'))
