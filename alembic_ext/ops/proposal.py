"""A proposal: an operation that autogenerate writes commented out, after a note explaining it.

Not registered as an operation (a proposal never runs); only rendered (:mod:`alembic_ext.render`).
"""

from __future__ import annotations

from typing import Any

from alembic.operations import MigrateOperation

__all__ = ["CommentedOutOp"]


class CommentedOutOp(MigrateOperation):
    """An operation that autogenerate writes commented out, after a note that explains it.

    It is a proposal for the user, not a change: it never runs, and it is no difference for
    ``alembic check`` either (Alembic lists the differences of containers through their ``ops``,
    and this one has none). Its reverse is the wrapped operation's reverse, commented out too.
    """

    #: Seen by Alembic's ``as_diffs()`` as an empty container: no difference to report.
    ops: tuple[MigrateOperation, ...] = ()

    def __init__(self, operation: MigrateOperation, note: str, *, reverse_note: str) -> None:
        self.operation = operation
        self.note = note
        self.reverse_note = reverse_note

    def reverse(self) -> CommentedOutOp:
        return CommentedOutOp(self.operation.reverse(), self.reverse_note, reverse_note=self.note)

    def to_diff_tuple(self) -> tuple[Any, ...]:
        return ("commented_out", self.operation.to_diff_tuple())
