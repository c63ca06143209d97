"""python -m tests.testbed up|down|env: start, stop or show the test bench by hand."""

import argparse
import sys

from tests.testbed.bench import Testbed
from tests.testbed.process import TestbedError

# component -> env key of the port it listens on
PORT_KEYS = {"s3": "S3_PORT", "sshd": "SSH_PORT", "postgres": "PG_PORT", "mariadb": "MYSQL_PORT",
             "redis": "REDIS_PORT"}


def up() -> None:
    """Start the bench and print what runs where and how long it took."""
    bed = Testbed.up()
    for name, key in PORT_KEYS.items():
        state = "started" if name in bed.started else "already running"
        print(f"{name:9} 127.0.0.1:{bed.env[key]:<6} {state}")
    print(f"env file: {bed.env_file} (python -m tests.testbed env prints it)")
    print(f"test bench up in {bed.startup_seconds:.2f} s")


def down() -> None:
    """Stop every component of the bench."""
    bed = Testbed.open()
    stopped = bed.down()
    print(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")


def env() -> None:
    """Print the env file (it holds the bench's secrets)."""
    bed = Testbed.open()
    if not bed.env_file.exists():
        raise TestbedError(f"no test bench in {bed.directory}; run `python -m tests.testbed up` first")
    sys.stdout.write(bed.env_file.read_text())


def main() -> int:
    """Parse the command line and run the command; return the exit code."""
    parser = argparse.ArgumentParser(prog="python -m tests.testbed", description=__doc__)
    parser.add_argument("command", choices=["up", "down", "env"])
    command = parser.parse_args().command
    try:
        {"up": up, "down": down, "env": env}[command]()
    except TestbedError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


sys.exit(main())
