"""Write timestamps that never repeat or go backwards within a process.

The latest row per sample is the one with the greatest ``metaxy_created_at``; two writes of a
sample with the same timestamp would have no defined winner. Wall clocks can repeat a
microsecond (coarse clocks, fast loops) or step back (NTP), so each write time is at least one
microsecond after the previous one handed out by this process.
"""

from __future__ import annotations

import datetime as dt
import threading

__all__ = ["write_time"]

_ONE_MICROSECOND = dt.timedelta(microseconds=1)
_lock = threading.Lock()
_last: dt.datetime | None = None


def write_time() -> dt.datetime:
    """The current UTC time, strictly after every earlier result in this process."""
    global _last
    with _lock:
        now = dt.datetime.now(dt.UTC)
        if _last is not None and now <= _last:
            now = _last + _ONE_MICROSECOND
        _last = now
        return now
