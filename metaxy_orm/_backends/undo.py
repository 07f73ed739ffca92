"""Compensation where the database has no transactions: a failed unit of work is undone.

On ClickHouse every statement is final when it returns: a migration revision that fails after a
reconcile, a cleanup or an ``op.add_column`` cannot be rolled back by the database. Alembic
still brackets each revision in a SQLAlchemy transaction there (a *per-migration* transaction
for non-transactional DDL), committed when the revision is stamped and rolled back when it
fails. This module hangs an :class:`UndoLog` on that connection: each step that changes the
database records, before it runs, how to reverse it; the connection's ``rollback`` runs the
reversals newest first, its ``commit`` forgets them. What cannot be reversed (a dropped column,
raw SQL) is recorded as such and named in a warning when the rollback comes.

The undo is compensation, not isolation: between a step and its reversal, other connections
see what the step did (docs/clickhouse.md says which window that is).
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import event

__all__ = ["UndoLog", "undo_log"]

log = logging.getLogger(__name__)

Action = Callable[[sa.Connection], None]


@dataclass(frozen=True)
class _Step:
    what: str
    #: How to reverse it; ``None`` for a step that cannot be reversed.
    undo: Action | None
    #: What to do once the work is committed (drop a table of saved rows).
    on_commit: Action | None


class UndoLog:
    """The reversible steps done on one connection since its last commit or rollback."""

    def __init__(self) -> None:
        self._steps: list[_Step] = []

    def record(self, what: str, undo: Action, *, on_commit: Action | None = None) -> None:
        """Note a step about to run (record first: a step may fail halfway)."""
        self._steps.append(_Step(what, undo, on_commit))

    def irreversible(self, what: str) -> None:
        """Note a step that a rollback cannot reverse (it is named when the rollback comes)."""
        self._steps.append(_Step(what, None, None))

    def mark(self) -> int:
        """A point in the log to undo back to (:meth:`undo_since`)."""
        return len(self._steps)

    def undo_since(self, conn: sa.Connection, mark: int) -> None:
        """Reverse the steps recorded after ``mark``, newest first, and forget them.

        A reversal that fails is logged (with what it leaves behind) and the others still run:
        this runs while another error is on its way up, which it must not hide.
        """
        steps, self._steps = self._steps[mark:], self._steps[:mark]
        not_undone = []
        for step in reversed(steps):
            if step.undo is None:
                not_undone.append(step.what)
                continue
            try:
                step.undo(conn)
            except Exception:
                log.exception("could not undo %s: it is left in the database", step.what)
            else:
                log.info("undone: %s", step.what)
        if not_undone:
            log.warning("not undone (this database has no transactions): %s", "; ".join(not_undone))

    def commit(self, conn: sa.Connection) -> None:
        """The work is final: forget the reversals and run what waits for the commit."""
        steps, self._steps = self._steps, []
        for step in steps:
            if step.on_commit is not None:
                try:
                    step.on_commit(conn)
                except Exception:
                    log.exception("after %s: clean-up failed", step.what)


_LOGS: weakref.WeakKeyDictionary[sa.Connection, UndoLog] = weakref.WeakKeyDictionary()


def undo_log(conn: sa.Connection) -> UndoLog:
    """The undo log of this connection, created (and tied to its commit and rollback) once.

    Keyed by the SQLAlchemy ``Connection`` object, not ``Connection.info``: that dictionary
    belongs to the pooled DBAPI connection and outlives this ``Connection`` and its listeners.
    """
    existing = _LOGS.get(conn)
    if existing is not None:
        return existing
    undo = UndoLog()
    _LOGS[conn] = undo
    event.listen(conn, "commit", undo.commit)
    event.listen(conn, "rollback", lambda c: undo.undo_since(c, 0))
    return undo
