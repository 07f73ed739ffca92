"""``MetadataStore.status``: how far each feature is from up to date, as counts."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["FeatureStatus"]


@dataclass(frozen=True)
class FeatureStatus:
    """Counts for one feature: stored rows and samples, and what ``resolve_update`` would return.

    ``new``, ``stale`` and ``orphaned`` are ``None`` for a root feature, whose expected samples
    only its caller knows (``resolve_update(feature, samples=...)``): ``is_root`` says so.
    """

    feature: str
    rows: int
    samples: int
    new: int | None
    stale: int | None
    orphaned: int | None
    is_root: bool

    @property
    def in_sync(self) -> bool | None:
        """Nothing to compute; ``None`` when it cannot be told (a root feature)."""
        if self.new is None or self.stale is None or self.orphaned is None:
            return None
        return self.new == 0 and self.stale == 0 and self.orphaned == 0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``in_sync`` included)."""
        return {**asdict(self), "in_sync": self.in_sync}
