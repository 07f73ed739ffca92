"""The hash settings of a store, checked once against what its backend computes in SQL."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from metaxy_orm.exceptions import UnsupportedHashAlgorithmError
from metaxy_orm.hashing import HashAlgorithm, parse_algorithm
from metaxy_orm.versioning import check_truncation

if TYPE_CHECKING:
    from metaxy_orm._backends import Backend

__all__ = ["HashSettings", "hash_settings"]


@dataclass(frozen=True)
class HashSettings:
    """Row hash algorithm and truncation length, as every statement of a store uses them."""

    algorithm: HashAlgorithm
    truncation: int


def hash_settings(
    backend: Backend, hash_algorithm: str | HashAlgorithm, hash_truncation_length: int
) -> HashSettings:
    """Validated hash settings; an algorithm the backend cannot compute in SQL is refused."""
    algorithm = parse_algorithm(hash_algorithm)
    if algorithm not in backend.hash_algorithms:
        available = ", ".join(sorted(a.value for a in backend.hash_algorithms))
        raise UnsupportedHashAlgorithmError(
            f"the {backend.name} backend cannot compute '{algorithm.value}' in the "
            f"database; choose one of: {available}"
        )
    return HashSettings(algorithm, check_truncation(hash_truncation_length))
