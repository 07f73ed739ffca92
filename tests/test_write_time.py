from __future__ import annotations

import datetime as dt
import itertools

import pytest

from metaxy_orm import write_time as module


class _FrozenClock(dt.datetime):
    frozen = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)

    @classmethod
    def now(cls, tz: dt.tzinfo | None = None) -> _FrozenClock:  # type: ignore[override]
        return cls.fromtimestamp(cls.frozen.timestamp(), tz)


def test_write_times_strictly_increase_even_when_the_clock_does_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(module.dt, "datetime", _FrozenClock)
    monkeypatch.setattr(module, "_last", None)
    times = [module.write_time() for _ in range(5)]
    assert times[0] == _FrozenClock.frozen
    assert all(b - a == dt.timedelta(microseconds=1) for a, b in itertools.pairwise(times))
    _FrozenClock.frozen = dt.datetime(2029, 1, 1, tzinfo=dt.UTC)  # the clock steps back
    assert module.write_time() > times[-1]
    assert all(t.tzinfo is not None for t in times)
