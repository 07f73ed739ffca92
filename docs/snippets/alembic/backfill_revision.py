"""backfill crop and face_detection from rows computed elsewhere

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 00:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic_ext import op as mxop

# revision identifiers, used by Alembic.
revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    mxop.backfill_feature("crop", "legacy_crop", materialization_id=revision)
    mxop.backfill_feature(
        "face_detection",
        sa.text("SELECT sample_uid, faces AS num_faces FROM detector_output"),
        materialization_id=revision,
    )


def downgrade() -> None:
    mxop.delete_materialization(["crop", "face_detection"], materialization_id=revision)
