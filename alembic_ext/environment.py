"""The one call ``env.py`` makes: :func:`configure`, a drop-in for ``context.configure``.

It passes every argument through to Alembic's ``context.configure`` and adds what metaxy-orm
needs, each through an Alembic option rather than a patch:

- ``autogenerate_plugins``: Alembic's defaults plus ours (:data:`~alembic_ext.options.PLUGIN_NAME`),
  which compares the feature graph with the last recorded snapshot;
- ``render_item``, chained after yours, so that revision files import the modules of column
  types from outside SQLAlchemy (SQLModel's ``AutoString``, ``UTCDateTime``, ours);
- ``include_name``, chained after yours, so that Alembic does not reflect the snapshots table
  (the plugin owns it; without this hook it still keeps Alembic from dropping it);
- ``metaxy_orm_graph``: the feature graph to compare, when it is not the active one;
- ``metaxy_orm_reconcile`` and ``metaxy_orm_store_options``: the features autogenerate may
  reconcile, and the store settings of the data operations (see :func:`configure`);
- what the database's backend needs for migrations (``Backend.configure_migration``, in
  ``metaxy_orm._backends``): batch mode where ``ALTER TABLE`` is too limited, transactional DDL
  where the driver needs a recipe for it, and so on. Its Alembic implementation is loaded first
  (``Backend.load_alembic_implementation``), for a database Alembic does not know.

What you pass is kept: your plugin list is extended (list ``"~metaxy_orm"`` to leave ours
out), your hooks run first, and an option you set explicitly is not overridden (pass
``transactional_ddl=False`` to keep a driver's default transaction handling).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, Literal

import sqlalchemy as sa

# Importing it registers our operations; the plugin entry point does it too, but a checkout of
# the project that is not installed has no entry point.
import alembic_ext.ops  # noqa: F401
from alembic_ext.options import (
    GRAPH_OPTION,
    PLUGIN_NAME,
    RECONCILE_OPTION,
    STORE_OPTION,
    hide_system_tables,
)

if TYPE_CHECKING:
    from alembic.autogenerate.api import AutogenContext
    from alembic.runtime.environment import (
        IncludeNameFn,
        NameFilterParentNames,
        NameFilterType,
        RenderItemFn,
    )

    from metaxy_orm.graph import FeatureGraph

__all__ = ["NAMING_CONVENTION", "configure"]

#: Constraint names for ``MetaData(naming_convention=...)``. Alembic's batch mode can only drop or
#: alter a constraint that has a name, and Alembic compares constraints by name; feature tables
#: already name their primary key and index. Set it on ``SQLModel.metadata`` before defining any
#: table: ``SQLModel.metadata.naming_convention = alembic_ext.NAMING_CONVENTION``.
NAMING_CONVENTION: Final[dict[str, str]] = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

_DEFAULT_PLUGINS: Final = ("alembic.autogenerate.*",)


def _dialect_name(
    connection: sa.Connection | None, url: str | sa.URL | None, kw: dict[str, Any]
) -> str:
    if connection is not None:
        return connection.dialect.name
    if url is not None:
        return sa.make_url(url).get_backend_name()
    return str(kw.get("dialect_name") or "")


def _with_our_plugin(plugins: Sequence[str] | None) -> list[str]:
    names = list(_DEFAULT_PLUGINS if plugins is None else plugins)
    if PLUGIN_NAME not in names and f"~{PLUGIN_NAME}" not in names:
        names.append(PLUGIN_NAME)
    return names


def _chained_render_item(user: RenderItemFn | None) -> RenderItemFn:
    from alembic_ext.render import render_item

    if user is None:
        return render_item

    def chained(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
        rendered = user(type_, obj, autogen_context)
        return rendered if rendered is not False else render_item(type_, obj, autogen_context)

    return chained


def _chained_include_name(user: IncludeNameFn | None) -> IncludeNameFn:
    def include_name(
        name: str | None, type_: NameFilterType, parent_names: NameFilterParentNames
    ) -> bool:
        if not hide_system_tables(name, type_, parent_names):
            return False
        return True if user is None else user(name, type_, parent_names)

    return include_name


def configure(
    *,
    connection: sa.Connection | None = None,
    url: str | sa.URL | None = None,
    graph: FeatureGraph | None = None,
    reconcile: str | Sequence[str] | None = None,
    store_options: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> None:
    """Call ``alembic.context.configure`` with metaxy-orm's options added.

    ``graph`` is the feature graph that autogenerate compares with the recorded snapshot and
    that data operations look features up in (default: the active graph, where importing your
    feature modules registered them). ``reconcile`` names features that autogenerate reconciles
    (instead of proposing it commented out) when their version changes, like
    ``-x reconcile=...`` does for one run; prefer the command line, which is a decision per
    revision. ``store_options`` are the ``MetadataStore`` settings of the data operations
    (``hash_algorithm``, ``hash_truncation_length``), which must be those your pipeline uses.
    Any other keyword goes to ``context.configure``, combined with ours as the module says.
    """
    from alembic import context

    from metaxy_orm._backends import capabilities_for, load_alembic_implementations

    load_alembic_implementations()
    kwargs["autogenerate_plugins"] = _with_our_plugin(kwargs.get("autogenerate_plugins"))
    kwargs["render_item"] = _chained_render_item(kwargs.get("render_item"))
    kwargs["include_name"] = _chained_include_name(kwargs.get("include_name"))
    if graph is not None:
        kwargs[GRAPH_OPTION] = graph
    if reconcile is not None:
        kwargs[RECONCILE_OPTION] = reconcile
    if store_options is not None:
        kwargs[STORE_OPTION] = dict(store_options)
    backend = capabilities_for(_dialect_name(connection, url, kwargs))
    backend.configure_migration(connection, kwargs)
    context.configure(connection=connection, url=url, **kwargs)
