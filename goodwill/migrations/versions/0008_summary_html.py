"""items keep their summary as the feed's HTML, made plain text when read: summary_html

Ingest made every item's summary plain text as it stored it, the largest step of a parse
worker after the parser itself, while most items are never drafted and their text never read.
The column now holds the feed's HTML fragment (a whole article is still made text at once, see
``goodwill.html.summary_html``) and an item's summary is made text when it is read. Summaries
stored before are plain text: escaped here (``&``, ``<``, ``>``), they read back as exactly the
same text.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE items RENAME COLUMN summary TO summary_html")
    # One statement in SQL both databases speak: & first, so that the others' & stays escaped.
    op.execute(
        "UPDATE items SET summary_html = "
        "replace(replace(replace(summary_html, '&', '&amp;'), '<', '&lt;'), '>', '&gt;') "
        "WHERE summary_html LIKE '%&%' OR summary_html LIKE '%<%' OR summary_html LIKE '%>%'"
    )


def downgrade() -> None:
    from goodwill.html import summary_text

    conn = op.get_bind()
    page = sa.text(
        "SELECT id, summary_html FROM items WHERE id > :after AND summary_html <> '' "
        "ORDER BY id LIMIT 1000"
    )
    after = 0
    # A thousand rows at a time: a store of a million items is never read into memory at once.
    while rows := conn.execute(page, {"after": after}).all():
        conn.execute(
            sa.text("UPDATE items SET summary_html = :text WHERE id = :id"),
            [{"id": id_, "text": summary_text(kept)} for id_, kept in rows],
        )
        after = rows[-1][0]
    op.execute("ALTER TABLE items RENAME COLUMN summary_html TO summary")
