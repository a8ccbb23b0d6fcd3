"""one index on an item's age, coalesce(published_at, fetched_at), for the two on its dates

Every query that reads items by date asks for their age (the publication time, or the fetch
time when the feed gave none): the dedupe window, the drafting queue, the latest items. The
two date indexes served only half of the window's query and none of the others, and every
insert paid for both: one index on the age itself serves them all, and an insert maintains one
index fewer.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index(op.f("ix_items_brand_fetched_at"), table_name="items")
    op.drop_index(op.f("ix_items_brand_published_at"), table_name="items")
    op.create_index(
        "ix_items_brand_age",
        "items",
        ["brand", sa.text("coalesce(published_at, fetched_at)")],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_items_brand_age", table_name="items")
    op.create_index(
        op.f("ix_items_brand_published_at"), "items", ["brand", "published_at"], unique=False
    )
    op.create_index(
        op.f("ix_items_brand_fetched_at"), "items", ["brand", "fetched_at"], unique=False
    )
