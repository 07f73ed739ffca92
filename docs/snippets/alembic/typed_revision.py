"""crop width, and its rows reconciled (a revision written by hand)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 00:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from alembic_ext import op as mxop

# revision identifiers, used by Alembic.
revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("crop", sa.Column("width", sa.Integer(), nullable=True))
    mxop.reconcile_features(["crop"], materialization_id=revision)


def downgrade() -> None:
    mxop.delete_materialization("crop", materialization_id=revision)
    op.drop_column("crop", "width")
