"""sources.body_hash: the digest of the last body read, to skip a feed served unchanged

Many servers send no ETag or Last-Modified, or new ones on every request, so a conditional GET
never answers 304; an unchanged body is then recognised by its digest and not parsed again.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        batch.add_column(sa.Column("body_hash", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        batch.drop_column("body_hash")
