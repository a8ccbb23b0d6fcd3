"""credits discovered from article pages; owner comments and openers on posts

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

from goodwill.store.schema import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("posts") as batch:
        batch.add_column(sa.Column("credit_source", sa.Text(), nullable=True))
        batch.add_column(sa.Column("comment", sa.Text(), nullable=True))
        batch.add_column(sa.Column("opener", sa.Text(), nullable=True))
    op.create_table(
        "pages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("brand", sa.String(length=200), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("fetched_at", UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("credits", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pages")),
        sa.UniqueConstraint("brand", "url", name=op.f("uq_pages_brand_url")),
    )


def downgrade() -> None:
    op.drop_table("pages")
    with op.batch_alter_table("posts") as batch:
        batch.drop_column("opener")
        batch.drop_column("comment")
        batch.drop_column("credit_source")
