"""Redis for the bench: redis-server from a generated config file (port, password, data dir,
daemonize, pid file), so that `redis-server <config>` starts the same server again, which is
what a restore does after replacing dump.rdb."""

import os
import shlex
import shutil
import signal

from tests.testbed.component import Component, write_private
from tests.testbed.process import TestbedError, run, wait_until
from tests.testbed.sample import redis_commands, resp

DBFILENAME = "dump.rdb"
REDIS_CONF = """\
bind 127.0.0.1
port {port}
requirepass {password}
daemonize yes
pidfile {pid_file}
logfile {log_file}
dir {data_dir}
dbfilename {dbfilename}
appendonly no
"""


class RedisServer(Component):
    """redis-server configured by <bench>/redis/redis.conf, data in <bench>/redis/data."""

    name = "redis"
    port_key = "REDIS_PORT"
    cmdline_needle = "redis-server"
    stop_signal = signal.SIGTERM
    # A restore restarts Redis itself (REDIS_START_COMMAND); that server is still ours.
    ready_needs_same_pid = False

    def _cli(self, *args: str, stdin: bytes | None = None, what: str) -> str:
        """Run redis-cli against this server (password through REDISCLI_AUTH); return stdout."""
        return run(["redis-cli", "-h", "127.0.0.1", "-p", str(self.port), *args], what=what,
                   log_file=self.log_file, stdin=stdin,
                   env={**os.environ, "REDISCLI_AUTH": self.env["REDIS_PASSWORD"]})

    def start(self) -> None:
        """Write the config (0600: it holds the password), start redis-server, load the sample."""
        data_dir = self.dir / "data"
        data_dir.mkdir(mode=0o700, exist_ok=True)
        config = self.dir / "redis.conf"
        write_private(config, REDIS_CONF.format(
            port=self.port, password=self.env["REDIS_PASSWORD"], pid_file=self.pid_file,
            log_file=self.log_file, data_dir=data_dir, dbfilename=DBFILENAME,
        ))
        self.pid_file.unlink(missing_ok=True)
        start_command = [shutil.which("redis-server") or "redis-server", str(config)]
        run(start_command, what="redis: start", log_file=self.log_file)
        wait_until(lambda: self.pid() is not None and self._answers(), what="redis", log_file=self.log_file)
        self.env.update(
            REDIS_HOST="127.0.0.1", REDIS_DIR=str(data_dir), REDIS_DBFILENAME=DBFILENAME,
            REDIS_START_COMMAND=shlex.join(start_command),
        )
        self.load_sample()

    def _answers(self) -> bool:
        """True when the server answers PING with PONG."""
        try:
            return self._cli("PING", what="redis: ping").strip() == "PONG"
        except TestbedError:
            return False

    def load_sample(self) -> None:
        """Replace all keys with the sample keys."""
        self._cli("--pipe", stdin=resp(redis_commands()), what="redis: load sample data")
