"""The ``alembic init`` template of metaxy-orm: ``alembic init -t metaxy migrations``.

Alembic looks for templates in one place only, its own package's ``templates`` folder, and has
no hook for another package to add one. So the wheel installs this folder's ``metaxy`` template
twice: here (package data of ``alembic_ext``, for code and tests) and as
``alembic/templates/metaxy`` (``force-include`` in ``pyproject.toml``), where ``alembic init``
and ``alembic list_templates`` find it. From a source checkout, which has only the first copy,
give ``-t`` the folder's absolute path: ``alembic init -t "$(python -m alembic_ext.templates)"
migrations`` (Alembic joins the name to its own folder, and an absolute path wins).
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

__all__ = ["METAXY_TEMPLATE", "TEMPLATE_NAME", "main"]

#: The name to give ``alembic init -t``.
TEMPLATE_NAME: Final = "metaxy"

#: The template's folder in this package.
METAXY_TEMPLATE: Final = Path(__file__).resolve().parent / TEMPLATE_NAME


def main() -> None:
    """``python -m alembic_ext.templates``: print the template's folder, for ``alembic init -t``."""
    print(METAXY_TEMPLATE)
