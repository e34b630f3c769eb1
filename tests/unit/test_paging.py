"""kernel/paging.py: API.md "Lists take `limit` (≤ 500) and `cursor`": bad values are a 422 naming the field."""

from __future__ import annotations

import pytest

from kernel.errors import ValidationFailed
from kernel.paging import after_id, decode_cursor, encode_cursor, page_size


def test_limit_is_a_whole_number_from_1_to_500_with_a_default() -> None:
    assert page_size(None) == 100 and page_size("") == 100 and page_size(None, 20) == 20
    assert page_size("1") == 1 and page_size(500) == 500 and page_size("37") == 37
    for bad in ("0", "501", "-1", "abc", "1.5", 2.5, True, "1e2"):
        with pytest.raises(ValidationFailed) as refused:
            page_size(bad)
        assert set(refused.value.errors) == {"limit"}


def test_a_cursor_holds_the_last_rows_key_and_only_a_cursor_is_accepted() -> None:
    assert decode_cursor(encode_cursor("2026-10-05T09:00:00+06:00", 42)) == ["2026-10-05T09:00:00+06:00", 42]
    assert after_id(encode_cursor(17)) == 17 and after_id(None) is None and after_id("") is None
    for bad in ("abc", "17", encode_cursor("x"), encode_cursor(1, 2), encode_cursor(True), "%%%"):
        with pytest.raises(ValidationFailed) as refused:
            after_id(bad)
        assert set(refused.value.errors) == {"cursor"}
    with pytest.raises(ValidationFailed):
        decode_cursor(encode_cursor(1), 2)
