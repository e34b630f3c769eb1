"""RULES.md §9 and 003 §1.4.4: the change log is append-only and tampering is detectable."""

from datetime import UTC, datetime, timedelta

from kernel.audit import GENESIS, MAIN, entry_hash, verify_entries


def chain(n: int, key: str | None = None) -> list[dict]:
    """n entries of one chain (`key` None: a row of a schema without the chain column, i.e. `main`)."""
    rows, prev = [], GENESIS
    for i in range(1, n + 1):
        row = {"id": i, "at": datetime(2026, 10, 5, 9, tzinfo=UTC) + timedelta(minutes=i), "actor": "T01",
               "on_behalf_of": None, "entity": "mark", "entity_id": f"s{i}", "student": "S0001",
               "action": "set", "old": {"status": "absent"}, "new": {"status": "present"}, "reason": "typo",
               "approval": None}
        if key is not None:
            row["chain"] = key
        row["prev_hash"], row["hash"] = prev, entry_hash(row, prev)
        prev = row["hash"]
        rows.append(row)
    return rows


def interleaved(*chains: list[dict]) -> list[dict]:
    """Several chains stored side by side, as concurrent writers leave them: ids interleave."""
    rows = [dict(r) for c in chains for r in c]
    order = sorted(rows, key=lambda r: (r["id"], r.get("chain") or MAIN))
    renumbered = []
    heads: dict[str, str] = {}
    for new_id, row in enumerate(order, start=1):
        key = row.get("chain") or MAIN
        row["id"] = new_id
        row["prev_hash"] = heads.get(key, GENESIS)
        row["hash"] = heads[key] = entry_hash(row, row["prev_hash"])
        renumbered.append(row)
    return renumbered


def test_an_untouched_chain_verifies():
    assert verify_entries(chain(5)) == {"ok": True, "entries": 5, "first_bad": None, "chains": 1}


def test_changing_a_value_is_found_at_that_entry():
    rows = chain(5)
    rows[2]["new"] = {"status": "excused"}
    assert verify_entries(rows) == {"ok": False, "entries": 3, "first_bad": 3, "chains": 1}


def test_removing_an_entry_breaks_the_link_of_the_next():
    rows = chain(5)
    del rows[1]
    assert verify_entries(rows)["first_bad"] == 3


def test_rewriting_an_entry_and_its_hash_still_breaks_the_following_link():
    rows = chain(4)
    rows[1]["actor"] = "T99"
    rows[1]["hash"] = entry_hash(rows[1], rows[1]["prev_hash"])
    assert verify_entries(rows)["first_bad"] == 3


def test_the_hash_does_not_depend_on_the_time_zone_the_database_answers_in():
    row = chain(1)[0]
    same_instant = dict(row, at=row["at"].astimezone(datetime.now().astimezone().tzinfo))
    assert entry_hash(same_instant, GENESIS) == row["hash"]


# -- one chain per stream (session, excuse, ...): writers of different streams never wait for each other --------


def test_interleaved_chains_each_start_at_genesis_and_verify():
    rows = interleaved(chain(3, "session:1"), chain(3, "session:2"), chain(2, "excuse:7"))
    assert [r["prev_hash"] == GENESIS for r in rows].count(True) == 3
    assert verify_entries(rows) == {"ok": True, "entries": 8, "first_bad": None, "chains": 3}


def test_tampering_in_one_chain_is_reported_at_the_first_bad_entry_id():
    rows = interleaved(chain(4, "session:1"), chain(4, "session:2"))
    victim = next(r for r in rows if r["chain"] == "session:2" and r["prev_hash"] != GENESIS)
    victim["actor"] = "T99"
    result = verify_entries(rows)
    assert result["ok"] is False and result["first_bad"] == victim["id"]


def test_the_hash_covers_the_chain_key():
    rows = interleaved(chain(2, "session:1"), chain(2, "session:2"))
    moved = rows[0]
    assert moved["chain"] == "session:1" and moved["prev_hash"] == GENESIS
    moved["chain"] = "session:9"  # moved to a chain of its own, still starting at genesis
    assert verify_entries(rows)["first_bad"] == moved["id"]


def test_an_entry_relinked_into_another_chain_is_found():
    rows = interleaved(chain(2, "session:1"), chain(2, "session:2"))
    second_of_1 = next(r for r in rows if r["chain"] == "session:1" and r["prev_hash"] != GENESIS)
    second_of_1["chain"] = "session:2"
    assert verify_entries(rows)["first_bad"] == second_of_1["id"]


def test_entries_written_before_chains_existed_verify_as_chain_main():
    legacy = chain(3)  # hashed without a chain key, as every entry was before per-stream chains
    stored = [dict(r, chain=MAIN) for r in legacy]  # what the migration's column default shows for them
    assert verify_entries(stored) == {"ok": True, "entries": 3, "first_bad": None, "chains": 1}
    assert entry_hash(stored[1], stored[0]["hash"]) == legacy[1]["hash"]


def test_removing_an_entry_breaks_only_its_own_chain_and_is_found():
    rows = interleaved(chain(3, "session:1"), chain(3, "session:2"))
    gone = next(r for r in rows if r["chain"] == "session:1" and r["prev_hash"] == GENESIS)
    after = next(r for r in rows if r["chain"] == "session:1" and r["prev_hash"] == gone["hash"])
    rows.remove(gone)
    assert verify_entries(rows)["first_bad"] == after["id"]
