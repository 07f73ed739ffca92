"""``python -m alembic_ext.templates``: print the template's folder, for ``alembic init -t``."""

from alembic_ext.templates import main

main()
