"""The test bench's components are real servers: bytes go through the S3 server with IAM
auth, Ansible reaches the sshd, the databases serve their sample data, and `up` is
idempotent and restarts what died."""

import hashlib
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.testbed import Testbed, read_env_file
from tests.testbed.process import port_open, read_pid
from tests.testbed.sample import CUSTOMER_COUNT, ORDER_COUNT, ORDERS_AMOUNT_SUM, REDIS_SAMPLE

pytestmark = pytest.mark.integration


def aws(bed: Testbed, tmp_path, *args: str, access_key: str | None = None, secret_key: str | None = None,
        attempts: int = 3):
    """Run the venv's aws CLI against the bench S3 server (at most attempts tries per request);
    return the CompletedProcess."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID=access_key or bed.env["S3_ACCESS_KEY"],
        AWS_SECRET_ACCESS_KEY=secret_key or bed.env["S3_SECRET_KEY"],
        AWS_DEFAULT_REGION=bed.env["S3_REGION"],
        AWS_CONFIG_FILE=str(tmp_path / "no-aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "no-aws-credentials"),
        AWS_MAX_ATTEMPTS=str(attempts),
    )
    return subprocess.run(
        [bed.env["AWS_BIN"], "--endpoint-url", bed.env["S3_ENDPOINT_URL"], *args],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )


def sha256(path) -> str:
    """Return the hex sha256 of the file at path."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_env_file_is_private_and_complete(testbed):
    env_file = testbed.directory / "env"
    assert env_file.stat().st_mode & 0o777 == 0o600
    assert read_env_file(env_file) == testbed.env
    assert testbed.env["S3_ENDPOINT_URL"] == f"http://127.0.0.1:{testbed.env['S3_PORT']}"
    assert (testbed.directory / "sshd" / "known_hosts").read_text().startswith(
        f"[127.0.0.1]:{testbed.env['SSH_PORT']} ssh-ed25519 "
    )
    assert testbed.inventory_path == testbed.directory / "inventory.yml"


def test_s3_round_trip_of_16_mib_with_awscli(testbed, tmp_path):
    source = tmp_path / "random.bin"
    source.write_bytes(os.urandom(16 * 1024 * 1024))
    url = f"s3://{testbed.env['S3_BUCKET']}/smoke/random.bin"
    upload = aws(testbed, tmp_path, "s3", "cp", "--only-show-errors", str(source), url)
    assert upload.returncode == 0, upload.stderr
    listing = aws(testbed, tmp_path, "s3", "ls", f"s3://{testbed.env['S3_BUCKET']}/smoke/")
    assert listing.returncode == 0 and "random.bin" in listing.stdout
    copy = tmp_path / "copy.bin"
    download = aws(testbed, tmp_path, "s3", "cp", "--only-show-errors", url, str(copy))
    assert download.returncode == 0, download.stderr
    assert sha256(copy) == sha256(source)
    assert aws(testbed, tmp_path, "s3", "rm", "--only-show-errors", url).returncode == 0
    head = aws(testbed, tmp_path, "s3api", "head-object", "--bucket", testbed.env["S3_BUCKET"],
               "--key", "smoke/random.bin")
    assert head.returncode != 0 and "Not Found" in head.stderr


@pytest.mark.parametrize(
    ("credentials", "error_code"),
    [({"secret_key": "wrong" * 8}, "SignatureDoesNotMatch"),
     ({"access_key": "AKIAWRONGWRONGWRONG1"}, "InvalidAccessKeyId")],
)
def test_s3_refuses_wrong_credentials(testbed, tmp_path, credentials, error_code):
    result = aws(testbed, tmp_path, "s3", "ls", f"s3://{testbed.env['S3_BUCKET']}/", **credentials)
    assert result.returncode != 0
    assert error_code in result.stderr


def test_s3_outage_and_restart_keep_the_keys(testbed, tmp_path):
    keys = (testbed.env["S3_ACCESS_KEY"], testbed.env["S3_SECRET_KEY"])
    testbed.stop_s3()
    try:
        down = aws(testbed, tmp_path, "s3", "ls", f"s3://{testbed.env['S3_BUCKET']}/", attempts=1)
        assert down.returncode != 0 and "Could not connect" in down.stderr
    finally:
        testbed.start_s3()
    assert (testbed.env["S3_ACCESS_KEY"], testbed.env["S3_SECRET_KEY"]) == keys
    assert aws(testbed, tmp_path, "s3", "ls", f"s3://{testbed.env['S3_BUCKET']}/").returncode == 0
    wrong = aws(testbed, tmp_path, "s3", "ls", f"s3://{testbed.env['S3_BUCKET']}/", secret_key="x" * 40)
    assert "SignatureDoesNotMatch" in wrong.stderr


