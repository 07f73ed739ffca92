"""metaxy-orm: sample-level data versioning for multi-modal pipelines, as SQLModel tables."""

from metaxy_orm.exceptions import (
    ConfigError as ConfigError,
)
from metaxy_orm.exceptions import (
    CycleError as CycleError,
)
from metaxy_orm.exceptions import (
    DatabaseLockedError as DatabaseLockedError,
)
from metaxy_orm.exceptions import (
    DuplicateFeatureError as DuplicateFeatureError,
)
from metaxy_orm.exceptions import (
    FeatureNotFoundError as FeatureNotFoundError,
)
from metaxy_orm.exceptions import (
    FeatureSpecError as FeatureSpecError,
)
from metaxy_orm.exceptions import (
    InvalidRowsError as InvalidRowsError,
)
from metaxy_orm.exceptions import (
    KeyValidationError as KeyValidationError,
)
from metaxy_orm.exceptions import (
    MetaxyError as MetaxyError,
)
from metaxy_orm.exceptions import (
    NotAFeatureError as NotAFeatureError,
)
from metaxy_orm.exceptions import (
    SnapshotError as SnapshotError,
)
from metaxy_orm.exceptions import (
    StoreError as StoreError,
)
from metaxy_orm.exceptions import (
    UnsupportedDatabaseVersionError as UnsupportedDatabaseVersionError,
)
from metaxy_orm.exceptions import (
    UnsupportedHashAlgorithmError as UnsupportedHashAlgorithmError,
)
from metaxy_orm.feature import Feature as Feature
from metaxy_orm.graph import FeatureGraph as FeatureGraph
from metaxy_orm.graph_tables import metadata_of as metadata_of
from metaxy_orm.hashing import HashAlgorithm as HashAlgorithm
from metaxy_orm.keys import FeatureKey as FeatureKey
from metaxy_orm.keys import FieldKey as FieldKey
from metaxy_orm.lineage import LineageRelationship as LineageRelationship
from metaxy_orm.lineage import LineageRelationshipType as LineageRelationshipType
from metaxy_orm.spec import NO_DEPS as NO_DEPS
from metaxy_orm.spec import FeatureDep as FeatureDep
from metaxy_orm.spec import FeatureSpec as FeatureSpec
from metaxy_orm.spec import FieldDep as FieldDep
from metaxy_orm.spec import FieldSpec as FieldSpec

__version__ = "0.1.0"
from metaxy_orm.increment import Increment as Increment
from metaxy_orm.increment import LazyIncrement as LazyIncrement
from metaxy_orm.latest import latest as latest
from metaxy_orm.store import AsyncMetadataStore as AsyncMetadataStore
from metaxy_orm.store import FeatureStatus as FeatureStatus
from metaxy_orm.store import MetadataStore as MetadataStore
from metaxy_orm.store.errors import MissingSchemaError as MissingSchemaError
from metaxy_orm.store.errors import StoreDatabaseError as StoreDatabaseError
