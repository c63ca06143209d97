"""Scratch things on the shared bench that integration tests create and drop: a database per
test (the bench role and user may create them) and a redis-server of a test's own, so tests
never change the bench's own sample data."""

import os
import socket
import subprocess
import time
import uuid
from contextlib import contextmanager

from tests.testbed.sample import redis_commands, resp, sample_sql


def unique(prefix):
    """Return prefix followed by a short random suffix (names of scratch things)."""
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


@contextmanager
def scratch_database(database):
    """Create scratch database (a Postgres or MariaDb) for the with block; drop it afterwards."""
    database.create()
    try:
        yield database
    finally:
        database.drop()


def free_port():
    """Return a TCP port on 127.0.0.1 nobody listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Postgres:
    """A scratch database on the bench PostgreSQL, owned by the bench role, with the sample data."""

    def __init__(self, env, name):
        self.env = env
        self.name = name

    def psql(self, sql, database=None):
        """Run sql as the bench role over TCP; return the unaligned output."""
        argv = [os.path.join(self.env["PG_BIN_DIR"], "psql"), "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1",
                "-h", self.env["PG_HOST"], "-p", self.env["PG_PORT"], "-U", self.env["PG_USER"],
                "-d", database or self.name]
        return subprocess.run(argv, input=sql, capture_output=True, text=True, check=True,
                              env=dict(os.environ, PGPASSWORD=self.env["PG_PASSWORD"])).stdout.strip()

    def create(self):
        self.psql(f'CREATE DATABASE "{self.name}"', database=self.env["PG_DATABASE"])
        self.psql(f"BEGIN;\n{sample_sql('postgres')}COMMIT;\n")

    def drop(self):
        self.psql(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)', database=self.env["PG_DATABASE"])

    def fingerprint(self):
        """Row counts and an md5 of every row of both tables, and the view's row count."""
        return self.psql(
            "SELECT (SELECT count(*) FROM customers),"
            " (SELECT md5(string_agg(c::text, ',' ORDER BY id)) FROM customers c),"
            " (SELECT count(*) FROM orders), (SELECT md5(string_agg(o::text, ',' ORDER BY id)) FROM orders o),"
            " (SELECT count(*) FROM customer_totals)"
        )

    def damage(self):
        """Change, delete and drop things a restore must bring back."""
        self.psql("DELETE FROM orders WHERE id % 2 = 0; UPDATE customers SET name = 'changed' WHERE id = 1;"
                  " DROP VIEW customer_totals;")

    def add_noise(self, mib):
        """Add table noise: mib MiB of random bytes (1 MiB a row), which no compression shrinks,
        so that a dump of this database takes a while to upload."""
        rows = "".join("\\\\x" + os.urandom(1 << 20).hex() + "\n" for _ in range(mib))
        self.psql(f"CREATE TABLE noise (data bytea);\nCOPY noise (data) FROM STDIN;\n{rows}\\.\n")

    def variables(self, **extra):
        """The playbook variables for this database (native, over TCP)."""
        variables = dict(
            infrakt_db_name=self.name, infrakt_db_engine="postgres", infrakt_db_host=self.env["PG_HOST"],
            infrakt_db_port=int(self.env["PG_PORT"]), infrakt_db_user=self.env["PG_USER"],
            infrakt_db_password=self.env["PG_PASSWORD"],
        )
        variables.update(extra)
        return variables


class MariaDb:
    """A scratch database on the bench MariaDB (the bench user may create sample_*), with the
    sample tables, view, trigger and procedure."""

    def __init__(self, env, name):
        self.env = env
        self.name = name

    def sql(self, statements, database=True):
        argv = ["mariadb", "--no-defaults", "-N", "-B", "-h", self.env["MYSQL_HOST"], "-P", self.env["MYSQL_PORT"],
                "-u", self.env["MYSQL_USER"]] + ([self.name] if database else [])
        return subprocess.run(argv, input=statements, capture_output=True, text=True, check=True,
                              env=dict(os.environ, MYSQL_PWD=self.env["MYSQL_PASSWORD"])).stdout.strip()

    def create(self):
        self.sql(f"CREATE DATABASE `{self.name}`;", database=False)
        self.sql(f"START TRANSACTION;\n{sample_sql('mariadb')}COMMIT;\n")

    def drop(self):
        self.sql(f"DROP DATABASE IF EXISTS `{self.name}`;", database=False)

    def fingerprint(self):
        """Row counts and checksums of the tables, and the trigger, procedure and view."""
        return self.sql(
            "SELECT COUNT(*) FROM customers; SELECT COUNT(*) FROM orders; SELECT COUNT(*) FROM order_audit;"
            " CHECKSUM TABLE customers, orders, order_audit EXTENDED;"
            " SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE();"
            " SELECT ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE();"
            " SELECT COUNT(*) FROM customer_totals;"
        )

    def damage(self):
        """Delete rows, drop the trigger, procedure and view, change a row: all a restore must bring back."""
        self.sql("DELETE FROM orders WHERE id > 10; DROP TRIGGER orders_audit; DROP PROCEDURE orders_amount_sum;"
                 " DROP VIEW customer_totals; UPDATE customers SET email = 'x@example.com' WHERE id = 5;")


