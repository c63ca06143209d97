"""actions/backup_restore.py: what is checked and asked before the restore play runs."""

import pytest

from ansible_collections.infrakt.backup.plugins.module_utils import names
from infrakt_backup.actions.backup_restore import DB_RESTORE, restore_backup
from infrakt_backup.errors import BadInput, InfraktError
from infrakt_backup.remote import Play
from infrakt_backup.runner import ModuleResult, PlaybookRun

FILENAME = "shop_postgres_20261124T210509Z.dump"


@pytest.fixture
def registered(store):
    store.add_server("web1", host="10.0.0.1")
    store.add_database("shop", server="web1", engine="postgres")
    return store


def test_the_confirmation_is_asked_with_what_will_be_replaced(registered):
    asked = []

    def refuse(target):
        asked.append(target)
        return False

    with pytest.raises(InfraktError, match="restore of shop cancelled: nothing was changed"):
        restore_backup(registered, "shop", FILENAME, confirm=refuse)
    assert asked == [{"database": "shop", "engine": "postgres", "server": "web1", "filename": FILENAME}]


@pytest.mark.parametrize(("db_name", "filename", "complaint"), [
    ("../etc", FILENAME, "database name '../etc' is not valid"),
    ("shop", "../../etc/passwd", "not a path"),
    ("shop", "other_postgres_20261124T210509Z.dump", "is not a backup of database"),
    ("ghost", "ghost_postgres_20261124T210509Z.dump", "unknown database 'ghost'"),
])
def test_bad_names_are_refused_before_anything_is_asked(registered, db_name, filename, complaint):
    def never(target):
        raise AssertionError("asked for a confirmation")

    with pytest.raises(BadInput, match=complaint):
        restore_backup(registered, db_name, filename, confirm=never)


def _run(status, *, started=(), failed_result=None):
    """A PlaybookRun that ended `status`, with the db_restore task started or not and its failure."""
    run = PlaybookRun(status=status, rc=254 if status == "canceled" else 2, started=list(started))
    if failed_result is not None:
        run.results.append(ModuleResult("web1", "Restore", DB_RESTORE, failed_result, failed=True))
        run.failure = failed_result["msg"]
    else:
        run.failure = f"ansible-playbook ended {status} (exit code {run.rc})"
    return run


@pytest.mark.parametrize(("run", "engine", "said"), [
    (_run("canceled", started=["infrakt.backup.backup_info"]), "mariadb",
     "was interrupted before the database was touched"),
    (_run("canceled", started=[DB_RESTORE]), "mariadb", "was interrupted while loading it; the database may be partly "
                                                         "restored: restore it again"),
    (_run("canceled", started=[DB_RESTORE]), "postgres", "either its previous data or the whole backup"),
    (_run("canceled", started=[DB_RESTORE]), "redis", "the state of the Redis server is unknown"),
    (_run("failed", started=[DB_RESTORE]), "mongo", "stopped while loading it (ansible-playbook ended failed "
                                                    "(exit code 2)); the database may be partly restored"),
    (_run("failed", started=[DB_RESTORE], failed_result={"msg": "bad", "database_touched": False}), "mariadb",
     "failed before the database was touched: bad"),
    (_run("failed", started=[DB_RESTORE], failed_result={"msg": "bad", "database_touched": True}), "mariadb",
     "failed while loading it: bad"),
    (_run("failed"), "mariadb", "failed before the database was touched: ansible-playbook ended failed"),
])
def test_a_failed_restore_says_what_is_known_of_the_database(registered, monkeypatch, run, engine, said):
    registered.remove_database("shop")
    registered.add_database("shop", server="web1", engine=engine)
    monkeypatch.setattr(Play, "run", lambda *args, **kwargs: run)
    with pytest.raises(InfraktError) as raised:
        restore_backup(registered, "shop", f"shop_{engine}_20261124T210509Z{names.ENGINE_EXTENSIONS[engine]}")
    assert said in raised.value.message

