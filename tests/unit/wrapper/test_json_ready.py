"""json_ready.py: what the actions return for store entries (times ISO-8601 UTC, secrets masked
or only said to be set), the same for the CLI and the web page."""

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from infrakt_backup.json_ready import entry_dict, iso_utc, mask_secret


def test_iso_times_are_utc():
    moment = datetime(2026, 11, 24, 23, 5, 9, 123, tzinfo=timezone(timedelta(hours=2)))
    assert iso_utc(moment) == "2026-11-24T21:05:09Z"
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


def test_entry_dicts_follow_the_entry_fields(store):
    store.save_s3_config(provider="minio", endpoint_url="http://h:9000", bucket="bkt", region="us-east-1",
                         access_key="AK", secret_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYabcd", prefix="prod")
    store.add_server("web1", host="10.0.0.1")
    store.add_database("shop", server="web1", engine="postgres", password="pw")
    settings = entry_dict(store.s3_config())
    assert list(settings) == ["provider", "endpoint_url", "bucket", "region", "prefix", "access_key", "secret_key",
                              "created_at", "updated_at"]
    assert settings["secret_key"] == "****abcd" and settings["created_at"].endswith("Z")
    database = entry_dict(store.database("shop"))
    assert list(database) == ["name", "server", "engine", "database", "user", "host", "port", "container",
                              "password_set", "restart_command", "data_dir", "local_copy", "compression", "created_at"]
    assert database["password_set"] is True and "pw" not in database.values()
    assert list(entry_dict(store.server("web1"))) == ["name", "host", "port", "user", "ssh_key_path",
                                                      "python_interpreter", "aws_bin", "backup_dir", "created_at"]
