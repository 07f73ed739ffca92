"""What a command works on: the resolved configuration, the feature graph and the database.

The root command stores the flags in :class:`CliState`; each command turns them into a
:class:`Project` once, which imports the feature modules, and opens the database only when the
command needs it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
import typer

from metaxy_orm.config import Config, load_config
from metaxy_orm.exceptions import FeatureNotFoundError
from metaxy_orm.graph import FeatureGraph
from metaxy_orm.snapshots import GraphSnapshot, graph_snapshot
from metaxy_orm.store import MetadataStore

if TYPE_CHECKING:
    from metaxy_orm.feature import Feature

__all__ = ["CliState", "Project", "project"]


@dataclass
class CliState:
    """The root command's flags: configuration overrides and the file to read."""

    pyproject: Path | None = None
    overrides: dict[str, Any] = field(default_factory=dict)


class Project:
    """The configured project: settings, feature graph, database."""

    def __init__(self, config: Config) -> None:
        self.config = config

    @cached_property
    def graph(self) -> FeatureGraph:
        """The active graph after importing the feature modules; never empty."""
        self.config.import_modules()
        graph = FeatureGraph.get_active()
        if not len(graph):
            from metaxy_orm.config import ConfigError

            raise ConfigError(
                f"the feature modules {list(self.config.modules)} (from "
                f"{self.config.origins.get('modules')}) defined no feature. List the modules "
                "whose import defines your feature classes, or 'module:function' for a factory."
            )
        return graph

    @cached_property
    def snapshot(self) -> GraphSnapshot:
        """The code's snapshot at the configured hash truncation length."""
        return graph_snapshot(self.graph, hash_truncation_length=self.config.hash_truncation_length)

    def feature(self, key: str) -> type[Feature]:
        """A feature class by key, or an error listing the known ones."""
        try:
            return self.graph.get_feature(key)
        except (FeatureNotFoundError, ValueError):
            known = (str(k) for k in self.graph.topological_order())
            raise FeatureNotFoundError(key, known) from None

    @contextmanager
    def engine(self) -> Iterator[sa.Engine]:
        """An engine on the configured database, disposed of afterwards."""
        url = self.config.require_database_url()
        engine = sa.create_engine(url)
        try:
            yield engine
        finally:
            engine.dispose()

    def store(self, engine: sa.Engine) -> MetadataStore:
        """A store on ``engine`` with the configured hash settings."""
        return MetadataStore(
            engine,
            hash_algorithm=self.config.hash_algorithm,
            hash_truncation_length=self.config.hash_truncation_length,
        )


def project(ctx: typer.Context) -> Project:
    """The project of this invocation (settings resolved from the root command's flags)."""
    state = ctx.find_object(CliState) or CliState()
    return Project(load_config(pyproject=state.pyproject, overrides=state.overrides))
