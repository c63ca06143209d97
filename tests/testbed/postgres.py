"""PostgreSQL 15 for the bench: an own cluster (initdb + pg_ctl as the postgres OS user) on
a free port, its socket in the bench dir, scram password auth over TCP for the bench role,
which owns the sample database."""

import os
import shutil
import signal

from tests.testbed.component import Component
from tests.testbed.process import run
from tests.testbed.sample import sample_sql

PG_BIN_DIR = "/usr/lib/postgresql/15/bin"
OS_USER = "postgres"
ROLE = "infrakt"
DATABASE = "sample"
# Written on every start, so a changed port needs no edit of postgresql.conf.
BENCH_CONF = """\
port = {port}
listen_addresses = '127.0.0.1'
unix_socket_directories = '{socket_dir}'
password_encryption = 'scram-sha-256'
max_connections = 40
shared_buffers = 32MB
fsync = off
synchronous_commit = off
full_page_writes = off
# Failing statements could carry a password (ALTER ROLE ... PASSWORD); keep them out of the log.
log_min_error_statement = panic
"""


class PostgresServer(Component):
    """A PostgreSQL 15 cluster under <bench>/postgres/data owned by the postgres OS user."""

    name = "postgres"
    port_key = "PG_PORT"
    stop_signal = signal.SIGINT  # "fast" shutdown

    @property
    def data_dir(self):
        """The cluster's data directory."""
        return self.dir / "data"

    @property
    def pid_file(self):
        """postmaster.pid, which the server writes itself."""
        return self.data_dir / "postmaster.pid"

    @property
    def cmdline_needle(self) -> str:
        """Our postmaster's -D argument."""
        return str(self.data_dir)

    def _chown(self, *paths) -> None:
        """Hand paths to the postgres OS user."""
        for path in paths:
            shutil.chown(path, OS_USER, OS_USER)

    def start(self) -> None:
        """initdb when there is no complete cluster yet, start it, set up the role, the
        sample database and its data."""
        socket_dir = self.dir / "socket"
        initialized = self.dir / "initialized"
        self._chown(self.dir)
        if not initialized.exists():
            self.reset_dir(self.data_dir)
            run([f"{PG_BIN_DIR}/initdb", "-D", str(self.data_dir), "-U", OS_USER, "--auth-local=peer",
                 "--auth-host=scram-sha-256", "--encoding=UTF8", "--locale=C.UTF-8"],
                what="postgres: initdb", log_file=self.log_file, user=OS_USER)
            with (self.data_dir / "postgresql.conf").open("a") as conf:
                conf.write("include_if_exists = 'bench.conf'\n")
            initialized.touch()
        socket_dir.mkdir(mode=0o755, exist_ok=True)
        self._chown(socket_dir)
        bench_conf = self.data_dir / "bench.conf"
        bench_conf.write_text(BENCH_CONF.format(port=self.port, socket_dir=socket_dir))
        self._chown(bench_conf)
        if not self.log_file.exists():
            self.log_file.touch()
        self._chown(self.log_file)
        # Lock files of a killed postmaster (ours was stopped before start): PostgreSQL would take
        # it for alive while it is an unreaped zombie and refuse to start.
        for stale in (self.pid_file, *socket_dir.glob(".s.PGSQL.*")):
            stale.unlink(missing_ok=True)
        run([f"{PG_BIN_DIR}/pg_ctl", "start", "-D", str(self.data_dir), "-l", str(self.log_file),
             "-w", "-t", "60"], what="postgres: pg_ctl start", log_file=self.log_file, user=OS_USER)
        self.env.update(
            PG_HOST="127.0.0.1", PG_USER=ROLE, PG_DATABASE=DATABASE, PG_BIN_DIR=PG_BIN_DIR,
            PG_SOCKET_DIR=str(socket_dir),
        )
        self._provision()
        self.load_sample()

    def _provision(self) -> None:
        """Create (or update) the bench role with its password and the sample database,
        as the superuser over the socket; the password travels on psql's stdin."""
        password = self.env["PG_PASSWORD"].replace("'", "''")
        script = f"""\
SELECT 'CREATE ROLE {ROLE}' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{ROLE}')\\gexec
ALTER ROLE {ROLE} WITH LOGIN CREATEDB PASSWORD '{password}';
SELECT 'CREATE DATABASE {DATABASE} OWNER {ROLE}'
    WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '{DATABASE}')\\gexec
"""
        run([f"{PG_BIN_DIR}/psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", self.env["PG_SOCKET_DIR"],
             "-p", str(self.port), "-U", OS_USER, "-d", "postgres"],
            what="postgres: create role and database", log_file=self.log_file, stdin=script, user=OS_USER)

    def load_sample(self) -> None:
        """(Re)create the sample tables with their rows, as the bench role over TCP."""
        run([f"{PG_BIN_DIR}/psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
             "-p", str(self.port), "-U", ROLE, "-d", DATABASE],
            what="postgres: load sample data", log_file=self.log_file,
            stdin=f"BEGIN;\n{sample_sql('postgres')}COMMIT;\n",
            env={**os.environ, "PGPASSWORD": self.env["PG_PASSWORD"]})
