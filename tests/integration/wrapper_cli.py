"""The infrakt-backup CLI as a user runs it, for integration tests: a subprocess with its own
INFRAKT_HOME, and a home with the bench server registered and provisioned."""

import json
import os
import subprocess
import sys
from pathlib import Path

CLI = str(Path(sys.executable).parent / "infrakt-backup")


class Wrapper:
    """The CLI with its own INFRAKT_HOME, set up for the bench server and S3 server."""

    def __init__(self, home: Path, testbed):
        self.home = home
        self.testbed = testbed

    def run(self, *args, env=None, check=True):
        completed = subprocess.run(
            [CLI, *args], capture_output=True, text=True, timeout=600,
            env={**os.environ, "INFRAKT_HOME": str(self.home), **(env or {})},
        )
        if check:
            assert completed.returncode == 0, f"{args}: {completed.stderr}"
        return completed

    def json(self, *args):
        return json.loads(self.run(*args, "--json").stdout)


def wrapper_with_bench_server(testbed, home: Path) -> Wrapper:
    """Return a Wrapper whose home has the bench server registered as `bench` and provisioned."""
    env = testbed.env
    cli = Wrapper(home, testbed)
    cli.run("server", "add", "bench", "--host", env["SSH_HOST"], "--port", env["SSH_PORT"], "--ssh-key", env["SSH_KEY"])
    cli.run("server", "provision", "bench")
    return cli
