<%!
    import re
    import sys

    def _module(line):
        return line.split()[1]

    def _sorted(lines):
        """isort's order within a section: plain imports, then from-imports, by module."""
        return sorted(lines, key=lambda line: (line.startswith("from "), _module(line).lower()))

    def import_block(imports, upgrades, downgrades):
        """The imports this revision uses, grouped and sorted as ruff's isort wants them.

        Alembic collects the imports that rendered operations need (``imports``); the ones
        every revision may use (op, sa, sqlmodel) are added when the code uses them, so that
        a revision without, say, column types does not import SQLAlchemy for nothing. A
        revision written by hand (no autogenerate) gets op and sa.
        """
        body = "\n".join(text for text in (upgrades, downgrades) if text)
        lines = {line for line in (imports or "").splitlines() if line.strip()}
        by_hand = not body
        if by_hand or re.search(r"\bop\.", body):
            lines.add("from alembic import op")
        if by_hand or re.search(r"\bsa\.", body):
            lines.add("import sqlalchemy as sa")
        if re.search(r"\bsqlmodel\.", body):
            lines.add("import sqlmodel")
        stdlib = {"from collections.abc import Sequence"}
        stdlib |= {line for line in lines if _module(line).split(".")[0] in sys.stdlib_module_names}
        sections = [_sorted(stdlib), _sorted(lines - stdlib)]
        return "\n\n".join("\n".join(section) for section in sections if section)
%>\
"""${message}

Revision ID: ${up_revision}
Revises:${(" " + comma(down_revision)) if down_revision else ""}
Create Date: ${create_date}

"""

${import_block(imports, upgrades, downgrades)}

# revision identifiers, used by Alembic.
revision: str = ${repr(up_revision)}
down_revision: str | Sequence[str] | None = ${repr(down_revision)}
branch_labels: str | Sequence[str] | None = ${repr(branch_labels)}
depends_on: str | Sequence[str] | None = ${repr(depends_on)}


def upgrade() -> None:
    """Upgrade schema and graph snapshot."""
    ${upgrades if upgrades else "pass"}


def downgrade() -> None:
    """Downgrade schema and graph snapshot."""
    ${downgrades if downgrades else "pass"}
