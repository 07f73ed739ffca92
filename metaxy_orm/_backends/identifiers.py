"""Names metaxy-orm generates for the database (constraints, indexes), short enough for all.

They live with the backends because their limit is the strictest of the registered backends,
and because a backend's own code (its Alembic implementation) must recognise them.
"""

from __future__ import annotations

import hashlib

__all__ = ["latest_index_name", "max_identifier_length", "shorten_identifier"]


def max_identifier_length() -> int:
    """The strictest identifier limit of the supported backends: names that fit work everywhere."""
    from metaxy_orm._backends import strictest_identifier_length

    return strictest_identifier_length()


def shorten_identifier(name: str) -> str:
    """Shorten a generated name to the identifier limit, keeping it unique (a hash suffix)."""
    limit = max_identifier_length()
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[: limit - 9]}_{digest}"


def latest_index_name(table_name: str) -> str:
    """Name of the index that serves "latest row per sample" on a feature table."""
    return shorten_identifier(f"ix_{table_name}_metaxy_latest")
