"""The SQL metaxy-orm runs, built as SQLAlchemy statements and never executed here.

:class:`~metaxy_orm._sql.statements.FeatureStatements` builds every per-feature piece (latest
rows, expected provenance); :mod:`.increment` compares expected and stored rows (``resolve_update``
and ``status``); :mod:`.data_ops` holds reconcile, backfill, cleanup and undo. The store executes
them; the Alembic extension renders or executes them inside migrations.
"""