def test_ansible_pings_the_bench_host_over_ssh(testbed):
    env = {**os.environ, "ANSIBLE_HOST_KEY_CHECKING": "True"}
    result = subprocess.run(
        [f"{sys.prefix}/bin/ansible", "-i", str(testbed.inventory_path), "infrakt_servers",
         "-m", "ansible.builtin.ping"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert '"ping": "pong"' in result.stdout


def test_extra_ssh_servers_are_hosts_of_their_own_and_go_away(testbed):
    with testbed.extra_ssh_servers(2) as servers:
        ports = [server.port for server in servers]
        for server in servers:  # each lets its own key in, checked against its own pinned host key
            result = subprocess.run(
                ["ssh", "-i", str(server.client_key), "-p", str(server.port), "-o", "BatchMode=yes",
                 "-o", f"UserKnownHostsFile={server.known_hosts}", "-o", "StrictHostKeyChecking=yes",
                 "root@127.0.0.1", "echo $SSH_CONNECTION"],
                capture_output=True, text=True, timeout=60, check=False,
            )
            assert result.returncode == 0, result.stderr
            assert result.stdout.split()[-1] == str(server.port)
        host_keys = {server.host_key.with_suffix(".pub").read_text().split()[1] for server in servers}
        main_key = testbed.components["sshd"].host_key.with_suffix(".pub").read_text().split()[1]
        assert len(host_keys) == 2 and main_key not in host_keys
        assert testbed.env["SSH_PORT"] not in {str(port) for port in ports}  # the bench's own sshd stays as it was
    assert not any(port_open(port) for port in ports)
    assert not list(testbed.directory.glob(f"sshd-{os.getpid()}-*"))


def test_postgres_serves_the_sample(testbed):
    env = {**os.environ, "PGPASSWORD": testbed.env["PG_PASSWORD"]}
    result = subprocess.run(
        [f"{testbed.env['PG_BIN_DIR']}/psql", "-X", "-At", "-h", testbed.env["PG_HOST"],
         "-p", testbed.env["PG_PORT"], "-U", testbed.env["PG_USER"], "-d", testbed.env["PG_DATABASE"],
         "-c", "SELECT (SELECT count(*) FROM customers), count(*), sum(amount_cents) FROM orders"],
        env=env, capture_output=True, text=True, timeout=30, check=True,
    )
    assert result.stdout.strip() == f"{CUSTOMER_COUNT}|{ORDER_COUNT}|{ORDERS_AMOUNT_SUM}"


def test_mariadb_serves_the_sample_and_dumps_routines_and_triggers(testbed):
    env = {**os.environ, "MYSQL_PWD": testbed.env["MYSQL_PASSWORD"]}
    connection = ["--no-defaults", "-h", testbed.env["MYSQL_HOST"], "-P", testbed.env["MYSQL_PORT"],
                  "-u", testbed.env["MYSQL_USER"]]
    counts = subprocess.run(
        ["mariadb", *connection, "-N", "-B", testbed.env["MYSQL_DATABASE"], "-e",
         "SELECT (SELECT count(*) FROM customers), count(*), sum(amount_cents) FROM orders"],
        env=env, capture_output=True, text=True, timeout=30, check=True,
    )
    assert counts.stdout.split() == [str(CUSTOMER_COUNT), str(ORDER_COUNT), str(ORDERS_AMOUNT_SUM)]
    over_socket = subprocess.run(
        ["mariadb", "--no-defaults", f"--socket={testbed.env['MYSQL_SOCKET']}", "-u", testbed.env["MYSQL_USER"],
         "-N", "-B", testbed.env["MYSQL_DATABASE"], "-e", "SELECT count(*) FROM customers"],
        env=env, capture_output=True, text=True, timeout=30, check=True,
    )
    assert over_socket.stdout.strip() == str(CUSTOMER_COUNT)
    dump = subprocess.run(
        ["mysqldump", *connection, "--single-transaction", "--routines", "--triggers",
         testbed.env["MYSQL_DATABASE"]],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )
    assert dump.returncode == 0, dump.stderr
    assert "TRIGGER orders_audit" in dump.stdout and "PROCEDURE `orders_amount_sum`" in dump.stdout


def test_redis_serves_the_sample(testbed):
    env = {**os.environ, "REDISCLI_AUTH": testbed.env["REDIS_PASSWORD"]}

    def redis_cli(*args: str) -> list[str]:
        result = subprocess.run(
            ["redis-cli", "-h", testbed.env["REDIS_HOST"], "-p", testbed.env["REDIS_PORT"], *args],
            env=env, capture_output=True, text=True, timeout=30, check=True,
        )
        return result.stdout.splitlines()

    assert redis_cli("GET", "sample:greeting") == [REDIS_SAMPLE["sample:greeting"]]
    hash_fields = redis_cli("HGETALL", "sample:user:1")
    assert dict(zip(hash_fields[::2], hash_fields[1::2], strict=True)) == REDIS_SAMPLE["sample:user:1"]
    assert redis_cli("LRANGE", "sample:queue", "0", "-1") == REDIS_SAMPLE["sample:queue"]
    assert set(redis_cli("SMEMBERS", "sample:tags")) == REDIS_SAMPLE["sample:tags"]
    assert redis_cli("CONFIG", "GET", "dir")[1] == testbed.env["REDIS_DIR"]
    anonymous = subprocess.run(["redis-cli", "-p", testbed.env["REDIS_PORT"], "DBSIZE"],
                               capture_output=True, text=True, timeout=30, check=False)
    assert "NOAUTH" in anonymous.stdout + anonymous.stderr


def test_up_again_starts_nothing_and_keeps_everything(testbed):
    again = Testbed.up(testbed.directory)
    assert again.started == []
    assert again.env == testbed.env


def test_up_restarts_a_killed_component_on_its_port(testbed):
    pid_file = testbed.components["redis"].pid_file
    pid = read_pid(pid_file)
    os.kill(pid, signal.SIGKILL)
    # A dying process stops counting as ours (its cmdline empties) before the kernel has closed
    # its listening socket: wait for the port as well, as a crashed server's would be long closed.
    port = testbed.components["redis"].port
    deadline = time.monotonic() + 10
    while (testbed.components["redis"].running() or port_open(port)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert pid_file.exists()  # stale: the killed server could not remove it

    again = Testbed.up(testbed.directory)

    assert again.started == ["redis"]
    assert again.env["REDIS_PORT"] == testbed.env["REDIS_PORT"]
    assert read_pid(pid_file) != pid
    assert testbed.components["redis"].running()


def test_reset_sample_data_puts_the_sample_back(testbed):
    pg_env = {**os.environ, "PGPASSWORD": testbed.env["PG_PASSWORD"]}
    psql = [f"{testbed.env['PG_BIN_DIR']}/psql", "-X", "-At", "-h", testbed.env["PG_HOST"], "-p",
            testbed.env["PG_PORT"], "-U", testbed.env["PG_USER"], "-d", testbed.env["PG_DATABASE"], "-c"]
    subprocess.run([*psql, "DROP VIEW customer_totals; DROP TABLE orders"], env=pg_env, check=True,
                   capture_output=True, timeout=30)
    redis_env = {**os.environ, "REDISCLI_AUTH": testbed.env["REDIS_PASSWORD"]}
    redis_cli = ["redis-cli", "-p", testbed.env["REDIS_PORT"]]
    subprocess.run([*redis_cli, "DEL", "sample:queue"], env=redis_env, check=True, capture_output=True, timeout=30)

    testbed.reset_sample_data()

    orders = subprocess.run([*psql, "SELECT count(*) FROM orders"], env=pg_env, check=True,
                            capture_output=True, text=True, timeout=30)
    assert orders.stdout.strip() == str(ORDER_COUNT)
    queue = subprocess.run([*redis_cli, "LLEN", "sample:queue"], env=redis_env, check=True,
                           capture_output=True, text=True, timeout=30)
    assert queue.stdout.strip() == str(len(REDIS_SAMPLE["sample:queue"]))
