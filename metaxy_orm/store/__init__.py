"""The metadata store: :class:`MetadataStore` and the small types of its answers."""

from metaxy_orm.store.async_store import AsyncMetadataStore
from metaxy_orm.store.metadata_store import MetadataStore
from metaxy_orm.store.status import FeatureStatus

__all__ = ["AsyncMetadataStore", "FeatureStatus", "MetadataStore"]
