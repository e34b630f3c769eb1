"""kernel.cache.TtlCache: expiry, and one load per key however many greenthreads miss it together."""

import eventlet
import pytest

from kernel.cache import TtlCache


def test_a_burst_on_a_cold_key_loads_it_once():
    cache, loads = TtlCache(ttl=60), []

    def load():
        loads.append(1)
        eventlet.sleep(0.01)  # a query: the other greenthreads run meanwhile and miss the key
        return {"group": "G-1"}

    pool = eventlet.GreenPool()
    answers = list(pool.imap(lambda _: cache.get(7, load), range(25)))
    assert len(loads) == 1
    assert answers == [{"group": "G-1"}] * 25
    assert 7 in cache and not cache.loading


def test_a_failed_load_lets_each_waiter_load_for_itself():
    cache, calls = TtlCache(ttl=60), []

    def load():
        calls.append(1)
        eventlet.sleep(0.01)
        if len(calls) == 1:
            raise ConnectionError("the database went away")
        return "facts"

    pool = eventlet.GreenPool()
    threads = [pool.spawn(cache.get, "k", load) for _ in range(4)]
    with pytest.raises(ConnectionError):
        threads[0].wait()
    assert [t.wait() for t in threads[1:]] == ["facts"] * 3
    assert len(calls) == 2  # the failed load, then one for the three waiters
    assert cache.peek("k") == "facts"


def test_nothing_is_remembered_for_none_and_entries_expire(monkeypatch):
    cache = TtlCache(ttl=5)
    assert cache.get("absent", lambda: None) is None and "absent" not in cache
    now = [1000.0]
    monkeypatch.setattr("kernel.cache.time.monotonic", lambda: now[0])
    cache.put("k", 1)
    now[0] += 4.9
    assert cache.peek("k") == 1
    now[0] += 0.2
    assert cache.get("k", lambda: 2) == 2
