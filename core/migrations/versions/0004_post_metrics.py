"""post metrics: time series, per-post summary, per-account learned model, quota units on usage rows

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

#: 64-bit ids, as in revision 0002
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ai_usage", schema=None) as batch_op:
        batch_op.add_column(sa.Column("units", sa.Integer(), nullable=False, server_default="0"))

    op.create_table(
        "post_metric",
        sa.Column("id", ID, nullable=False),
        sa.Column("post_id", ID, nullable=False),
        sa.Column("bucket", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("taken_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("metric", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["post_id"], ["post.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("post_id", "bucket", "metric"),
    )
    with op.batch_alter_table("post_metric", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_post_metric_post_id"), ["post_id"], unique=False)

    op.create_table(
        "post_metric_summary",
        sa.Column("post_id", ID, nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("latest", sa.JSON(), nullable=False),
        sa.Column("latest_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("last_bucket", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("samples", sa.Integer(), nullable=False),
        sa.Column("views_7d", sa.Float(), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("next_due_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["social_account.id"]),
        sa.ForeignKeyConstraint(["post_id"], ["post.id"]),
        sa.PrimaryKeyConstraint("post_id"),
    )
    with op.batch_alter_table("post_metric_summary", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_post_metric_summary_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_post_metric_summary_next_due_at"), ["next_due_at"], unique=False)

    op.create_table(
        "account_model",
        sa.Column("account_id", ID, nullable=False),
        sa.Column("posts", sa.Integer(), nullable=False),
        sa.Column("fitted_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("learn_since", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("model", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["social_account.id"]),
        sa.PrimaryKeyConstraint("account_id"),
    )


def downgrade() -> None:
    op.drop_table("account_model")
    with op.batch_alter_table("post_metric_summary", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_post_metric_summary_next_due_at"))
        batch_op.drop_index(batch_op.f("ix_post_metric_summary_account_id"))
    op.drop_table("post_metric_summary")
    with op.batch_alter_table("post_metric", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_post_metric_post_id"))
    op.drop_table("post_metric")
    with op.batch_alter_table("ai_usage", schema=None) as batch_op:
        batch_op.drop_column("units")
