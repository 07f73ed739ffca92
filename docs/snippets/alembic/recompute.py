"""After a revision that moved feature versions: recompute the stale features, upstream first."""

from collections.abc import Callable, Iterable

import polars as pl

import metaxy_orm as mx


def recompute(
    store: mx.MetadataStore,
    features: Iterable[type[mx.Feature]],
    compute: Callable[[type[mx.Feature], pl.DataFrame], pl.DataFrame],
) -> None:
    """Resolve and write each feature, in the order given (upstream first)."""
    for feature in features:
        increment = store.resolve_update(feature)  # the stale samples: all, after a version bump
        store.write(feature, compute(feature, increment.to_compute))  # your code computes
