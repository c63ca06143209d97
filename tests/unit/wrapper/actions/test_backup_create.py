"""actions/backup_create.py: which databases a call selects, the row of each database from a
run's results (a lost or missing result is a failure, never ok) and the live count."""

import pytest

from infrakt_backup.actions import backup_create
from infrakt_backup.errors import BadInput, NotFound
from infrakt_backup.runner import ModuleResult, Outcome, PlaybookRun

DB_BACKUP = backup_create.DB_BACKUP
SHA = "a" * 64


@pytest.fixture
def fleet_store(store):
    """Servers web1 (databases shop, blog) and web2 (crm), S3 not configured."""
    for server in ("web1", "web2"):
        store.add_server(server, host="10.0.0.1")
    for name, server in (("shop", "web1"), ("blog", "web1"), ("crm", "web2")):
        store.add_database(name, server=server, engine="postgres", password="pw")
    return store


@pytest.mark.parametrize(("arguments", "complaint"), [
    ({}, "one of the three"),
    ({"db_names": ["shop"], "all_databases": True}, "one of the three"),
    ({"server_name": "web1", "all_databases": True}, "one of the three"),
    ({"db_names": ["../shop"]}, "database name"),
    ({"server_name": "web 1"}, "server name"),
    ({"all_databases": True, "forks": 0}, "forks"),
    ({"all_databases": True, "timeout": 0}, "timeout"),
])
def test_bad_selections_are_refused_before_any_run(fleet_store, arguments, complaint):
    with pytest.raises(BadInput, match=complaint):
        backup_create.create_backups(fleet_store, **arguments)


def test_unknown_names_are_not_found(fleet_store):
    with pytest.raises(NotFound):
        backup_create.create_backups(fleet_store, ["shop", "nope"])
    with pytest.raises(NotFound):
        backup_create.create_backups(fleet_store, server_name="web3")


def test_selection_order_and_each_database_once(fleet_store):
    names = lambda databases: [database.name for database in databases]  # noqa: E731
    assert names(backup_create._selected(fleet_store, [], True, None)) == ["blog", "crm", "shop"]
    assert names(backup_create._selected(fleet_store, [], False, "web1")) == ["blog", "shop"]
    assert names(backup_create._selected(fleet_store, ["shop", "crm", "shop"], False, None)) == ["shop", "crm"]


def item(db_name, **result):
    return {"item": {"db_name": db_name, "engine": "postgres"}, **result}


def dumped(db_name):
    return item(db_name, filename=f"{db_name}_postgres_20261201T000000Z.dump", size=10, sha256=SHA,
                path=f"/opt/infrakt/backups/{db_name}/{db_name}_postgres_20261201T000000Z.dump", duration_s=0.5,
                upload={"key": f"p/{db_name}/{db_name}_postgres_20261201T000000Z.dump"})


def test_rows_from_a_run_every_failure_named(fleet_store):
    upload_failed = item("blog", failed=True, location="local", upload_error="AccessDenied", filename="blog_x.dump",
                         path="/opt/infrakt/backups/blog/blog_x.dump", size=5, sha256=SHA)
    run = PlaybookRun(status="failed", rc=2, results=[
        ModuleResult("web1", "Dump the databases", DB_BACKUP, {"results": [dumped("shop"), upload_failed]},
                     failed=True),
        ModuleResult("web2", "Dump the databases", DB_BACKUP, {"msg": "Failed to connect"}, failed=True,
                     unreachable=True),
    ])
    rows = backup_create.backup_rows(run, fleet_store.databases(), {"web1": "One or more items failed",
                                                                     "web2": "the SSH connection failed"})
    by_name = {row["database"]: row for row in rows}
    assert list(by_name) == ["blog", "crm", "shop"] and all(list(row) == list(backup_create.ROW_KEYS) for row in rows)
    assert by_name["shop"]["error"] is None and by_name["shop"]["location"] == "local+s3"
    assert by_name["shop"]["s3_key"] == "p/shop/shop_postgres_20261201T000000Z.dump"
    assert by_name["blog"]["location"] == "local" and by_name["blog"]["error"] == (
        "Upload of blog_x.dump to S3 failed: AccessDenied. The local backup is intact on web1 at "
        "/opt/infrakt/backups/blog/blog_x.dump.")
    assert by_name["crm"]["error"] == "Backup of crm failed: cannot reach server web2: the SSH connection failed"
    assert by_name["crm"]["filename"] is None and by_name["crm"]["location"] is None


def test_a_lost_or_missing_result_is_a_failure(fleet_store):
    databases = [database for database in fleet_store.databases() if database.server == "web1"]
    lost = PlaybookRun(status="successful", rc=0, results=[
        ModuleResult("web1", "Dump the databases", DB_BACKUP, {}, complete=False)])
    assert all("did not arrive whole" in row["error"] for row in backup_create.backup_rows(lost, databases, {}))
    partial = PlaybookRun(status="successful", rc=0, results=[
        ModuleResult("web1", "Dump the databases", DB_BACKUP, {"results": [dumped("shop")]})])
    rows = {row["database"]: row for row in backup_create.backup_rows(partial, databases, {})}
    assert rows["shop"]["error"] is None
    assert rows["blog"]["error"] == "Backup of blog failed: its server returned no result of it"


def test_the_tally_counts_items_and_whole_servers(fleet_store):
    said = []
    tally = backup_create._Tally(fleet_store.databases(), said.append)
    tally.see(Outcome("web1", "infrakt.backup.s3_credentials", None, "ok"))  # not a database's end
    tally.see(Outcome("web1", DB_BACKUP, "shop", "ok"))
    tally.see(Outcome("web2", "infrakt.backup.s3_credentials", None, "unreachable"))
    tally.see(Outcome("web1", DB_BACKUP, "blog", "failed"))
    tally.see(Outcome("web1", DB_BACKUP, None, "failed"))  # the task's own failure: nothing left to count
    assert said == ["1/3 done, 0 failed, 2 running", "1/3 done, 1 failed, 1 running", "1/3 done, 2 failed, 0 running"]
