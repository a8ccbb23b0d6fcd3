"""source health: where a feed moved, and the dedupe window's index

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        batch.add_column(sa.Column("moved_to", sa.Text(), nullable=True))
    op.create_index(
        op.f("ix_items_brand_published_at"), "items", ["brand", "published_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_items_brand_published_at"), table_name="items")
    with op.batch_alter_table("sources") as batch:
        batch.drop_column("moved_to")
