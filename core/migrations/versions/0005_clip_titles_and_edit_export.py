"""clip title variants (up to three titles for the user to pick from), the edit export's files and
translated caption tracks

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 12:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("clip", schema=None) as batch_op:
        batch_op.add_column(sa.Column("title_variants", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("fcpxml_key", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(sa.Column("edl_key", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(sa.Column("caption_tracks", sa.JSON(), nullable=False, server_default="{}"))


def downgrade() -> None:
    with op.batch_alter_table("clip", schema=None) as batch_op:
        batch_op.drop_column("caption_tracks")
        batch_op.drop_column("edl_key")
        batch_op.drop_column("fcpxml_key")
        batch_op.drop_column("title_variants")
