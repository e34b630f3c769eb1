"""RULES.md §9 and 003 §1.4.4: the change log is append-only and tampering is detectable."""

from datetime import UTC, datetime, timedelta

from kernel.audit import GENESIS, entry_hash, verify_entries


def chain(n: int) -> list[dict]:
    rows, prev = [], GENESIS
    for i in range(1, n + 1):
        row = {"id": i, "at": datetime(2026, 10, 5, 9, tzinfo=UTC) + timedelta(minutes=i), "actor": "T01",
               "on_behalf_of": None, "entity": "mark", "entity_id": f"s{i}", "student": "S0001",
               "action": "set", "old": {"status": "absent"}, "new": {"status": "present"}, "reason": "typo",
               "approval": None}
        row["prev_hash"], row["hash"] = prev, entry_hash(row, prev)
        prev = row["hash"]
        rows.append(row)
    return rows


def test_an_untouched_chain_verifies():
    assert verify_entries(chain(5)) == {"ok": True, "entries": 5, "first_bad": None}


def test_changing_a_value_is_found_at_that_entry():
    rows = chain(5)
    rows[2]["new"] = {"status": "excused"}
    assert verify_entries(rows) == {"ok": False, "entries": 3, "first_bad": 3}


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
