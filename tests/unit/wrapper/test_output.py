"""output.py: tables, sizes and times as the CLI prints them, JSON."""

from datetime import datetime, timedelta, timezone

from infrakt_backup.output import human_size, labelled, readable_utc, table, table_of, to_json


def test_table_aligns_columns_and_shows_none_as_dash():
    assert table(["NAME", "PORT"], [["web1", 22], ["database-server", None]]).splitlines() == [
        "NAME             PORT",
        "web1             22",
        "database-server  -",
    ]


def test_table_of_takes_the_columns_by_key_in_header_order():
    items = [{"name": "web1", "port": 22, "unused": "x"}]
    assert table_of(items, {"PORT": "port", "NAME": "name"}).splitlines() == ["PORT  NAME", "22    web1"]


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
    assert readable_utc(moment) == "2026-11-24 21:05:09 UTC"
    assert to_json({"at": moment}) == '{\n  "at": "2026-11-24T21:05:09Z"\n}'
