"""MariaDB for the bench: an own datadir (mariadb-install-db) and mariadbd run as root with
its own port, socket and pid file; the bench SQL user owns the sample database."""

import os
import signal

from tests.testbed.component import Component
from tests.testbed.process import port_open, run, spawn, wait_until
from tests.testbed.sample import sample_sql

USER = "infrakt"
DATABASE = "sample"
# Own option file, so /etc/mysql/my.cnf (Debian's socket, bind address) does not apply.
MY_CNF = """\
[mariadbd]
datadir = {data_dir}
port = {port}
socket = {socket}
pid-file = {pid_file}
log-error = {log_file}
bind-address = 127.0.0.1
user = root
skip-name-resolve
innodb_buffer_pool_size = 32M
innodb_log_file_size = 16M
innodb_flush_log_at_trx_commit = 2
performance_schema = OFF
"""


class MariaDbServer(Component):
    """mariadbd with its data, socket and pid file under <bench>/mariadb."""

    name = "mariadb"
    port_key = "MYSQL_PORT"
    stop_signal = signal.SIGTERM

    @property
    def cmdline_needle(self) -> str:
        """Our server's --defaults-file argument."""
        return str(self.dir / "my.cnf")

    @property
    def socket(self):
        """The server's unix socket."""
        return self.dir / "mysqld.sock"

    def start(self) -> None:
        """Install the datadir when there is no complete one, start mariadbd, create the
        bench user and the sample database, load the sample data."""
        data_dir = self.dir / "data"
        my_cnf = self.dir / "my.cnf"
        my_cnf.write_text(MY_CNF.format(data_dir=data_dir, port=self.port, socket=self.socket,
                                        pid_file=self.pid_file, log_file=self.log_file))
        initialized = self.dir / "initialized"
        if not initialized.exists():
            self.reset_dir(data_dir)
            run(["mariadb-install-db", f"--defaults-file={my_cnf}", "--auth-root-authentication-method=socket",
                 "--skip-test-db"], what="mariadb: mariadb-install-db", log_file=self.log_file)
            initialized.touch()
        self.socket.unlink(missing_ok=True)  # left by a killed server (ours was stopped before start)
        spawn(["mariadbd", f"--defaults-file={my_cnf}"], log_file=self.log_file, pid_file=self.pid_file)
        wait_until(lambda: self.socket.exists() and port_open(self.port) and self.pid() is not None,
                   what="mariadb", log_file=self.log_file)
        self.env.update(MYSQL_HOST="127.0.0.1", MYSQL_SOCKET=str(self.socket), MYSQL_USER=USER,
                        MYSQL_DATABASE=DATABASE)
        self._provision()
        self.load_sample()

    def _provision(self) -> None:
        """Create (or update) the bench user and its grants as root over the socket (unix_socket
        auth); the password travels on the client's stdin. The user is '%' so that TCP and
        socket connections are the same account and dumped DEFINERs restore either way; it may
        also make scratch databases named sample_*, and those of restore drills (infrakt_drill_*)."""
        password = self.env["MYSQL_PASSWORD"].replace("\\", "\\\\").replace("'", "\\'")
        script = f"""\
CREATE DATABASE IF NOT EXISTS `{DATABASE}`;
CREATE USER IF NOT EXISTS '{USER}'@'%' IDENTIFIED BY '{password}';
ALTER USER '{USER}'@'%' IDENTIFIED BY '{password}';
GRANT ALL PRIVILEGES ON `{DATABASE}`.* TO '{USER}'@'%';
GRANT ALL PRIVILEGES ON `{DATABASE}\\_%`.* TO '{USER}'@'%';
GRANT ALL PRIVILEGES ON `infrakt\\_drill\\_%`.* TO '{USER}'@'%';
"""
        run(["mariadb", "--no-defaults", f"--socket={self.socket}", "-u", "root"],
            what="mariadb: create user and database", log_file=self.log_file, stdin=script)

    def load_sample(self) -> None:
        """(Re)create the sample tables, view, trigger and procedure as the bench user over TCP."""
        run(["mariadb", "--no-defaults", "-h", "127.0.0.1", "-P", str(self.port), "-u", USER, DATABASE],
            what="mariadb: load sample data", log_file=self.log_file,
            stdin=f"START TRANSACTION;\n{sample_sql('mariadb')}COMMIT;\n",
            env={**os.environ, "MYSQL_PWD": self.env["MYSQL_PASSWORD"]})
