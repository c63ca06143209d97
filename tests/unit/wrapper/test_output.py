"""output.py: tables, sizes, times and masking as the CLI prints them."""

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from infrakt_backup.output import human_size, iso_utc, labelled, mask_secret, readable_utc, table, to_json


def test_table_aligns_columns_and_shows_none_as_dash():
    assert table(["NAME", "PORT"], [["web1", 22], ["database-server", None]]).splitlines() == [
        "NAME             PORT",
        "web1             22",
        "database-server  -",
    ]


def test_labelled_aligns_values():
    assert labelled([("Size", "1 B"), ("SHA-256", None)], indent="  ").splitlines() == [
        "  Size:     1 B",
        "  SHA-256:  -",
    ]


def test_human_size():
    assert [human_size(n) for n in (None, 0, 1023, 1024, 1536, 5 * 1024**3, 1024**6)] == [
        "-", "0 B", "1023 B", "1.0 KiB", "1.5 KiB", "5.0 GiB", "1024.0 PiB"]


def test_times_are_utc():
    moment = datetime(2026, 11, 24, 23, 5, 9, 123, tzinfo=timezone(timedelta(hours=2)))
    assert iso_utc(moment) == "2026-11-24T21:05:09Z"
    assert readable_utc(moment) == "2026-11-24 21:05:09 UTC"
    assert to_json({"at": moment}) == '{\n  "at": "2026-11-24T21:05:09Z"\n}'
    assert iso_utc(None) is None


def test_mask_shows_the_last_four_of_a_long_secret_only():
    assert mask_secret("wJalrXUtnFEMI/K7MDENG/bPxRfiCYabcd") == "****abcd"
    assert mask_secret("short-1234") == "****"
    assert mask_secret(None) is None


@given(st.text(min_size=1))
def test_mask_never_reveals_more_than_four_characters(secret):
    masked = mask_secret(secret)
    assert masked.startswith("****")
    assert len(masked) <= 8
    if len(secret) < 12:
        assert masked == "****"
    else:
        assert masked == "****" + secret[-4:]


def test_now_is_rendered_without_microseconds():
    assert "." not in iso_utc(datetime.now(UTC))
