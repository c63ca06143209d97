"""S3 for the bench: moto in server mode as its own process, with IAM authentication on.

moto checks signatures against its IAM users once its first INITIAL_NO_AUTH_ACTION_COUNT
requests have passed. The bench spends those on creating an IAM user, its access key and an
allow-all policy; afterwards a wrong secret gets SignatureDoesNotMatch and an unknown key
InvalidAccessKeyId, as on AWS. moto keeps everything in memory and makes the key itself, so
the bench seeds moto's random generator (/moto-api/seed) right before asking for the key:
the same seed gives the same key pair after every restart of moto."""

import json
import os
import secrets
import signal
import sys
import urllib.request
from pathlib import Path

from tests.testbed.component import Component
from tests.testbed.process import TestbedError, port_open, spawn, wait_until

BUCKET = "infrakt-bench"
REGION = "us-east-1"
IAM_USER = "infrakt-bench"
# create_user, create_access_key, put_user_policy: the only unauthenticated requests.
NO_AUTH_REQUESTS = 3
START_ATTEMPTS = 5
ALLOW_ALL = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
)
VENV_BIN = Path(sys.prefix) / "bin"


class S3Server(Component):
    """moto_server with the bench bucket and an IAM user whose keys are S3_ACCESS_KEY/S3_SECRET_KEY."""

    name = "s3"
    port_key = "S3_PORT"
    cmdline_needle = "moto_server"
    stop_signal = signal.SIGTERM

    def start(self) -> None:
        """Start moto_server, create the IAM user (same keys as before when a seed is kept)
        and the bucket."""
        moto_server = VENV_BIN / "moto_server"
        if not moto_server.exists():
            raise TestbedError(f"s3: {moto_server} is missing; install the test extras (make bootstrap)")
        self.env.setdefault("TESTBED_S3_SEED", str(secrets.randbits(62)))
        server_env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": str(NO_AUTH_REQUESTS)}
        from botocore.exceptions import ClientError

        self.client("sts", "-", "-")  # boto3 loaded now: the race below is as short as it can be
        for attempt in range(1, START_ATTEMPTS + 1):
            spawn(
                [str(moto_server), "-H", "127.0.0.1", "-p", str(self.port)],
                log_file=self.log_file, pid_file=self.pid_file, env=server_env, cwd=self.dir,
            )
            wait_until(lambda: port_open(self.port), what="S3 server (moto)", log_file=self.log_file)
            try:
                access_key, secret_key = self._create_iam_user()
                break
            except ClientError:
                # On a restart (an outage test), a client of another test that reached the port
                # first spent one of the unauthenticated requests: start again.
                self.stop()
                if attempt == START_ATTEMPTS:
                    raise
        self.env.update(
            S3_ENDPOINT_URL=f"http://127.0.0.1:{self.port}", S3_BUCKET=BUCKET, S3_REGION=REGION,
            S3_ACCESS_KEY=access_key, S3_SECRET_KEY=secret_key, AWS_BIN=str(VENV_BIN / "aws"),
        )
        self.client("s3", access_key, secret_key).create_bucket(Bucket=BUCKET)

    def client(self, service: str, access_key: str, secret_key: str):
        """Return a boto3 client for service on this server (imported here: boto3 is slow to load)."""
        import boto3
        from botocore.config import Config

        return boto3.client(
            service, endpoint_url=f"http://127.0.0.1:{self.port}", region_name=REGION,
            aws_access_key_id=access_key, aws_secret_access_key=secret_key,
            config=Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=30),
        )

    def _create_iam_user(self) -> tuple[str, str]:
        """Spend the unauthenticated requests on the bench IAM user; return its (access key, secret)."""
        iam = self.client("iam", "bench-setup", "bench-setup")
        iam.create_user(UserName=IAM_USER)
        # The seed goes in the body: the server log records request lines.
        seed = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/moto-api/seed",
            data=f"a={self.env['TESTBED_S3_SEED']}".encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            method="POST",
        )
        with urllib.request.urlopen(seed, timeout=10) as response:  # noqa: S310 - loopback http
            response.read()
        key = iam.create_access_key(UserName=IAM_USER)["AccessKey"]
        iam.put_user_policy(UserName=IAM_USER, PolicyName="allow-all", PolicyDocument=ALLOW_ALL)
        return key["AccessKeyId"], key["SecretAccessKey"]
