"""A per-process memo with expiry, for read-model lookups on a hot path (the check-in burst) whose answer may
lag the events by `ttl` seconds because the service that owns the data re-checks it anyway."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from eventlet.event import Event
from nameko.extensions import DependencyProvider

MISSING = object()


class TtlCache:
    def __init__(self, ttl: float, limit: int = 100_000):
        self.ttl = ttl
        self.limit = limit
        self.items: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self.loading: dict[Hashable, Event] = {}  # keys a greenthread is loading now

    def peek(self, key: Hashable, default: Any = None) -> Any:
        found = self.items.get(key)
        if found is None or found[0] < time.monotonic():
            return default
        return found[1]

    def put(self, key: Hashable, value: Any) -> Any:
        self.items[key] = (time.monotonic() + self.ttl, value)
        self.items.move_to_end(key)
        while len(self.items) > self.limit:  # the oldest entries go first
            self.items.popitem(last=False)
        return value

    def get(self, key: Hashable, load: Callable[[], Any]) -> Any:
        """The remembered value, else `load()`'s, remembered unless None (what is not there yet may come).
        One load per key at a time: greenthreads that miss while it runs wait for its value (a burst on a cold
        key, such as a group's students scanning one session's code together, costs one query, not one each);
        should the load fail, they try again, one of them loading."""
        value = self.peek(key, MISSING)
        if value is not MISSING:
            return value
        running = self.loading.get(key)
        if running is not None:
            value = running.wait()
            return self.get(key, load) if value is MISSING else value
        self.loading[key] = done = Event()
        value = MISSING
        try:
            value = load()
            return value if value is None else self.put(key, value)
        finally:
            del self.loading[key]
            done.send(value)

    def __contains__(self, key: Hashable) -> bool:
        return self.peek(key, MISSING) is not MISSING

    def forget(self, key: Hashable) -> None:
        self.items.pop(key, None)

    def clear(self) -> None:
        self.items.clear()


class Memo(DependencyProvider):
    """`principals = Memo(ttl=5)` on a nameko service: one TtlCache shared by the process's workers."""

    def __init__(self, ttl: float, limit: int = 100_000):
        self.ttl = ttl
        self.limit = limit
        self.cache: TtlCache | None = None

    def setup(self) -> None:
        self.cache = TtlCache(self.ttl, self.limit)

    def get_dependency(self, worker_ctx: Any) -> TtlCache:
        assert self.cache is not None
        return self.cache
