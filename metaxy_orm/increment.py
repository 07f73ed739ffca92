"""What ``resolve_update`` returns: the samples to compute, eager (Polars) or lazy (SQL)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl
import sqlalchemy as sa

from metaxy_orm.columns import CHANGED_PREFIX

__all__ = ["Increment", "LazyIncrement"]


@dataclass(frozen=True)
class Increment:
    """Samples of a feature to (re)compute, as Polars frames.

    Each frame has the id columns, the expected ``metaxy_provenance__<field>`` columns and
    ``metaxy_provenance``, plus any upstream columns selected with ``FeatureDep(select=...)``.

    - ``new``: expected but never computed;
    - ``stale``: computed, but from other inputs or under another feature version; these also
      carry one boolean ``metaxy_changed__<field>`` column per field, true for the fields to
      recompute (``to_compute`` sets them all for new samples);
    - ``orphaned``: stored, but no longer expected (their upstream sample disappeared); these
      carry the stored provenance.
    """

    new: pl.DataFrame
    stale: pl.DataFrame
    orphaned: pl.DataFrame

    @property
    def to_compute(self) -> pl.DataFrame:
        """``new`` and ``stale`` together: everything that needs computing.

        New samples get every ``metaxy_changed__<field>`` flag set: all their fields need computing.
        """
        flags = [c for c in self.stale.columns if c.startswith(CHANGED_PREFIX)]
        new = self.new.with_columns(pl.lit(True).alias(c) for c in flags)
        return pl.concat([new, self.stale], how="vertical")

    def is_empty(self) -> bool:
        return self.new.is_empty() and self.stale.is_empty() and self.orphaned.is_empty()

    def __len__(self) -> int:
        return self.new.height + self.stale.height + self.orphaned.height

    def __repr__(self) -> str:
        return (
            f"Increment(new={self.new.height}, stale={self.stale.height}, "
            f"orphaned={self.orphaned.height})"
        )


@dataclass(frozen=True)
class LazyIncrement:
    """The same answer as :class:`Increment`, as SQLAlchemy selects that nothing has run yet.

    Execute them on the store's database, stream them, or join them with other tables.
    """

    new: sa.Select[Any]
    stale: sa.Select[Any]
    orphaned: sa.Select[Any]
