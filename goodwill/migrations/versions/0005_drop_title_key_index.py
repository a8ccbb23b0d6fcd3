"""drop the (brand, title_key) index: no query reads it, and every insert paid for it

Same-story detection reads titles by date (the dedupe window) and matches them in memory; the
exact-title index was never used by a query. Dropping it makes storing 50,000 new items cheaper
and the database smaller.

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index(op.f("ix_items_brand_title_key"), table_name="items")


def downgrade() -> None:
    op.create_index(op.f("ix_items_brand_title_key"), "items", ["brand", "title_key"], unique=False)
