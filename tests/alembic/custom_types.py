"""A column type from outside SQLAlchemy, for the test that revisions import what they use."""

from __future__ import annotations

import sqlalchemy as sa


class Slug(sa.types.TypeDecorator[str]):
    """A lowercase string."""

    impl = sa.String
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: sa.Dialect) -> str | None:
        return None if value is None else value.lower()
