"""Reconcile features onto their current versions without recomputing: ``reconcile_features``.

After a change that moves feature versions but not outputs (a refactor, a fix that leaves
results as they were, a code-version bump made for bookkeeping), every stored row is stale and
would be recomputed. Reconciling writes, for each sample, a new row that keeps the user's columns
and carries the recomputed provenance, the current feature and snapshot versions, and the
revision id as ``metaxy_materialization_id``: :meth:`MetadataStore.reconcile
<metaxy_orm.store.MetadataStore.reconcile>`, one ``INSERT ... SELECT`` per feature, upstream
features first (a downstream feature's provenance is computed from its parents' reconciled rows).
Running it again writes nothing. Its reverse, ``delete_materialization``, deletes those rows,
and the rows that were latest before are latest again.

In a revision::

    mxop.reconcile_features(
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
written commented out, with an explanation (:mod:`alembic_ext.compare`). Reconciling a change
that did alter outputs would leave wrong data marked as up to date, so it is never done unasked.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from alembic.operations import Operations
from alembic.util import CommandError

from alembic_ext.ops.base import DataRun, FeatureDataOp, feature_keys, offline_created_at
from alembic_ext.ops.materialization import DeleteMaterializationOp
from alembic_ext.options import log

if TYPE_CHECKING:
    import sqlalchemy as sa

    from metaxy_orm._sql.statements import FeatureStatements
    from metaxy_orm.feature import Feature
    from metaxy_orm.store import MetadataStore

__all__ = ["Features", "ReconcileFeaturesOp"]

#: What ``reconcile_features`` takes: keys with the versions to reconcile onto, or keys alone.
Features = str | Sequence[str] | Mapping[str, str | None]


def _targets(features: Features) -> dict[str, str | None]:
    if isinstance(features, Mapping):
        targets = {str(k): (None if v is None else str(v)) for k, v in features.items()}
        if not targets:
            from metaxy_orm.exceptions import MigrationError

            raise MigrationError("name at least one feature")
        return targets
    return dict.fromkeys(feature_keys(features))


class ReconcileFeaturesOp(FeatureDataOp):
    """Move features' latest rows onto their current versions without recomputation.

    ``features`` maps each key to the feature version the revision reconciles it onto (``None``
    or a plain list of keys: no check). ``materialization_id=None`` stands for the revision's own
    id when autogenerate writes the operation (``materialization_id=revision``). ``note`` is a
    comment autogenerate writes above the call.
    """

    name: ClassVar[str] = "reconcile_features"
    hashes: ClassVar[bool] = True
    tags_rows: ClassVar[bool] = True

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
        which ``delete_materialization`` uses to undo this. Features are reconciled upstream
        first. Returns the number of rows written; a second run writes nothing.
        """
        return int(operations.invoke(cls(features, materialization_id=materialization_id)))

    def reverse(self) -> DeleteMaterializationOp:
        return DeleteMaterializationOp(
            list(self.features), materialization_id=self.materialization_id, _reverse=self
        )

    def to_diff_tuple(self) -> tuple[Any, ...]:
        return ("reconcile_features", tuple(self.features), self.materialization_id)

    # -- how it runs ------------------------------------------------------------------------

    def keys(self) -> list[str]:
        return list(self.features)

    def label(self, feature: str) -> str:
        return f"reconcile {feature}"

    def selected(self, run: DataRun, features: list[type[Feature]]) -> list[type[Feature]]:
        """Skip, with a warning, a feature whose code moved on since the revision was written."""
        kept = []
        for feature in features:
            key = str(feature.feature_key())
            expected = self.features[key]
            current = None if expected is None else _code_version(feature, expected)
            if expected is not None and current != expected:
                log.warning(
                    "%s: not reconciling '%s': this revision reconciles it onto version %s, but "
                    "the code defines version %s (the feature changed again after this revision "
                    "was written). Its rows stay stale: recompute them, or reconcile them in a "
                    "later revision.",
                    self.name,
                    key,
                    expected,
                    current,
                )
                continue
            kept.append(feature)
        return kept

    def online(self, run: DataRun, store: MetadataStore, feature: type[Feature]) -> int:
        return store.reconcile(feature, materialization_id=run.tag)

    def offline(self, run: DataRun, plan: FeatureStatements) -> sa.Insert:
        from metaxy_orm._sql.data_ops import reconcile_statement

        return reconcile_statement(
            plan,
            snapshot_version=plan.snapshot_version,
            materialization_id=run.tag,
            created_at=offline_created_at(plan),
        )


def _code_version(feature: type[Feature], expected: str) -> str:
    """The code's version of a feature, at the truncation ``expected`` was written at."""
    try:
        return str(feature.feature_version(hash_truncation_length=len(expected)))
    except ValueError:
        raise CommandError(
            f"reconcile_features: {expected!r} is not a feature version (feature "
            f"'{feature.feature_key()}'); write the version autogenerate recorded, or None"
        ) from None
