"""64-bit ids: every primary key and every column referencing one becomes BIGINT on PostgreSQL

The API accepts ids up to 2^62; PostgreSQL's ``integer`` ends at 2^31 - 1, so larger ids gave 500s there and
422s nowhere. SQLite stores every INTEGER in up to 64 bits already (and an INTEGER PRIMARY KEY must keep that
type name to stay the rowid), so this migration changes nothing on SQLite.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: (table, id-valued columns); primary keys first so references never point at a narrower column.
COLUMNS: list[tuple[str, list[str]]] = [
    ("transcript", ["id"]),
    ("user", ["id"]),
    ("api_token", ["id", "user_id"]),
    ("social_account", ["id", "user_id"]),
    ("video", ["id", "user_id", "transcript_id"]),
    ("watched_source", ["id", "user_id"]),
    ("clip", ["id", "video_id", "user_id"]),
    ("schedule", ["id", "user_id", "account_id"]),
    ("job", ["id", "user_id", "video_id", "clip_id"]),
    ("post", ["id", "user_id", "clip_id", "account_id", "schedule_id"]),
    ("ai_usage", ["id", "user_id", "video_id", "job_id"]),
    ("source_item_seen", ["id", "source_id", "video_id", "job_id"]),
]


def _change(to: type[sa.types.TypeEngine], sequence_type: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    frm = sa.Integer if to is sa.BigInteger else sa.BigInteger
    for table, columns in COLUMNS:
        for column in columns:
            op.alter_column(table, column, type_=to(), existing_type=frm())
        # a SERIAL's sequence has its own type (integer: it would stop at 2^31 - 1 too)
        op.execute(f"ALTER SEQUENCE IF EXISTS \"{table}_id_seq\" AS {sequence_type}")


def upgrade() -> None:
    _change(sa.BigInteger, "bigint")


def downgrade() -> None:
    _change(sa.Integer, "integer")
