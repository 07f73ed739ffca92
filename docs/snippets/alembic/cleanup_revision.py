"""keep only the latest row of each crop sample

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 00:00:00

"""

from collections.abc import Sequence

from alembic_ext import op as mxop

# revision identifiers, used by Alembic.
revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    mxop.cleanup_feature("crop", keep_last=1)


def downgrade() -> None:
    mxop.cannot_undo_cleanup("crop", keep_last=1)
