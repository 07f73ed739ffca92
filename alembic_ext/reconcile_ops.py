"""Reconcile features onto their current versions without recomputing: ``op.reconcile_features``.

After a change that moves feature versions but not outputs (a refactor, a fix that leaves
results as they were, a code-version bump made for bookkeeping), every stored row is stale and
would be recomputed. Reconciling writes, for each sample, a new row that keeps the user's columns
and carries the recomputed provenance, the current feature and snapshot versions, and the
revision id as ``metaxy_materialization_id``: :meth:`MetadataStore.reconcile
<metaxy_orm.store.MetadataStore.reconcile>`, one ``INSERT ... SELECT`` per feature, upstream
features first (a downstream feature's provenance is computed from its parents' reconciled rows).
Running it again writes nothing. Its reverse, ``op.delete_materialization``, deletes those rows,
and the rows that were latest before are latest again.

In a revision::

    op.reconcile_features(
        {"crop": "e8239864", "face_detection": "9512b1cf"},
        materialization_id=revision,
    )

The mapping names each feature with the version the revision reconciles it onto, as
autogenerate writes it; a list of keys (``["crop"]``) reconciles onto whatever version the code
defines. With versions, a feature whose code has moved on since the revision was written (a later
revision changed it again) is skipped, with a warning: reconciling it onto the newer version
would silently skip a recomputation that later change may need. Its rows stay stale; a later
revision may reconcile them, or your pipeline recomputes them.

Autogenerate proposes this operation whenever feature versions change, but writes it *active*
only for the features you name (``alembic -x reconcile=crop,face_detection revision
--autogenerate``, or ``alembic_ext.configure(..., reconcile=[...])``); for the others it is
written commented out,
with an explanation (:mod:`alembic_ext.compare`). Reconciling a change that did alter outputs
would leave wrong data marked as up to date, so it is never done unasked.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

from alembic.operations import MigrateOperation, Operations
from alembic.util import CommandError

from alembic_ext.data_ops import (
    DeleteMaterializationOp,
    checked_materialization_id,
    emit_offline,
    feature_keys,
    features_in_order,
    is_offline,
    log,
    offline_created_at,
    offline_plan,
    run_step,
    store_for,
)

__all__ = ["ReconcileFeaturesOp"]

Features = str | Sequence[str] | Mapping[str, str | None]


def _targets(features: Features) -> dict[str, str | None]:
    if isinstance(features, Mapping):
        targets = {str(k): (None if v is None else str(v)) for k, v in features.items()}
        if not targets:
            raise ValueError("name at least one feature")
        return targets
    return dict.fromkeys(feature_keys(features))


@Operations.register_operation("reconcile_features")
class ReconcileFeaturesOp(MigrateOperation):
    """Move features' latest rows onto their current versions without recomputation.

    ``features`` maps each key to the feature version the revision reconciles it onto (``None``
    or a plain list of keys: no check). ``materialization_id=None`` stands for the revision's own
    id when autogenerate writes the operation (``materialization_id=revision``). ``note`` is a
    comment autogenerate writes above the call.
    """

    def __init__(
        self,
        features: Features,
        *,
        materialization_id: str | None,
        note: str | None = None,
    ) -> None:
        self.features = _targets(features)
        self.materialization_id = materialization_id
        self.note = note

    @classmethod
    def reconcile_features(
        cls,
        operations: Operations,
        features: Features,
        *,
        materialization_id: str,
    ) -> int:
        """Reconcile features onto their current versions, without recomputing them.

        ``features``: ``{"crop": "<feature version>", ...}`` as autogenerate writes it (a
        feature whose code defines another version is skipped with a warning), or a list of
        keys. Rows are tagged with ``materialization_id`` (``revision`` in a revision file),
        which ``op.delete_materialization`` uses to undo this. Features are reconciled upstream
        first. Returns the number of rows written; a second run writes nothing.
        """
        return int(operations.invoke(cls(features, materialization_id=materialization_id)))

    def reverse(self) -> DeleteMaterializationOp:
        return DeleteMaterializationOp(
            list(self.features), materialization_id=self.materialization_id, _reverse=self
        )

    def to_diff_tuple(self) -> tuple[Any, ...]:
        return ("reconcile_features", tuple(self.features), self.materialization_id)


def _code_version(feature: Any, expected: str) -> str:
    """The code's version of a feature, at the truncation ``expected`` was written at."""
    try:
        return str(feature.feature_version(hash_truncation_length=len(expected)))
    except ValueError:
        raise CommandError(
            f"reconcile_features: {expected!r} is not a feature version (feature "
            f"'{feature.feature_key()}'); write the version autogenerate recorded, or None"
        ) from None


@Operations.implementation_for(ReconcileFeaturesOp)
def reconcile_features(operations: Operations, operation: ReconcileFeaturesOp) -> int:
    from metaxy_orm._sql.data_ops import reconcile_statement

    what = "reconcile_features"
    materialization_id = checked_materialization_id(operation.materialization_id, what)
    features = []
    for feature in features_in_order(operations, operation.features, what=what):
        key = str(feature.feature_key())
        expected = operation.features[key]
        current = None if expected is None else _code_version(feature, expected)
        if expected is not None and current != expected:
            log.warning(
                "%s: not reconciling '%s': this revision reconciles it onto version %s, but the "
                "code defines version %s (the feature changed again after this revision was "
                "written). Its rows stay stale: recompute them, or reconcile them in a later "
                "revision.",
                what,
                key,
                expected,
                current,
            )
            continue
        features.append(feature)

    if is_offline(operations):
        for feature in features:
            plan = offline_plan(operations, feature)
            statement = reconcile_statement(
                plan,
                snapshot_version=plan.snapshot_version,
                materialization_id=materialization_id,
                created_at=offline_created_at(plan),
            )
            emit_offline(
                operations,
                statement,
                what=f"{what} {feature.feature_key()}",
                hashes=True,
            )
        return 0

    store = store_for(operations)
    total = 0
    for step, feature in enumerate(features, 1):
        total += run_step(
            f"reconcile {feature.feature_key()}",
            step,
            len(features),
            partial(store.reconcile, feature, materialization_id=materialization_id),
            done="written",
        )
    return total
