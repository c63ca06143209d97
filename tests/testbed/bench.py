"""The Testbed: starts, finds and stops the bench components and keeps their settings in
the env file <TESTBED_DIR>/env (KEY=VALUE lines, mode 0600), which later runs reuse."""

import fcntl
import os
import shlex
import shutil
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from tests.testbed import cron
from tests.testbed.component import Component, new_password, write_private
from tests.testbed.mariadb import MariaDbServer
from tests.testbed.postgres import PostgresServer
from tests.testbed.process import TestbedError, choose_port
from tests.testbed.redis import RedisServer
from tests.testbed.s3 import ALLOW_ALL, S3Server
from tests.testbed.sshd import ExtraSshServer, SshServer

DEFAULT_DIR = Path("/tmp/infrakt-testbed")
COMPONENTS: tuple[type[Component], ...] = (S3Server, SshServer, PostgresServer, MariaDbServer, RedisServer)
PASSWORD_KEYS = ("PG_PASSWORD", "MYSQL_PASSWORD", "REDIS_PASSWORD")
# The order keys are written in; keys not listed (bench internals) follow, sorted.
ENV_ORDER = (
    "TESTBED_DIR",
    "S3_ENDPOINT_URL", "S3_BUCKET", "S3_REGION", "S3_ACCESS_KEY", "S3_SECRET_KEY", "AWS_BIN",
    "SSH_HOST", "SSH_PORT", "SSH_USER", "SSH_KEY", "SSH_KNOWN_HOSTS", "INVENTORY",
    "PG_HOST", "PG_PORT", "PG_USER", "PG_PASSWORD", "PG_DATABASE", "PG_BIN_DIR", "PG_SOCKET_DIR",
    "MYSQL_HOST", "MYSQL_PORT", "MYSQL_SOCKET", "MYSQL_USER", "MYSQL_PASSWORD", "MYSQL_DATABASE",
    "REDIS_HOST", "REDIS_PORT", "REDIS_PASSWORD", "REDIS_DIR", "REDIS_DBFILENAME", "REDIS_START_COMMAND",
)


def bench_dir(state_dir: str | Path | None = None) -> Path:
    """Return the bench directory: state_dir, else $TESTBED_DIR, else /tmp/infrakt-testbed."""
    return Path(state_dir or os.environ.get("TESTBED_DIR") or DEFAULT_DIR).absolute()


def read_env_file(path: Path) -> dict[str, str]:
    """Parse an env file written by write_env_file (shell-quoted values); {} when it is missing."""
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        return {}
    env = {}
    for line in lines:
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = shlex.split(line)[0].partition("=")
            env[key] = value
    return env


def write_env_file(path: Path, env: dict[str, str]) -> None:
    """Write env as KEY=VALUE lines (values shell-quoted where needed, so `set -a; . FILE`
    works), mode 0600: the file holds the bench's passwords and keys."""
    keys = [key for key in ENV_ORDER if key in env] + sorted(set(env) - set(ENV_ORDER))
    lines = ["# infrakt test bench settings (python -m tests.testbed up); holds secrets, keep 0600"]
    lines += [f"{key}={shlex.quote(env[key])}" for key in keys]
    write_private(path, "\n".join(lines) + "\n")


@contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """Hold an exclusive lock on the bench directory (two pytest runs may call up at once)."""
    with (directory / ".lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _check_reachable(directory: Path) -> None:
    """Raise TestbedError when the postgres OS user could not reach directory (a parent
    without the search bit for others, such as a 0700 home)."""
    for parent in directory.parents:
        if parent.exists() and not parent.stat().st_mode & 0o001:
            raise TestbedError(f"TESTBED_DIR {directory} is below {parent}, which other users cannot enter; "
                               "PostgreSQL runs as the postgres user. Choose another TESTBED_DIR.")


def _start_time(pid: int) -> str | None:
    """Return when pid started (/proc/PID/stat field 22), None when there is no such process;
    with the pid it names a process even after the pid is reused."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


class Testbed:
    """A running bench. env holds its settings (all str); see tests/testbed/__init__.py."""

    __test__ = False  # not a pytest test class, despite the name

    def __init__(self, directory: Path, env: dict[str, str]):
        self.directory = directory
        self.env = env
        self.env_file = directory / "env"
        self.components = {component.name: component(directory, env) for component in COMPONENTS}
        self.started: list[str] = []  # components the last up()/start_s3() started
        self.was_running = False  # whether some component already ran before up()
        self.startup_seconds = 0.0

    @property
    def inventory_path(self) -> Path:
        """The Ansible YAML inventory: group infrakt_servers, host bench (the bench sshd)."""
        return Path(self.env["INVENTORY"])

    @classmethod
    def open(cls, state_dir: str | Path | None = None) -> "Testbed":
        """Return the bench of state_dir (see bench_dir) as its env file describes it, without
        starting anything."""
        directory = bench_dir(state_dir)
        env = read_env_file(directory / "env")
        env["TESTBED_DIR"] = str(directory)
        return cls(directory, env)

    @classmethod
    def up(cls, state_dir: str | Path | None = None) -> "Testbed":
        """Start every component that is not running yet (reusing the ports, passwords and keys
        of the env file) and return the bench. Safe to call again at any time."""
        began = time.monotonic()
        if os.geteuid() != 0:
            raise TestbedError("the test bench needs root (sshd root login, the postgres OS user)")
        directory = bench_dir(state_dir)
        directory.mkdir(mode=0o755, parents=True, exist_ok=True)
        directory.chmod(0o755)  # the postgres OS user must reach its cluster below it
        _check_reachable(directory)
        (directory / "logs").mkdir(mode=0o755, exist_ok=True)
        with _locked(directory):
            bed = cls.open(directory)
            for key in PASSWORD_KEYS:
                bed.env.setdefault(key, new_password())
            bed._start([name for name, component in bed.components.items() if not component.running()])
            bed._lease()
            cron.ensure_running()
        bed.was_running = len(bed.started) < len(bed.components)
        bed.startup_seconds = time.monotonic() - began
        return bed

    def _start(self, names: list[str]) -> None:
        """Give the named components a port, start them side by side and save the env file,
        also when a start failed (so that the passwords made now are kept)."""
        for name in names:  # leftovers: a live but unprovisioned or deaf process holds its port
            self.components[name].stop()
        taken = {c.port for name, c in self.components.items() if name not in names and c.port_key in self.env}
        for name in names:
            component = self.components[name]
            self.env[component.port_key] = str(choose_port(self.env.get(component.port_key), taken))
        with ThreadPoolExecutor(max_workers=len(self.components)) as pool:
            futures = {name: pool.submit(self.components[name].launch) for name in names}
        errors = []
        self.started = []
        for name, future in futures.items():
            try:
                future.result()
                self.started.append(name)
            except TestbedError as error:
                errors.append(str(error))
            except Exception as error:  # e.g. botocore's: still name the component and its log
                errors.append(f"{name}: {error!r}; see {self.components[name].log_file}")
        write_env_file(self.env_file, self.env)
        if errors:
            raise TestbedError("test bench: " + "\n".join(errors))

    def _lease(self) -> None:
        """Record that this process uses the bench (a file leases/<pid> holding its start time)."""
        leases = self.directory / "leases"
        leases.mkdir(exist_ok=True)
        (leases / str(os.getpid())).write_text(f"{_start_time(os.getpid())}\n")

    def _used_by_others(self) -> bool:
        """True when another live process called up() on this bench; drops leases of dead ones."""
        others = False
        for lease in (self.directory / "leases").glob("*"):
            if not lease.name.isdigit() or int(lease.name) == os.getpid():
                lease.unlink()
            elif _start_time(int(lease.name)) == lease.read_text().strip():
                others = True
            else:
                lease.unlink()
        return others

    def down(self, only_if_unused: bool = False) -> list[str]:
        """Stop every component (found through its pid file); keep the directory. With
        only_if_unused, stop nothing while another live process (a parallel pytest session)
        uses the bench. Return the names of the components that were running."""
        if not self.directory.exists():
            return []
        with _locked(self.directory):
            if only_if_unused and self._used_by_others():
                return []
            self._stop_extra_ssh_servers()
            with ThreadPoolExecutor(max_workers=len(self.components)) as pool:
                stopped = dict(zip(self.components, pool.map(lambda c: c.stop(), self.components.values()),
                                   strict=True))
        return [name for name, was_running in stopped.items() if was_running]

    @contextmanager
    def extra_ssh_servers(self, count: int) -> Iterator[list[ExtraSshServer]]:
        """Start `count` more sshd "remote servers" side by side, each on a free port with its
        own host and client keys (SshServer.known_hosts pins its host key), yield them, and
        stop and remove them after the with block. Their directories are named after this
        process (sshd-<pid>-<n>), so that parallel sessions on one bench never share one."""
        with _locked(self.directory):
            taken = {c.port for c in self.components.values() if c.port_key in self.env}
            servers = [ExtraSshServer(self.directory, f"{os.getpid()}-{number}", choose_port(None, taken))
                       for number in range(1, count + 1)]
        try:
            with ThreadPoolExecutor(max_workers=min(count, 8) or 1) as pool:
                list(pool.map(lambda server: server.launch(), servers))
            yield servers
        finally:
            for server in servers:
                server.stop()
                shutil.rmtree(server.dir, ignore_errors=True)

    def _stop_extra_ssh_servers(self) -> None:
        """Stop extra sshd servers that interrupted runs left behind (found through their pid files)."""
        for directory in self.directory.glob("sshd-*"):
            ExtraSshServer(self.directory, directory.name.removeprefix("sshd-")).stop()

    def stop_s3(self) -> None:
        """Stop the S3 server (an outage); its objects are lost, as moto keeps them in memory."""
        with _locked(self.directory):
            self.components["s3"].stop()

    def start_s3(self) -> None:
        """Start the S3 server again (a no-op when it runs) with an empty bucket and the same
        S3_ACCESS_KEY/S3_SECRET_KEY as before."""
        keys = (self.env.get("S3_ACCESS_KEY"), self.env.get("S3_SECRET_KEY"))
        with _locked(self.directory):
            self._start([] if self.components["s3"].running() else ["s3"])
        if (self.env["S3_ACCESS_KEY"], self.env["S3_SECRET_KEY"]) != keys:
            raise TestbedError("s3: moto made other keys for the same seed than before (was moto upgraded?); "
                               "run `python -m tests.testbed down`, remove TESTBED_DIR and start again")

    def s3_client(self, service: str = "s3"):
        """Return a boto3 client for service ("s3", "iam") on the bench S3 server, with the bench's keys."""
        return self.components["s3"].client(service, self.env["S3_ACCESS_KEY"], self.env["S3_SECRET_KEY"])

    def add_s3_user(self, name: str) -> tuple[str, str]:
        """Make IAM user `name` on the bench S3 server, allowed everything, with the bench's keys;
        return its (access key, secret key). A restart of the S3 server forgets it."""
        iam = self.s3_client("iam")
        iam.create_user(UserName=name)
        iam.put_user_policy(UserName=name, PolicyName="allow-all", PolicyDocument=ALLOW_ALL)
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return key["AccessKeyId"], key["SecretAccessKey"]

    def remove_s3_user(self, name: str) -> None:
        """Delete IAM user `name` and its keys and policy; nothing when it is gone (a restart of
        the S3 server forgot it)."""
        iam = self.s3_client("iam")
        try:
            for key in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]:
                iam.delete_access_key(UserName=name, AccessKeyId=key["AccessKeyId"])
            iam.delete_user_policy(UserName=name, PolicyName="allow-all")
            iam.delete_user(UserName=name)
        except iam.exceptions.NoSuchEntityException:
            pass

    @contextmanager
    def s3_user(self, name: str) -> Iterator[tuple[str, str]]:
        """Yield add_s3_user(name) for the with block; remove the user after."""
        try:
            yield self.add_s3_user(name)
        finally:
            self.remove_s3_user(name)

    def reset_sample_data(self) -> None:
        """Put the sample data back into PostgreSQL, MariaDB and Redis (for tests that change it)."""
        for name in ("postgres", "mariadb", "redis"):
            self.components[name].load_sample()
