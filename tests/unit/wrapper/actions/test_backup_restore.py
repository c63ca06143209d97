"""actions/backup_restore.py: what is checked and asked before the restore play runs."""

import pytest

from infrakt_backup.actions.backup_restore import restore_backup
from infrakt_backup.errors import BadInput, InfraktError

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
