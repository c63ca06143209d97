"""remote.py: the rows each kind of play loads and the playbook variables they give (the runs
themselves are on the real bench in tests/integration)."""

import pytest

from infrakt_backup.errors import BadInput
from infrakt_backup.remote import database_play, s3_play, server_play

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


@pytest.fixture
def configured(store):
    """A store with S3 settings, a server and a postgres database."""
    store.save_s3_config(provider="minio", endpoint_url="http://h:9000", bucket="bkt", region="us-east-1",
                         access_key="AK", secret_key=SECRET)
    store.add_server("web1", host="10.0.0.1", backup_dir="/srv/backups")
    store.add_database("shop", server="web1", engine="postgres", password="pw")
    return store


def test_a_database_play_has_the_database_its_server_and_s3(configured):
    play = database_play(configured, "shop")
    variables = play.variables()
    assert (play.database.name, play.server.name, play.settings.bucket) == ("shop", "web1", "bkt")
    assert variables["infrakt_db_password"] == "pw" and variables["infrakt_s3_secret_key"] == SECRET
    assert variables["infrakt_backup_dir"] == "/srv/backups"
    without_s3 = play.without_s3().variables()
    assert not any(name.startswith("infrakt_s3_") for name in without_s3)
    assert without_s3["infrakt_backup_dir"] == "/srv/backups" and without_s3["infrakt_db_name"] == "shop"


def test_an_s3_play_has_no_database(configured):
    variables = s3_play(configured, None).variables()
    assert variables["infrakt_s3_bucket"] == "bkt" and variables["infrakt_aws_bin"]
    assert not any(name.startswith("infrakt_db_") for name in variables)


def test_an_s3_play_needs_s3_settings(store):
    store.add_server("web1", host="10.0.0.1")
    with pytest.raises(BadInput, match="S3 backup storage is not configured"):
        s3_play(store, "web1")


def test_a_server_play_gets_no_variables(configured):
    # provision.yml sets the fact infrakt_aws_bin: a stored value passed in would beat it
    assert server_play(configured, "web1").variables() == {}


def test_unknown_rows_are_bad_input(configured):
    with pytest.raises(BadInput, match="unknown database 'ghost'"):
        database_play(configured, "ghost")
    with pytest.raises(BadInput, match="unknown server 'ghost'"):
        server_play(configured, "ghost")
