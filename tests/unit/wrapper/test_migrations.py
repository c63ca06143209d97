"""migrations.py: the versioned schema, and the upgrade of a version 1 database."""

import sqlite3

import pytest
from sqlalchemy import create_engine, inspect, text

from infrakt_backup import migrations
from infrakt_backup.crypto import KeyFile, SecretCipher, new_key
from infrakt_backup.errors import InfraktError
from infrakt_backup.store import Base, Store


def tables(path):
    with sqlite3.connect(path) as connection:
        return {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def test_each_version_adds_its_table(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    for version, table in ((1, "s3_config"), (2, "servers"), (3, "databases"), (4, "databases")):
        with engine.begin() as connection:
            assert migrations.migrate(connection, target=version) == version
        assert table in tables(tmp_path / "x.db")
    with engine.begin() as connection:
        # the schedules table, the local_copy and compression columns, the encryption table, signing_key
        assert migrations.migrate(connection) == 9
        assert migrations.migrate(connection) == 9  # nothing left to do
        assert connection.execute(text("SELECT version FROM schema_version ORDER BY version")).scalars().all() == [
            1, 2, 3, 4, 5, 6, 7, 8, 9]
    assert {"schedules", "encryption", "signing_key"} <= tables(tmp_path / "x.db")


def test_a_version_3_database_gets_data_dir_and_keeps_its_databases(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.begin() as connection:
        migrations.migrate(connection, target=3)
        connection.execute(text("INSERT INTO servers (name, host, port, user, created_at) VALUES "
                                "('web1', '10.0.0.1', 22, 'root', '2025-01-02 03:04:05')"))
        connection.execute(text("INSERT INTO databases (name, server_name, engine, created_at) VALUES "
                                "('cache', 'web1', 'redis', '2025-01-02 03:04:05')"))
    with engine.begin() as connection:
        assert migrations.migrate(connection) == migrations.LATEST_VERSION
        assert connection.execute(text("SELECT name, data_dir FROM databases")).all() == [("cache", None)]
        # registered before compression was a choice: the engine's default, what it wrote so far
        assert connection.execute(text("SELECT compression FROM databases")).scalars().all() == [None]


def test_migrated_schema_is_what_the_models_describe(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.begin() as connection:
        migrations.migrate(connection)
    inspector = inspect(engine)
    for table in Base.metadata.sorted_tables:
        migrated = {column["name"]: column["nullable"] for column in inspector.get_columns(table.name)}
        modelled = {column.name: column.nullable for column in table.columns}
        assert migrated == modelled, table.name
    foreign_keys = inspector.get_foreign_keys("databases")
    assert [(fk["constrained_columns"], fk["referred_table"]) for fk in foreign_keys] == [(["server_name"], "servers")]


def test_a_version_1_database_upgrades_and_keeps_its_row_and_secret(tmp_path):
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    key = new_key()
    KeyFile(home / "master.key").write([key])
    token = SecretCipher([key], home / "master.key").encrypt("v1-secret-0123456789")
    engine = create_engine(f"sqlite:///{home / 'infrakt.db'}")
    with engine.begin() as connection:
        migrations.migrate(connection, target=1)
        connection.execute(
            text(
                "INSERT INTO s3_config (id, provider, endpoint_url, bucket, region, access_key, secret_key_encrypted,"
                " prefix, created_at, updated_at) VALUES (1, 'minio', 'http://127.0.0.1:9000', 'old-bucket',"
                " 'us-east-1', 'AKIAOLD', :token, 'prod', '2025-01-02 03:04:05.000000', '2025-01-02 03:04:05.000000')"
            ),
            {"token": token},
        )
    engine.dispose()
    assert tables(home / "infrakt.db") == {"schema_version", "s3_config"}

    store = Store(home)

    settings = store.s3_config()
    assert (settings.bucket, settings.prefix, settings.access_key, settings.secret_key) == (
        "old-bucket", "prod", "AKIAOLD", "v1-secret-0123456789")
    assert settings.created_at.isoformat() == "2025-01-02T03:04:05+00:00"
    assert {"servers", "databases"} <= tables(home / "infrakt.db")
    store.add_server("web1", host="10.0.0.1")
    assert store.add_database("shop", server="web1", engine="postgres", password="pw").password == "pw"


def test_a_database_from_a_newer_version_is_refused(tmp_path, store):
    with sqlite3.connect(store.db_path) as connection:
        connection.execute("INSERT INTO schema_version (version) VALUES (99)")
    with pytest.raises(InfraktError, match="schema version 99, newer than"):
        Store(store.home)
