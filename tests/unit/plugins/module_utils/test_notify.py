"""notify.py: ping URLs are validated without being echoed, and pings reach a real loopback
HTTP server (or fail with a sentence, never an exception)."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ansible_collections.infrakt.backup.plugins.module_utils import notify

TOKEN = "8f6c2a4e-secret-token"


@pytest.fixture
def receiver():
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            received.append((self.path, self.rfile.read(int(self.headers["Content-Length"])).decode()))
            self.send_response(500 if "broken" in self.path else 200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", received
    server.shutdown()


def test_each_kind_pings_its_path(receiver):
    base, received = receiver
    url = f"{base}/ping/{TOKEN}/"
    for kind in ("start", "success", "fail"):
        assert notify.ping(url, kind, "last lines" if kind == "fail" else "") is None
    assert received == [(f"/ping/{TOKEN}/start", ""), (f"/ping/{TOKEN}", ""), (f"/ping/{TOKEN}/fail", "last lines")]


def test_a_failed_ping_is_a_sentence_without_the_token(receiver):
    base, _ = receiver
    answered = notify.ping(f"{base}/broken/{TOKEN}", "success")
    assert "HTTP 500" in answered and TOKEN not in answered
    unreachable = notify.ping(f"http://127.0.0.1:9/{TOKEN}", "fail", "x")
    assert "failed" in unreachable and TOKEN not in unreachable


@pytest.mark.parametrize("url", ["ftp://host/x", "http://", "https://user:pw@host/x", f"http://h/{TOKEN} x",
                                 "http://h/x#frag", ""])
def test_bad_ping_urls_are_refused_without_echo(url):
    with pytest.raises(ValueError) as refused:
        notify.validate_ping_url(url)
    assert TOKEN not in str(refused.value) and "pw" not in str(refused.value)


def test_masked_shows_only_scheme_and_host():
    assert notify.masked(f"https://hc-ping.com/{TOKEN}?a=b") == "https://hc-ping.com/****"