REDIS_CONF = """\
bind 127.0.0.1
port {port}
requirepass {password}
daemonize yes
pidfile {directory}/redis.pid
logfile {directory}/redis.log
dir {directory}/data
dbfilename dump.rdb
appendonly no
save ""
"""


class Redis:
    """A redis-server of our own (config file, password, data dir), started like the bench's."""

    def __init__(self, directory):
        self.directory = directory
        self.port = free_port()
        # Jinja-looking on purpose: a password must reach the server verbatim, never be templated
        self.password = "redis{{7*7}}{#" + uuid.uuid4().hex
        self.config = directory / "redis.conf"
        self.start_command = ["redis-server", str(self.config)]

    def cli(self, *args, stdin=None):
        return subprocess.run(["redis-cli", "-p", str(self.port), *args], input=stdin, capture_output=True,
                              check=True, env=dict(os.environ, REDISCLI_AUTH=self.password)).stdout

    def start(self):
        (self.directory / "data").mkdir(mode=0o700)
        descriptor = os.open(self.config, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(REDIS_CONF.format(port=self.port, password=self.password, directory=self.directory))
        subprocess.run(self.start_command, check=True)
        for _ in range(100):
            try:
                if self.cli("PING").strip() == b"PONG":
                    break
            except subprocess.CalledProcessError:
                pass
            time.sleep(0.05)
        self.cli("--pipe", stdin=resp(redis_commands()))

    def stop(self):
        pid_file = self.directory / "redis.pid"
        if pid_file.exists():
            subprocess.run(["redis-cli", "-p", str(self.port), "SHUTDOWN", "NOSAVE"], capture_output=True,
                           env=dict(os.environ, REDISCLI_AUTH=self.password), check=False)

    def change(self):
        """Change a key, delete one and add one: all a restore must undo."""
        self.cli("SET", "sample:greeting", "changed")
        self.cli("DEL", "sample:queue")
        self.cli("SET", "new:key", "not in the backup")

    def contents(self):
        """Every key with its type and value."""
        contents = {}
        for key in sorted(self.cli("--scan").decode().split()):
            kind = self.cli("TYPE", key).decode().strip()
            reader = {"string": ["GET"], "hash": ["HGETALL"], "list": ["LRANGE", key, "0", "-1"],
                      "set": ["SMEMBERS"]}[kind]
            args = reader if kind == "list" else reader + [key]
            values = self.cli(*args).decode().splitlines()
            contents[key] = (kind, values if kind == "list" else sorted(values))
        return contents


# ---------------------------------------------------------------------------------------------
# Table locks held by another session (timeouts)


def wait_for(condition, what):
    """Return once condition() is true; fail the test after 20 seconds."""
    for _ in range(200):
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what} did not happen")


@contextmanager
def held_open(argv, statements, env):
    """Run client argv with statements on its stdin and the stdin kept open (its transaction or
    table locks stay) for the with block; end it by closing its stdin."""
    holder = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True, env=dict(os.environ, **env))
    try:
        holder.stdin.write(statements)
        holder.stdin.flush()
        yield holder
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)


@contextmanager
def postgres_table_locked(database, table):
    """Hold LOCK TABLE table IN ACCESS EXCLUSIVE MODE on scratch PostgreSQL database in an open
    transaction of another session for the with block."""
    env = database.env
    argv = [os.path.join(env["PG_BIN_DIR"], "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", env["PG_HOST"],
            "-p", env["PG_PORT"], "-U", env["PG_USER"], "-d", database.name]
    with held_open(argv, f"BEGIN;\nLOCK TABLE {table} IN ACCESS EXCLUSIVE MODE;\n",
                   {"PGPASSWORD": env["PG_PASSWORD"]}) as holder:
        wait_for(lambda: holder.poll() is None and database.psql(
            "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation"
            f" WHERE c.relname = '{table}' AND l.mode = 'AccessExclusiveLock' AND l.granted"
            " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())") == "1",
            "the table lock")
        yield


@contextmanager
def mariadb_table_locked(database, table):
    """Hold LOCK TABLES table WRITE on scratch MariaDB database from another session for the with block."""
    env = database.env
    argv = ["mariadb", "--no-defaults", "-h", env["MYSQL_HOST"], "-P", env["MYSQL_PORT"], "-u", env["MYSQL_USER"],
            database.name]
    with held_open(argv, f"LOCK TABLES {table} WRITE;\n", {"MYSQL_PWD": env["MYSQL_PASSWORD"]}) as holder:
        wait_for(lambda: holder.poll() is None and database.sql(
            f"SHOW OPEN TABLES FROM `{database.name}` WHERE `Table` = '{table}' AND In_use > 0") != "",
            "the table lock")
        yield
