"""`backup list` at scale (issue 11, P4): 10,000 backups in S3, every tenth with its sidecar
(seeding moto is most of this test's time: a sidecar is one more request), and 100 on the
server are all listed, with the right locations and sidecar flags. The listing of 10,000 objects is
larger than what ansible-runner's events carry (MAX_EVENT_RES), so this also checks that
module results reach the wrapper whole (runner.py, callback_plugins/infrakt_results.py)."""

import pytest

from tests.integration.many_backups import (
    backup_bytes,
    backup_names,
    delete_s3_prefix,
    put_s3_backups,
    sha256_hex,
    write_local_backups,
)
from tests.integration.scratch import unique
from tests.integration.wrapper_cli import SERVER_BACKUPS, registered

pytestmark = pytest.mark.integration

IN_S3 = 10_000
LOCAL = 100


def test_list_shows_every_one_of_10000_s3_and_100_local_backups(wrapper, testbed):
    db_name = unique("many")
    prefix = wrapper.json("settings", "s3", "show")["prefix"]
    in_s3 = backup_names(db_name, IN_S3)
    local = backup_names(db_name, LOCAL, first=IN_S3)  # newer than every S3 one
    with_sidecar = set(in_s3[::10])
    with registered(wrapper, db_name, "", "--engine", "postgres"):
        put_s3_backups(testbed.env, prefix, db_name, in_s3, with_sidecar)
        try:
            write_local_backups(SERVER_BACKUPS, db_name, local)
            listed = wrapper.json("backup", "list", db_name)
        finally:
            delete_s3_prefix(testbed.env, f"{prefix}/{db_name}/")

    assert len(listed) == IN_S3 + LOCAL
    assert [item["filename"] for item in listed] == list(reversed(in_s3 + local))  # newest first
    by_name = {item["filename"]: item for item in listed}
    for filename in local:
        assert by_name[filename]["location"] == "local"
        assert by_name[filename]["sha256"] == sha256_hex(backup_bytes(filename))
        assert by_name[filename]["s3_sidecar"] is None
    for filename in in_s3:
        assert by_name[filename]["location"] == "s3"
        assert by_name[filename]["size"] == len(backup_bytes(filename))
        assert by_name[filename]["s3_sidecar"] is (filename in with_sidecar)
