"""owners and leases on jobs and posts; render versions; the render a post publishes

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 12:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.add_column(sa.Column("owner", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(sa.Column("lease_until", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.create_index(batch_op.f("ix_job_lease_until"), ["lease_until"], unique=False)
    with op.batch_alter_table("post", schema=None) as batch_op:
        batch_op.add_column(sa.Column("video_key", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(sa.Column("owner", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(sa.Column("lease_until", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.create_index(batch_op.f("ix_post_lease_until"), ["lease_until"], unique=False)
    with op.batch_alter_table("clip", schema=None) as batch_op:
        batch_op.add_column(sa.Column("render_version", sa.Integer(), nullable=False, server_default="0"))
    # posts made before this revision publish the clip's current render, as they did
    op.execute("UPDATE post SET video_key = (SELECT clip.video_key FROM clip WHERE clip.id = post.clip_id)")


def downgrade() -> None:
    with op.batch_alter_table("clip", schema=None) as batch_op:
        batch_op.drop_column("render_version")
    with op.batch_alter_table("post", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_post_lease_until"))
        batch_op.drop_column("lease_until")
        batch_op.drop_column("owner")
        batch_op.drop_column("video_key")
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_job_lease_until"))
        batch_op.drop_column("lease_until")
        batch_op.drop_column("owner")
