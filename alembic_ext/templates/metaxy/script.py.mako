<%!
    import os
    import re
    import sys

    def _module(line):
        return line.split()[1]

    def _bound_name(line):
        """The name an import line binds: ``import a.b`` -> a, ``from a import b as c`` -> c."""
        words = line.split()
        if "as" in words:
            return words[words.index("as") + 1]
        return words[-1] if words[0] == "from" else words[1].split(".")[0]

    def _first_party(line):
        """ruff's rule with its default ``src = [".", "src"]``: a top-level module found in
        the project (the directory Alembic runs in) is first-party."""
        top = _module(line).split(".")[0]
        here = os.getcwd()
        return any(
            os.path.exists(os.path.join(here, *parts))
            for parts in ((top,), (top + ".py",), ("src", top), ("src", top + ".py"))
        )

    def _sorted(lines):
        """isort's order within a section: plain imports, then from-imports, by module."""
        return sorted(lines, key=lambda line: (line.startswith("from "), _module(line).lower()))

    def import_block(imports, upgrades, downgrades):
        """The imports this revision uses, grouped and sorted as ruff's isort wants them.

        Alembic collects the imports that rendered operations need (``imports``), and the ones
        every revision may use (op, sa, sqlmodel) are added here; an import is kept only if the
        code (not a comment) uses its name, so that a revision without, say, column types does
        not import SQLAlchemy for nothing. A revision written by hand (no autogenerate) gets op
        and sa. Sections: standard library, third party, first party (the project's own
        modules, as ruff finds them).
        """
        body = "\n".join(text for text in (upgrades, downgrades) if text)
        code = "\n".join(
            line for line in body.splitlines() if not line.lstrip().startswith("#")
        )
        lines = {line for line in (imports or "").splitlines() if line.strip()}
        lines |= {"from alembic import op", "import sqlalchemy as sa"}
        lines.add("import sqlmodel.sql.sqltypes")  # what a type checker needs, not "import sqlmodel"
        lines.discard("import sqlmodel")
        by_hand = not body
        if by_hand:
            lines = {"from alembic import op", "import sqlalchemy as sa"}
        else:
            lines = {
                line
                for line in lines
                if re.search(rf"\b{re.escape(_bound_name(line))}\s*[.(]", code)
            }
        stdlib = {"from collections.abc import Sequence"}
        stdlib |= {line for line in lines if _module(line).split(".")[0] in sys.stdlib_module_names}
        first = {line for line in lines - stdlib if _first_party(line)}
        sections = [_sorted(stdlib), _sorted(lines - stdlib - first), _sorted(first)]
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
