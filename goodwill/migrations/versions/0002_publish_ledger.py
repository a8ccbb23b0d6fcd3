"""publish ledger: when a post may first have been sent, and what reconciliation checked

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from goodwill.store.schema import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("first_sent_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("checked", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("checked_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.drop_column("checked_at")
        batch_op.drop_column("checked")
        batch_op.drop_column("first_sent_at")
