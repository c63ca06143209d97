"""`infrakt-backup web` as a user starts it, for the web tests: a subprocess on a free loopback
port with a fixed login token and the home of a tests.integration.wrapper_cli.Wrapper; every
answer it gave is kept, for the test that looks for secrets in them."""

import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.integration.scratch import free_port, unique
from tests.integration.wrapper_cli import CLI, Wrapper

TOKEN = unique("web-test-token")
JOB_WAIT_SECONDS = 600


class WebServer:
    """A running `infrakt-backup web` on 127.0.0.1:port."""

    def __init__(self, wrapper: Wrapper, process: subprocess.Popen, port: int, log: Path):
        self.wrapper = wrapper
        self.process = process
        self.log = log
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        self.token = TOKEN
        self.answers: list[str] = []  # every answer's headers and body

    def request(self, method: str, path: str, *, token: str | None = TOKEN, **options) -> httpx.Response:
        """Send one request (with the bearer token unless token=None); return the response."""
        headers = dict(options.pop("headers", {}))
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        response = httpx.request(method, self.base_url + path, headers=headers, timeout=600, **options)
        self.answers.append(f"{response.headers}\n{response.text}")
        return response

    def job(self, response: httpx.Response) -> dict:
        """Return the job a 202 response started, once it has ended."""
        assert response.status_code == 202, response.text
        job_id = response.json()["job"]
        deadline = time.monotonic() + JOB_WAIT_SECONDS
        while time.monotonic() < deadline:
            state = self.request("GET", f"/api/jobs/{job_id}").json()
            if state["state"] != "running":
                return state
            time.sleep(0.3)
        raise AssertionError(f"job {job_id} still runs after {JOB_WAIT_SECONDS} s")

    def output(self) -> str:
        """Return what the server printed so far (stdout and stderr)."""
        return self.log.read_text()


def _wait_for_port(server: WebServer) -> None:
    for _ in range(300):
        assert server.process.poll() is None, f"infrakt-backup web ended: {server.output()}"
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", server.port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError("infrakt-backup web did not start listening")


@contextmanager
def web_server(wrapper: Wrapper, log: Path):
    """Yield a WebServer on the home of `wrapper`, printing into file `log`, for the with block;
    stop it afterwards."""
    port = free_port()
    with open(log, "w") as output:
        process = subprocess.Popen([CLI, "web", "--listen", f"127.0.0.1:{port}"], stdout=output,
                                   stderr=subprocess.STDOUT, env=wrapper.environment({"INFRAKT_WEB_TOKEN": TOKEN}))
    server = WebServer(wrapper, process, port, log)
    try:
        _wait_for_port(server)
        yield server
    finally:
        process.terminate()
        process.wait(timeout=30)

